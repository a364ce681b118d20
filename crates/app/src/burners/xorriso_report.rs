//! Reading what xorriso says about a drive: the medium's state, type and free space from the
//! `-toc` / `-tell_media_space` report, the write progress of `-as cdrecord -v`, and the
//! reason of a failure. Its output is outside bytes (a drive's firmware strings, a stand-in
//! program's text): every line is looked at on its own, nothing here indexes or panics, and
//! whatever is not understood is treated as "unreadable", never as blank.
//!
//! The lines (xorriso 1.5, with or without `-pkt_output on`, which prefixes `R:1: ` to result
//! lines and `I:1: ` to notes):
//!
//! ```text
//! Media current: DVD+RW                    (or "stdio file, overwriteable", "is not present")
//! Media status : is blank                  ("is written , is appendable", "is written , is
//!                                          closed", "is not present", "is not recognizable")
//! Media space  : 16883954s                 (2048-byte blocks writable)
//! xorriso : UPDATE :    4 of   20 MB written (fifo  0%) [buf  50%]
//! libburn : SORRY : Cannot write desired amount ... : No space left on device
//! ```

use serde::Serialize;

/// The medium in the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediumState {
    /// No disc in the drive.
    None,
    Blank,
    /// Written, with room for another session: not ours to add to.
    Appendable,
    /// Written and closed.
    Closed,
    /// The drive cannot tell (unknown format, damaged, a report we do not understand).
    Unreadable,
}

impl MediumState {
    pub fn name(self) -> &'static str {
        match self {
            MediumState::None => "none",
            MediumState::Blank => "blank",
            MediumState::Appendable => "appendable",
            MediumState::Closed => "closed",
            MediumState::Unreadable => "unreadable",
        }
    }
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Medium {
    pub state: MediumState,
    /// The drive's name for the medium (`DVD+RW`, `CD-R`, `stdio file, overwriteable`).
    pub media_type: String,
    /// Writable bytes, when the report said.
    pub free_bytes: Option<u64>,
    /// CD-RW, DVD±RW, DVD-RAM, BD-RE, or an overwritable file: it can be blanked.
    pub rewritable: bool,
}

/// The payload of one line: without the `-pkt_output` channel prefix.
fn payload(line: &str) -> &str {
    let b = line.as_bytes();
    if b.len() >= 5
        && matches!(b[0], b'R' | b'I' | b'M')
        && b[1] == b':'
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4] == b' '
    {
        &line[5..]
    } else {
        line
    }
}

/// The value of a `Name : value` line, when `line` is one for `name` (any spaces before the
/// colon, as xorriso aligns its columns).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = payload(line).strip_prefix(name)?;
    let rest = rest.trim_start_matches(' ').strip_prefix(':')?;
    Some(rest.trim())
}

fn state_of(status: &str) -> MediumState {
    let s = status.to_ascii_lowercase();
    if s.contains("not present") {
        MediumState::None
    } else if s.contains("is blank") {
        MediumState::Blank
    } else if s.contains("is written") && s.contains("is closed") {
        MediumState::Closed
    } else if s.contains("is written") && s.contains("is appendable") {
        MediumState::Appendable
    } else if s.contains("is written") {
        // Written without a word on what more it takes: as good as closed for us.
        MediumState::Closed
    } else {
        MediumState::Unreadable
    }
}

fn rewritable(media_type: &str) -> bool {
    let t = media_type.to_ascii_uppercase();
    t.contains("RW") || t.contains("BD-RE") || t.contains("RAM") || t.contains("OVERWRITEABLE")
}

/// `16883954s` (2048-byte blocks) as bytes.
fn blocks_to_bytes(v: &str) -> Option<u64> {
    let n: u64 = v.strip_suffix('s')?.trim().parse().ok()?;
    n.checked_mul(2048)
}

/// The medium a `-toc -tell_media_space` report describes; the last line of each kind wins
/// (a report after a blank or a re-assessment describes the medium as it is now).
pub fn parse_medium<'a>(lines: impl IntoIterator<Item = &'a str>) -> Medium {
    let mut status: Option<&str> = None;
    let mut current: Option<&str> = None;
    let mut space: Option<u64> = None;
    // A drive that cannot be probed for want of a disc may say so only in a message.
    let mut says_no_medium = false;
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if lower.contains("no media") || lower.contains("no medium") {
            says_no_medium = true;
        }
        if let Some(v) = field(line, "Media status") {
            status = Some(v);
        } else if let Some(v) = field(line, "Media current") {
            current = Some(v);
        } else if let Some(v) = field(line, "Media space") {
            space = blocks_to_bytes(v);
        }
    }
    let media_type = current.unwrap_or("").to_string();
    let state = match (status, current) {
        (Some(s), _) => state_of(s),
        (None, Some(c)) if state_of(c) == MediumState::None => MediumState::None,
        (None, _) if says_no_medium => MediumState::None,
        _ => MediumState::Unreadable,
    };
    Medium {
        rewritable: state != MediumState::None && rewritable(&media_type),
        media_type,
        free_bytes: space,
        state,
    }
}

/// The write progress (0 to 1) one line of `-as cdrecord -v` (`N of M MB written`) or of the
/// native writer (`Writing: ... 5.4% ...`) reports.
pub fn parse_progress(line: &str) -> Option<f64> {
    let p = payload(line);
    if let Some(head) = p.find(" MB written").map(|i| &p[..i]) {
        let mut words = head.split_whitespace().rev();
        let total: f64 = words.next()?.parse().ok()?;
        if words.next()? != "of" {
            return None;
        }
        let done: f64 = words.next()?.parse().ok()?;
        if total > 0.0 && done.is_finite() && total.is_finite() {
            return Some((done / total).clamp(0.0, 1.0));
        }
        return None;
    }
    if p.contains("Writing:") {
        let pct = p.split_whitespace().find_map(|w| w.strip_suffix('%'))?;
        let v: f64 = pct.parse().ok()?;
        if v.is_finite() {
            return Some((v / 100.0).clamp(0.0, 1.0));
        }
    }
    None
}

/// Why xorriso failed, in its own words: the first `SORRY`/`FATAL` message (libburn's, the
/// most specific), else the first `FAILURE`.
pub fn failure_reason<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut failure = None;
    for line in lines {
        let p = payload(line);
        for sev in [" : SORRY : ", " : FATAL : "] {
            if let Some(i) = p.find(sev) {
                return Some(p[i + sev.len()..].trim().to_string());
            }
        }
        if failure.is_none() {
            if let Some(i) = p.find(" : FAILURE : ") {
                failure = Some(p[i + " : FAILURE : ".len()..].trim().to_string());
            }
        }
    }
    failure
}

#[cfg(test)]
mod tests;
