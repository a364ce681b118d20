//! The Joliet extension: a supplementary volume descriptor (ECMA-119 8.5, type 2) whose
//! escape sequences `%/E` say UCS-2 level 3, and a second directory tree with its own path
//! tables whose identifiers are UCS-2 big-endian. The names are exactly those of the Level 1
//! tree (upper case, 8.3, `;1` versions), the directory order and the file extents are the
//! same: only the way the names are written differs.
//!
//! Why: Linux mounts a disc without Rock Ridge or Joliet with its Level 1 names shown in lower
//! case (the `map=normal` default), so links written in upper case (the PDI web content) break
//! on a copy of the disc; with Joliet every system shows the names exactly as recorded. The
//! identifiers of the descriptor are UCS-2 too: the Volume Identifier's field holds 16
//! characters, so a longer one is cut to its first 16 there (Windows and macOS show that one).
//!
//! This file holds the encoding; `descriptors.rs` writes both trees' structures with it.

use crate::names::Key;

/// UCS-2 level 3 (Joliet specification, 1995): `%/E`.
pub(crate) const ESCAPE_LEVEL_3: &[u8] = b"%/E";

/// UCS-2 big-endian of an ASCII string (all our identifiers are ASCII).
pub(crate) fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

/// Fills a descriptor field with UCS-2 `value`, padded with UCS-2 spaces (a last odd byte, as
/// in the 37-byte file identifier fields, stays 0x00). `value` is cut to the field.
pub(crate) fn put_ucs2(field: &mut [u8], value: &str) {
    for pair in field.chunks_exact_mut(2) {
        pair.copy_from_slice(&[0x00, 0x20]);
    }
    if field.len() % 2 == 1 {
        let last = field.len() - 1;
        field[last] = 0;
    }
    let bytes = ucs2(value);
    let n = bytes.len().min(field.len() / 2 * 2);
    field[..n].copy_from_slice(&bytes[..n]);
}

/// A file's Joliet identifier: `NAME.EXT;1`, or `NAME;1` without extension (Joliet readers
/// show a name with a trailing dot as it is, where Level 1 requires the dot).
pub(crate) fn joliet_file_identifier(key: &Key) -> Vec<u8> {
    let name = if key.ext.is_empty() {
        format!("{};1", key.name)
    } else {
        format!("{}.{};1", key.name, key.ext)
    };
    ucs2(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs2_fields() {
        assert_eq!(ucs2("A.B"), [0, b'A', 0, b'.', 0, b'B']);
        let mut f = [9u8; 7];
        put_ucs2(&mut f, "AB");
        assert_eq!(f, [0, b'A', 0, b'B', 0, 0x20, 0]);
        let mut v = [0u8; 32];
        put_ucs2(&mut v, "261201J12345_1OF1");
        // Cut to 16 characters.
        assert_eq!(&v[30..32], &[0, b'F']);
        assert_eq!(
            String::from_utf16_lossy(
                &v.chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>()
            ),
            "261201J12345_1OF"
        );
    }
}
