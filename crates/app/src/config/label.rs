//! `[label]`: how each disc's label (SVG and PDF) looks and which fonts it may use.

use std::path::{Path, PathBuf};

use dcmdisc_label::{Face, Field, FontSource, Template};
use serde::Deserialize;

use super::ConfigError;

/// `[label]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LabelSection {
    /// Write `VOLnnn.svg` and `VOLnnn.pdf` beside each volume image.
    pub enabled: bool,
    /// `disc` (120 mm round face, 15/40 mm hub left blank) or `sleeve` (120 mm square insert).
    pub face: Face,
    /// The fields shown, of: patient, birth_date, studies, institution, created, content,
    /// disc, fileset_id, job (all by default).
    pub fields: Vec<Field>,
    /// The base text size in points (the name is 1.5×; long lines are made smaller).
    pub font_size_pt: f32,
    /// Thin grey outline, hub and hole (or the sleeve's edge).
    pub guides: bool,
    /// A minijinja SVG template of our own instead of the face's (docs/label.md); relative to
    /// the config file's folder.
    pub template: Option<PathBuf>,
    /// Font files or folders loaded before the system's.
    pub font_paths: Vec<PathBuf>,
    /// Also load the system's fonts (fontconfig's folders).
    pub system_fonts: bool,
    /// Families tried first, in order; the CJK face of the name's script follows.
    pub font_families: Vec<String>,
}

impl Default for LabelSection {
    fn default() -> Self {
        let t = Template::default();
        let f = FontSource::default();
        LabelSection {
            enabled: true,
            face: t.face,
            fields: t.fields,
            font_size_pt: t.font_size_pt,
            guides: t.guides,
            template: None,
            font_paths: f.paths,
            system_fonts: f.system,
            font_families: f.families,
        }
    }
}

impl LabelSection {
    /// The template (a custom one read from its file now).
    pub fn template(&self) -> Result<Template, ConfigError> {
        let custom = match &self.template {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        Ok(Template {
            face: self.face,
            fields: self.fields.clone(),
            font_size_pt: self.font_size_pt,
            guides: self.guides,
            custom,
        })
    }

    pub fn font_source(&self) -> FontSource {
        FontSource {
            system: self.system_fonts,
            paths: self.font_paths.clone(),
            families: self.font_families.clone(),
        }
    }

    /// Relative paths are the config file's.
    pub(super) fn resolve(&mut self, file: &Path, resolve: impl Fn(&Path, &Path) -> PathBuf) {
        if let Some(t) = &self.template {
            self.template = Some(resolve(file, t));
        }
        self.font_paths = self.font_paths.iter().map(|p| resolve(file, p)).collect();
    }
}

pub(super) fn validate(l: &LabelSection) -> Result<(), ConfigError> {
    if !(4.0..=36.0).contains(&l.font_size_pt) {
        return Err(ConfigError::OutOfRange {
            key: "[label] font_size_pt",
            value: l.font_size_pt.max(0.0) as u64,
            allowed: "allowed range is 4..=36 points",
        });
    }
    if l.enabled && !l.system_fonts && l.font_paths.is_empty() {
        return Err(ConfigError::Empty {
            key: "[label] font_paths",
            need: "with system_fonts = false, name at least one font file or folder",
        });
    }
    if l.font_families.iter().any(|f| f.trim().is_empty()) {
        return Err(ConfigError::Empty {
            key: "[label] font_families",
            need: "a family name (e.g. \"DejaVu Sans\")",
        });
    }
    Ok(())
}
