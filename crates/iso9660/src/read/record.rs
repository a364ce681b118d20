//! Decoding one directory record (ECMA-119 9.1) and its identifier, and the both-byte-order
//! numbers, each checked half against half. Written from the standard, not from our writer:
//! this is what checks it.

use super::error::{At, ReadError};

/// A both-byte-order 32-bit number (ECMA-119 7.3.3) at `b[..8]`, little-endian half first.
pub(crate) fn both32(b: &[u8], field: &'static str, at: At) -> Result<u32, ReadError> {
    let (Some(l), Some(m)) = (b.get(..4), b.get(4..8)) else {
        return Err(ReadError::Record {
            at,
            dir: String::new(),
            reason: format!("{field} cut short"),
        });
    };
    let le = u32::from_le_bytes([l[0], l[1], l[2], l[3]]);
    let be = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
    if le != be {
        return Err(ReadError::BothEndian { field, at, le, be });
    }
    Ok(le)
}

/// A both-byte-order 16-bit number (ECMA-119 7.2.3) at `b[..4]`.
pub(crate) fn both16(b: &[u8], field: &'static str, at: At) -> Result<u16, ReadError> {
    let Some(v) = b.get(..4) else {
        return Err(ReadError::Record {
            at,
            dir: String::new(),
            reason: format!("{field} cut short"),
        });
    };
    let le = u16::from_le_bytes([v[0], v[1]]);
    let be = u16::from_be_bytes([v[2], v[3]]);
    if le != be {
        return Err(ReadError::BothEndian {
            field,
            at,
            le: le.into(),
            be: be.into(),
        });
    }
    Ok(le)
}

/// ECMA-119 9.1.6 file flags.
const FLAG_DIRECTORY: u8 = 0x02;
const FLAG_ASSOCIATED: u8 = 0x04;
const FLAG_MULTI_EXTENT: u8 = 0x80;

/// The fixed part of a directory record, before the identifier.
const FIXED_LEN: usize = 33;

/// One decoded directory record.
#[derive(Debug, Clone)]
pub(crate) struct DirRecord {
    pub len: usize,
    pub extent: u32,
    pub data_len: u32,
    pub is_dir: bool,
    pub identifier: Vec<u8>,
    pub ext_attr_len: u8,
    pub interleaved: bool,
    pub multi_extent: bool,
    pub associated: bool,
}

/// Decodes the record starting at `b[0]` (its length byte must be non-zero); `at` is where it
/// lies, for errors.
pub(crate) fn parse_record(b: &[u8], at: At, dir: &str) -> Result<DirRecord, ReadError> {
    let bad = |reason: String| ReadError::Record {
        at,
        dir: dir.to_string(),
        reason,
    };
    let len = usize::from(b.first().copied().unwrap_or(0));
    if len < FIXED_LEN + 1 {
        return Err(bad(format!(
            "length {len}, less than the {} of a record with a one-byte name",
            FIXED_LEN + 1
        )));
    }
    let r = b.get(..len).ok_or_else(|| {
        bad(format!(
            "length {len} runs past the end of the directory ({} bytes left)",
            b.len()
        ))
    })?;
    let with_dir = |e: ReadError| match e {
        ReadError::Record { at, reason, .. } => ReadError::Record {
            at,
            dir: dir.to_string(),
            reason,
        },
        e => e,
    };
    let extent = both32(&r[2..10], "extent location", at).map_err(with_dir)?;
    let data_len = both32(&r[10..18], "data length", at).map_err(with_dir)?;
    let _volume_seq = both16(&r[28..32], "volume sequence number", at).map_err(with_dir)?;
    let flags = r[25];
    let id_len = usize::from(r[32]);
    if id_len == 0 {
        return Err(bad("empty file identifier".to_string()));
    }
    let identifier = r
        .get(FIXED_LEN..FIXED_LEN + id_len)
        .ok_or_else(|| {
            bad(format!(
                "identifier of {id_len} bytes does not fit the record's {len}"
            ))
        })?
        .to_vec();
    Ok(DirRecord {
        len,
        extent,
        data_len,
        is_dir: flags & FLAG_DIRECTORY != 0,
        identifier,
        ext_attr_len: r[1],
        interleaved: r[26] != 0 || r[27] != 0,
        multi_extent: flags & FLAG_MULTI_EXTENT != 0,
        associated: flags & FLAG_ASSOCIATED != 0,
    })
}

/// ECMA-119 7.4.1 d-characters, spelled here again on purpose (the reader shares no code
/// with the writer but the sector size).
fn d_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

/// The name a Level 1 identifier stands for: `NAME.EXT;1` → `NAME.EXT`, `NAME.;1` → `NAME`,
/// a directory's `NAME` as it is. Level 1 (ECMA-119 10.1): d-characters, a file name of at
/// most 8 with an extension of at most 3, a directory name of at most 8. The separators are
/// taken as optional (some writers leave out `;1` or the lone dot); the characters are not.
pub(crate) fn level1_name(identifier: &[u8], is_dir: bool) -> Result<String, String> {
    let text = std::str::from_utf8(identifier).map_err(|_| "is not ASCII".to_string())?;
    if is_dir {
        if text.is_empty() || text.len() > 8 {
            return Err(format!("has {} characters, 1 to 8 expected", text.len()));
        }
        if let Some(c) = text.bytes().find(|&c| !d_char(c)) {
            return Err(format!(
                "has {:?}, not a d-character (A-Z, 0-9, _)",
                char::from(c)
            ));
        }
        return Ok(text.to_string());
    }
    let base = match text.rsplit_once(';') {
        Some((base, version)) => {
            let v: u32 = version
                .parse()
                .map_err(|_| format!("has version {version:?}, not a number"))?;
            if !(1..=32767).contains(&v) {
                return Err(format!("has version {v}, outside 1 to 32767"));
            }
            base
        }
        None => text,
    };
    let (name, ext) = base.split_once('.').unwrap_or((base, ""));
    if name.is_empty() && ext.is_empty() {
        return Err("has neither a name nor an extension".to_string());
    }
    if name.len() > 8 || ext.len() > 3 {
        return Err(format!(
            "is longer than 8.3 ({} and {} characters)",
            name.len(),
            ext.len()
        ));
    }
    if let Some(c) = name.bytes().chain(ext.bytes()).find(|&c| !d_char(c)) {
        return Err(format!(
            "has {:?}, not a d-character (A-Z, 0-9, _)",
            char::from(c)
        ));
    }
    Ok(if ext.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{ext}")
    })
}

/// Characters a Joliet name may not hold (Joliet specification 3.1): the separators and
/// wildcards of the systems that read it, and control characters.
fn joliet_forbidden(c: char) -> bool {
    c < ' ' || matches!(c, '*' | '/' | ':' | ';' | '?' | '\\')
}

/// The name a Joliet identifier (UCS-2 big-endian) stands for: `NAME.EXT;1` → `NAME.EXT`,
/// `NAME;1` → `NAME`; at most 64 characters (the specification's limit).
pub(crate) fn joliet_name(identifier: &[u8], is_dir: bool) -> Result<String, String> {
    let text = super::volume::ucs2_text(identifier)
        .ok_or_else(|| format!("is not UCS-2 ({} bytes)", identifier.len()))?;
    let base = match (is_dir, text.rsplit_once(';')) {
        (false, Some((base, version))) => {
            let v: u32 = version
                .parse()
                .map_err(|_| format!("has version {version:?}, not a number"))?;
            if !(1..=32767).contains(&v) {
                return Err(format!("has version {v}, outside 1 to 32767"));
            }
            base.to_string()
        }
        _ => text,
    };
    let count = base.chars().count();
    if count == 0 || count > 64 {
        return Err(format!("has {count} characters, 1 to 64 expected"));
    }
    if let Some(c) = base.chars().find(|&c| joliet_forbidden(c)) {
        return Err(format!("has {c:?}, which Joliet names may not hold"));
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: At = At {
        sector: 20,
        offset: 68,
    };

    #[test]
    fn names() {
        assert_eq!(level1_name(b"DICOMDIR.;1", false).unwrap(), "DICOMDIR");
        assert_eq!(level1_name(b"README.TXT;1", false).unwrap(), "README.TXT");
        assert_eq!(level1_name(b"I0000001", false).unwrap(), "I0000001");
        assert_eq!(level1_name(b"I0000001.", false).unwrap(), "I0000001");
        assert_eq!(level1_name(b"P0000001", true).unwrap(), "P0000001");
        for bad in [
            &b"readme.txt;1"[..],
            b"TOOLONGNAME.;1",
            b"A.TEXT;1",
            b".;1",
            b"A;x",
        ] {
            assert!(level1_name(bad, false).is_err(), "{bad:?}");
        }
        assert!(level1_name(b"A.B", true).is_err());
        assert!(level1_name(b"\xff", false).is_err());
    }

    #[test]
    fn joliet_names() {
        let u = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|c| c.to_be_bytes()).collect() };
        assert_eq!(joliet_name(&u("DICOMDIR;1"), false).unwrap(), "DICOMDIR");
        assert_eq!(
            joliet_name(&u("README.TXT;1"), false).unwrap(),
            "README.TXT"
        );
        assert_eq!(
            joliet_name(&u("Long name.html"), false).unwrap(),
            "Long name.html"
        );
        assert_eq!(joliet_name(&u("P0000001"), true).unwrap(), "P0000001");
        assert!(joliet_name(&u("A*B;1"), false).is_err());
        assert!(joliet_name(&u("A;x"), false).is_err());
        assert!(joliet_name(&[0, 65, 0], false).is_err(), "odd length");
        assert!(joliet_name(&[0xD8, 0x00], false).is_err(), "lone surrogate");
        assert!(joliet_name(&u(&"X".repeat(65)), true).is_err());
    }

    #[test]
    fn both_endian_halves_must_agree() {
        assert_eq!(both32(&[1, 0, 0, 0, 0, 0, 0, 1], "x", AT).unwrap(), 1);
        let e = both32(&[1, 0, 0, 0, 0, 0, 0, 2], "extent location", AT).unwrap_err();
        assert_eq!(
            e.to_string(),
            "extent location at sector 20, byte 68: both-endian value disagrees \
             (little-endian 1, big-endian 2)"
        );
        assert!(both16(&[0, 8, 8, 0], "x", AT).is_ok());
        assert!(both16(&[0, 8, 0, 8], "x", AT).is_err());
        assert!(both16(&[0, 8], "x", AT).is_err());
    }

    #[test]
    fn short_records_are_errors() {
        assert!(parse_record(&[10; 10], AT, "").is_err());
        let mut r = vec![0u8; 34];
        r[0] = 34;
        r[32] = 1;
        assert!(parse_record(&r[..20], AT, "").is_err());
        assert!(parse_record(&r, AT, "").is_ok());
        r[32] = 5; // identifier longer than the record
        assert!(parse_record(&r, AT, "").is_err());
    }
}
