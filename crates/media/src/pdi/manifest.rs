//! MANIFEST.TXT: the SHA-256 of every other file on the volume, one line each in the form
//! `sha256sum` writes and checks (`<64 hex>  <path>`, CRLF, which coreutils accepts), so
//! `sha256sum -c MANIFEST.TXT` at the root of the disc verifies it. Paths are as recorded on
//! the volume, `/`-separated, in byte order.

use std::collections::BTreeMap;

use super::{ExtraFile, MANIFEST};

/// Bytes of the line of the file at `path`.
pub(crate) fn line_len(path: &str) -> u64 {
    64 + 2 + path.len() as u64 + 2
}

/// The manifest of `hashes` (path on the volume → lower-case hex SHA-256).
pub fn render(hashes: &BTreeMap<String, String>) -> ExtraFile {
    let mut t = String::new();
    for (path, hash) in hashes {
        t.push_str(hash);
        t.push_str("  ");
        t.push_str(path);
        t.push_str("\r\n");
    }
    ExtraFile {
        name: MANIFEST,
        bytes: t.into_bytes(),
    }
}

/// The entries of a manifest, or the first line that is not one.
pub fn parse(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let mut out = BTreeMap::new();
    for (n, line) in text.split_terminator('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bad = || format!("line {} is not `<sha256>  <path>`: {line:?}", n + 1);
        let (hash, path) = line.split_once("  ").ok_or_else(bad)?;
        if hash.len() != 64
            || !hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            || path.is_empty()
        {
            return Err(bad());
        }
        if out.insert(path.to_string(), hash.to_string()).is_some() {
            return Err(format!("{path} is listed twice"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_back() {
        let mut h = BTreeMap::new();
        h.insert("DICOMDIR".to_string(), "a".repeat(64));
        h.insert(
            "DICOM/P0000001/S0000001/R0000001/I0000001".into(),
            "b".repeat(64),
        );
        let m = render(&h);
        let total: u64 = h.keys().map(|k| line_len(k)).sum();
        assert_eq!(m.bytes.len() as u64, total);
        assert_eq!(parse(&m.bytes).unwrap(), h);
        assert!(parse(b"xyz  A\r\n").is_err());
        assert!(
            parse(format!("{}  A\n{}  A\n", "a".repeat(64), "b".repeat(64)).as_bytes()).is_err()
        );
    }
}
