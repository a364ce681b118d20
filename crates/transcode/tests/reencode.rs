//! Implicit VR → Explicit VR (and back) on hand-built files: private and retired elements,
//! nested sequences of undefined and defined length, UN, CP-246, ambiguous VRs, padding and
//! group lengths. The output is parsed by an independent little Explicit VR reader below.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dcmdisc_transcode::{
    can_convert, convert_file, ConvertReport, Identity, Target, TranscodeError, EXPLICIT_VR_LE,
};

const IMPLICIT: &str = "1.2.840.10008.1.2";
const UNDEF: u32 = 0xFFFF_FFFF;

fn ident() -> Identity {
    Identity {
        implementation_class_uid: "2.25.267312939302375511414433714362251802968".into(),
        implementation_version_name: "DCMDISC_0.1.0".into(),
    }
}

// ------------------------------------------------------------------ building implicit data

fn tag(g: u16, e: u16) -> Vec<u8> {
    let mut v = g.to_le_bytes().to_vec();
    v.extend_from_slice(&e.to_le_bytes());
    v
}

/// Implicit VR element.
fn el(g: u16, e: u16, value: &[u8]) -> Vec<u8> {
    let mut v = tag(g, e);
    v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    v.extend_from_slice(value);
    v
}

fn item_undef(content: &[u8]) -> Vec<u8> {
    let mut v = tag(0xFFFE, 0xE000);
    v.extend_from_slice(&UNDEF.to_le_bytes());
    v.extend_from_slice(content);
    v.extend_from_slice(&tag(0xFFFE, 0xE00D));
    v.extend_from_slice(&0u32.to_le_bytes());
    v
}

fn item_def(content: &[u8]) -> Vec<u8> {
    let mut v = tag(0xFFFE, 0xE000);
    v.extend_from_slice(&(content.len() as u32).to_le_bytes());
    v.extend_from_slice(content);
    v
}

fn seq_undef(g: u16, e: u16, items: &[Vec<u8>]) -> Vec<u8> {
    let mut v = tag(g, e);
    v.extend_from_slice(&UNDEF.to_le_bytes());
    for i in items {
        v.extend_from_slice(i);
    }
    v.extend_from_slice(&tag(0xFFFE, 0xE0DD));
    v.extend_from_slice(&0u32.to_le_bytes());
    v
}

fn seq_def(g: u16, e: u16, items: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = items.concat();
    el(g, e, &body)
}

/// Explicit VR element (for the meta and Explicit sources).
fn ex(g: u16, e: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = tag(g, e);
    v.extend_from_slice(vr);
    if matches!(
        vr,
        b"OB"
            | b"OW"
            | b"SQ"
            | b"UN"
            | b"UT"
            | b"UC"
            | b"UR"
            | b"OF"
            | b"OD"
            | b"OL"
            | b"OV"
            | b"SV"
            | b"UV"
    ) {
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    v.extend_from_slice(value);
    v
}

fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut ts_v = ts.as_bytes().to_vec();
    if ts_v.len() % 2 == 1 {
        ts_v.push(0);
    }
    let mut meta = ex(2, 1, b"OB", &[0, 1]);
    meta.extend(ex(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.7\0"));
    meta.extend(ex(2, 3, b"UI", b"1.2.3.4"));
    meta.extend(ex(2, 0x10, b"UI", &ts_v));
    meta.extend(ex(2, 0x12, b"UI", b"1.2.3.99"));
    meta.extend(ex(2, 0x16, b"AE", b"SENDER"));
    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    f.extend(ex(2, 0, b"UL", &(meta.len() as u32).to_le_bytes()));
    f.extend(meta);
    f.extend_from_slice(dataset);
    f
}

// ------------------------------------------------------------------ reading explicit output

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Bytes(Vec<u8>),
    /// items; `undefined` says how the sequence length was encoded.
    Seq {
        items: Vec<Vec<Elem>>,
        undefined: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Elem {
    tag: (u16, u16),
    vr: String,
    val: Val,
}

fn u16le(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32le(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Parses an Explicit VR LE data set from `b[*i..end]` (end None: until an item delimiter).
fn parse_explicit(b: &[u8], i: &mut usize, end: Option<usize>) -> Vec<Elem> {
    let mut out = Vec::new();
    loop {
        if let Some(e) = end {
            if *i >= e {
                assert_eq!(*i, e, "overran item");
                return out;
            }
        }
        let t = (u16le(b, *i), u16le(b, *i + 2));
        if t == (0xFFFE, 0xE00D) {
            assert!(end.is_none());
            assert_eq!(u32le(b, *i + 4), 0);
            *i += 8;
            return out;
        }
        let vr = String::from_utf8(b[*i + 4..*i + 6].to_vec()).unwrap();
        let long = matches!(
            vr.as_str(),
            "OB" | "OW"
                | "SQ"
                | "UN"
                | "UT"
                | "UC"
                | "UR"
                | "OF"
                | "OD"
                | "OL"
                | "OV"
                | "SV"
                | "UV"
        );
        let (len, hdr) = if long {
            assert_eq!(&b[*i + 6..*i + 8], &[0, 0]);
            (u32le(b, *i + 8), 12)
        } else {
            (u16le(b, *i + 6) as u32, 8)
        };
        *i += hdr;
        if vr == "SQ" || (vr == "UN" && len == UNDEF) {
            assert!(vr == "SQ", "CP-246 UN not expected here");
            let undefined = len == UNDEF;
            let send = if undefined {
                None
            } else {
                Some(*i + len as usize)
            };
            let mut items = Vec::new();
            loop {
                if let Some(e) = send {
                    if *i >= e {
                        assert_eq!(*i, e);
                        break;
                    }
                }
                let it = (u16le(b, *i), u16le(b, *i + 2));
                let ilen = u32le(b, *i + 4);
                *i += 8;
                if it == (0xFFFE, 0xE0DD) {
                    assert!(undefined);
                    break;
                }
                assert_eq!(it, (0xFFFE, 0xE000));
                let iend = if ilen == UNDEF {
                    None
                } else {
                    Some(*i + ilen as usize)
                };
                items.push(parse_explicit(b, i, iend));
            }
            out.push(Elem {
                tag: t,
                vr,
                val: Val::Seq { items, undefined },
            });
        } else {
            assert_ne!(len, UNDEF, "undefined length on {t:04X?} {vr}");
            assert_eq!(len % 2, 0, "odd length on {t:04X?}");
            out.push(Elem {
                tag: t,
                vr,
                val: Val::Bytes(b[*i..*i + len as usize].to_vec()),
            });
            *i += len as usize;
        }
    }
}

/// Returns (meta elements, data set) of an Explicit VR LE Part 10 file.
fn read_explicit_file(path: &Path) -> (Vec<Elem>, Vec<Elem>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[128..132], b"DICM");
    assert!(b[..128].iter().all(|&x| x == 0));
    let mut i = 132;
    let glen = u32le(&b, 140) as usize;
    let meta = parse_explicit(&b, &mut i, Some(144 + glen));
    let ds = parse_explicit(&b, &mut i, Some(b.len()));
    (meta, ds)
}

fn find(ds: &[Elem], t: (u16, u16)) -> &Elem {
    ds.iter()
        .find(|e| e.tag == t)
        .unwrap_or_else(|| panic!("{t:04X?} missing"))
}

fn bytes(e: &Elem) -> &[u8] {
    match &e.val {
        Val::Bytes(b) => b,
        Val::Seq { .. } => panic!("{:04X?} is a sequence", e.tag),
    }
}

fn items(e: &Elem) -> (&Vec<Vec<Elem>>, bool) {
    match &e.val {
        Val::Seq { items, undefined } => (items, *undefined),
        Val::Bytes(_) => panic!("{:04X?} is not a sequence", e.tag),
    }
}

struct Tmp(PathBuf);
impl Tmp {
    fn new(name: &str) -> Tmp {
        let d =
            std::env::temp_dir().join(format!("dcmdisc-transcode-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Tmp(d)
    }
    fn p(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn convert(tmp: &Tmp, src: &[u8], to: Target) -> (PathBuf, ConvertReport) {
    let inp = tmp.p("in.dcm");
    let out = tmp.p(match to {
        Target::ExplicitLe => "out-explicit.dcm",
        Target::ImplicitLe => "out-implicit.dcm",
    });
    std::fs::write(&inp, src).unwrap();
    let r = convert_file(&inp, &out, to, &ident()).unwrap();
    (out, r)
}

// ------------------------------------------------------------------ the tests

/// A data set with something of everything the re-encoder must get right.
fn rich_implicit_dataset() -> Vec<u8> {
    let mut ds = Vec::new();
    ds.extend(el(0x0008, 0x0000, &100u32.to_le_bytes())); // group length: dropped
    ds.extend(el(0x0008, 0x0010, b"RECOG ")); // retired Recognition Code (SH)
    ds.extend(el(0x0008, 0x0016, b"1.2.840.10008.5.1.4.1.1.7\0"));
    ds.extend(el(0x0008, 0x0018, b"1.2.3.4"));
    // retired Data Set Type (US)
    ds.extend(el(0x0008, 0x0040, &7u16.to_le_bytes()));
    // Referenced Image Sequence, undefined length, undefined item with a nested undefined
    // sequence whose item is of defined length.
    let inner_item = item_def(
        &[
            el(0x0008, 0x1150, b"1.2.3\0"),
            el(0x0008, 0x1155, b"1.2.3.4.5\0"),
        ]
        .concat(),
    );
    let nested = seq_undef(0x0008, 0x1140, std::slice::from_ref(&inner_item));
    ds.extend(seq_undef(
        0x0008,
        0x1140,
        &[item_undef(&[el(0x0008, 0x1150, b"1.2\0"), nested].concat())],
    ));
    // Private block: creator, a short value, an undefined-length private sequence (unknown
    // tag: becomes SQ), a defined-length private element that holds a sequence (stays UN).
    ds.extend(el(0x0009, 0x0010, b"ACME 1.0"));
    ds.extend(el(0x0009, 0x1001, b"secret"));
    ds.extend(seq_undef(
        0x0009,
        0x1002,
        &[item_undef(
            &[el(0x0009, 0x0010, b"ACME 1.0"), el(0x0009, 0x1003, b"deep")].concat(),
        )],
    ));
    let hidden = item_def(&el(0x0010, 0x0020, b"ID42"));
    ds.extend(el(0x0009, 0x1004, &hidden));
    ds.extend(el(0x0010, 0x0010, b"Doe^Jo")); // PN
    ds.extend(el(0x0010, 0x0020, b"ABC")); // odd length: padded with a space
                                           // A DS value longer than 65534 bytes: UN.
    let long_ds: Vec<u8> = std::iter::repeat_n(b"1.5\\".as_slice(), 17_000)
        .flatten()
        .copied()
        .chain(*b"2.0")
        .collect();
    // odd length too
    ds.extend(el(0x0018, 0x9219, &long_ds[..long_ds.len() - 1]));
    // Defined-length sequence with defined-length items: lengths must be recomputed.
    ds.extend(seq_def(
        0x0018,
        0x9346, // CTDI Phantom Type Code Sequence
        &[item_def(
            &[
                el(0x0008, 0x0100, b"113691"),
                el(0x0008, 0x0102, b"DCM "),
                el(0x0008, 0x0104, b"IEC Body Dosimetry Phantom"),
            ]
            .concat(),
        )],
    ));
    ds.extend(el(0x0028, 0x0002, &1u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0004, b"MONOCHROME2 "));
    ds.extend(el(0x0028, 0x0010, &2u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0011, &2u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0100, &16u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0101, &12u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0102, &11u16.to_le_bytes()));
    ds.extend(el(0x0028, 0x0103, &1u16.to_le_bytes())); // signed
    ds.extend(el(0x0028, 0x0106, &(-5i16).to_le_bytes())); // xs: SS here
    ds.extend(el(0x0028, 0x0107, &100i16.to_le_bytes()));
    ds.extend(el(0x0099, 0x0000, &0u32.to_le_bytes())); // private group length: dropped
    ds.extend(el(0x6000, 0x3000, &[0u8; 8])); // overlay data: OW
    ds.extend(el(0x7FE0, 0x0010, &[1, 0, 2, 0, 3, 0, 4, 0])); // pixel data: OW
    ds
}

#[test]
fn implicit_to_explicit_keeps_every_element() {
    let tmp = Tmp::new("rich");
    let src = part10(IMPLICIT, &rich_implicit_dataset());
    let (out, report) = convert(&tmp, &src, Target::ExplicitLe);
    assert_eq!(report.from_ts, IMPLICIT);
    assert_eq!(report.to_ts, EXPLICIT_VR_LE);
    assert!(!report.lossy_source);
    assert_eq!(report.bytes_written, std::fs::metadata(&out).unwrap().len());

    let (meta, ds) = read_explicit_file(&out);
    assert_eq!(bytes(find(&meta, (2, 0x10))), b"1.2.840.10008.1.2.1\0");
    assert_eq!(
        bytes(find(&meta, (2, 0x12))),
        b"2.25.267312939302375511414433714362251802968"
    );
    assert_eq!(bytes(find(&meta, (2, 0x13))), b"DCMDISC_0.1.0 ");
    assert_eq!(bytes(find(&meta, (2, 0x16))), b"SENDER"); // kept
    assert_eq!(bytes(find(&meta, (2, 0x03))), b"1.2.3.4\0"); // kept, padded

    let tags: Vec<(u16, u16)> = ds.iter().map(|e| e.tag).collect();
    assert!(
        !tags.contains(&(0x0008, 0x0000)) && !tags.contains(&(0x0099, 0x0000)),
        "group lengths dropped"
    );
    assert!(tags.windows(2).all(|w| w[0] < w[1]), "order kept");

    let vr = |t| find(&ds, t).vr.clone();
    assert_eq!(vr((0x0008, 0x0010)), "SH");
    assert_eq!(bytes(find(&ds, (0x0008, 0x0010))), b"RECOG ");
    assert_eq!(vr((0x0008, 0x0040)), "US");
    assert_eq!(vr((0x0009, 0x0010)), "LO");
    assert_eq!(vr((0x0009, 0x1001)), "UN");
    assert_eq!(bytes(find(&ds, (0x0009, 0x1001))), b"secret");
    assert_eq!(vr((0x0009, 0x1004)), "UN");
    assert_eq!(
        bytes(find(&ds, (0x0009, 0x1004))),
        item_def(&el(0x0010, 0x0020, b"ID42")).as_slice()
    );
    assert_eq!(vr((0x0010, 0x0010)), "PN");
    assert_eq!(bytes(find(&ds, (0x0010, 0x0020))), b"ABC ");
    assert_eq!(vr((0x0018, 0x9219)), "UN");
    assert_eq!(bytes(find(&ds, (0x0018, 0x9219))).len(), 17_000 * 4 + 2);
    assert_eq!(vr((0x0028, 0x0106)), "SS");
    assert_eq!(vr((0x0028, 0x0107)), "SS");
    assert_eq!(vr((0x0028, 0x0103)), "US");
    assert_eq!(vr((0x6000, 0x3000)), "OW");
    assert_eq!(vr((0x7FE0, 0x0010)), "OW");
    assert_eq!(
        bytes(find(&ds, (0x7FE0, 0x0010))),
        &[1, 0, 2, 0, 3, 0, 4, 0]
    );

    // Nested undefined-length sequences stay undefined; the defined-length item inside
    // gets its new length (checked by the parser).
    let (outer, undefined) = items(find(&ds, (0x0008, 0x1140)));
    assert!(undefined);
    assert_eq!(outer.len(), 1);
    let (inner, undefined) = items(find(&outer[0], (0x0008, 0x1140)));
    assert!(undefined);
    assert_eq!(bytes(find(&inner[0], (0x0008, 0x1155))), b"1.2.3.4.5\0");
    assert_eq!(find(&inner[0], (0x0008, 0x1155)).vr, "UI");

    // Unknown tag with undefined length: written as SQ, its content re-encoded.
    let (priv_items, undefined) = items(find(&ds, (0x0009, 0x1002)));
    assert!(undefined);
    assert_eq!(find(&priv_items[0], (0x0009, 0x0010)).vr, "LO");
    assert_eq!(find(&priv_items[0], (0x0009, 0x1003)).vr, "UN");

    // Defined-length sequence stays defined, with code items re-encoded.
    let (codes, undefined) = items(find(&ds, (0x0018, 0x9346)));
    assert!(!undefined);
    assert_eq!(find(&codes[0], (0x0008, 0x0104)).vr, "LO");
}

#[test]
fn explicit_back_to_implicit_gives_the_original_data_set() {
    // Without group lengths or odd values the round trip is exact.
    let tmp = Tmp::new("roundtrip");
    let mut ds = Vec::new();
    ds.extend(el(0x0008, 0x0016, b"1.2.840.10008.5.1.4.1.1.7\0"));
    ds.extend(el(0x0008, 0x0018, b"1.2.3.40"));
    ds.extend(el(0x0009, 0x0010, b"ACME 1.0"));
    ds.extend(seq_undef(
        0x0009,
        0x1002,
        &[item_undef(&el(0x0009, 0x1003, b"deep"))],
    ));
    ds.extend(seq_def(
        0x0040,
        0x0275,
        &[
            item_def(&el(0x0040, 0x0009, b"SPS1")),
            item_undef(&el(0x0040, 0x0009, b"SPS2")),
        ],
    ));
    ds.extend(el(0x7FE0, 0x0010, &[9u8; 16]));
    let src = part10(IMPLICIT, &ds);
    let (explicit, _) = convert(&tmp, &src, Target::ExplicitLe);
    let back = tmp.p("back.dcm");
    let r = convert_file(&explicit, &back, Target::ImplicitLe, &ident()).unwrap();
    assert_eq!(r.from_ts, EXPLICIT_VR_LE);
    assert_eq!(r.to_ts, IMPLICIT);
    let b = std::fs::read(&back).unwrap();
    assert!(
        b.ends_with(&ds),
        "data set bytes differ after the round trip"
    );
}

#[test]
fn cp246_un_of_undefined_length_is_kept_with_implicit_content() {
    let tmp = Tmp::new("cp246");
    // Explicit VR source: a private UN of undefined length whose items are Implicit VR.
    let mut un = tag(0x0011, 0x1010);
    un.extend_from_slice(b"UN\0\0");
    un.extend_from_slice(&UNDEF.to_le_bytes());
    let content = [item_undef(
        &[
            el(0x0011, 0x1011, b"abcd"),
            seq_undef(0x0011, 0x1012, &[item_def(&el(0x0011, 0x1013, b"xy"))]),
        ]
        .concat(),
    )]
    .concat();
    un.extend_from_slice(&content);
    un.extend_from_slice(&tag(0xFFFE, 0xE0DD));
    un.extend_from_slice(&0u32.to_le_bytes());
    let mut ds = ex(0x0008, 0x0018, b"UI", b"1.2.3.40");
    ds.extend(ex(0x0011, 0x0010, b"LO", b"ACME"));
    ds.extend(&un);
    ds.extend(ex(0x0011, 0x1020, b"UN", b"tail"));
    let src = part10(EXPLICIT_VR_LE, &ds);
    let (out, _) = convert(&tmp, &src, Target::ExplicitLe);
    let b = std::fs::read(&out).unwrap();
    assert!(b.ends_with(&ds), "Explicit → Explicit changed the data set");
}

#[test]
fn refusals() {
    assert!(can_convert("1.2.840.10008.1.2", Target::ExplicitLe));
    assert!(can_convert("1.2.840.10008.1.2.4.70", Target::ExplicitLe));
    assert!(can_convert("1.2.840.10008.1.2.4.57", Target::ImplicitLe));
    assert!(can_convert("1.2.840.10008.1.2.4.51\0", Target::ExplicitLe));
    assert!(!can_convert("1.2.840.10008.1.2.4.80", Target::ExplicitLe)); // JPEG-LS
    assert!(!can_convert("1.2.840.10008.1.2.4.90", Target::ExplicitLe)); // JPEG 2000
                                                                         // Deflated and Big Endian: tests/big_endian.rs.

    let tmp = Tmp::new("refusals");
    let inp = tmp.p("in.dcm");
    let out = tmp.p("out.dcm");
    std::fs::write(
        &inp,
        part10("1.2.840.10008.1.2.4.90", &ex(0x0008, 0x0018, b"UI", b"1.2")),
    )
    .unwrap();
    assert!(matches!(
        convert_file(&inp, &out, Target::ExplicitLe, &ident()),
        Err(TranscodeError::UnsupportedTransferSyntax { .. })
    ));
    std::fs::write(&inp, b"not dicom at all").unwrap();
    assert!(matches!(
        convert_file(&inp, &out, Target::ExplicitLe, &ident()),
        Err(TranscodeError::NotPart10(_))
    ));
    assert!(matches!(
        convert_file(&inp, &inp, Target::ExplicitLe, &ident()),
        Err(TranscodeError::SameFile)
    ));

    // Truncated inside a sequence: an error, and no output left behind.
    let mut ds = el(0x0008, 0x0018, b"1.2.3.4");
    ds.extend(seq_undef(
        0x0008,
        0x1140,
        &[item_undef(&el(0x0008, 0x1150, b"1.2\0"))],
    ));
    let full = part10(IMPLICIT, &ds);
    std::fs::write(&inp, &full[..full.len() - 10]).unwrap();
    assert!(matches!(
        convert_file(&inp, &out, Target::ExplicitLe, &ident()),
        Err(TranscodeError::Truncated { .. })
    ));
    assert!(!out.exists());

    // An item that claims more bytes than its sequence.
    let mut bad = el(0x0008, 0x0018, b"1.2.3.4");
    let mut sq = tag(0x0008, 0x1140);
    sq.extend_from_slice(&16u32.to_le_bytes());
    sq.extend(tag(0xFFFE, 0xE000));
    sq.extend_from_slice(&100u32.to_le_bytes());
    sq.extend(el(0x0008, 0x1150, b"1.2\0"));
    bad.extend(sq);
    std::fs::write(&inp, part10(IMPLICIT, &bad)).unwrap();
    assert!(matches!(
        convert_file(&inp, &out, Target::ExplicitLe, &ident()),
        Err(TranscodeError::Malformed { .. })
    ));
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let tmp = Tmp::new("deep");
    let mut inner = el(0x0008, 0x0100, b"X ");
    for _ in 0..10_000 {
        inner = seq_undef(0x0040, 0xA730, &[item_undef(&inner)]);
    }
    let mut ds = el(0x0008, 0x0018, b"1.2.3.40");
    ds.extend(inner);
    let inp = tmp.p("in.dcm");
    std::fs::write(&inp, part10(IMPLICIT, &ds)).unwrap();
    let r = convert_file(&inp, &tmp.p("out.dcm"), Target::ExplicitLe, &ident());
    assert!(matches!(r, Err(TranscodeError::Malformed { .. })), "{r:?}");
}
