//! The element-by-element re-encoder.
//!
//! One recursive walk reads the source data set (Implicit or Explicit VR LE, or Explicit VR
//! Big Endian: numbers read big endian and binary values swapped by `swap.rs`) and writes the
//! target encoding. It runs twice over the input file:
//!
//! 1. **measure**: output goes to a counting [`Output`]; values are skipped, not read. It
//!    records the output length of every defined-length sequence and item (in the order they
//!    open), the small top-level values the pixel plan needs, and where the fragments of
//!    encapsulated Pixel Data are.
//! 2. **write**: the same walk writes the file, taking each defined-length container's length
//!    from the table of pass 1 (and checking it when the container closes), applying the
//!    top-level [`Plan`] edits and decoding pixel data frame by frame.
//!
//! So memory does not grow with the file: a length per container, a position per fragment,
//! one compressed and one decoded frame at a time. Values are copied in buffer-sized chunks.
//!
//! Rules of the encoding (see also `vr.rs`):
//! - Every element is kept, retired and private ones included, with its value bytes; values
//!   of odd length get one pad byte (PS3.5 6.2).
//! - Sequences and items keep their kind of length: undefined stays undefined (items and
//!   delimiters written out), defined gets its recomputed output length.
//! - Group Length elements (gggg,0000) of the data set are dropped, at every level: element
//!   lengths change with the encoding, they are optional (PS3.5 7.2), and a wrong one is
//!   worse than none. (File Meta's (0002,0000) is recomputed in `meta.rs`.)
//! - CP-246. An Implicit VR element of undefined length whose tag the dictionary does not know
//!   (typically a private sequence) is written as **SQ** with its items re-encoded, as dcmtk
//!   does: in Implicit VR only a sequence can have undefined length, so SQ is its actual VR,
//!   not a guess, and the whole file then reads in one encoding even for readers that mishandle
//!   CP-246. The CP-246 form (UN, undefined length, content in Implicit VR LE) is what we keep
//!   when the *source* is Explicit VR and has it: there the sender chose UN, and the content is
//!   copied as Implicit VR LE items, unchanged.
//! - A value too long for its VR's 16-bit length field becomes UN (see `vr.rs`).

use std::collections::{BTreeMap, HashMap};

use dicom_core::VR;

use crate::encode::{
    has_long_length, pad_byte, write_element, write_header, write_tag, Enc, ITEM, ITEM_DELIM,
    MAX_SHORT_LEN, PIXEL_DATA, SEQ_DELIM, UNDEFINED,
};
use crate::error::{malformed, Result, TranscodeError};
use crate::io::{Input, Output};
use crate::pixel::{self, PixelPlan};
use crate::swap;
use crate::vr::{implicit_vr, VrContext};

/// Top-level values we need to see (image attributes, lossy compression flags, extended
/// offset table).
const WATCHED: &[(u16, u16)] = &[
    (0x0028, 0x0002), // Samples per Pixel
    (0x0028, 0x0004), // Photometric Interpretation
    (0x0028, 0x0006), // Planar Configuration
    (0x0028, 0x0008), // Number of Frames
    (0x0028, 0x0010), // Rows
    (0x0028, 0x0011), // Columns
    (0x0028, 0x0100), // Bits Allocated
    (0x0028, 0x0101), // Bits Stored
    (0x0028, 0x0103), // Pixel Representation
    (0x0028, 0x2110), // Lossy Image Compression
    (0x0028, 0x2112), // Lossy Image Compression Ratio
    (0x0028, 0x2114), // Lossy Image Compression Method
    (0x7FE0, 0x0001), // Extended Offset Table
];
const MAX_WATCHED_VALUE: u32 = 64 << 20;
/// Sequence nesting we follow. Real data sets nest a handful of levels; the limit keeps a
/// hostile file from exhausting the stack (the walk is recursive).
const MAX_DEPTH: u32 = 64;

/// A fragment of encapsulated Pixel Data.
#[derive(Clone, Debug)]
pub(crate) struct Fragment {
    /// Offset of the item tag from the first byte of the first fragment's item (the origin of
    /// the Basic and Extended Offset Tables).
    pub item_offset: u64,
    /// File position of the fragment's value.
    pub pos: u64,
    pub len: u32,
    /// The value starts with a JPEG SOI marker.
    pub soi: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Encapsulated {
    pub basic_offsets: Vec<u32>,
    pub fragments: Vec<Fragment>,
    /// File position right after the sequence delimiter.
    pub end: u64,
}

/// What pass 1 learns.
#[derive(Debug, Default)]
pub(crate) struct Survey {
    /// Values of [`WATCHED`] top-level elements present in the source.
    pub values: HashMap<(u16, u16), Vec<u8>>,
    /// Top-level encapsulated Pixel Data, when there is one.
    pub encapsulated: Option<Encapsulated>,
    /// Output lengths of defined-length sequences and items, in opening order.
    pub lengths: Vec<u32>,
}

/// A change of a top-level element.
#[derive(Clone, Debug)]
pub(crate) enum Edit {
    /// Same tag and VR, this value.
    Replace(Vec<u8>),
    /// Insert this element (absent in the source), in tag order.
    Insert(VR, Vec<u8>),
    /// Leave it out.
    Drop,
}

/// What pass 2 does beyond re-encoding.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub edits: BTreeMap<(u16, u16), Edit>,
    pub pixel: Option<PixelPlan>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// Top level: until the end of the file.
    Eof,
    /// Defined-length item: until this file position.
    At(u64),
    /// Undefined-length item: until an item delimiter.
    Delimiter,
}

struct Header {
    tag: (u16, u16),
    vr: Option<VR>,
    len: u32,
    /// File position of the first byte of the header.
    at: u64,
}

pub(crate) struct Walker<'a> {
    inp: &'a mut Input,
    out: &'a mut Output,
    measure: bool,
    survey: &'a mut Survey,
    plan: &'a Plan,
    next_container: usize,
    /// Inserts already written (pass 2).
    inserted: usize,
    /// The source is Explicit VR Big Endian.
    big_endian: bool,
}

/// Pass 1.
pub(crate) fn measure(inp: &mut Input, src: Enc, dst: Enc, big_endian: bool) -> Result<Survey> {
    let mut survey = Survey::default();
    let plan = Plan::default();
    let mut out = Output::counting();
    let start = inp.pos();
    let mut w = Walker {
        inp,
        out: &mut out,
        measure: true,
        survey: &mut survey,
        plan: &plan,
        next_container: 0,
        inserted: 0,
        big_endian,
    };
    w.dataset(src, dst, End::Eof, &mut VrContext::default(), 0)?;
    inp.seek(start)?;
    Ok(survey)
}

/// Pass 2.
pub(crate) fn write(
    inp: &mut Input,
    out: &mut Output,
    src: Enc,
    dst: Enc,
    survey: &mut Survey,
    plan: &Plan,
    big_endian: bool,
) -> Result<()> {
    let mut w = Walker {
        inp,
        out,
        measure: false,
        survey,
        plan,
        next_container: 0,
        inserted: 0,
        big_endian,
    };
    w.dataset(src, dst, End::Eof, &mut VrContext::default(), 0)?;
    if w.next_container != w.survey.lengths.len() {
        return Err(TranscodeError::Internal(
            "pass 2 met a different number of sequences and items".into(),
        ));
    }
    Ok(())
}

impl Walker<'_> {
    fn read_header(&mut self, enc: Enc) -> Result<Header> {
        let at = self.inp.pos();
        let mut b = [0u8; 8];
        self.inp.read_exact(&mut b)?;
        let be = self.big_endian;
        let u16_at = |x: [u8; 2]| {
            if be {
                u16::from_be_bytes(x)
            } else {
                u16::from_le_bytes(x)
            }
        };
        let u32_at = |x: [u8; 4]| {
            if be {
                u32::from_be_bytes(x)
            } else {
                u32::from_le_bytes(x)
            }
        };
        let tag = (u16_at([b[0], b[1]]), u16_at([b[2], b[3]]));
        if tag.0 == 0xFFFE || enc == Enc::Implicit {
            return Ok(Header {
                tag,
                vr: None,
                len: u32_at([b[4], b[5], b[6], b[7]]),
                at,
            });
        }
        let vr = VR::from_binary([b[4], b[5]]).ok_or_else(|| {
            malformed(
                at,
                format!(
                    "({:04X},{:04X}) has an invalid VR {:?}",
                    tag.0,
                    tag.1,
                    String::from_utf8_lossy(&b[4..6])
                ),
            )
        })?;
        let len = if has_long_length(vr) {
            let mut l = [0u8; 4];
            self.inp.read_exact(&mut l)?;
            u32_at(l)
        } else {
            u16_at([b[6], b[7]]) as u32
        };
        Ok(Header {
            tag,
            vr: Some(vr),
            len,
            at,
        })
    }

    fn dataset(
        &mut self,
        src: Enc,
        dst: Enc,
        end: End,
        ctx: &mut VrContext,
        depth: u32,
    ) -> Result<()> {
        loop {
            match end {
                End::Eof if self.inp.remaining() == 0 => break,
                End::At(e) => {
                    let p = self.inp.pos();
                    if p == e {
                        break;
                    }
                    if p > e {
                        return Err(malformed(p, "element runs past the end of its item"));
                    }
                }
                _ => {}
            }
            let h = self.read_header(src)?;
            if h.tag.0 == 0xFFFE {
                if h.tag == ITEM_DELIM && end == End::Delimiter {
                    return Ok(());
                }
                return Err(malformed(
                    h.at,
                    format!("unexpected ({:04X},{:04X}) in a data set", h.tag.0, h.tag.1),
                ));
            }
            if let End::At(e) = end {
                if h.len != UNDEFINED && self.inp.pos() + h.len as u64 > e {
                    return Err(malformed(h.at, "element runs past the end of its item"));
                }
            }
            self.element(h, src, dst, ctx, depth)?;
        }
        if depth == 0 {
            self.flush_inserts(None, dst)?;
        }
        Ok(())
    }

    /// Pass 2, top level: writes the inserts whose tag comes before `before` (all if None).
    fn flush_inserts(&mut self, before: Option<(u16, u16)>, dst: Enc) -> Result<()> {
        if self.measure {
            return Ok(());
        }
        let plan = self.plan;
        for (i, (tag, edit)) in plan
            .edits
            .iter()
            .filter(|(_, e)| matches!(e, Edit::Insert(..)))
            .enumerate()
        {
            if i < self.inserted {
                continue;
            }
            if before.is_some_and(|b| *tag >= b) {
                break;
            }
            if let Edit::Insert(vr, value) = edit {
                write_element(self.out, dst, *tag, *vr, value)?;
            }
            self.inserted = i + 1;
        }
        Ok(())
    }

    fn element(
        &mut self,
        h: Header,
        src: Enc,
        dst: Enc,
        ctx: &mut VrContext,
        depth: u32,
    ) -> Result<()> {
        let tag = h.tag;
        if tag.1 == 0x0000 {
            // Group length: dropped (module doc).
            return self.skip_value(&h);
        }
        let mut edit = None;
        if depth == 0 && !self.measure {
            self.flush_inserts(Some(tag), dst)?;
            edit = self.plan.edits.get(&tag);
        }
        let vr = match h.vr {
            Some(vr) => vr,
            None => implicit_vr(tag, h.len, ctx),
        };

        if h.len == UNDEFINED {
            if tag == PIXEL_DATA {
                if src == Enc::Explicit
                    && depth == 0
                    && !self.big_endian
                    && matches!(vr, VR::OB | VR::OW)
                {
                    return self.encapsulated_pixel_data(&h, dst);
                }
                return Err(TranscodeError::UnsupportedPixelData(format!(
                    "encapsulated Pixel Data at byte {} {}",
                    h.at,
                    if depth > 0 {
                        "inside a sequence"
                    } else if self.big_endian {
                        "in a Big Endian data set"
                    } else {
                        "in an Implicit VR data set"
                    }
                )));
            }
            if edit.is_some() {
                return Err(malformed(
                    h.at,
                    format!("({:04X},{:04X}) has undefined length", tag.0, tag.1),
                ));
            }
            return match (src, vr) {
                (Enc::Explicit, VR::SQ) | (Enc::Implicit, _) => {
                    self.sequence(&h, VR::SQ, src, dst, dst, ctx, depth)
                }
                // CP-246 in a Big Endian data set: nothing says in which byte order the
                // content is, so it cannot be carried over exactly.
                (Enc::Explicit, VR::UN) if self.big_endian => {
                    Err(TranscodeError::Inexact(format!(
                    "({:04X},{:04X}) UN of undefined length at byte {} in a Big Endian data set",
                    tag.0, tag.1, h.at
                )))
                }
                // CP-246: keep UN, content copied as Implicit VR LE.
                (Enc::Explicit, VR::UN) => {
                    self.sequence(&h, VR::UN, Enc::Implicit, dst, Enc::Implicit, ctx, depth)
                }
                (Enc::Explicit, other) => Err(malformed(
                    h.at,
                    format!(
                        "({:04X},{:04X}) {} has undefined length",
                        tag.0,
                        tag.1,
                        other.to_string()
                    ),
                )),
            };
        }
        if vr == VR::SQ && edit.is_none() {
            return self.sequence(&h, VR::SQ, src, dst, dst, ctx, depth);
        }

        match edit {
            Some(Edit::Drop) => return self.skip_value(&h),
            Some(Edit::Replace(value)) => {
                self.skip_value(&h)?;
                return write_element(self.out, dst, tag, vr, value);
            }
            _ => {}
        }

        // A plain value. Odd lengths get a pad byte; a value longer than the 16-bit length
        // field of its VR becomes UN.
        let out_len = h.len as u64 + (h.len as u64 & 1);
        let vr = if dst == Enc::Explicit && !has_long_length(vr) && out_len > MAX_SHORT_LEN as u64 {
            VR::UN
        } else {
            vr
        };
        if out_len > UNDEFINED as u64 - 1 {
            return Err(malformed(h.at, "value too long to pad to even length"));
        }
        // Big Endian: the value's byte order by its VR (and Pixel Data by Bits Allocated).
        let unit = if self.big_endian {
            let u = swap::unit(tag, vr, ctx.bits_allocated, h.at)?;
            if !(h.len as usize).is_multiple_of(u) {
                return Err(malformed(
                    h.at,
                    format!(
                        "({:04X},{:04X}) {} has length {}, not a multiple of {u}",
                        tag.0,
                        tag.1,
                        vr.to_string(),
                        h.len
                    ),
                ));
            }
            u
        } else {
            1
        };
        let watched = depth == 0 && WATCHED.contains(&tag);
        let vr_relevant = matches!(tag, (0x0028, 0x0100) | (0x0028, 0x0103) | (0x0028, 0x3002));
        if (vr_relevant && h.len <= 64) || (watched && self.measure && h.len <= MAX_WATCHED_VALUE) {
            let mut value = self.inp.read_vec(h.len as u64)?;
            swap::swap(&mut value, unit);
            match tag {
                (0x0028, 0x0100) if value.len() >= 2 => {
                    ctx.bits_allocated = Some(u16::from_le_bytes([value[0], value[1]]))
                }
                (0x0028, 0x0103) if value.len() >= 2 => {
                    ctx.pixel_representation = Some(u16::from_le_bytes([value[0], value[1]]))
                }
                (0x0028, 0x3002) if value.len() >= 2 => {
                    ctx.lut_entries = Some(u16::from_le_bytes([value[0], value[1]]))
                }
                _ => {}
            }
            write_element(self.out, dst, tag, vr, &value)?;
            if watched && self.measure {
                self.survey.values.insert(tag, value);
            }
            return Ok(());
        }
        write_header(self.out, dst, tag, vr, out_len as u32)?;
        self.inp.copy_swapped_to(h.len as u64, unit, self.out)?;
        if h.len & 1 == 1 {
            self.out.write(&[pad_byte(vr)])?;
        }
        Ok(())
    }

    fn skip_value(&mut self, h: &Header) -> Result<()> {
        if h.len == UNDEFINED {
            return Err(malformed(
                h.at,
                format!("({:04X},{:04X}) has undefined length", h.tag.0, h.tag.1),
            ));
        }
        self.inp.skip(h.len as u64)
    }

    fn open_container(&mut self) -> (usize, u32) {
        let i = self.next_container;
        self.next_container += 1;
        if self.measure {
            self.survey.lengths.push(0);
            (i, 0)
        } else {
            (i, self.survey.lengths.get(i).copied().unwrap_or(0))
        }
    }

    fn close_container(&mut self, i: usize, written: u64, at: u64) -> Result<()> {
        let n = u32::try_from(written)
            .ok()
            .filter(|&n| n != UNDEFINED)
            .ok_or_else(|| {
                malformed(
                    at,
                    "sequence or item too long for a defined length after re-encoding",
                )
            })?;
        if self.measure {
            self.survey.lengths[i] = n;
        } else if self.survey.lengths.get(i) != Some(&n) {
            return Err(TranscodeError::Internal(format!(
                "container at byte {at}: pass 1 measured a different length"
            )));
        }
        Ok(())
    }

    /// A sequence: `hdr_dst` encodes its header, `item_src` / `item_dst` its items.
    #[allow(clippy::too_many_arguments)]
    fn sequence(
        &mut self,
        h: &Header,
        out_vr: VR,
        item_src: Enc,
        hdr_dst: Enc,
        item_dst: Enc,
        ctx: &VrContext,
        depth: u32,
    ) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(malformed(
                h.at,
                format!("sequences nested more than {MAX_DEPTH} deep"),
            ));
        }
        let undefined = h.len == UNDEFINED;
        let slot = if undefined {
            None
        } else {
            Some(self.open_container())
        };
        write_header(
            self.out,
            hdr_dst,
            h.tag,
            out_vr,
            slot.map_or(UNDEFINED, |s| s.1),
        )?;
        let start = self.out.pos();
        let end = if undefined {
            None
        } else {
            Some(self.inp.pos() + h.len as u64)
        };
        loop {
            if let Some(e) = end {
                let p = self.inp.pos();
                if p == e {
                    break;
                }
                if p > e {
                    return Err(malformed(p, "item runs past the end of its sequence"));
                }
            }
            let ih = self.read_header(Enc::Implicit)?;
            match ih.tag {
                ITEM => {
                    if let (Some(e), true) = (end, ih.len != UNDEFINED) {
                        if self.inp.pos() + ih.len as u64 > e {
                            return Err(malformed(ih.at, "item runs past the end of its sequence"));
                        }
                    }
                    // Each item is a data set of its own: it inherits Pixel Representation,
                    // not the LUT Descriptor.
                    let mut child = VrContext {
                        pixel_representation: ctx.pixel_representation,
                        ..VrContext::default()
                    };
                    if ih.len == UNDEFINED {
                        write_tag(self.out, ITEM, UNDEFINED)?;
                        self.dataset(item_src, item_dst, End::Delimiter, &mut child, depth + 1)?;
                        write_tag(self.out, ITEM_DELIM, 0)?;
                    } else {
                        let (i, len) = self.open_container();
                        write_tag(self.out, ITEM, len)?;
                        let istart = self.out.pos();
                        let iend = self.inp.pos() + ih.len as u64;
                        self.dataset(item_src, item_dst, End::At(iend), &mut child, depth + 1)?;
                        self.close_container(i, self.out.pos() - istart, ih.at)?;
                    }
                }
                SEQ_DELIM if undefined => {
                    write_tag(self.out, SEQ_DELIM, 0)?;
                    break;
                }
                t => {
                    return Err(malformed(
                        ih.at,
                        format!(
                            "({:04X},{:04X}) where a sequence item was expected",
                            t.0, t.1
                        ),
                    ))
                }
            }
        }
        if let Some((i, _)) = slot {
            self.close_container(i, self.out.pos() - start, h.at)?;
        }
        Ok(())
    }

    fn encapsulated_pixel_data(&mut self, h: &Header, dst: Enc) -> Result<()> {
        if self.measure {
            let enc = self.scan_fragments()?;
            self.survey.encapsulated = Some(enc);
            return Ok(());
        }
        let plan = self
            .plan
            .pixel
            .as_ref()
            .ok_or_else(|| TranscodeError::Internal("no pixel plan for pass 2".into()))?;
        let end = self
            .survey
            .encapsulated
            .as_ref()
            .map(|e| e.end)
            .ok_or_else(|| TranscodeError::Internal("no fragment survey".into()))?;
        let fragments = self
            .survey
            .encapsulated
            .as_ref()
            .map(|e| e.fragments.clone())
            .unwrap_or_default();
        pixel::write_native(self.inp, self.out, dst, plan, &fragments).map_err(|e| match e {
            TranscodeError::Malformed { offset, reason } => TranscodeError::Malformed {
                offset: offset.max(h.at),
                reason,
            },
            e => e,
        })?;
        self.inp.seek(end)
    }

    /// Pass 1: the Basic Offset Table and the fragment positions.
    fn scan_fragments(&mut self) -> Result<Encapsulated> {
        let mut enc = Encapsulated::default();
        let bot = self.read_header(Enc::Implicit)?;
        if bot.tag != ITEM || bot.len == UNDEFINED || bot.len % 4 != 0 {
            return Err(malformed(
                bot.at,
                "encapsulated Pixel Data does not start with a Basic Offset Table item",
            ));
        }
        let table = self.inp.read_vec(bot.len as u64)?;
        enc.basic_offsets = table
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let origin = self.inp.pos();
        loop {
            let ih = self.read_header(Enc::Implicit)?;
            match ih.tag {
                ITEM if ih.len != UNDEFINED => {
                    let pos = self.inp.pos();
                    let soi = if ih.len >= 2 {
                        let mut two = [0u8; 2];
                        self.inp.read_exact(&mut two)?;
                        self.inp.skip(ih.len as u64 - 2)?;
                        two == [0xFF, 0xD8]
                    } else {
                        self.inp.skip(ih.len as u64)?;
                        false
                    };
                    enc.fragments.push(Fragment {
                        item_offset: ih.at - origin,
                        pos,
                        len: ih.len,
                        soi,
                    });
                }
                SEQ_DELIM => break,
                t => {
                    return Err(malformed(
                        ih.at,
                        format!("({:04X},{:04X}) among Pixel Data fragments", t.0, t.1),
                    ))
                }
            }
        }
        enc.end = self.inp.pos();
        Ok(enc)
    }
}
