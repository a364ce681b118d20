//! SVG text → a usvg tree (text shaped with the loaded fonts) → a one-page PDF (krilla), with
//! the check that no character was left without a glyph.

use std::sync::Arc;

use krilla::geom::Size;
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::{Document, SerializeSettings};
use krilla_svg::{SurfaceExt, SvgSettings};

use crate::{Fonts, LabelError};

fn options(fonts: &Fonts, families: &[String]) -> usvg::Options<'static> {
    let order = families.to_vec();
    usvg::Options {
        fontdb: Arc::clone(&fonts.db),
        font_family: families
            .first()
            .cloned()
            .unwrap_or_else(|| "DejaVu Sans".into()),
        // At 72 dpi the SVG's millimetres come out in points, the PDF's unit.
        dpi: 72.0,
        font_resolver: usvg::FontResolver {
            select_font: usvg::FontResolver::default_font_selector(),
            select_fallback: Box::new(move |c, used, db| fallback(&order, c, used, db)),
        },
        ..usvg::Options::default()
    }
}

/// The face for a character the first font lacks. usvg's own fallback takes the first face
/// of the database that has it (on Debian WenQuanYi before Noto, whatever the script); this
/// one follows the label's family order first (the name's CJK face), in the first font's
/// weight and style, and only then any face.
fn fallback(
    order: &[String],
    c: char,
    used: &[fontdb::ID],
    db: &mut Arc<fontdb::Database>,
) -> Option<fontdb::ID> {
    let base = used.first().and_then(|id| db.face(*id));
    let (weight, style, stretch) = base.map_or(
        (
            fontdb::Weight::NORMAL,
            fontdb::Style::Normal,
            fontdb::Stretch::Normal,
        ),
        |f| (f.weight, f.style, f.stretch),
    );
    for name in order {
        let query = fontdb::Query {
            families: &[fontdb::Family::Name(name)],
            weight,
            style,
            stretch,
        };
        if let Some(id) = db.query(&query) {
            if !used.contains(&id) && has_char(db, id, c) {
                return Some(id);
            }
        }
    }
    let mut ids: Vec<fontdb::ID> = db
        .faces()
        .filter(|f| !used.contains(&f.id))
        .map(|f| f.id)
        .collect();
    // Same weight first, so a bold line stays bold where a face allows.
    ids.sort_by_key(|id| db.face(*id).map_or(1, |f| u8::from(f.weight != weight)));
    ids.into_iter().find(|id| has_char(db, *id, c))
}

fn has_char(db: &fontdb::Database, id: fontdb::ID, c: char) -> bool {
    db.with_face_data(id, |data, index| {
        ttf_parser::Face::parse(data, index)
            .ok()
            .and_then(|f| f.glyph_index(c))
            .is_some()
    }) == Some(true)
}

/// Parses the label's SVG, shaping its text.
pub(crate) fn tree(
    svg: &str,
    fonts: &Fonts,
    families: &[String],
) -> Result<usvg::Tree, LabelError> {
    usvg::Tree::from_str(svg, &options(fonts, families)).map_err(|e| LabelError::Svg(e.to_string()))
}

/// Refuses a label any of whose characters would print as an empty box: usvg falls back to
/// any loaded font that has the character, so glyph 0 (.notdef) means none has it.
pub(crate) fn check_glyphs(tree: &usvg::Tree) -> Result<(), LabelError> {
    fn walk(group: &usvg::Group) -> Result<(), LabelError> {
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => walk(g)?,
                usvg::Node::Text(text) => {
                    let mut missing = String::new();
                    let mut all = String::new();
                    for span in text.layouted() {
                        for glyph in &span.positioned_glyphs {
                            all.push_str(&glyph.text);
                            if glyph.id.0 == 0
                                && !glyph.text.trim().is_empty()
                                && !missing.contains(&glyph.text)
                            {
                                missing.push_str(&glyph.text);
                            }
                        }
                    }
                    if !missing.is_empty() {
                        return Err(LabelError::MissingGlyphs {
                            chars: missing,
                            text: all,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    walk(tree.root())
}

/// The width in user units of one line of text at `size`, shaped as the label will be
/// (`families`: the label's family order, [`Fonts::families`]).
pub fn measure(fonts: &Fonts, families: &[String], text: &str, size: f64, bold: bool) -> f64 {
    let family = crate::fonts::css_list(families);
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='4000' height='100'><text x='0' y='50' \
         font-family=\"{}\" font-size='{size}' font-weight='{}'>{}</text></svg>",
        xml_escape(&family),
        if bold { "bold" } else { "normal" },
        xml_escape(&crate::data::clean(text)),
    );
    match usvg::Tree::from_str(&svg, &options(fonts, families)) {
        Ok(tree) => f64::from(tree.root().bounding_box().width()),
        Err(_) => 0.0,
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One page the size of the SVG (its mm become points), the fonts subset and embedded, the
/// creation date the label's own (no clock read, so the bytes depend on the data only).
pub(crate) fn to_pdf(tree: &usvg::Tree, created: (u16, u8, u8)) -> Result<Vec<u8>, LabelError> {
    let size = tree.size();
    let (w, h) = (size.width(), size.height());
    let page_size =
        Size::from_wh(w, h).ok_or_else(|| LabelError::Svg("the SVG has no size".into()))?;
    let mut document = Document::new_with(SerializeSettings::default());
    {
        let settings = PageSettings::from_wh(w, h)
            .ok_or_else(|| LabelError::Svg("the SVG has no size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        surface
            .draw_svg(tree, page_size, SvgSettings::default())
            .ok_or_else(|| LabelError::Pdf("the SVG could not be drawn".into()))?;
        surface.finish();
        page.finish();
    }
    let (y, m, d) = created;
    document.set_metadata(
        Metadata::new()
            .creation_date(DateTime::new(y).month(m).day(d))
            .producer("dcmdisc".into())
            .title("Disc label".into()),
    );
    document
        .finish()
        .map_err(|e| LabelError::Pdf(format!("{e:?}")))
}

/// Where each line of text of a label's SVG lands: its text and its box (x, y, width,
/// height, in millimetres when the SVG's size is given in mm), as shaped with `fonts`, for
/// checking a layout.
pub fn text_boxes(
    svg: &str,
    fonts: &Fonts,
    families: &[String],
) -> Result<Vec<(String, [f32; 4])>, LabelError> {
    fn walk(group: &usvg::Group, out: &mut Vec<(String, [f32; 4])>) {
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => walk(g, out),
                usvg::Node::Text(t) => {
                    let text = t.chunks().iter().map(|c| c.text()).collect::<String>();
                    let b = t.abs_bounding_box();
                    out.push((text, [b.x(), b.y(), b.width(), b.height()]));
                }
                _ => {}
            }
        }
    }
    // At 25.4 dpi a millimetre is one unit: boxes come out in millimetres.
    let opts = usvg::Options {
        dpi: 25.4,
        ..options(fonts, families)
    };
    let tree = usvg::Tree::from_str(svg, &opts).map_err(|e| LabelError::Svg(e.to_string()))?;
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    Ok(out)
}
