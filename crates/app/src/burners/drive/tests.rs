//! The drive burner against the real xorriso on `stdio:` pseudo-drives (a file as the disc),
//! and against the scripted stand-in (`tests/fixtures/xorriso_standin.py`) for what a file
//! cannot show: a written disc, a write error, no medium.

use std::path::{Path, PathBuf};

use super::*;
use crate::burners::sha256_file;
use crate::testutil::TempDir;

/// Under CI a missing xorriso fails the test; elsewhere it is skipped with a note.
fn xorriso_available() -> bool {
    let ok = std::process::Command::new("xorriso")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "xorriso is required under CI"
    );
    if !ok {
        eprintln!("xorriso not installed: skipped");
    }
    ok
}

/// An image of `len` bytes that is not all one value.
fn image(dir: &Path, len: usize) -> PathBuf {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 2048) as u8).collect();
    let p = dir.join("vol1.iso");
    std::fs::write(&p, bytes).unwrap();
    p
}

fn cfg(device: String, xorriso: Option<PathBuf>) -> BurnerConfig {
    BurnerConfig {
        name: "dvd".into(),
        kind: BurnerKind::Drive,
        device: Some(device),
        xorriso,
        ..BurnerConfig::default()
    }
}

const DISC: DiscId = DiscId {
    job: 1,
    volume: 1,
    copy: 1,
};

fn burn(b: &mut DriveBurner, image: &Path) -> (Result<Written, BurnError>, Vec<f64>) {
    let mut seen = Vec::new();
    let r = b.burn(image, &DISC, &Shutdown::new(), &mut |p| seen.push(p));
    (r, seen)
}

fn burn_and_verify(b: &mut DriveBurner, image: &Path) -> Result<Written, BurnError> {
    let written = burn(b, image).0?;
    b.verify(&written, &sha256_file(image).unwrap())?;
    Ok(written)
}

fn starts_with_image(disc: &Path, image: &Path) -> bool {
    let disc = std::fs::read(disc).unwrap();
    let image = std::fs::read(image).unwrap();
    disc.len() >= image.len() && disc[..image.len()] == image[..]
}

#[test]
fn xorriso_burns_a_stdio_pseudo_drive_verbatim_and_refuses_it_once_written() {
    if !xorriso_available() {
        return;
    }
    let tmp = TempDir::new("drive-stdio");
    let img = image(tmp.path(), 3 * 1024 * 1024 + 1000);
    let disc = tmp.path().join("disc.img");
    let mut b = DriveBurner::new(&cfg(format!("stdio:{}", disc.display()), None));
    assert_eq!(b.probe(&Shutdown::new()).unwrap().state, MediumState::Blank);
    b.ready().unwrap();
    let written = burn_and_verify(&mut b, &img).unwrap();
    assert_eq!(written.image, disc);
    assert!(
        starts_with_image(&disc, &img),
        "the disc holds the image's bytes"
    );
    // Now the file is a written disc: xorriso reports it and it is rejected.
    let m = b.probe(&Shutdown::new()).unwrap();
    assert!(
        matches!(m.state, MediumState::Closed | MediumState::Appendable),
        "{m:?}"
    );
    match burn(&mut b, &img).0 {
        Err(BurnError::Rejected(why)) => {
            assert!(why.contains("already written"), "{why}");
            assert!(
                why.contains("blank_rewritable"),
                "a file is rewritable: {why}"
            );
        }
        other => panic!("{other:?}"),
    }
    // With blank_rewritable the same file is blanked and burned again.
    let mut c = cfg(format!("stdio:{}", disc.display()), None);
    c.blank_rewritable = Some(true);
    let mut b = DriveBurner::new(&c);
    burn_and_verify(&mut b, &img).unwrap();
    assert!(starts_with_image(&disc, &img));
    // A verify that finds other bytes rejects the disc.
    let written = burn(&mut b, &img).0.unwrap();
    let mut bytes = std::fs::read(&disc).unwrap();
    bytes[5000] ^= 0xFF;
    std::fs::write(&disc, bytes).unwrap();
    let sha = sha256_file(&img).unwrap();
    assert!(
        matches!(b.verify(&written, &sha), Err(BurnError::Rejected(w)) if w.contains("verification failed"))
    );
}

#[test]
fn xorriso_on_a_missing_folder_is_a_burner_failure() {
    if !xorriso_available() {
        return;
    }
    let tmp = TempDir::new("drive-missing");
    let b = DriveBurner::new(&cfg(
        format!("stdio:{}", tmp.path().join("no/such/disc.img").display()),
        None,
    ));
    match b.ready() {
        Err(BurnError::Failed(why)) => assert!(why.contains("xorriso cannot read"), "{why}"),
        other => panic!("{other:?}"),
    }
    let b = DriveBurner::new(&cfg("stdio:/x".into(), Some("/no/such/xorriso".into())));
    assert!(matches!(b.ready(), Err(BurnError::Failed(w)) if w.contains("cannot run")));
}

/// A stand-in drive holding `discs` (see the fixture's doc), its wrapper program and state
/// folder.
struct StandIn {
    _tmp: TempDir,
    state: PathBuf,
    disc: PathBuf,
    image: PathBuf,
    cfg: BurnerConfig,
}

impl StandIn {
    fn new(tag: &str, discs: &[&str]) -> StandIn {
        let tmp = TempDir::new(tag);
        let wrapper = crate::testutil::xorriso_standin(tmp.path(), discs);
        let state = tmp.path().join("standin");
        let disc = tmp.path().join("disc.img");
        let image = image(tmp.path(), 2_500_000);
        let cfg = cfg(format!("stdio:{}", disc.display()), Some(wrapper));
        StandIn {
            _tmp: tmp,
            state,
            disc,
            image,
            cfg,
        }
    }

    fn burner(&self) -> DriveBurner {
        DriveBurner::new(&self.cfg)
    }

    fn calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.state.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.trim_matches(|c| c == '[' || c == ']')
                    .split(", ")
                    .map(|a| a.trim_matches('"').to_string())
                    .collect()
            })
            .collect()
    }
}

fn rejected(r: Result<Written, BurnError>) -> String {
    match r {
        Err(BurnError::Rejected(why)) => why,
        other => panic!("expected a reject, got {other:?}"),
    }
}

#[test]
fn the_stand_ins_written_disc_is_rejected_ejected_and_the_next_blank_one_burned() {
    let s = StandIn::new("drive-written", &["written", "blank"]);
    let mut b = s.burner();
    let why = rejected(burn(&mut b, &s.image).0);
    assert!(why.contains("already written (closed, CD-R)"), "{why}");
    assert!(
        !why.contains("blank_rewritable"),
        "a CD-R is not rewritable: {why}"
    );
    assert!(!s.disc.exists(), "nothing written to a rejected disc");
    let (written, progress) = burn(&mut b, &s.image);
    let written = written.unwrap();
    b.verify(&written, &sha256_file(&s.image).unwrap()).unwrap();
    assert!(starts_with_image(&s.disc, &s.image));
    assert_eq!(progress.last(), Some(&1.0), "{progress:?}");
    // What was run: probe, eject (the reject), probe, the cdrecord burn, eject (after verify).
    let calls = s.calls();
    let verbs: Vec<&str> = calls
        .iter()
        .map(|c| {
            if c.contains(&"cdrecord".to_string()) {
                "burn"
            } else if c.contains(&"-eject".to_string()) {
                "eject"
            } else {
                "probe"
            }
        })
        .collect();
    assert_eq!(verbs, ["probe", "eject", "probe", "burn", "eject"]);
    let burn_call = &calls[3];
    assert!(burn_call.contains(&format!("dev=stdio:{}", s.disc.display())));
    assert_eq!(burn_call.last(), Some(&s.image.display().to_string()));
}

#[test]
fn a_write_error_rejects_the_disc_with_xorriso_s_reason() {
    let s = StandIn::new("drive-error", &["write-error"]);
    let why = rejected(burn(&mut s.burner(), &s.image).0);
    assert!(why.starts_with("writing the disc failed:"), "{why}");
    assert!(
        why.contains("Write error on the medium (simulated)"),
        "{why}"
    );
}

#[test]
fn no_medium_is_no_disc_not_a_reject() {
    let s = StandIn::new("drive-none", &["none"]);
    let mut b = s.burner();
    assert!(matches!(b.ready(), Err(BurnError::NoDisc(w)) if w.contains("has no disc")));
    assert!(matches!(
        burn(&mut b, &s.image).0,
        Err(BurnError::NoDisc(_))
    ));
    assert!(
        !s.calls().iter().any(|c| c.contains(&"-eject".to_string())),
        "nothing to eject"
    );
}

#[test]
fn too_small_unreadable_and_rewritable_discs() {
    let s = StandIn::new(
        "drive-kinds",
        &["small", "unreadable", "written-rw", "written-rw"],
    );
    let mut b = s.burner();
    let why = rejected(burn(&mut b, &s.image).0);
    assert!(
        why.contains("too small") && why.contains("16384 bytes free"),
        "{why}"
    );
    let why = rejected(burn(&mut b, &s.image).0);
    assert!(why.contains("cannot be read"), "{why}");
    let why = rejected(burn(&mut b, &s.image).0);
    assert!(
        why.contains("(appendable, DVD+RW)") && why.contains("blank_rewritable"),
        "{why}"
    );
    // Allowed to blank: the fourth disc (another written DVD+RW) is blanked and burned.
    let mut c = s.cfg.clone();
    c.blank_rewritable = Some(true);
    c.speed = Some(4);
    let mut b = DriveBurner::new(&c);
    let written = burn(&mut b, &s.image).0.unwrap();
    b.verify(&written, &sha256_file(&s.image).unwrap()).unwrap();
    let calls = s.calls();
    assert!(calls.iter().any(|c| c.contains(&"-blank".to_string())));
    assert!(calls
        .iter()
        .any(|c| c.contains(&"cdrecord".to_string()) && c.contains(&"speed=4".to_string())));
}

#[test]
fn a_shutdown_during_the_burn_kills_xorriso_and_answers_stopped() {
    let s = StandIn::new("drive-stop", &["slow"]);
    let mut b = s.burner();
    let stop = Shutdown::new();
    let trigger = stop.clone();
    let mut seen = 0;
    // The stop comes with the first progress line: xorriso is then surely writing.
    let r = b.burn(&s.image, &DISC, &stop, &mut |_| {
        seen += 1;
        trigger.trigger();
    });
    assert!(matches!(r, Err(BurnError::Stopped)), "{r:?}");
    assert!(seen >= 1);
}
