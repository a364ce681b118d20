//! INDEX.HTM (IHE PDI: the root page that "shall portray the exact content of the
//! interchange media"): who made the disc, "disc n of m", links to README.TXT and the other
//! files, and the manifest of the patients, studies and series on this volume with their
//! counts. Well-formed XHTML 1.0 Strict in UTF-8, no CSS (DRG 3.2.1.10), no script, no
//! network reference; every link is a relative name exactly as recorded on the volume.
//!
//! Each block is its own function so `budget.rs` can size it from a worst-case entry.

use std::fmt::Write;

use super::catalog::{Disc, PatientEntry, SeriesEntry, StudyEntry};
use super::text::{date, time, xhtml};
use super::{entries, INDEX};

/// Display lengths (characters) of the values shown; longer ones are cut with "...".
pub(crate) const NAME_CHARS: usize = 200;
pub(crate) const VALUE_CHARS: usize = 64;
pub(crate) const SHORT_CHARS: usize = 16;
pub(crate) const LEFT_OUT_CHARS: usize = 240;

/// The page before the studies: head, header, links, the patient table's start.
pub(crate) fn head(disc: &Disc) -> String {
    let o = &disc.options;
    let institution = if o.institution.trim().is_empty() {
        "(institution not configured)".to_string()
    } else {
        xhtml(&o.institution, VALUE_CHARS)
    };
    let mut t = String::new();
    // The DOCTYPE's system identifier and the namespace are names, never fetched.
    t.push_str(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \
         \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\r\n\
         <head>\r\n\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\r\n\
         <title>DICOM disc</title>\r\n\
         </head>\r\n<body>\r\n",
    );
    let _ = write!(
        t,
        "<h1>DICOM images on this disc</h1>\r\n\
         <p>Made by <strong>{institution}</strong> on {} with {}.<br />\r\n\
         Disc {} of {}, File-set ID {}. Content: {}.</p>\r\n",
        xhtml(&date(&disc.created.0), SHORT_CHARS),
        xhtml(&disc.application, VALUE_CHARS),
        disc.number,
        disc.count,
        xhtml(&disc.fileset_id, SHORT_CHARS),
        super::content_kind(o.web_content),
    );
    if !o.contact.trim().is_empty() {
        let _ = write!(
            t,
            "<p>Questions about this disc: {}</p>\r\n",
            xhtml(&o.contact, VALUE_CHARS)
        );
    }
    if o.web_content {
        let _ = write!(
            t,
            "<p><a href=\"{}\">See the images and reports in this browser</a> (pictures \
             for review, not for diagnosis).</p>\r\n",
            super::web::ENTRY
        );
    }
    t.push_str(
        "<p>This page lists what is on this disc. To see the images, open the file \
         DICOMDIR with a DICOM viewer. Every DICOM object listed here is in the DICOMDIR \
         and can be imported by a DICOM importer.</p>\r\n\
         <h2>Files on this disc</h2>\r\n<ul>\r\n",
    );
    for e in entries(&disc.options) {
        // Folders are named, not linked: a folder link shows a listing in one browser
        // and nothing in another.
        if e.name.ends_with('/') || e.name == INDEX {
            let _ = write!(t, "<li>{}: {}</li>\r\n", e.name, xhtml(e.what, 200));
        } else {
            let _ = write!(
                t,
                "<li><a href=\"{0}\">{0}</a>: {1}</li>\r\n",
                e.name,
                xhtml(e.what, 200)
            );
        }
    }
    t.push_str("</ul>\r\n");
    t
}

/// One patient's header and the start of its studies.
pub(crate) fn patient(p: &PatientEntry) -> String {
    format!(
        "<h2>Patient</h2>\r\n\
         <table border=\"1\" cellpadding=\"4\" summary=\"The patient\">\r\n\
         <tr><th>Name</th><th>Patient ID</th><th>Birth date</th><th>Sex</th></tr>\r\n\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\r\n\
         </table>\r\n",
        xhtml(&p.name, NAME_CHARS),
        xhtml(&p.id, VALUE_CHARS),
        xhtml(&date(&p.birth_date), SHORT_CHARS),
        xhtml(&p.sex, SHORT_CHARS),
    )
}

/// One study, the `n`th, of `series` series and `instances` instances on this volume: its
/// heading and the start of its series table (closed by [`STUDY_END`]).
pub(crate) fn study(n: usize, s: &StudyEntry, series: usize, instances: usize) -> String {
    format!(
        "<h3>Study {n}: {}</h3>\r\n\
         <p>Date {}, accession number {}, study ID {}: {} series, {} instances on this \
         disc.</p>\r\n\
         <table border=\"1\" cellpadding=\"4\" summary=\"Series of the study\">\r\n\
         <tr><th>Series</th><th>Modality</th><th>Description</th><th>Instances</th>\
         <th>Folder</th></tr>\r\n",
        xhtml(or_none(&s.description, "(no description)"), VALUE_CHARS),
        xhtml(or_none(&when(&s.date, &s.time), "none"), 2 * SHORT_CHARS),
        xhtml(or_none(&s.accession, "none"), SHORT_CHARS),
        xhtml(or_none(&s.study_id, "none"), SHORT_CHARS),
        series,
        instances,
    )
}

/// A study's date and time for display (either may be empty).
fn when(da: &str, tm: &str) -> String {
    format!("{} {}", date(da), time(tm)).trim().to_string()
}

/// `v`, or `none` when it is empty.
fn or_none<'a>(v: &'a str, none: &'a str) -> &'a str {
    if v.trim().is_empty() {
        none
    } else {
        v
    }
}

pub(crate) const STUDY_END: &str = "</table>\r\n";

pub(crate) fn series(s: &SeriesEntry) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\r\n",
        xhtml(&s.number, SHORT_CHARS),
        xhtml(&s.modality, SHORT_CHARS),
        xhtml(&s.description, VALUE_CHARS),
        s.instances,
        xhtml(&s.folder, VALUE_CHARS),
    )
}

/// What was left out, if anything, and the end of the page.
pub(crate) fn tail(disc: &Disc) -> String {
    let mut t = String::new();
    let left = &disc.options.left_out;
    if !left.is_empty() {
        t.push_str(
            "<h2>Left out of this disc</h2>\r\n\
             <p>These instances of the patient were not written to any disc and cannot be \
             imported from it:</p>\r\n<ul>\r\n",
        );
        for l in left {
            let _ = write!(t, "<li>{}</li>\r\n", xhtml(l, LEFT_OUT_CHARS));
        }
        t.push_str("</ul>\r\n");
    }
    t.push_str("</body>\r\n</html>\r\n");
    t
}

pub(crate) fn render(disc: &Disc) -> String {
    let mut t = head(disc);
    let mut n = 0;
    for p in &disc.patients {
        t.push_str(&patient(p));
        for s in &p.studies {
            n += 1;
            let instances = s.series.iter().map(|r| r.instances).sum();
            t.push_str(&study(n, s, s.series.len(), instances));
            for r in &s.series {
                t.push_str(&series(r));
            }
            t.push_str(STUDY_END);
        }
    }
    t.push_str(&tail(disc));
    t
}
