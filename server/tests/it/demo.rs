//! `kefu demo`: the field story runs end to end through a real server and three
//! device stores, and the devices converge.

use std::process::Command;

use crate::support::kefu_bin;

#[test]
fn the_field_story_converges_on_three_devices() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(kefu_bin()).args(["demo", "--dir"]).arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("all three devices hold the same 3 cases, every offline edit kept"), "{stdout}");
    // Phones edited the same case apart: both transitions are kept and reported.
    assert_eq!(stdout.matches("(concurrent: completed vs in_progress)").count(), 3, "{stdout}");
    // Every case carries a server number (K<year>-<serial>) on every device's listing.
    let listed = stdout.lines().filter(|line| line.starts_with("     ")).collect::<Vec<_>>();
    assert_eq!(listed.len(), 9, "{stdout}");
    assert!(listed.iter().all(|line| line.trim_start().starts_with('K')), "{stdout}");
}

/// The README tells a new user how to reach the binary (it is not on `PATH`) and points them at
/// `kefu demo`; the install command it gives names this crate's directory.
#[test]
fn the_readme_says_how_to_run_kefu_and_mentions_the_demo() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for needle in ["on your `PATH`", "cargo install --path server", "target/debug/kefu", "`kefu demo`"] {
        assert!(readme.contains(needle), "README.md does not say {needle:?}");
    }
    assert!(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../server/Cargo.toml")).exists());
}
