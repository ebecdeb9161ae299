//! Hygiene checked as an ordinary test: every source file says what it is for, and
//! the pure modules stay pure (ARCHITECTURE.md invariants).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} must open with a //! comment saying what it holds", file.display());
    }
}

#[test]
fn document_modules_do_no_io_and_read_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let pure: Vec<PathBuf> = rust_files(&src.join("case"))
        .into_iter()
        .chain(["duty_log.rs", "report.rs", "roster.rs", "request.rs", "attendance.rs"].map(|file| src.join(file)))
        .collect();
    for file in pure {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            "std::fs",
            "std::net",
            "tokio::",
            "Instant::now",
            "SystemTime::now",
            "Timestamp::now",
            "Utc::now",
            "rusqlite",
        ] {
            assert!(
                !text.contains(banned),
                "{} uses {banned}: only core::store does IO or reads the clock",
                file.display()
            );
        }
    }
}
