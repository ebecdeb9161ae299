//! [`ConnectionOptions`]: how a phone reaches its server, beyond the address and the
//! token that every sync call names: the CA to trust for a server with a private or
//! self-signed certificate, and the live session's heartbeat and reconnect timing.
//!
//! Set once per store ([`KefuStore::set_connection_options`]) and used by every sync
//! and live session that starts afterwards. Checked when set, so a bad certificate or
//! a heartbeat of zero is reported to the settings screen, not by a sync that fails
//! later; a refused setting leaves the previous one in place.

use std::time::Duration;

use kefu_client::ClientConfig;

use crate::driver::client_error;
use crate::error::KefuError;
use crate::store::KefuStore;

/// Connection settings; every field has the default a phone on a public network wants.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ConnectionOptions {
    /// PEM of the certificate authority to trust for `https://` servers instead of the
    /// phone's own trust store (a centre's private CA, or a self-signed certificate).
    #[uniffi(default = None)]
    pub tls_ca_pem: Option<String>,
    /// Give up connecting after this many milliseconds (offline should fail fast).
    #[uniffi(default = 5000)]
    pub connect_timeout_ms: u32,
    /// A live session pings the server this often, well inside the server's idle
    /// timeout, and treats a connection silent for two intervals as dead.
    #[uniffi(default = 30000)]
    pub heartbeat_ms: u32,
    /// The first wait before a live session reconnects; it doubles per failed attempt.
    #[uniffi(default = 1000)]
    pub reconnect_min_ms: u32,
    /// The longest wait between reconnect attempts.
    #[uniffi(default = 60000)]
    pub reconnect_max_ms: u32,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            tls_ca_pem: None,
            connect_timeout_ms: 5_000,
            heartbeat_ms: 30_000,
            reconnect_min_ms: 1_000,
            reconnect_max_ms: 60_000,
        }
    }
}

/// Shortest heartbeat and timeouts accepted: below this a phone would spend its
/// battery and the server's capacity on pings.
const MIN_INTERVAL_MS: u32 = 50;

impl ConnectionOptions {
    /// The client configuration for one sync or session with these options.
    pub(crate) fn client_config(&self, server_url: String, device_token: String) -> ClientConfig {
        let mut config = ClientConfig::new(server_url, device_token);
        config.tls_ca_pem = self.tls_ca_pem.as_ref().map(|pem| pem.as_bytes().to_vec());
        config.connect_timeout = millis(self.connect_timeout_ms);
        config.heartbeat = millis(self.heartbeat_ms);
        config.reconnect_min = millis(self.reconnect_min_ms);
        config.reconnect_max = millis(self.reconnect_max_ms);
        config
    }

    /// Refuses settings no connection could use, naming the field.
    fn check(&self) -> Result<(), KefuError> {
        for (field, value) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("heartbeat_ms", self.heartbeat_ms),
            ("reconnect_min_ms", self.reconnect_min_ms),
        ] {
            if value < MIN_INTERVAL_MS {
                return Err(KefuError::InvalidInput {
                    message: format!("{field} is {value} ms; it must be at least {MIN_INTERVAL_MS} ms"),
                });
            }
        }
        if self.reconnect_max_ms < self.reconnect_min_ms {
            return Err(KefuError::InvalidInput {
                message: format!(
                    "reconnect_max_ms ({}) is below reconnect_min_ms ({})",
                    self.reconnect_max_ms, self.reconnect_min_ms
                ),
            });
        }
        // The URL does not matter for the check: with a CA given, it is used for https.
        self.client_config("https://check.invalid".into(), String::new()).check().map_err(|err| {
            match client_error(err) {
                KefuError::Internal { message } => {
                    KefuError::InvalidInput { message: format!("tls_ca_pem: {message}") }
                }
                other => other,
            }
        })
    }
}

fn millis(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

#[uniffi::export]
impl KefuStore {
    /// Sets how this phone connects (see [`ConnectionOptions`]) for every later sync
    /// and live session. Refused with [`KefuError::InvalidInput`] naming the field when
    /// a value cannot work; the previous settings then stay.
    pub fn set_connection_options(&self, options: ConnectionOptions) -> Result<(), KefuError> {
        options.check()?;
        *self.connection.write().unwrap_or_else(std::sync::PoisonError::into_inner) = options;
        Ok(())
    }

    /// The connection settings in use.
    pub fn connection_options(&self) -> ConnectionOptions {
        self.connection.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_settings_are_refused_naming_the_field() {
        let zero_heartbeat = ConnectionOptions { heartbeat_ms: 0, ..ConnectionOptions::default() };
        let err = zero_heartbeat.check().unwrap_err().to_string();
        assert!(err.contains("heartbeat_ms is 0 ms"), "{err}");
        let inverted = ConnectionOptions { reconnect_min_ms: 5_000, reconnect_max_ms: 1_000, ..Default::default() };
        let err = inverted.check().unwrap_err().to_string();
        assert!(err.contains("reconnect_max_ms (1000) is below reconnect_min_ms (5000)"), "{err}");
        let not_pem = ConnectionOptions { tls_ca_pem: Some("hello".into()), ..Default::default() };
        let err = not_pem.check().unwrap_err().to_string();
        assert!(err.contains("tls_ca_pem") && err.contains("no certificate"), "{err}");
        assert!(ConnectionOptions::default().check().is_ok());
    }

    #[test]
    fn the_options_reach_the_client_configuration() {
        let options = ConnectionOptions { heartbeat_ms: 250, reconnect_max_ms: 900, ..Default::default() };
        let config = options.client_config("http://host:1/".into(), "kefu_x".into());
        assert_eq!(config.heartbeat, Duration::from_millis(250));
        assert_eq!(config.reconnect_max, Duration::from_millis(900));
        assert_eq!(config.reconnect_min, Duration::from_secs(1));
        assert_eq!(config.base_url, "http://host:1");
    }
}
