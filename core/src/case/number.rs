//! Human-readable case numbers (DESIGN.md decision 4).
//!
//! A phone offline cannot ask a central counter, so it mints a provisional number
//! `P<device tag>-<sequence>` (e.g. `P7F3A-0012`), unique because the tag names the
//! device. On first sync the server records its own team-wide number (`K` prefix,
//! e.g. `K2026-000123`); the provisional one stays searchable, since the customer may
//! have been given it.

use crate::ids::DeviceId;

/// The provisional number for the device's `sequence`-th case.
pub fn provisional_number(device: DeviceId, sequence: u64) -> String {
    format!("P{}-{sequence:04}", device.short_tag())
}

/// Whether a number has the server's shape (`K<year>-<6 digits>`), so a device
/// cannot pass off a provisional number as an assigned one.
pub fn is_server_number(number: &str) -> bool {
    let Some(rest) = number.strip_prefix('K') else { return false };
    let Some((year, serial)) = rest.split_once('-') else { return false };
    year.len() == 4 && serial.len() >= 6 && year.bytes().chain(serial.bytes()).all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_their_shapes() {
        let device = DeviceId::from_u128(0x7f3a_0000_0000_0000_0000_0000_0000_0000);
        assert_eq!(provisional_number(device, 12), "P7F3A-0012");
        assert!(is_server_number("K2026-000123"));
        assert!(!is_server_number("P7F3A-0012"));
        assert!(!is_server_number("K26-1"));
    }
}
