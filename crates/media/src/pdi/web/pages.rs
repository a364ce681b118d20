//! The XHTML pages of the web content. Like the root INDEX.HTM: XHTML 1.0 Strict in UTF-8,
//! presentational attributes only (no CSS, DRG 3.2.1.10), no network reference, every link a
//! relative name exactly as recorded. Series pages name two classic scripts (their
//! SERIES.TXT and the viewer) and work fully without them (DRG 3.2.1.10: a failing script
//! must not make the page unusable); the other pages have none. Every value shown is cut to a fixed
//! length and escaped (`text.rs`), so `budget.rs` can bound each block from a worst case;
//! the names in a block are fixed-width, so an instance's block has the same length wherever
//! it is placed.

use std::fmt::Write;

use dcmdisc_dicom::charset::decode_text;
use dcmdisc_dicom::tag;

use super::super::catalog::{Disc, PatientEntry, SeriesEntry, StudyEntry};
use super::super::index::{NAME_CHARS, SHORT_CHARS, VALUE_CHARS};
use super::super::text::{date, person_name, xhtml};
use super::object::SrNode;
use super::{Content, Prepared, Rendered, Rendering};
use crate::source::SourceFile;

/// Longest reason shown for an instance that is not shown.
const REASON_CHARS: usize = 240;
/// Frames are shown at most this wide or high on a series page (linked at full size).
const SHOWN_PIXELS: usize = 512;
/// Longest SR value shown (a report's text may be long; the whole is in the DICOM file).
const SR_VALUE_CHARS: usize = 4000;

pub(crate) fn or(v: &str, none: &str) -> String {
    if v.trim().is_empty() {
        none.to_string()
    } else {
        v.trim().to_string()
    }
}

/// The start of every page: `title` escaped by the caller.
fn head(title: &str) -> String {
    // The DOCTYPE's system identifier and the namespace are names, never fetched.
    format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \
         \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\r\n\
         <head>\r\n\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\r\n\
         <title>{title}</title>\r\n\
         </head>\r\n<body>\r\n"
    )
}

const NOT_FOR_DIAGNOSIS: &str = "<p>These pictures are for review only, not for diagnosis: \
     the DICOM files on this disc hold the images in full quality.</p>\r\n";

pub(crate) const TAIL: &str = "</body>\r\n</html>\r\n";

fn patient_line(p: &PatientEntry) -> String {
    format!(
        "<p>Patient: <strong>{}</strong>, ID {}, born {}</p>\r\n",
        xhtml(&or(&p.name, "(no name)"), NAME_CHARS),
        xhtml(&or(&p.id, "none"), VALUE_CHARS),
        xhtml(&or(&date(&p.birth_date), "(not recorded)"), SHORT_CHARS),
    )
}

fn study_title(n: usize, s: &StudyEntry) -> String {
    format!(
        "Study {n}: {} ({})",
        xhtml(&or(&s.description, "no description"), VALUE_CHARS),
        xhtml(&or(&date(&s.date), "no date"), SHORT_CHARS)
    )
}

fn series_title(s: &SeriesEntry) -> String {
    format!(
        "Series {} {}: {}",
        xhtml(&or(&s.number, "-"), SHORT_CHARS),
        xhtml(&s.modality, SHORT_CHARS),
        xhtml(&or(&s.description, "no description"), VALUE_CHARS)
    )
}

pub(crate) fn study_dir(n: usize) -> String {
    format!("ST{n:06}")
}
pub(crate) fn series_dir(n: usize) -> String {
    format!("SE{n:06}")
}
pub(crate) fn frame_name(n: usize) -> String {
    format!("F{n:07}.JPG")
}
pub(crate) fn object_name(n: usize, ext: &str) -> String {
    format!("I{n:07}.{ext}")
}
/// The letters of the extra presets' JPEGs (`A0000001.JPG` is frame 1 at the 2nd preset).
pub(crate) const PRESET_LETTERS: [char; super::EXTRA_PRESETS] = ['A', 'B', 'C'];
pub(crate) fn preset_frame_name(extra: usize, n: usize) -> String {
    format!("{}{n:07}.JPG", PRESET_LETTERS[extra])
}

/// The series' data for the viewer, and the scripts a series page names (docs/viewer.md).
pub(crate) const SERIES_DATA: &str = "SERIES.TXT";
pub(crate) const SERIES_DATA_HEAD: &str = "// This series' data for the disc's viewer \
     (VIEWER/VIEWER.TXT, a script the series page runs): one line an instance, in the \
     page's order.\r\nvar DCMDISC_SERIES = [];\r\n";
pub(crate) const SERIES_SCRIPTS: &str =
    "<script type=\"text/javascript\" src=\"SERIES.TXT\"></script>\r\n\
     <script type=\"text/javascript\" src=\"../../../VIEWER/VIEWER.TXT\"></script>\r\n";

/// IHE_PDI/INDEX.HTM before its study rows.
pub(crate) fn web_head(disc: &Disc) -> String {
    let mut t = head("Images on this disc");
    let _ = write!(
        t,
        "<h1>Images on this disc</h1>\r\n\
         <p>Disc {} of {}, File-set ID {}. <a href=\"../INDEX.HTM\">Back to the disc's \
         index</a>.</p>\r\n",
        disc.number,
        disc.count,
        xhtml(&disc.fileset_id, SHORT_CHARS)
    );
    t.push_str(NOT_FOR_DIAGNOSIS);
    for p in &disc.patients {
        t.push_str(&patient_line(p));
    }
    t.push_str("<ul>\r\n");
    t
}

/// IHE_PDI/INDEX.HTM's row of study `n`.
pub(crate) fn web_study_row(n: usize, s: &StudyEntry, series: usize) -> String {
    format!(
        "<li><a href=\"{}/INDEX.HTM\">{}</a>: {series} series</li>\r\n",
        study_dir(n),
        study_title(n, s),
    )
}

pub(crate) const LIST_END: &str = "</ul>\r\n";

/// A study page before its series rows.
pub(crate) fn study_head(p: &PatientEntry, n: usize, s: &StudyEntry) -> String {
    let title = study_title(n, s);
    let mut t = head(&title);
    let _ = write!(
        t,
        "<h1>{title}</h1>\r\n<p><a href=\"../INDEX.HTM\">Back to the studies</a>.</p>\r\n"
    );
    t.push_str(&patient_line(p));
    t.push_str(
        "<table border=\"1\" cellpadding=\"4\" summary=\"Series of the study\">\r\n\
         <tr><th>Thumbnail</th><th>Series</th><th>Instances</th></tr>\r\n",
    );
    t
}

/// A study page's row of series `n`; `thumb`: it has a THUMB.JPG.
pub(crate) fn study_series_row(n: usize, s: &SeriesEntry, thumb: bool) -> String {
    let dir = series_dir(n);
    let picture = if thumb {
        format!("<a href=\"{dir}/INDEX.HTM\"><img src=\"{dir}/THUMB.JPG\" alt=\"Thumbnail\" /></a>")
    } else {
        "(no picture)".to_string()
    };
    format!(
        "<tr><td>{picture}</td><td><a href=\"{dir}/INDEX.HTM\">{}</a></td><td>{}</td></tr>\r\n",
        series_title(s),
        s.instances
    )
}

pub(crate) const TABLE_END: &str = "</table>\r\n";

/// A series page before its instances.
pub(crate) fn series_head(
    p: &PatientEntry,
    st: &StudyEntry,
    st_no: usize,
    s: &SeriesEntry,
) -> String {
    let title = series_title(s);
    let mut t = head(&title);
    let _ = write!(
        t,
        "<h1>{title}</h1>\r\n<p>{}. <a href=\"../INDEX.HTM\">Back to the study</a>.</p>\r\n",
        study_title(st_no, st)
    );
    t.push_str(&patient_line(p));
    t.push_str(NOT_FOR_DIAGNOSIS);
    t
}

/// Display size: fitted into [`SHOWN_PIXELS`] square, never enlarged.
fn shown(r: &Rendered) -> (usize, usize) {
    let long = r.width.max(r.height).max(1);
    if long <= SHOWN_PIXELS {
        (r.width, r.height)
    } else {
        (
            (r.width * SHOWN_PIXELS).div_ceil(long).max(1),
            (r.height * SHOWN_PIXELS).div_ceil(long).max(1),
        )
    }
}

/// An instance's block on its series page: its frames are `F{first_frame}…`, its own file
/// `I{index}.*`. Names are fixed-width, so the length does not depend on either number.
pub(crate) fn instance_block(p: &Prepared, first_frame: usize, index: usize) -> String {
    let number = xhtml(&or(&p.number, "-"), SHORT_CHARS);
    let mut t = format!("<h2>Instance {number}</h2>\r\n");
    match &p.content {
        Content::Frames(r) => {
            let n = r.frames.len();
            let others: Vec<String> = (0..r.extra.len())
                .map(|i| {
                    r.facts
                        .presets
                        .get(i + 1)
                        .map_or_else(|| format!("window {}", i + 2), |p| p.label.clone())
                })
                .collect();
            for (k, f) in r.frames.iter().enumerate() {
                let name = frame_name(first_frame + k);
                let (w, h) = shown(f);
                let _ = write!(
                    t,
                    "<p><a href=\"{name}\"><img src=\"{name}\" width=\"{w}\" height=\"{h}\" \
                     alt=\"Instance {number}, frame {} of {n}\" /></a>",
                    k + 1
                );
                if !others.is_empty() {
                    t.push_str("<br />\r\nOther windows:");
                    for (i, label) in others.iter().enumerate() {
                        let _ = write!(
                            t,
                            " <a href=\"{}\">{}</a>",
                            preset_frame_name(i, first_frame + k),
                            xhtml(label, VALUE_CHARS)
                        );
                    }
                }
                t.push_str("</p>\r\n");
            }
        }
        Content::Sr { title, .. } => {
            let _ = write!(
                t,
                "<p><a href=\"{}\">Report: {}</a></p>\r\n",
                object_name(index, "HTM"),
                xhtml(title, VALUE_CHARS)
            );
        }
        Content::Pdf { title, document } => {
            let _ = write!(
                t,
                "<p><a href=\"{}\">PDF document: {}</a> ({} KB)</p>\r\n",
                object_name(index, "PDF"),
                xhtml(title, VALUE_CHARS),
                (document.len() as u64).div_ceil(1024)
            );
        }
        Content::Svg { what, .. } => {
            let name = object_name(index, "SVG");
            let _ = write!(
                t,
                "<p><a href=\"{name}\"><img src=\"{name}\" alt=\"Waveform\" /></a></p>\r\n\
                 <p>Waveform: {}.</p>\r\n",
                xhtml(what, VALUE_CHARS)
            );
        }
        Content::NotShown(why) => {
            let _ = write!(
                t,
                "<p>Not shown here: {}. The DICOM file is on this disc; open the disc's \
                 DICOMDIR with a DICOM viewer.</p>\r\n",
                xhtml(why, REASON_CHARS)
            );
        }
    }
    t
}

/// The Document Title of an Encapsulated Document, decoded.
pub(crate) fn document_title(src: &SourceFile) -> String {
    let charset = src
        .keys
        .string(tag::SPECIFIC_CHARACTER_SET)
        .unwrap_or_default();
    let title = src
        .keys
        .text(tag::DOCUMENT_TITLE)
        .map(|v| decode_text(v, &charset).trim().to_string())
        .unwrap_or_default();
    or(&title, "document")
}

/// The page of an SR instance: the content tree as nested lists.
pub(crate) fn sr_page(src: &SourceFile, tree: &SrNode) -> String {
    let text = |t| crate::pdi::text::decoded_key(src, t);
    let title = xhtml(&or(&tree.concept, "Structured report"), VALUE_CHARS);
    let mut t = head(&title);
    let _ = write!(
        t,
        "<h1>{title}</h1>\r\n<p><a href=\"INDEX.HTM\">Back to the series</a>.</p>\r\n\
         <p>Patient: <strong>{}</strong>, ID {}</p>\r\n",
        xhtml(
            &or(&person_name(&text(tag::PATIENT_NAME)), "(no name)"),
            NAME_CHARS
        ),
        xhtml(&or(&text(tag::PATIENT_ID), "none"), VALUE_CHARS),
    );
    if !tree.value.is_empty() {
        let _ = write!(t, "<p>{}</p>\r\n", xhtml(&tree.value, VALUE_CHARS));
    }
    if !tree.children.is_empty() {
        sr_list(&mut t, &tree.children);
    }
    t.push_str(TAIL);
    t
}

fn sr_list(t: &mut String, nodes: &[SrNode]) {
    t.push_str("<ul>\r\n");
    for n in nodes {
        let rel = if n.relationship.is_empty() {
            String::new()
        } else {
            format!("<em>{}</em> ", xhtml(&n.relationship, SHORT_CHARS))
        };
        let _ = write!(
            t,
            "<li>{rel}{}",
            xhtml(&or(&n.concept, &n.value_type), VALUE_CHARS)
        );
        if !n.value.is_empty() {
            let _ = write!(t, ": <strong>{}</strong>", xhtml(&n.value, SR_VALUE_CHARS));
        }
        if !n.children.is_empty() {
            t.push_str("\r\n");
            sr_list(t, &n.children);
        }
        t.push_str("</li>\r\n");
    }
    t.push_str("</ul>\r\n");
}

/// A JavaScript string literal of `v` cut to `max` characters. U+2028 and U+2029 are escaped
/// too: before ES2019 they end a line inside a string.
fn js_string(v: &str, max: usize) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.trim().chars().take(max) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as JSON: finite, else `null`.
fn js_number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

/// An image's data for the viewer (docs/viewer.md).
fn image_facts(t: &mut String, r: &Rendering) {
    let f = &r.facts;
    let (width, height) = r.frames.first().map_or((0, 0), |x| (x.width, x.height));
    let spacing = f.spacing.map_or_else(
        || "null".to_string(),
        |(a, b)| format!("[{},{}]", js_number(a), js_number(b)),
    );
    let positions: Vec<String> = f
        .positions
        .iter()
        .take(r.frames.len())
        .map(|p| p.map_or_else(|| "null".into(), js_number))
        .collect();
    let orientation = f.orientation.map_or_else(
        || "null".to_string(),
        |o| format!("[{}]", o.map(js_number).join(",")),
    );
    let _ = write!(
        t,
        ",\"rows\":{},\"columns\":{},\"width\":{width},\"height\":{height},\"spacing\":{spacing},\
         \"positions\":[{}],\"orientation\":{orientation},\"modality\":{},\"presets\":[",
        f.rows,
        f.columns,
        positions.join(","),
        js_string(&f.modality, SHORT_CHARS),
    );
    for (i, p) in f.presets.iter().take(super::LISTED_PRESETS).enumerate() {
        let jpeg = match i {
            0 => "\"F\"".to_string(),
            i if i <= r.extra.len() => format!("\"{}\"", PRESET_LETTERS[i - 1]),
            _ => "null".into(),
        };
        let window = match &p.window {
            Some(w) => format!(
                "\"center\":{},\"width\":{},\"function\":\"{}\"",
                js_number(w.center),
                js_number(w.width),
                w.function
            ),
            None => "\"lut\":true".into(),
        };
        let _ = write!(
            t,
            "{}{{\"label\":{},{window},\"jpeg\":{jpeg}}}",
            if i == 0 { "" } else { "," },
            js_string(&p.label, VALUE_CHARS)
        );
    }
    t.push(']');
}

/// An instance's line in its series' SERIES.TXT. Like its page block, the same wherever the
/// instance is placed (frames are numbered by the viewer from the lines' order).
pub(crate) fn series_entry(p: &Prepared) -> String {
    let mut t = format!(
        "DCMDISC_SERIES.push({{\"uid\":{},\"number\":{}",
        js_string(&p.uid, 64),
        js_string(&p.number, SHORT_CHARS)
    );
    match &p.content {
        Content::Frames(r) => {
            let _ = write!(t, ",\"frames\":{}", r.frames.len());
            image_facts(&mut t, r);
        }
        _ => t.push_str(",\"frames\":0"),
    }
    t.push_str("});\r\n");
    t
}
