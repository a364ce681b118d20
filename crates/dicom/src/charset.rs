//! Decoding text values for display (PS3.5 section 6.1 and annex on character sets): the raw
//! bytes stay in the index and on media; this is only for people reading a list.
//!
//! Single-byte and multi-byte repertoires without code extensions map to one decoder. With
//! ISO 2022 code extensions the value is split at each escape sequence and every run is
//! decoded with the set the escape designates.

use encoding_rs::{Encoding, ISO_2022_JP, SHIFT_JIS, WINDOWS_1252};

/// The decoder for a Defined Term of Specific Character Set (0008,0005).
fn for_term(term: &str) -> Option<&'static Encoding> {
    use encoding_rs::*;
    let t = term.trim().replace("ISO 2022 IR ", "ISO_IR ");
    Some(match t.as_str() {
        "" | "ISO_IR 6" => WINDOWS_1252,
        "ISO_IR 100" => WINDOWS_1252,
        "ISO_IR 101" => ISO_8859_2,
        "ISO_IR 109" => ISO_8859_3,
        "ISO_IR 110" => ISO_8859_4,
        "ISO_IR 144" => ISO_8859_5,
        "ISO_IR 127" => ISO_8859_6,
        "ISO_IR 126" => ISO_8859_7,
        "ISO_IR 138" => ISO_8859_8,
        "ISO_IR 148" => WINDOWS_1254,
        "ISO_IR 166" => WINDOWS_874,
        "ISO_IR 13" => SHIFT_JIS,
        "ISO_IR 192" => UTF_8,
        "GB18030" => GB18030,
        "GBK" => GBK,
        "ISO_IR 149" => EUC_KR,
        "ISO_IR 87" | "ISO_IR 159" => ISO_2022_JP,
        _ => return None,
    })
}

/// The set an ISO 2022 escape sequence designates, and its length.
fn for_escape(esc: &[u8]) -> Option<(&'static Encoding, usize, bool)> {
    use encoding_rs::*;
    // (sequence after ESC, decoder, keep the escape for the decoder)
    const TABLE: &[(&[u8], bool)] = &[
        (b"$)C", false),
        (b"$(D", true),
        (b"$B", true),
        (b"(B", false),
        (b"(J", false),
        (b")I", false),
        (b"-A", false),
        (b"-B", false),
        (b"-C", false),
        (b"-D", false),
        (b"-L", false),
        (b"-G", false),
        (b"-F", false),
        (b"-H", false),
        (b"-M", false),
        (b"-T", false),
    ];
    for (seq, keep) in TABLE {
        if esc.starts_with(seq) {
            let enc: &'static Encoding = match *seq {
                b"$)C" => EUC_KR,
                b"$(D" | b"$B" => ISO_2022_JP,
                b"(B" | b"(J" => WINDOWS_1252,
                b")I" => SHIFT_JIS,
                b"-A" => WINDOWS_1252,
                b"-B" => ISO_8859_2,
                b"-C" => ISO_8859_3,
                b"-D" => ISO_8859_4,
                b"-L" => ISO_8859_5,
                b"-G" => ISO_8859_6,
                b"-F" => ISO_8859_7,
                b"-H" => ISO_8859_8,
                b"-M" => WINDOWS_1254,
                _ => WINDOWS_874,
            };
            return Some((enc, seq.len(), *keep));
        }
    }
    None
}

fn decode_with(enc: &'static Encoding, bytes: &[u8]) -> String {
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// Decode `raw` as the Specific Character Set `charset` (its raw, backslash-separated value).
pub fn decode_text(raw: &[u8], charset: &str) -> String {
    let mut terms = charset.split('\\');
    let first = terms.next().unwrap_or("");
    let initial = for_term(first).unwrap_or(WINDOWS_1252);
    if !raw.contains(&0x1B) {
        // Without escapes, the first term's repertoire applies; with code extensions
        // declared but unused, a single-byte G1 set may still be the second term.
        if raw.iter().any(|&b| b >= 0x80) && first.trim().is_empty() {
            if let Some(second) = terms.find_map(for_term) {
                return decode_with(
                    if second == ISO_2022_JP {
                        SHIFT_JIS
                    } else {
                        second
                    },
                    raw,
                );
            }
        }
        return decode_with(initial, raw);
    }
    let mut out = String::new();
    let mut current = initial;
    let mut pos = 0;
    while pos < raw.len() {
        let next_esc = raw[pos..]
            .iter()
            .position(|&b| b == 0x1B)
            .map_or(raw.len(), |p| pos + p);
        if next_esc > pos {
            out.push_str(&decode_with(current, &raw[pos..next_esc]));
        }
        if next_esc >= raw.len() {
            break;
        }
        match for_escape(&raw[next_esc + 1..]) {
            Some((enc, len, keep_escape)) => {
                let run_start = next_esc + 1 + len;
                if keep_escape {
                    // ISO-2022-JP decoders want the escape and return to ASCII themselves.
                    let run_end = raw[run_start..]
                        .iter()
                        .position(|&b| b == 0x1B)
                        .map_or(raw.len(), |p| run_start + p);
                    let mut chunk = raw[next_esc..run_end].to_vec();
                    chunk.extend_from_slice(b"\x1b(B");
                    out.push_str(&decode_with(enc, &chunk));
                    pos = run_end;
                    current = WINDOWS_1252;
                    continue;
                }
                current = enc;
                pos = run_start;
            }
            None => {
                out.push('\u{FFFD}');
                pos = next_esc + 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_byte() {
        assert_eq!(decode_text(b"M\xfcller", "ISO_IR 100"), "Müller");
        assert_eq!(
            decode_text(b"\xb8\xd2\xd0\xdd\xde\xd2", "ISO_IR 144"),
            "Иванов"
        );
        assert_eq!(decode_text("山田".as_bytes(), "ISO_IR 192"), "山田");
        assert_eq!(decode_text(b"\xcd\xf5", "GB18030"), "王");
    }

    #[test]
    fn iso2022_japanese_and_korean() {
        let jp = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B";
        assert_eq!(
            decode_text(jp, "\\ISO 2022 IR 87"),
            "Yamada^Tarou=山田^太郎"
        );
        let kr = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7";
        assert_eq!(decode_text(kr, "\\ISO 2022 IR 149"), "Hong^Gildong=洪^吉洞");
    }
}
