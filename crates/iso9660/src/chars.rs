//! The ECMA-119 character sets (7.4) and the text fields of the volume descriptor: which
//! characters each field takes, how long it may be, how it is padded.

use crate::{IsoError, Result};

/// d-characters (ECMA-119 7.4.1): A–Z, 0–9 and `_`. Space is not one of them; it is only the
/// filler that pads a field.
pub fn is_d_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

/// a-characters (ECMA-119 7.4.1): the d-characters, space, and `!"%&'()*+,-./:;<=>?`.
pub fn is_a_char(b: u8) -> bool {
    is_d_char(b) || b" !\"%&'()*+,-./:;<=>?".contains(&b)
}

pub(crate) fn check_text(field: &'static str, value: &str, max: usize, d_only: bool) -> Result<()> {
    let bad = |reason: String| IsoError::BadIdentifier {
        field,
        value: value.to_string(),
        reason,
    };
    if value.len() > max {
        return Err(bad(format!("{} characters, at most {max}", value.len())));
    }
    let ok = if d_only { is_d_char } else { is_a_char };
    if let Some(c) = value.chars().find(|&c| !c.is_ascii() || !ok(c as u8)) {
        let set = if d_only {
            "d-characters (A-Z, 0-9, _)"
        } else {
            "a-characters (A-Z, 0-9, _, space, !\"%&'()*+,-./:;<=>?)"
        };
        return Err(bad(format!("{c:?} is not one of the {set}")));
    }
    // ECMA-119 8.4.20-8.4.22: a leading 0x5F means "the rest names a file in the root".
    if !d_only && value.starts_with('_') {
        return Err(bad("a leading '_' would mark a file reference".to_string()));
    }
    Ok(())
}

/// Turns a space-padded identifier of A–Z, 0–9, `_` and space (such as a DICOM File-set ID)
/// into a Volume Identifier: trailing padding dropped, inner spaces — not d-characters — become
/// `_`.
pub fn volume_id_from_fileset_id(fileset_id: &str) -> Result<String> {
    let id: String = fileset_id
        .trim_end_matches(' ')
        .chars()
        .map(|c| if c == ' ' { '_' } else { c })
        .collect();
    validate_volume_id(&id)?;
    Ok(id)
}

pub(crate) fn validate_volume_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(IsoError::BadIdentifier {
            field: "volume identifier",
            value: String::new(),
            reason: "empty".to_string(),
        });
    }
    check_text("volume identifier", id, 32, true)
}

pub(crate) fn put_text(field: &mut [u8], value: &str) {
    field.fill(b' ');
    field[..value.len()].copy_from_slice(value.as_bytes());
}
