//! The uniffi binding generator, built from this workspace so its version always
//! matches the `uniffi` the library was built with (a mismatched generator writes
//! bindings whose checksums the library refuses at load time).
//!
//! `cargo run -p kefu-mobile --bin uniffi-bindgen -- generate --library <lib> --language kotlin --out-dir <dir>`

fn main() {
    uniffi::uniffi_bindgen_main()
}
