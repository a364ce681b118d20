use super::budget::{instance_cost, names_are_fixed_width};
use super::pages::instance_block;
use super::{Content, Prepared, Rendered};

fn frames(n: usize) -> Prepared {
    Prepared {
        content: Content::Frames(
            (0..n)
                .map(|_| Rendered {
                    jpeg: vec![0; 5000],
                    width: 1024,
                    height: 700,
                })
                .collect(),
        ),
        number: "12".into(),
    }
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
}

#[test]
fn an_instance_costs_its_files_in_sectors_and_its_block() {
    let p = frames(2);
    let block = instance_block(&p, 1, 1).len() as u64;
    // 5000 bytes = 3 sectors each, with records and a MANIFEST line.
    assert!(instance_cost(&p) >= block + 2 * 3 * 2048);
    let none = Prepared {
        content: Content::NotShown("x".into()),
        number: String::new(),
    };
    assert_eq!(
        instance_cost(&none),
        instance_block(&none, 1, 1).len() as u64
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
