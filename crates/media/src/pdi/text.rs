//! Text for the volume's own files: values cut to a bounded length (so the planner can size
//! a file before its content is known), escaped for XHTML, or kept to 7-bit ASCII for
//! README.TXT.

/// Marks a value that was cut.
const ELLIPSIS: &str = "...";

/// The first `max_chars` characters of `s`, with "..." when it was longer.
pub(crate) fn cut(s: &str, max_chars: usize) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        head + ELLIPSIS
    } else {
        head
    }
}

/// `s` cut to `max_chars` characters and escaped for XHTML text or a quoted attribute.
/// Control characters (which XML 1.0 does not allow) become spaces.
pub(crate) fn xhtml(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for c in cut(s, max_chars).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max_chars` characters in printable 7-bit ASCII: anything else becomes `?`
/// (README.TXT is ASCII; the configuration refuses such values, this keeps the promise for
/// any other caller).
pub(crate) fn ascii(s: &str, max_chars: usize) -> String {
    cut(s, max_chars)
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// A Person Name decoded for display: components separated by spaces instead of `^`, the
/// alphabetic, ideographic and phonetic groups by " = ", empty ones left out.
pub(crate) fn person_name(decoded: &str) -> String {
    decoded
        .split('=')
        .map(|group| {
            group
                .split('^')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|g| !g.is_empty())
        .collect::<Vec<_>>()
        .join(" = ")
}

/// `YYYYMMDD` as `YYYY-MM-DD`; anything else as it is.
pub(crate) fn date(da: &str) -> String {
    let d = da.trim();
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        d.to_string()
    }
}

/// `HHMMSS[.frac]` as `HH:MM`; anything else as it is.
pub(crate) fn time(tm: &str) -> String {
    let t = tm.trim();
    if t.len() >= 4 && t.bytes().take(4).all(|b| b.is_ascii_digit()) {
        format!("{}:{}", &t[..2], &t[2..4])
    } else {
        t.to_string()
    }
}

/// A text key of `src`, decoded in the instance's own Specific Character Set and trimmed;
/// empty when absent.
pub(crate) fn decoded_key(src: &crate::source::SourceFile, t: u32) -> String {
    let charset = src
        .keys
        .string(dcmdisc_dicom::tag::SPECIFIC_CHARACTER_SET)
        .unwrap_or_default();
    src.keys
        .text(t)
        .map(|v| {
            dcmdisc_dicom::charset::decode_text(v, &charset)
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_cutting_stay_within_the_bound() {
        assert_eq!(xhtml("a<b>&\"c\u{1}", 10), "a&lt;b&gt;&amp;&quot;c ");
        assert_eq!(cut("abcdef", 3), "abc...");
        // `&quot;` is the longest a character becomes: 6 bytes.
        assert_eq!(xhtml(&"\"".repeat(100), 64).len(), 64 * 6 + 3);
        assert_eq!(xhtml(&"\u{10348}".repeat(100), 64).len(), 64 * 4 + 3);
        assert_eq!(ascii("Müller\tX", 20), "M?ller?X");
    }

    #[test]
    fn names_dates_and_times() {
        assert_eq!(
            person_name("Yamada^Tarou=山田^太郎=やまだ^たろう"),
            "Yamada Tarou = 山田 太郎 = やまだ たろう"
        );
        assert_eq!(person_name("^^^"), "");
        assert_eq!(date("20260101"), "2026-01-01");
        assert_eq!(date("2026"), "2026");
        assert_eq!(time("120501.5"), "12:05");
    }
}
