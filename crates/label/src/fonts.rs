//! Where the label's fonts come from: the system's (fontconfig's folders, through fontdb) and
//! the files or folders the config names. No font ships with dcmdisc.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{LabelError, NameScript};

/// The fonts a label may use.
#[derive(Clone, Debug, PartialEq)]
pub struct FontSource {
    /// Load the system's fonts (fontconfig's folders).
    pub system: bool,
    /// Font files or folders of them, loaded before the system's.
    pub paths: Vec<PathBuf>,
    /// Families tried first, in order (a CSS font-family list); the CJK face for the name's
    /// script comes after them, then any loaded font that has the character.
    pub families: Vec<String>,
}

impl Default for FontSource {
    fn default() -> Self {
        FontSource {
            system: true,
            paths: Vec::new(),
            families: vec!["DejaVu Sans".into(), "Liberation Sans".into()],
        }
    }
}

/// The Noto CJK families for a script (Debian fonts-noto-cjk), then the other CJK ones, so
/// the name's own regional forms win and a missing one still falls back to a Han face.
fn cjk_families(script: Option<NameScript>) -> [&'static str; 4] {
    const JP: &str = "Noto Sans CJK JP";
    const KR: &str = "Noto Sans CJK KR";
    const SC: &str = "Noto Sans CJK SC";
    const TC: &str = "Noto Sans CJK TC";
    match script {
        Some(NameScript::Japanese) => [JP, SC, KR, TC],
        Some(NameScript::Korean) => [KR, JP, SC, TC],
        Some(NameScript::Chinese) | None => [SC, TC, JP, KR],
    }
}

/// The loaded fonts and the family list for one label.
#[derive(Clone)]
pub struct Fonts {
    pub(crate) db: Arc<fontdb::Database>,
    families: Vec<String>,
}

impl Fonts {
    /// Reads the fonts (the system scan takes some tens of milliseconds: load once, reuse).
    pub fn load(source: &FontSource) -> Result<Fonts, LabelError> {
        let mut db = fontdb::Database::new();
        for path in &source.paths {
            let meta = std::fs::metadata(path).map_err(|e| LabelError::Font {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if meta.is_dir() {
                db.load_fonts_dir(path);
            } else {
                db.load_font_file(path).map_err(|e| LabelError::Font {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        if source.system {
            db.load_system_fonts();
        }
        if db.is_empty() {
            return Err(LabelError::Font {
                path: source.paths.first().cloned().unwrap_or_default(),
                reason: "no font found (none configured and none on the system; install \
                         fonts-dejavu-core, or turn labels off: [label] enabled = false)"
                    .into(),
            });
        }
        Ok(Fonts {
            db: Arc::new(db),
            families: source.families.clone(),
        })
    }

    /// The family order for a label whose name is in `script`: the configured ones, then the
    /// CJK faces of that script first.
    pub fn families(&self, script: Option<NameScript>) -> Vec<String> {
        let mut names = self.families.clone();
        names.extend(cjk_families(script).iter().map(|s| s.to_string()));
        names
    }
}

/// A family order as a CSS font-family value (what the SVG says, for other renderers).
pub(crate) fn css_list(families: &[String]) -> String {
    let mut out: Vec<String> = families
        .iter()
        .map(|n| format!("'{}'", n.replace(['\'', '"'], "")))
        .collect();
    out.push("sans-serif".into());
    out.join(", ")
}
