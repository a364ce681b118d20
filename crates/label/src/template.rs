//! The label's layout: a face (built-in SVG templates) or the operator's own minijinja SVG
//! template, the fields shown and the font size; rendering the data into SVG text.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment};
use serde::{Deserialize, Serialize};

use crate::data::{clean, name_lines, show_date};
use crate::{measure, Fonts, LabelData, LabelError};

const DISC: &str = include_str!("../templates/disc.svg.j2");
const SLEEVE: &str = include_str!("../templates/sleeve.svg.j2");

/// What the label is printed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Face {
    /// A CD/DVD face: 120 mm round, 15 mm hole, 40 mm hub left blank.
    #[default]
    Disc,
    /// A 120 mm square sleeve or jewel-case insert.
    Sleeve,
}

/// The fields a label can show (all by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Patient,
    BirthDate,
    Studies,
    Institution,
    Created,
    Content,
    Disc,
    FilesetId,
    Job,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Patient,
        Field::BirthDate,
        Field::Studies,
        Field::Institution,
        Field::Created,
        Field::Content,
        Field::Disc,
        Field::FilesetId,
        Field::Job,
    ];

    fn key(self) -> &'static str {
        match self {
            Field::Patient => "patient",
            Field::BirthDate => "birth_date",
            Field::Studies => "studies",
            Field::Institution => "institution",
            Field::Created => "created",
            Field::Content => "content",
            Field::Disc => "disc",
            Field::FilesetId => "fileset_id",
            Field::Job => "job",
        }
    }
}

/// How labels look.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub face: Face,
    pub fields: Vec<Field>,
    /// The base text size in points (the patient's name is 1.5×; lines too long for their
    /// place are made smaller until they fit).
    pub font_size_pt: f32,
    /// Draw the disc's outline, hub and hole (or the sleeve's edge) as thin grey lines.
    pub guides: bool,
    /// The operator's own minijinja SVG template instead of the face's; see docs/label.md for
    /// its variables. Every value is XML-escaped.
    pub custom: Option<String>,
}

impl Default for Template {
    fn default() -> Self {
        Template {
            face: Face::Disc,
            fields: Field::ALL.to_vec(),
            font_size_pt: 9.0,
            guides: true,
            custom: None,
        }
    }
}

/// The built-in template source of a face (a starting point for a custom one).
pub fn builtin(face: Face) -> &'static str {
    match face {
        Face::Disc => DISC,
        Face::Sleeve => SLEEVE,
    }
}

#[derive(Serialize)]
struct StudyView {
    date: String,
    modalities: String,
    description: String,
    line: String,
}

#[derive(Serialize)]
struct View {
    face: Face,
    guides: bool,
    font_family: String,
    font_size: f64,
    show: BTreeMap<&'static str, bool>,
    patient_name: String,
    name_lines: Vec<String>,
    birth_date: String,
    studies: Vec<StudyView>,
    studies_line: String,
    institution: String,
    created: String,
    content: &'static str,
    disc: u32,
    discs: u32,
    disc_text: String,
    fileset_id: String,
    job: Option<u64>,
}

/// Millimetres of the printable ring's outer edge on the round face (2.5 mm margin).
const RING_MM: f64 = 57.5;

/// Width of the printable ring at height `y` (mm from the top of the 120 mm face).
fn chord(y: f64) -> f64 {
    let dy = (y - 60.0).abs();
    if dy >= RING_MM {
        0.0
    } else {
        round2(2.0 * (RING_MM * RING_MM - dy * dy).sqrt())
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn view(data: &LabelData, template: &Template, family: String) -> View {
    let show = Field::ALL
        .iter()
        .map(|f| (f.key(), template.fields.contains(f)))
        .collect();
    let studies: Vec<StudyView> = data
        .studies
        .iter()
        .map(|s| {
            let date = show_date(&clean(&s.date));
            let modalities = clean(&s.modalities.join(" "));
            let description = clean(&s.description);
            let line = [date.as_str(), modalities.as_str(), description.as_str()]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("  ");
            StudyView {
                date,
                modalities,
                description,
                line,
            }
        })
        .collect();
    // The round face has one line for the studies: dates and modalities, most recent first
    // as the caller ordered them, the count when more do not fit the line's place.
    let mut studies_line = studies
        .iter()
        .take(3)
        .map(|s| {
            [s.date.as_str(), s.modalities.as_str()]
                .join(" ")
                .trim()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" · ");
    if studies.len() > 3 {
        let more = studies.len() - 3;
        let noun = if more == 1 { "study" } else { "studies" };
        studies_line = format!("{studies_line} (+{more} {noun})");
    }
    let lines: Vec<String> = name_lines(&clean(&data.patient_name));
    View {
        face: template.face,
        guides: template.guides,
        font_family: family,
        font_size: round2(f64::from(template.font_size_pt) * 25.4 / 72.0),
        show,
        patient_name: lines.join(" = "),
        name_lines: lines,
        birth_date: show_date(&clean(&data.birth_date)),
        studies,
        studies_line,
        institution: clean(&data.institution),
        created: show_date(&data.created),
        content: data.content.text(),
        disc: data.disc,
        discs: data.discs,
        disc_text: format!("Disc {} of {}", data.disc, data.discs),
        fileset_id: clean(&data.fileset_id),
        job: data.job,
    }
}

/// The label as SVG text.
pub(crate) fn render_svg(
    data: &LabelData,
    template: &Template,
    fonts: &Fonts,
) -> Result<String, LabelError> {
    let script = data.name_script();
    let families = fonts.families(script);
    let family = crate::fonts::css_list(&families);
    let mut env = Environment::new();
    // Every value goes into XML text or an attribute: escape all of it, whatever the name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    let (db, fam) = (fonts.clone(), families);
    env.add_function(
        "fit",
        move |text: String, size: f64, max_width: f64, weight: Option<String>| {
            fit(
                &db,
                &fam,
                &text,
                size,
                max_width,
                weight.as_deref() == Some("bold"),
            )
        },
    );
    env.add_function("chord", chord);
    let source = template.custom.as_deref().unwrap_or(builtin(template.face));
    let tmpl = env
        .template_from_str(source)
        .map_err(|e| LabelError::Template(describe(&e)))?;
    tmpl.render(minijinja::value::Serde(view(data, template, family)))
        .map_err(|e| LabelError::Template(describe(&e)))
}

/// The font size (at most `size`, never below a third of it) at which `text` is at most
/// `max_width` wide, measured with the same fonts and shaping as the label itself.
fn fit(
    fonts: &Fonts,
    families: &[String],
    text: &str,
    size: f64,
    max_width: f64,
    bold: bool,
) -> f64 {
    let width = measure(fonts, families, text, size, bold);
    let fitted = if width > max_width && width > 0.0 {
        size * max_width / width * 0.98
    } else {
        size
    };
    round2(fitted.max(size / 3.0))
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
