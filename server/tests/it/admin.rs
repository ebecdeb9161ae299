//! `kefu admin`: teams, issuing, listing and revoking device tokens, and their error messages.

use crate::support::{admin, admin_ok, issue, listed_device_ids};

#[test]
fn teams_and_tokens_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/kefu.sqlite3");
    assert_eq!(admin_ok(&db, &["team", "create", "north"]).trim(), "created team \"north\" (id 1)");
    let again = admin(&db, &["team", "create", "north"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&again.stderr).trim(), "kefu: team \"north\" already exists");

    let token = issue(&db, "north", "staff");
    assert!(token.starts_with("kefu_") && token.len() == 5 + 32 + 1 + 64, "{token}");
    let listing = admin_ok(&db, &["device", "list", "--team", "north"]);
    let device_id = listed_device_ids(&listing).pop().expect("a device row");
    assert!(listing.contains("staff") && !listing.contains(&token[38..]), "the secret is never shown again");

    let revoked = admin_ok(&db, &["device", "revoke", &device_id]);
    assert!(revoked.starts_with(&format!("revoked device {device_id} (staff of team \"north\")")), "{revoked}");
    let listing = admin_ok(&db, &["device", "list", "--team", "north"]);
    let row = listing.lines().find(|line| line.contains(&device_id)).unwrap();
    assert_eq!(row.matches("Z ").count(), 2, "issued and revoked times shown: {row}");
}

#[test]
fn bad_input_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.sqlite3");
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["device", "issue", "--team", "nobody", "--role", "staff"],
            1,
            "kefu: no team \"nobody\"; create it with: kefu admin team create nobody",
        ),
        (&["device", "revoke", "not-an-id"], 1, "kefu: \"not-an-id\" is not a device id"),
        (
            &["device", "revoke", "00000000-0000-0000-0000-000000000001"],
            1,
            "kefu: no device 00000000-0000-0000-0000-000000000001",
        ),
        (
            &["team", "create", " padded"],
            1,
            "kefu: team name \" padded\" must be 1 to 64 characters, without control characters or outer spaces",
        ),
    ];
    for (args, code, message) in cases {
        let output = admin(&db, args);
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or(""), message, "{args:?}");
    }
    let usage = admin(&db, &["device", "issue", "--team", "x", "--role", "boss"]);
    assert_eq!(usage.status.code(), Some(2), "an unknown role is a usage error");
}
