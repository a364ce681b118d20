//! The label PDF read by poppler, a reader that is not ours: `pdffonts` lists every font as
//! embedded, `pdftotext` gives the patient's name back, and `pdftoppm` rasterises it to a page
//! that is not blank — for names in ISO 2022 IR 87 and IR 149, GB18030 and UTF-8 (Cyrillic,
//! Greek), decoded by our own charset code as an export would. Set `LABEL_PNG_DIR` to keep a
//! PNG of each for looking at.

// Test helpers: a panic is a failed test with its location.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{data, fonts, names};
use dcmdisc_label::{render, Face, Template};
use dcmdisc_testkit::{have_tool, Scratch};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Share of dark pixels of a binary PGM (P5, 8-bit) as pdftoppm -gray writes it.
fn dark_share(pgm: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(&pgm[..pgm.len().min(64)]).to_string();
    let mut fields = text.split_ascii_whitespace();
    assert_eq!(fields.next(), Some("P5"));
    let w: usize = fields.next().unwrap().parse().unwrap();
    let h: usize = fields.next().unwrap().parse().unwrap();
    let pixels = &pgm[pgm.len() - w * h..];
    pixels.iter().filter(|&&p| p < 128).count() as f64 / (w * h) as f64
}

#[test]
fn poppler_reads_fonts_text_and_pixels_of_every_script() {
    if !(have_tool("pdftoppm", "-v", "poppler-utils")
        && have_tool("pdffonts", "-v", "poppler-utils"))
    {
        return;
    }
    let scratch = Scratch::new("label-poppler");
    let keep = std::env::var_os("LABEL_PNG_DIR").map(std::path::PathBuf::from);
    for face in [Face::Disc, Face::Sleeve] {
        for (tag, raw, charset, words) in names() {
            let name = dcmdisc_dicom::charset::decode_text(&raw, charset);
            let label = render(
                &data(&name),
                &Template {
                    face,
                    ..Template::default()
                },
                fonts(),
            )
            .unwrap();
            let stem = format!("{tag}-{face:?}");
            let pdf = scratch.join(format!("{stem}.pdf"));
            std::fs::write(&pdf, &label.pdf).unwrap();

            let listing = run(Command::new("pdffonts").arg(&pdf));
            let rows: Vec<&str> = listing.lines().skip(2).collect();
            assert!(!rows.is_empty(), "{stem}: no fonts\n{listing}");
            for row in &rows {
                // Columns: name type encoding emb sub uni object ID.
                let cols: Vec<&str> = row.split_whitespace().collect();
                let n = cols.len();
                assert!(
                    n >= 7 && cols[n - 5] == "yes",
                    "{stem}: not embedded: {row}"
                );
                assert!(cols[n - 3] == "yes", "{stem}: no ToUnicode: {row}");
            }

            // The name's own regional CJK face (Noto CJK JP/KR/SC), not whichever Han font
            // the system happens to list first.
            let want = match tag {
                "ir87" => Some("NotoSansCJKjp"),
                "ir149" => Some("NotoSansCJKkr"),
                "gb18030" => Some("NotoSansCJKsc"),
                _ => None,
            };
            if let Some(want) = want {
                assert!(
                    listing.contains(want),
                    "{stem}: {want} not used:\n{listing}"
                );
            }

            let text = run(Command::new("pdftotext").arg(&pdf).arg("-"));
            for word in &words {
                assert!(
                    text.contains(word),
                    "{stem}: {word:?} not in the PDF's text:\n{text}"
                );
            }
            assert!(
                text.contains("DICOM PLUS WEB") && text.contains("Disc 1 of 2"),
                "{stem}:\n{text}"
            );

            let out = scratch.join(&stem);
            run(Command::new("pdftoppm")
                .args(["-gray", "-r", "100", "-singlefile"])
                .arg(&pdf)
                .arg(&out));
            let share = dark_share(&std::fs::read(out.with_extension("pgm")).unwrap());
            // The text alone covers a few per cent of the face; blank would be 0.
            assert!(share > 0.005 && share < 0.3, "{stem}: dark share {share}");
            if let Some(dir) = &keep {
                std::fs::create_dir_all(dir).unwrap();
                run(Command::new("pdftoppm")
                    .args(["-png", "-r", "150", "-singlefile"])
                    .arg(&pdf)
                    .arg(dir.join(&stem)));
            }
        }
    }
}
