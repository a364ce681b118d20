//! What can go wrong while making a label, in words an operator can act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The template does not compile or fails while rendering (a custom template's mistake).
    #[error("label template: {0}")]
    Template(String),
    /// The rendered SVG is not well-formed or not an SVG usvg can draw.
    #[error("label SVG: {0}")]
    Svg(String),
    /// Some text would be drawn as empty boxes (.notdef): no loaded font has these characters.
    #[error(
        "no font covers {chars:?} (in {text:?}); install a font for this script \
         (e.g. Debian fonts-noto-cjk for Japanese, Korean and Chinese), name one in \
         [label] font_paths, or turn labels off ([label] enabled = false)"
    )]
    MissingGlyphs { chars: String, text: String },
    /// A field that must be a date is not one.
    #[error("label: {field} {value:?} is not a date (YYYYMMDD)")]
    BadDate { field: &'static str, value: String },
    /// A configured font file or folder could not be read.
    #[error("label font {path}: {reason}")]
    Font { path: PathBuf, reason: String },
    #[error("label PDF: {0}")]
    Pdf(String),
    #[error("label {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
