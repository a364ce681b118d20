//! ISO 9660 Level 1 names: which paths the writer accepts (8.3 names of d-characters, at most
//! eight levels) and the order ECMA-119 sorts them in.

use crate::chars::is_d_char;
use crate::{IsoError, Result};

/// Maximum number of path components of a file (`A/B/C/D/E/F/G/FILE`): ECMA-119 6.8.2.1 allows
/// eight directory levels counting the root.
pub const MAX_PATH_COMPONENTS: usize = 8;

/// Sort key of a directory entry. ECMA-119 9.3 orders records by name then extension, each
/// compared as if padded with spaces; every d-character sorts after space, so plain byte order
/// of the unpadded strings gives the same result.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) name: String,
    /// Empty for directories and for files without extension.
    pub(crate) ext: String,
}

fn check_component(path: &str, comp: &str, max: usize) -> Result<()> {
    let bad = |reason: String| IsoError::BadName {
        path: path.to_string(),
        reason,
    };
    if comp.is_empty() || comp.len() > max {
        return Err(bad(format!(
            "{comp:?} must have 1 to {max} characters, has {}",
            comp.len()
        )));
    }
    if let Some(c) = comp.chars().find(|&c| !c.is_ascii() || !is_d_char(c as u8)) {
        let hint = if c.is_ascii_lowercase() {
            " (lowercase letters are not d-characters)"
        } else {
            ""
        };
        return Err(bad(format!(
            "{comp:?} contains {c:?}; only A-Z, 0-9 and _ are allowed{hint}"
        )));
    }
    Ok(())
}

/// Splits a file name into an 8.3 key.
pub(crate) fn file_key(path: &str, comp: &str) -> Result<Key> {
    let (name, ext) = match comp.split_once('.') {
        Some((n, e)) => {
            if e.is_empty() {
                return Err(IsoError::BadName {
                    path: path.to_string(),
                    reason: format!("{comp:?} ends with '.'; give no dot for no extension"),
                });
            }
            (n, e)
        }
        None => (comp, ""),
    };
    check_component(path, name, 8)?;
    if !ext.is_empty() {
        check_component(path, ext, 3)?;
    }
    Ok(Key {
        name: name.to_string(),
        ext: ext.to_string(),
    })
}

pub(crate) fn dir_key(path: &str, comp: &str) -> Result<Key> {
    check_component(path, comp, 8)?;
    Ok(Key {
        name: comp.to_string(),
        ext: String::new(),
    })
}

pub(crate) fn split_path(path: &str) -> Result<Vec<&str>> {
    if path.is_empty() {
        return Err(IsoError::BadName {
            path: String::new(),
            reason: "empty path".to_string(),
        });
    }
    let comps: Vec<&str> = path.split('/').collect();
    if comps.iter().any(|c| c.is_empty()) {
        return Err(IsoError::BadName {
            path: path.to_string(),
            reason: "empty component (leading, trailing or doubled '/')".to_string(),
        });
    }
    Ok(comps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ECMA-119 9.3 rule spelled out: name and extension compared as space-padded fields.
    fn ecma_order(a: &Key, b: &Key) -> std::cmp::Ordering {
        let pad = |s: &str, n: usize| format!("{s:<n$}");
        pad(&a.name, 8)
            .cmp(&pad(&b.name, 8))
            .then_with(|| pad(&a.ext, 3).cmp(&pad(&b.ext, 3)))
    }

    #[test]
    fn key_order_matches_ecma_padded_comparison() {
        let names = [
            "A",
            "AB",
            "AB_",
            "A_",
            "A0",
            "Z",
            "_",
            "0",
            "9Z",
            "ABCDEFGH",
            "ABCDEFG",
            "A.B",
            "A.BC",
            "A.B_",
            "AB.A",
            "B.A",
            "_.Z",
            "README.TXT",
            "README",
            "INDEX.HTM",
            "DICOMDIR",
        ];
        let keys: Vec<Key> = names.iter().map(|n| file_key(n, n).unwrap()).collect();
        for a in &keys {
            for b in &keys {
                assert_eq!(a.cmp(b), ecma_order(a, b), "{a:?} vs {b:?}");
            }
        }
    }
}
