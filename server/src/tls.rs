//! `kefu serve --tls-cert --tls-key`: loads the PEM files into a rustls server configuration, so
//! the server can speak HTTPS and WSS without a proxy in front. rustls with the ring provider
//! (no C toolchain beyond `cc`), TLS 1.2 and 1.3, ALPN `http/1.1` only (the server speaks nothing
//! else). Files are read once at startup; errors name the flag and the file.
//!
//! Leaves out: the handshake itself and its time limit (`server.rs`).

use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// The acceptor for the certificate chain and key in `files`.
pub fn acceptor(files: &TlsFiles) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read certificates from --tls-cert {}", files.cert.display()))?;
    if certs.is_empty() {
        bail!("--tls-cert {} holds no PEM certificate", files.cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a private key from --tls-key {}", files.key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("the TLS provider supports no safe protocol version")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "--tls-key {} does not match --tls-cert {} or is not a supported key",
                files.key.display(),
                files.cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_empty_and_mismatched_files_name_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles { cert: dir.path().join("none.pem"), key: dir.path().join("none.key") };
        let err = acceptor(&files).err().expect("no such file").to_string();
        assert!(err.starts_with("cannot read certificates from --tls-cert"), "{err}");

        let cert = dir.path().join("empty.pem");
        std::fs::write(&cert, "not pem\n").unwrap();
        let files = TlsFiles { cert, key: dir.path().join("none.key") };
        let err = acceptor(&files).err().expect("no certificate").to_string();
        assert!(err.ends_with("holds no PEM certificate"), "{err}");

        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("other.key");
        let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(&cert, issued.cert.pem()).unwrap();
        std::fs::write(&key, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
        let files = TlsFiles { cert, key };
        let err = acceptor(&files).err().expect("another key").to_string();
        assert!(err.contains("does not match --tls-cert"), "{err}");
        acceptor(&TlsFiles { key: dir.path().join("own.key"), ..files.clone() }).err().expect("no key file");
        std::fs::write(dir.path().join("own.key"), issued.signing_key.serialize_pem()).unwrap();
        assert!(acceptor(&TlsFiles { key: dir.path().join("own.key"), ..files }).is_ok());
    }
}
