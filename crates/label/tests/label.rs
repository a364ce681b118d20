//! The label's SVG and PDF, checked with parsers other than the one that wrote them
//! (roxmltree through usvg for the SVG, lopdf for the PDF).

mod common;

use common::{data, fonts};
use dcmdisc_label::{render, text_boxes, Face, Field, FontSource, Fonts, LabelError, Template};

#[test]
fn svg_is_well_formed_and_escapes_every_field() {
    let mut d = data("<Evil&Co>^\"Jo'hn\"");
    d.institution = "A & B <script>alert(1)</script>".into();
    d.fileset_id = "X]]>&amp;".into();
    let label = render(&d, &Template::default(), fonts()).unwrap();
    let doc = usvg::roxmltree::Document::parse(&label.svg).unwrap();
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect();
    assert!(
        texts.contains(&"<Evil&Co>, \"Jo'hn\"".to_string()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"A & B <script>alert(1)</script>".to_string()),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("X]]>&amp;")), "{texts:?}");
    assert!(
        !label.svg.contains("<script"),
        "markup from the data reached the SVG"
    );
    // Only our own elements.
    assert!(doc
        .descendants()
        .filter(|n| n.is_element())
        .all(|n| matches!(n.tag_name().name(), "svg" | "text" | "circle")));
}

#[test]
fn control_characters_never_make_the_svg_invalid() {
    let label = render(
        &data("DOE\u{1b}$B^JOHN\0\u{7}"),
        &Template::default(),
        fonts(),
    )
    .unwrap();
    usvg::roxmltree::Document::parse(&label.svg).unwrap();
    assert!(label.svg.contains("DOE$B, JOHN"), "{}", label.svg);
}

#[test]
fn pdf_parses_with_fonts_embedded_and_the_label_s_date() {
    let label = render(
        &data("Yamada^Tarou=山田^太郎"),
        &Template::default(),
        fonts(),
    )
    .unwrap();
    let doc = lopdf::Document::load_mem(&label.pdf).unwrap();
    assert_eq!(doc.get_pages().len(), 1);
    let mut embedded = 0;
    for object in doc.objects.values() {
        if let Ok(dict) = object.as_dict() {
            if dict.get(b"Type").and_then(|t| t.as_name()).ok()
                == Some(b"FontDescriptor".as_slice())
            {
                assert!(
                    [b"FontFile".as_slice(), b"FontFile2", b"FontFile3"]
                        .iter()
                        .any(|k| dict.has(k)),
                    "a font descriptor without its font: {dict:?}"
                );
                embedded += 1;
            }
        }
    }
    assert!(embedded >= 2, "a Latin and a CJK font, found {embedded}");
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(|r| r.as_reference())
        .unwrap();
    let date = doc
        .get_dictionary(info)
        .unwrap()
        .get(b"CreationDate")
        .unwrap()
        .as_str()
        .unwrap()
        .to_vec();
    assert!(
        String::from_utf8_lossy(&date).starts_with("D:20261201"),
        "{}",
        String::from_utf8_lossy(&date)
    );
    // 120 mm square page.
    let page = doc.get_pages()[&1];
    let mb = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let w = mb[2].as_float().unwrap();
    assert!((w - 120.0 * 72.0 / 25.4).abs() < 0.1, "page width {w} pt");
}

#[test]
fn same_data_same_bytes() {
    let t = Template::default();
    let a = render(&data("Yamada^Tarou=山田^太郎"), &t, fonts()).unwrap();
    let b = render(&data("Yamada^Tarou=山田^太郎"), &t, fonts()).unwrap();
    assert_eq!(a.svg, b.svg);
    assert_eq!(a.pdf, b.pdf);
    let mut later = data("Yamada^Tarou=山田^太郎");
    later.created = "20261202".into();
    assert_ne!(render(&later, &t, fonts()).unwrap().pdf, a.pdf);
}

#[test]
fn a_name_no_font_covers_is_refused_not_boxed() {
    let dejavu = Fonts::load(&FontSource {
        system: false,
        paths: vec!["/usr/share/fonts/truetype/dejavu".into()],
        families: vec!["DejaVu Sans".into()],
    })
    .unwrap();
    // Latin, Cyrillic and Greek are DejaVu's.
    render(
        &data("Иванов^Иван=Παπαδόπουλος"),
        &Template::default(),
        &dejavu,
    )
    .unwrap();
    let err = render(
        &data("Yamada^Tarou=山田^太郎"),
        &Template::default(),
        &dejavu,
    )
    .unwrap_err();
    match &err {
        LabelError::MissingGlyphs { chars, .. } => {
            assert!(chars.contains('山') && chars.contains('郎'), "{chars}")
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("fonts-noto-cjk"), "{err}");
}

#[test]
fn a_missing_font_path_is_named() {
    let err = Fonts::load(&FontSource {
        system: false,
        paths: vec!["/nonexistent/font.ttf".into()],
        families: vec![],
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("/nonexistent/font.ttf"), "{err}");
}

/// Every line inside the printable ring (2.5 mm margin) and off the 40 mm hub, even a name
/// far too long for its line.
#[test]
fn the_disc_layout_stays_on_the_printable_ring() {
    let long = "Vanderberghe-Oosterhuizen-Papadopoulou^Maximiliane Alexandra Konstantina=山田^太郎";
    for name in ["DOE^JOHN", long] {
        let mut d = data(name);
        d.institution = "Universitätsklinikum Musterstadt, Institut für Diagnostische und Interventionelle Radiologie".into();
        let label = render(&d, &Template::default(), fonts()).unwrap();
        let boxes = text_boxes(&label.svg, fonts(), &fonts().families(d.name_script())).unwrap();
        assert!(boxes.len() >= 7, "{boxes:?}");
        for (text, [x, y, w, h]) in &boxes {
            let corners = [(*x, *y), (x + w, *y), (*x, y + h), (x + w, y + h)];
            for (cx, cy) in corners {
                let r = ((cx - 60.0).powi(2) + (cy - 60.0).powi(2)).sqrt();
                assert!(r <= 57.6, "{text:?} reaches r = {r} mm");
            }
            // The box's nearest point to the centre is outside the hub.
            let nx = 60.0_f32.clamp(*x, x + w);
            let ny = 60.0_f32.clamp(*y, y + h);
            let near = ((nx - 60.0).powi(2) + (ny - 60.0).powi(2)).sqrt();
            assert!(near > 20.0, "{text:?} enters the hub (r = {near} mm)");
        }
    }
}

#[test]
fn fields_can_be_left_out_and_the_sleeve_has_them_all() {
    let t = Template {
        fields: vec![Field::Content, Field::Disc],
        ..Template::default()
    };
    let label = render(&data("DOE^JOHN"), &t, fonts()).unwrap();
    assert!(!label.svg.contains("DOE"));
    assert!(!label.svg.contains("1970"));
    assert!(label.svg.contains("DICOM PLUS WEB") && label.svg.contains("Disc 1 of 2"));
    let sleeve = Template {
        face: Face::Sleeve,
        ..Template::default()
    };
    let label = render(&data("DOE^JOHN"), &sleeve, fonts()).unwrap();
    for text in [
        "DOE, JOHN",
        "1970-01-02",
        "2026-11-30  CT SR  CT THORAX",
        "2026-11-02  MR",
        "DICOM PLUS WEB",
        "Disc 1 of 2",
        "DCMDISC",
        "Created 2026-12-01",
        "Job 42",
    ] {
        assert!(label.svg.contains(text), "{text} missing: {}", label.svg);
    }
}

#[test]
fn a_custom_template_gets_the_fields_escaped_and_its_mistakes_named() {
    let custom = |src: &str| Template {
        custom: Some(src.into()),
        ..Template::default()
    };
    let ok = custom(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="50mm" height="20mm" viewBox="0 0 50 20"><text x="1" y="10" font-family="{{ font_family }}" font-size="{{ fit(patient_name, 5, 48) }}">{{ patient_name }} {{ disc }}/{{ discs }}</text></svg>"#,
    );
    let label = render(&data("A&B^C"), &ok, fonts()).unwrap();
    assert!(label.svg.contains(">A&amp;B, C 1/2<"), "{}", label.svg);
    let err = render(&data("X"), &custom("<svg>{% if %}</svg>"), fonts()).unwrap_err();
    assert!(matches!(err, LabelError::Template(_)), "{err}");
    let err = render(
        &data("X"),
        &custom("<svg><text>{{ patient_name }}</svg>"),
        fonts(),
    )
    .unwrap_err();
    assert!(matches!(err, LabelError::Svg(_)), "{err}");
}

#[test]
fn a_bad_creation_date_is_refused() {
    let mut d = data("DOE");
    d.created = "2026-12-01".into();
    assert!(matches!(
        render(&d, &Template::default(), fonts()),
        Err(LabelError::BadDate { .. })
    ));
}

#[test]
fn the_disc_face_summarises_many_studies_on_one_line() {
    let mut d = data("DOE^JOHN");
    let study = |date: &str, m: &str| dcmdisc_label::Study {
        date: date.into(),
        modalities: vec![m.into()],
        description: String::new(),
    };
    d.studies = vec![
        study("20261130", "CT"),
        study("20261102", "MR"),
        study("20250101", "US"),
        study("20240101", "XA"),
    ];
    let svg = render(&d, &Template::default(), fonts()).unwrap().svg;
    assert!(
        svg.contains("2026-11-30 CT · 2026-11-02 MR · 2025-01-01 US (+1 study)"),
        "{svg}"
    );
    d.studies.push(study("20230101", "CR"));
    let svg = render(&d, &Template::default(), fonts()).unwrap().svg;
    assert!(svg.contains("(+2 studies)"), "{svg}");
}
