//! Size and shape limits on the text a case holds, shared by the edit API (which
//! refuses a bad edit before touching the document) and the schema validator (which
//! refuses a bad document received from elsewhere): one rule, checked in both places.

/// Longest subject line, in characters.
pub const MAX_SUBJECT: usize = 200;
/// Longest short field (names, phone numbers, departments, tags, mime types).
pub const MAX_SHORT: usize = 120;
/// Longest address.
pub const MAX_ADDRESS: usize = 300;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 20_000;
/// Longest free text of one timeline entry.
pub const MAX_ENTRY_TEXT: usize = 4_000;
/// Most timeline entries in one case: a case is a customer matter, not a chat log.
pub const MAX_TIMELINE: usize = 5_000;
/// Most tags on one case.
pub const MAX_TAGS: usize = 32;

/// Checks a single-line text field: at most `max` characters, no control characters,
/// and non-empty unless `allow_empty`. Returns the reason on failure.
pub fn check_short_text(text: &str, max: usize, allow_empty: bool) -> Result<(), String> {
    if !allow_empty && text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let n_chars = text.chars().count();
    if n_chars > max {
        return Err(format!("is {n_chars} characters long, at most {max} allowed"));
    }
    if text.chars().any(char::is_control) {
        return Err("must be a single line without control characters".into());
    }
    Ok(())
}

/// Checks multi-line free text: at most `max` characters; newlines and tabs allowed,
/// other control characters not.
pub fn check_long_text(text: &str, max: usize) -> Result<(), String> {
    let n_chars = text.chars().count();
    if n_chars > max {
        return Err(format!("is {n_chars} characters long, at most {max} allowed"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err("contains control characters".into());
    }
    Ok(())
}

/// Checks a content hash: 64 lower-case hex digits (SHA-256).
pub fn check_sha256_hex(hash: &str) -> Result<(), String> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err("must be 64 lower-case hex digits (SHA-256)".into())
    }
}
