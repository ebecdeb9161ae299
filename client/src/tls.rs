//! The one rustls client configuration both transports use (reqwest for `https://` rounds,
//! tokio-tungstenite for `wss://` sessions): the ring provider, TLS 1.2 and 1.3, ALPN
//! `http/1.1` (what `kefu serve` speaks), and either the platform's trust store (for an
//! `https://` base URL) or exactly the CA the app was given ([`crate::ClientConfig::tls_ca_pem`]),
//! for servers with a private CA or a self-signed certificate.
//!
//! Leaves out: anything per connection (the libraries do the handshakes).

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_platform_verifier::BuilderVerifierExt;

use crate::{ClientConfig, ClientError};

/// The rustls configuration for `config`.
pub(crate) fn rustls_config(config: &ClientConfig) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| ClientError::Tls(err.to_string()))?;
    let mut tls = match &config.tls_ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert =
                    cert.map_err(|err| ClientError::Tls(format!("the CA certificate is not valid PEM: {err}")))?;
                roots.add(cert).map_err(|err| ClientError::Tls(format!("the CA certificate is not usable: {err}")))?;
            }
            if roots.is_empty() {
                return Err(ClientError::Tls("the CA PEM holds no certificate".into()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None if config.base_url.starts_with("https://") => builder
            .with_platform_verifier()
            .map_err(|err| ClientError::Tls(format!("cannot load the platform's trusted certificates: {err}")))?
            .with_no_client_auth(),
        // Plain http trusts nothing: reading the platform's store would cost every client and
        // fail on systems that have none, for connections that never use it.
        None => builder.with_root_certificates(RootCertStore::empty()).with_no_client_auth(),
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_that_is_not_a_certificate_is_refused_with_the_reason() {
        let mut config = ClientConfig::new("https://example.invalid", "token");
        config.tls_ca_pem = Some(b"no certificate here\n".to_vec());
        let err = rustls_config(&config).unwrap_err().to_string();
        assert_eq!(err, "cannot set up TLS: the CA PEM holds no certificate");
    }
}
