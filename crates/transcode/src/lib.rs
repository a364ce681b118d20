//! Transfer syntax conversion of DICOM Part 10 files, for dcmdisc.
//!
//! **For**: turning an instance received in any transfer syntax dcmdisc accepts (Implicit VR
//! LE, Explicit VR LE, JPEG Lossless Process 14 `.4.57` / `.4.70`, RLE Lossless `.5`, JPEG
//! Baseline `.4.50`, JPEG Extended `.4.51` including 12-bit) into Explicit VR Little Endian
//! (what a STD-GEN-CD disc must hold, PS3.11) or Implicit VR Little Endian, file to file;
//! also Explicit VR Big Endian `.2.2` (values swapped by VR, `swap.rs`) and Deflated Explicit
//! VR LE `.1.99` (inflated first, `inflate.rs`), both losslessly,
//! streaming: memory holds one compressed and one decoded frame at most, and nothing at all
//! grows with the size of an uncompressed instance (values are copied in chunks). Every
//! element other than Pixel Data and the few attributes decompression must change keeps its
//! value bytes; the File Meta is rewritten with the target syntax and our implementation
//! identity.
//!
//! **Not for**: compressing (we only ever decompress), JPEG-LS / JPEG 2000 sources
//! ([`can_convert`] says no, so callers can refuse early), Big Endian values whose byte
//! order nothing tells (UN: refused with [`TranscodeError::Inexact`]), editing or
//! anonymising data sets, reading DICOM for display (use dicom-object for that), or
//! deciding *when* to convert (the archive and the media writer do that).
//!
//! Where each rule comes from is written next to it: `dataset.rs` (re-encoding, sequences,
//! CP-246, group lengths), `vr.rs` (VRs for Implicit VR sources), `pixel.rs` (which
//! attributes change on decompression), `jpeg.rs` (decoder choice, colour), `rle.rs`.

use std::path::Path;

mod dataset;
mod encode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod inflate;
mod io;
mod jpeg;
mod lossless;
mod meta;
mod pixel;
mod rle;
mod swap;
mod vr;

pub use error::{Result, TranscodeError};

use encode::Enc;
use pixel::Codec;

use dcmdisc_dicom::uid::{
    DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS,
    JPEG_LOSSLESS_SV1, RLE_LOSSLESS,
};
pub use dcmdisc_dicom::uid::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};

/// The transfer syntax to convert to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Explicit VR Little Endian.
    ExplicitLe,
    /// Implicit VR Little Endian.
    ImplicitLe,
}

impl Target {
    pub fn uid(self) -> &'static str {
        match self {
            Target::ExplicitLe => EXPLICIT_VR_LE,
            Target::ImplicitLe => IMPLICIT_VR_LE,
        }
    }

    fn enc(self) -> Enc {
        match self {
            Target::ExplicitLe => Enc::Explicit,
            Target::ImplicitLe => Enc::Implicit,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Target::ExplicitLe => "explicit-le",
            Target::ImplicitLe => "implicit-le",
        })
    }
}

/// Who writes the file: goes into (0002,0012) and (0002,0013).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub implementation_class_uid: String,
    pub implementation_version_name: String,
}

/// What [`convert_file`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertReport {
    /// Transfer syntax of the input (from its File Meta).
    pub from_ts: String,
    /// Transfer syntax written.
    pub to_ts: String,
    /// Size of the output file.
    pub bytes_written: u64,
    /// The image has been through lossy compression: the source syntax is lossy (JPEG
    /// Baseline / Extended), or its Lossy Image Compression (0028,2110) says "01".
    pub lossy_source: bool,
}

/// How a source syntax is read.
#[derive(Clone, Copy, Debug)]
enum Source {
    Native(Enc),
    /// Explicit VR Big Endian (`swap.rs`).
    BigEndian,
    /// Deflated Explicit VR Little Endian (`inflate.rs`).
    Deflated,
    Encapsulated(Codec),
}

fn classify(ts: &str) -> Option<Source> {
    Some(match ts {
        IMPLICIT_VR_LE => Source::Native(Enc::Implicit),
        EXPLICIT_VR_LE => Source::Native(Enc::Explicit),
        EXPLICIT_VR_BE => Source::BigEndian,
        DEFLATED_EXPLICIT_VR_LE => Source::Deflated,
        RLE_LOSSLESS => Source::Encapsulated(Codec::Rle),
        JPEG_LOSSLESS | JPEG_LOSSLESS_SV1 => Source::Encapsulated(Codec::JpegLossless),
        JPEG_BASELINE | JPEG_EXTENDED => Source::Encapsulated(Codec::JpegLossy),
        _ => return None,
    })
}

/// Can we convert from this transfer syntax to the target? Both targets are reachable from
/// every syntax listed in the crate doc, and from nothing else.
pub fn can_convert(from_ts: &str, to: Target) -> bool {
    let _ = to;
    classify(from_ts.trim_end_matches(['\0', ' '])).is_some()
}

/// Converts the Part 10 file `input` into `output` (created or truncated) in the target
/// syntax. See the crate doc for what changes. On error nothing useful is left at `output`:
/// a partly written file is removed.
pub fn convert_file(
    input: &Path,
    output: &Path,
    to: Target,
    ident: &Identity,
) -> Result<ConvertReport> {
    if same_file(input, output) {
        return Err(TranscodeError::SameFile);
    }
    let mut inp = io::Input::open(input)?;
    let meta = meta::read_meta(&mut inp, input)?;
    let from_ts = meta.transfer_syntax.clone();
    let source = classify(&from_ts).ok_or_else(|| TranscodeError::UnsupportedTransferSyntax {
        from: from_ts.clone(),
        to: to.to_string(),
    })?;
    let (src_enc, codec) = match source {
        Source::Native(e) => (e, None),
        Source::BigEndian | Source::Deflated => (Enc::Explicit, None),
        Source::Encapsulated(c) => (Enc::Explicit, Some(c)),
    };
    let big_endian = matches!(source, Source::BigEndian);
    let dst = to.enc();
    // Deflated: the passes read the inflated data set from a scratch file (removed on drop).
    let mut _scratch = None;
    if matches!(source, Source::Deflated) {
        let path = inflate::scratch_path(output);
        let scratch = inflate::Scratch(path.clone());
        inflate::inflate(input, inp.pos(), &path)?;
        inp = io::Input::open(&path)?;
        _scratch = Some(scratch);
    }

    // Pass 1: lengths of defined-length containers, image attributes, fragment positions.
    let mut survey = dataset::measure(&mut inp, src_enc, dst, big_endian)?;
    let mut plan = dataset::Plan::default();
    if let (Some(codec), Some(enc)) = (codec, survey.encapsulated.as_ref()) {
        let (pixel_plan, edits) = pixel::plan(codec, &survey.values, enc, dst)?;
        plan.pixel = Some(pixel_plan);
        plan.edits = edits;
    }
    let lossy_flag = survey
        .values
        .get(&(0x0028, 0x2110))
        .is_some_and(|v| String::from_utf8_lossy(v).trim_matches([' ', '\0']) == "01");
    let lossy_source = matches!(codec, Some(Codec::JpegLossy)) || lossy_flag;

    // Pass 2.
    let mut out = io::Output::create(output)?;
    let written = (|| {
        meta::write_meta(&mut out, &meta, to.uid(), ident)?;
        dataset::write(
            &mut inp,
            &mut out,
            src_enc,
            dst,
            &mut survey,
            &plan,
            big_endian,
        )?;
        Ok(())
    })();
    let result = written.and_then(|()| out.finish());
    match result {
        Ok(bytes_written) => Ok(ConvertReport {
            from_ts,
            to_ts: to.uid().to_string(),
            bytes_written,
            lossy_source,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(output);
            Err(e)
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
