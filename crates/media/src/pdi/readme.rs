//! README.TXT (IHE PDI; DRG 3.2.3): who made the disc with what, whom to ask, how the disc
//! is organised and what is on it, in counts only. 7-bit ASCII, CRLF, at most 78 columns,
//! and no patient data at all: the README is the one file a reader may open, print or
//! forward without thinking of privacy.

use std::fmt::Write;

use super::catalog::Disc;
use super::report::clock;
use super::text::{ascii, date};
use super::{entries, INDEX};

/// Longest configured value shown (the configuration refuses longer ones).
pub(crate) const VALUE_CHARS: usize = 64;
/// Longest left-out line shown, before wrapping.
pub(crate) const LEFT_OUT_CHARS: usize = 240;
const WIDTH: usize = 78;

/// The lines of `s`, broken at spaces (or hard, for a longer word) to fit `width`.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_string();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let rest = word.split_off(width);
            lines.push(word);
            word = rest;
        }
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn configured(value: &str, key: &str) -> String {
    if value.trim().is_empty() {
        format!("(not configured: [media] {key})")
    } else {
        ascii(value, VALUE_CHARS)
    }
}

pub(crate) fn render(disc: &Disc) -> String {
    let mut t = String::new();
    let o = &disc.options;
    // Writing into a String cannot fail.
    let mut line = |s: &str| {
        let _ = write!(t, "{s}\r\n");
    };
    line("DICOM MEDICAL IMAGE DISC");
    line("========================");
    line("");
    line(&format!(
        "Institution:  {}",
        configured(&o.institution, "institution")
    ));
    line(&format!(
        "Contact:      {}",
        configured(&o.contact, "contact")
    ));
    line(&format!("Written by:   {}", ascii(&disc.application, 60)));
    line(&format!(
        "Created:      {} {} UTC",
        date(&disc.created.0),
        clock(&disc.created.1)
    ));
    line(&format!("Disc:         {} of {}", disc.number, disc.count));
    line(&format!(
        "File-set ID:  {}",
        ascii(&disc.fileset_id, VALUE_CHARS)
    ));
    line(&format!(
        "Content:      {} (profile {})",
        super::content_kind(disc.options.web_content),
        ascii(disc.profile, 32)
    ));
    line("");
    line("WHAT IS ON THIS DISC");
    line("--------------------");
    for l in wrap(
        &format!(
            "Medical images and documents of one patient as a DICOM File-set \
             (DICOM PS3.10, media profile {}): {} studies, {} series, {} DICOM \
             instances on this disc. The names of the patient and of the studies are in \
             {INDEX} and in the DICOM files, not in this file.",
            ascii(disc.profile, 32),
            disc.studies(),
            disc.series(),
            disc.instances()
        ),
        WIDTH,
    ) {
        line(&l);
    }
    if disc.count > 1 {
        for l in wrap(
            &format!(
                "The patient's images did not fit on one disc: this is disc {} of {}. \
                 Each disc is a complete DICOM File-set of its own.",
                disc.number, disc.count
            ),
            WIDTH,
        ) {
            line(&l);
        }
    }
    line("");
    line("HOW TO OPEN IT");
    line("--------------");
    let programs = match o.viewers {
        None => "nothing on this disc is a program.",
        // The third-party viewer folder (`viewers.rs`) is the one exception.
        Some(_) => {
            "the only program on this disc is the DICOM viewer from another maker in the \
             folder VIEWERS, copied as it was supplied."
        }
    };
    let web = if disc.options.web_content {
        format!(
            " From there, {} shows pictures of the images and the reports in the same \
             browser (for review, not for diagnosis).",
            super::web::ENTRY
        )
    } else {
        String::new()
    };
    for l in wrap(
        &format!(
            "Open {INDEX} in a web browser for the list of what is on this disc.{web} \
             Open DICOMDIR with any DICOM viewer to see the images. Nothing needs to \
             be installed and {programs}"
        ),
        WIDTH,
    ) {
        line(&l);
    }
    line("");
    line("HOW THE DISC IS ORGANISED");
    line("-------------------------");
    for e in entries(&disc.options) {
        line(&format!("{:<13} {}", e.name, e.what));
    }
    if !o.left_out.is_empty() {
        line("");
        line("LEFT OUT OF THIS DISC");
        line("---------------------");
        for l in wrap(
            "These instances of the patient were not written to any disc:",
            WIDTH,
        ) {
            line(&l);
        }
        for item in &o.left_out {
            for (k, l) in wrap(&ascii(item, LEFT_OUT_CHARS), WIDTH - 4)
                .iter()
                .enumerate()
            {
                line(&format!("{}{l}", if k == 0 { "  - " } else { "    " }));
            }
        }
    }
    line("");
    line("CONFORMANCE");
    line("-----------");
    for l in wrap(
        &format!(
            "DICOM PS3.10 File-set, PS3.11 media profile {}, on ISO 9660 Level 1 \
             (PS3.12) with 8.3 upper-case names. Laid out after IHE Portable Data for \
             Imaging (PDI): DICOMDIR, {INDEX} and this README at the root; \
             non-DICOM files are not in the DICOMDIR.",
            ascii(disc.profile, 32)
        ),
        WIDTH,
    ) {
        line(&l);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let lines = wrap(&format!("a {} b c", "x".repeat(100)), 10);
        assert!(lines.iter().all(|l| l.len() <= 10), "{lines:?}");
        assert_eq!(
            lines.join("").replace(' ', ""),
            format!("a{}bc", "x".repeat(100))
        );
    }
}
