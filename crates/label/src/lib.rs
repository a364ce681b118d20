//! The disc label: per disc an SVG and a PDF showing who and what is on it (patient's name
//! in its own script, birth date, studies, institution, creation date, "DICOM PLUS WEB" or
//! "DICOM ONLY", disc n of m, File-set ID, job), laid out for a round disc face or a sleeve by
//! a built-in or site-editable minijinja SVG template.
//!
//! For: turning a [`LabelData`] (plain values, the name already decoded) and a [`Template`]
//! into SVG text and PDF bytes with the fonts that cover the name embedded, and refusing a
//! label whose text no loaded font covers (never empty boxes). Fonts come from the system or
//! configured paths ([`FontSource`]); none ships with dcmdisc. The same data, template and
//! fonts give the same bytes (the PDF's date is the label's creation date).
//!
//! Not for: reading DICOM or decoding character sets (the caller's, through `dicom`),
//! deciding what goes on a disc, printing, or talking to a disc printer.
//!
//! ```no_run
//! use dcmdisc_label::{render, Content, FontSource, Fonts, LabelData, Template};
//!
//! let fonts = Fonts::load(&FontSource::default())?; // once; reused for every label
//! let data = LabelData {
//!     patient_name: "Yamada^Tarou=山田^太郎".into(),
//!     created: "20261201".into(),
//!     content: Content::DicomPlusWeb,
//!     disc: 1,
//!     discs: 1,
//!     ..LabelData::default()
//! };
//! let label = render(&data, &Template::default(), &fonts)?;
//! dcmdisc_label::write(&label, std::path::Path::new("out"), "VOL001")?;
//! # Ok::<(), dcmdisc_label::LabelError>(())
//! ```

mod data;
mod error;
mod fonts;
mod pdf;
mod template;

use std::path::{Path, PathBuf};

pub use data::{name_lines, parse_date, show_date, Content, LabelData, NameScript, Study};
pub use error::LabelError;
pub use fonts::{FontSource, Fonts};
pub use pdf::{measure, text_boxes};
pub use template::{builtin, Face, Field, Template};

/// One label, rendered.
#[derive(Clone, Debug)]
pub struct Label {
    pub svg: String,
    pub pdf: Vec<u8>,
}

/// Renders `data` with `template`: the SVG (checked to be a well-formed SVG whose every
/// character has a glyph in the loaded fonts) and the PDF drawn from it.
pub fn render(data: &LabelData, template: &Template, fonts: &Fonts) -> Result<Label, LabelError> {
    let created = data::creation_date(data)?;
    let svg = template::render_svg(data, template, fonts)?;
    let tree = pdf::tree(&svg, fonts, &fonts.families(data.name_script()))?;
    pdf::check_glyphs(&tree)?;
    let pdf = pdf::to_pdf(&tree, created)?;
    Ok(Label { svg, pdf })
}

/// Writes `<dir>/<stem>.svg` and `<dir>/<stem>.pdf` (each through a temporary name and a
/// rename, so a reader never sees half a label); returns their paths.
pub fn write(label: &Label, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), LabelError> {
    let svg = dir.join(format!("{stem}.svg"));
    let pdf = dir.join(format!("{stem}.pdf"));
    write_file(&svg, label.svg.as_bytes())?;
    write_file(&pdf, &label.pdf)?;
    Ok((svg, pdf))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), LabelError> {
    let io = |source| LabelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}
