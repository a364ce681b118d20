use super::*;

/// What xorriso 1.5.4 printed here for an empty file as `stdio:` pseudo-drive
/// (`-pkt_output on -outdev stdio:F -toc -tell_media_space`).
const BLANK_FILE: &str = "\
I:1: Drive current: -outdev 'stdio:/tmp/xo/new.img'
I:1: Media current: stdio file, overwriteable
I:1: Media status : is blank
I:1: Media summary: 0 sessions, 0 data blocks, 0 data, 32.2g free
R:1: Drive current: -outdev 'stdio:/tmp/xo/new.img'
R:1: Drive access : exclusive:unrestricted
R:1: Drive type   : vendor 'YOYODYNE' product 'WARP DRIVE' revision 'FX01'
R:1: Media current: stdio file, overwriteable
R:1: Media status : is blank
R:1: Media blocks : 0 readable , 16883614 writable , 16883614 overall
R:1: Media summary: 0 sessions, 0 data blocks, 0 data, 32.2g free
R:1: Media space  : 16883582s
R:1: After commit : 16883582s
";

/// The same for a file holding an ISO image.
const WRITTEN_FILE: &str = "\
R:1: Media current: stdio file, overwriteable
R:1: Media status : is written , is appendable
R:1: Media blocks : 184 readable , 16883606 writable , 16883798 overall
R:1: TOC layout   : Idx ,  sbsector ,       Size , Volume Id
R:1: ISO session  :   1 ,         0 ,       184s , ISOIMAGE
R:1: Media summary: 1 session, 184 data blocks,  368k data, 32.2g free
R:1: Media nwa    : 192s
R:1: Media space  : 16883606s
";

fn medium(text: &str) -> Medium {
    parse_medium(text.lines())
}

#[test]
fn the_reports_xorriso_prints_for_files_are_read() {
    let m = medium(BLANK_FILE);
    assert_eq!(m.state, MediumState::Blank);
    assert_eq!(m.media_type, "stdio file, overwriteable");
    assert_eq!(m.free_bytes, Some(16_883_582 * 2048));
    assert!(m.rewritable);
    let m = medium(WRITTEN_FILE);
    assert_eq!(m.state, MediumState::Appendable);
    assert_eq!(m.free_bytes, Some(16_883_606 * 2048));
}

#[test]
fn drive_reports_without_channel_prefixes_are_read() {
    let closed = "Media current: CD-R\nMedia status : is written , is closed\nMedia space  : 0s\n";
    let m = medium(closed);
    assert_eq!((m.state, m.rewritable), (MediumState::Closed, false));
    assert_eq!(m.free_bytes, Some(0));
    let rw = "Media current: DVD+RW\nMedia status : is written , is appendable\n";
    assert!(medium(rw).rewritable);
    assert!(medium("Media current: BD-RE\nMedia status : is blank\n").rewritable);
    let none = "Media current: is not present\nMedia status : is not present\n";
    assert_eq!(medium(none).state, MediumState::None);
    assert!(!medium(none).rewritable);
    assert_eq!(
        medium("Media current: is not present\n").state,
        MediumState::None
    );
    // Only a message saying so (a drive acquired without a disc).
    let msg = "libburn : SORRY : No medium detected\nxorriso : FAILURE : Cannot acquire drive\n";
    assert_eq!(medium(msg).state, MediumState::None);
    let odd = "Media current: DVD-ROM\nMedia status : is not recognizable\n";
    assert_eq!(medium(odd).state, MediumState::Unreadable);
    // Nothing understood: never taken for blank.
    assert_eq!(medium("").state, MediumState::Unreadable);
    assert_eq!(
        medium("hello\nMedia status\n").state,
        MediumState::Unreadable
    );
    // The last report wins (after a blank, xorriso re-assesses the medium).
    let after_blank = format!("{WRITTEN_FILE}I:1: Media status : is blank\n");
    assert_eq!(medium(&after_blank).state, MediumState::Blank);
}

#[test]
fn progress_and_failures() {
    let p = parse_progress("xorriso : UPDATE :    4 of   20 MB written (fifo  0%) [buf  50%]");
    assert_eq!(p, Some(0.2));
    assert_eq!(
        parse_progress("I:1: xorriso : UPDATE :   20 of   20 MB written (fifo 99%)"),
        Some(1.0)
    );
    let p = parse_progress("xorriso : UPDATE : Writing:      32s    5.4%   fifo 100%  buf  50%");
    assert!(p.is_some_and(|p| (p - 0.054).abs() < 1e-9), "{p:?}");
    assert_eq!(
        parse_progress("xorriso : UPDATE :    4 of    0 MB written"),
        None
    );
    assert_eq!(parse_progress("Beginning to write data track."), None);
    let lines = [
        "libburn : SORRY : Cannot write desired amount of 32768 bytes. : No space left on device",
        "libburn : FATAL : Burn run failed",
        "xorriso : FAILURE : libburn indicates failure with writing.",
    ];
    assert_eq!(
        failure_reason(lines).as_deref(),
        Some("Cannot write desired amount of 32768 bytes. : No space left on device")
    );
    assert_eq!(
        failure_reason(["xorriso : FAILURE : Cannot acquire drive 'stdio:/x/y'"]).as_deref(),
        Some("Cannot acquire drive 'stdio:/x/y'")
    );
    assert_eq!(failure_reason(["all fine"]), None);
}

/// A small deterministic generator (xorshift64*): the property tests need no dependency and
/// every run sees the same cases, so a failure is reproducible from the seed printed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A line made of the fragments xorriso's lines are made of, and of noise.
    fn line(&mut self) -> String {
        const PARTS: &[&str] = &[
            "Media status",
            "Media current",
            "Media space",
            " ",
            "  ",
            ":",
            " : ",
            "is blank",
            "is written",
            " , ",
            "is closed",
            "is appendable",
            "is not present",
            "R:1: ",
            "I:1: ",
            "M:",
            "s",
            "%",
            " of ",
            " MB written",
            "Writing:",
            "SORRY",
            " : SORRY : ",
            " : FAILURE : ",
            "18446744073709551615",
            "9999999999999999999999",
            "-1",
            "0",
            "42",
            "4.5",
            "NaN",
            "inf",
            "e308",
            "é",
            "\u{fffd}",
            "RW",
            "BD-RE",
            "\t",
            "\0",
        ];
        let n = self.below(8);
        (0..n).map(|_| PARTS[self.below(PARTS.len())]).collect()
    }

    fn report(&mut self) -> Vec<String> {
        let n = self.below(12);
        (0..n).map(|_| self.line()).collect()
    }
}

#[test]
fn property_any_report_parses_without_panic_and_within_bounds() {
    for seed in 1..=20_000u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let lines = g.report();
        let m = parse_medium(lines.iter().map(String::as_str));
        // A medium with no disc is never rewritable; blank only when a status line said so.
        if m.state == MediumState::None {
            assert!(!m.rewritable, "seed {seed}: {lines:?}");
        }
        if m.state == MediumState::Blank {
            assert!(
                lines.iter().any(|l| l.contains("is blank")),
                "seed {seed}: {lines:?}"
            );
        }
        for l in &lines {
            if let Some(p) = parse_progress(l) {
                assert!((0.0..=1.0).contains(&p), "seed {seed}: {l:?} gave {p}");
            }
        }
        let _ = failure_reason(lines.iter().map(String::as_str));
    }
}

#[test]
fn property_channel_prefixes_and_foreign_lines_change_nothing() {
    for seed in 1..=5_000u64 {
        let mut g = Gen(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let state = [
            "is blank",
            "is written , is closed",
            "is written , is appendable",
        ][g.below(3)];
        let blocks = g.next() % 100_000_000;
        let report = vec![
            "Media current: DVD-R sequential recording".to_string(),
            format!("Media status : {state}"),
            format!("Media space  : {blocks}s"),
        ];
        let plain = parse_medium(report.iter().map(String::as_str));
        // The same with `-pkt_output` prefixes, and with noise lines that name no field.
        let mut mixed = Vec::new();
        for l in &report {
            let noise = g.line().replace("Media", "Disc");
            mixed.push(noise);
            mixed.push(format!("R:1: {l}"));
        }
        let other = parse_medium(mixed.iter().map(String::as_str));
        assert_eq!(plain, other, "seed {seed}: {mixed:?}");
        assert_eq!(plain.free_bytes, Some(blocks * 2048));
        assert_ne!(plain.state, MediumState::Unreadable);
    }
}

#[test]
fn property_raw_bytes_through_the_line_splitter_parse_without_panic() {
    use crate::burners::process::{LineSplitter, MAX_LINE};
    let text = format!("{BLANK_FILE}{WRITTEN_FILE}xorriso : UPDATE :    4 of   20 MB written\n");
    for seed in 1..=3_000u64 {
        let mut g = Gen(seed.wrapping_mul(0xA24B_AED4_963E_E407) | 1);
        // A real report with bytes flipped, cut and inserted (invalid UTF-8 included), fed
        // in chunks of any size, as a pipe delivers it.
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..g.below(40) {
            let at = g.below(bytes.len());
            match g.below(3) {
                0 => bytes[at] = g.next() as u8,
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, [0xC3, 0xFF, b'\r', b':', 0xE2][g.below(5)]),
            }
        }
        let mut lines = Vec::new();
        let mut split = LineSplitter::default();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = (1 + g.below(64)).min(rest.len());
            split.push(&rest[..n], &mut |l| lines.push(l));
            rest = &rest[n..];
        }
        split.finish(&mut |l| lines.push(l));
        for l in &lines {
            // Lossy decoding may widen a byte to U+FFFD (3 bytes), never more.
            assert!(l.len() <= 3 * MAX_LINE, "seed {seed}");
            if let Some(p) = parse_progress(l) {
                assert!((0.0..=1.0).contains(&p), "seed {seed}: {l:?}");
            }
        }
        let _ = parse_medium(lines.iter().map(String::as_str));
        let _ = failure_reason(lines.iter().map(String::as_str));
    }
}
