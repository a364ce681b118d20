use super::budget::{instance_cost, names_are_fixed_width};
use super::pages::{instance_block, series_entry};
use super::{Content, ImageFacts, Prepared, PresetFacts, Rendered, Rendering, ViewWindow};

fn rendered(n: usize, byte: u8) -> Vec<Rendered> {
    (0..n)
        .map(|_| Rendered {
            jpeg: vec![byte; 5000],
            width: 1024,
            height: 700,
        })
        .collect()
}

fn preset(label: &str, center: f64, width: f64) -> PresetFacts {
    PresetFacts {
        label: label.into(),
        window: Some(ViewWindow {
            center,
            width,
            function: "LINEAR",
        }),
    }
}

/// An image of `n` frames with two presets, the second rendered when `extra`.
fn frames_with(n: usize, extra: bool) -> Prepared {
    Prepared {
        content: Content::Frames(Box::new(Rendering {
            frames: rendered(n, 0),
            extra: if extra { vec![rendered(n, 1)] } else { vec![] },
            facts: ImageFacts {
                rows: 1400,
                columns: 2048,
                spacing: Some((0.5, 0.25)),
                positions: (0..n).map(|i| Some(i as f64 * 2.5 - 10.0)).collect(),
                orientation: Some([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]),
                presets: vec![
                    preset("SOFT \"x\"", 40.0, 400.0),
                    preset("LUNG", -600.0, 1500.0),
                ],
                modality: "CT".into(),
            },
        })),
        number: "12".into(),
        uid: "1.2.3.4".into(),
    }
}

fn frames(n: usize) -> Prepared {
    frames_with(n, false)
}

#[test]
fn names_and_blocks_do_not_depend_on_the_place() {
    assert!(names_are_fixed_width());
    let p = frames(3);
    let a = instance_block(&p, 1, 1);
    assert_eq!(a.len(), instance_block(&p, 9_999_000, 9_999_999).len());
    assert!(a.contains("src=\"F0000001.JPG\"") && a.contains("src=\"F0000003.JPG\""));
    // Shown at most 512 wide, aspect kept.
    assert!(a.contains("width=\"512\" height=\"350\""), "{a}");
    assert!(!a.contains("Other windows"), "{a}");
    // The other preset's JPEGs are linked from each frame, named by their letter.
    let b = instance_block(&frames_with(2, true), 7, 1);
    assert!(
        b.contains("<a href=\"A0000007.JPG\">LUNG</a>") && b.contains("A0000008.JPG"),
        "{b}"
    );
    assert_eq!(
        b.len(),
        instance_block(&frames_with(2, true), 9_000_000, 3).len()
    );
}

#[test]
fn the_viewer_data_say_what_the_viewer_needs() {
    let e = series_entry(&frames_with(2, true));
    assert!(
        e.starts_with("DCMDISC_SERIES.push({\"uid\":\"1.2.3.4\",\"number\":\"12\",\"frames\":2,"),
        "{e}"
    );
    assert!(e.ends_with("});\r\n"), "{e}");
    for part in [
        "\"rows\":1400,\"columns\":2048,\"width\":1024,\"height\":700",
        "\"spacing\":[0.5,0.25]",
        "\"positions\":[-10,-7.5],\"orientation\":[1,0,0,0,0,-1]",
        "\"modality\":\"CT\"",
        // Quotes escaped; the default preset is the F rendering, the second the A one.
        "{\"label\":\"SOFT \\\"x\\\"\",\"center\":40,\"width\":400,\"function\":\"LINEAR\",\"jpeg\":\"F\"}",
        "{\"label\":\"LUNG\",\"center\":-600,\"width\":1500,\"function\":\"LINEAR\",\"jpeg\":\"A\"}",
    ] {
        assert!(e.contains(part), "{part} not in {e}");
    }
    // Without its rendering a preset is still listed, for the exact mode.
    let lean = series_entry(&frames_with(2, false));
    assert!(lean.contains("\"label\":\"LUNG\",\"center\":-600,\"width\":1500,\"function\":\"LINEAR\",\"jpeg\":null"), "{lean}");
    let none = Prepared {
        content: Content::NotShown("x".into()),
        number: "3".into(),
        uid: "9.9".into(),
    };
    assert_eq!(
        series_entry(&none),
        "DCMDISC_SERIES.push({\"uid\":\"9.9\",\"number\":\"3\",\"frames\":0});\r\n"
    );
}

#[test]
fn an_instance_costs_its_files_in_sectors_and_its_block() {
    let p = frames(2);
    let block = (instance_block(&p, 1, 1).len() + series_entry(&p).len()) as u64;
    // 5000 bytes = 3 sectors each, with records and a MANIFEST line.
    assert!(instance_cost(&p) >= block + 2 * 3 * 2048);
    // The other preset's renderings are counted too, and leave with it.
    let mut both = frames_with(2, true);
    assert!(instance_cost(&both) >= instance_cost(&p) + 2 * 3 * 2048);
    let taken = both.take_extra();
    assert_eq!(taken.len(), 1);
    assert_eq!(instance_cost(&both), instance_cost(&p));
    let none = Prepared {
        content: Content::NotShown("x".into()),
        number: String::new(),
        uid: String::new(),
    };
    assert_eq!(
        instance_cost(&none),
        (instance_block(&none, 1, 1).len() + series_entry(&none).len()) as u64
    );
}

/// A Part 10 Encapsulated PDF file of `doc` (MIME type `mime`).
fn pdf_file(path: &std::path::Path, doc: &[u8], mime: &str) {
    use dcmdisc_dicom::encode::explicit_element;
    use dcmdisc_dicom::tag;
    let mut bytes = dcmdisc_dicom::meta::FileMeta {
        media_storage_sop_class_uid: super::object::ENCAPSULATED_PDF,
        media_storage_sop_instance_uid: "2.25.7",
        transfer_syntax_uid: dcmdisc_dicom::uid::EXPLICIT_VR_LE,
        implementation_class_uid: "2.25.1",
        implementation_version_name: "TEST",
        source_ae_title: "",
        private: None,
    }
    .encode()
    .0;
    explicit_element(
        &mut bytes,
        tag::SOP_CLASS_UID,
        *b"UI",
        super::object::ENCAPSULATED_PDF.as_bytes(),
    );
    explicit_element(&mut bytes, tag::DOCUMENT_TITLE, *b"ST", b"Letter");
    explicit_element(&mut bytes, tag::ENCAPSULATED_DOCUMENT, *b"OB", doc);
    explicit_element(
        &mut bytes,
        tag::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        *b"LO",
        mime.as_bytes(),
    );
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_encapsulated_pdf_comes_out_as_it_went_in() {
    let tmp = dcmdisc_testkit::Scratch::new("web-pdf");
    // Odd length: the writer padded it with one NUL, which is taken off again.
    let doc = b"%PDF-1.4\n%%EOF\n";
    assert_eq!(doc.len() % 2, 1);
    let p = tmp.join("pdf.dcm");
    pdf_file(&p, doc, "application/pdf");
    assert_eq!(super::object::pdf(&p).unwrap(), doc.to_vec());
    // An even-length one keeps every byte.
    let even = b"%PDF-1.4\n%%EOF\n\n";
    pdf_file(&p, even, "application/pdf");
    assert_eq!(super::object::pdf(&p).unwrap(), even.to_vec());
    // Anything that is not a PDF is not passed off as one.
    pdf_file(&p, b"<html></html>", "text/html");
    assert!(super::object::pdf(&p).is_err());
    pdf_file(&p, b"not a pdf!", "application/pdf");
    assert!(super::object::pdf(&p).is_err());
}
