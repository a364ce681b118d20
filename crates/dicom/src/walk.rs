//! A bounded-memory walk over a data set, as bytes, that checks its structure from the first
//! element to the last and shows each element header to a [`Visitor`].
//!
//! Why our own and not dicom-object: dcmdisc stores data sets exactly as received and copies
//! them to discs unchanged, so it never needs a decoded object, and opening one would read
//! every value (a 1 GB pixel element included) into memory. The walk reads element headers
//! and seeks over values, so it costs a few kilobytes whatever the instance size, and it
//! tells a data set we cannot parse from one we can. The visitor decides which values are
//! read ([`Take`]); everything else is skipped.
//!
//! What is checked: every header and value lies inside the data set and inside its enclosing
//! defined-length item; VRs are two upper-case letters; sequences and items of undefined
//! length close with their delimiters; CP-246 (an undefined-length UN is a sequence in
//! Implicit VR) and encapsulated Pixel Data are followed; nesting is bounded. Defined-length
//! sequences the visitor does not take are skipped as one value.

use std::io::{self, BufRead, Seek};

use crate::tag::{ITEM, ITEM_DELIMITATION_ITEM, PIXEL_DATA, SEQUENCE_DELIMITATION_ITEM};
use crate::vr::{has_long_length, looks_like_vr, UNDEFINED_LENGTH};

/// Deeper nesting than this is an attack, not a real data set.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("I/O error while reading the dataset: {0}")]
    Io(#[from] io::Error),
    #[error("element ({group:04X},{element:04X}) at byte {offset}: {reason}")]
    Malformed {
        offset: u64,
        group: u16,
        element: u16,
        reason: String,
    },
    #[error("dataset truncated at byte {0}")]
    Truncated(u64),
    #[error("dataset nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// One element header: tag, VR (`None` in Implicit VR), value length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub tag: u32,
    pub vr: Option<[u8; 2]>,
    pub len: u32,
}

impl Header {
    pub fn is_sequence(&self) -> bool {
        self.vr == Some(*b"SQ")
    }
}

/// What the walk does with an element's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Seek over it (a sequence of undefined length is still walked: its end is found so).
    Skip,
    /// Read it and hand it to [`Visitor::value`] (defined-length values only; ignored for
    /// undefined-length ones).
    Value,
    /// A sequence: walk its items, then hand their bytes (for an undefined length without
    /// the sequence delimitation item) to [`Visitor::span`] if they are at most this many.
    Span(u64),
}

/// The hooks of a walk. `depth` is 0 at the top level, 1 inside the items of a top-level
/// sequence, and so on.
pub trait Visitor {
    fn element(&mut self, header: &Header, depth: usize) -> Take;
    fn value(&mut self, _header: &Header, _depth: usize, _value: Vec<u8>) {}
    fn span(&mut self, _header: &Header, _depth: usize, _items: Vec<u8>) {}
}

/// Walk the data set that occupies bytes `start..end` of `r`, in Explicit (`explicit`) or
/// Implicit VR Little Endian.
pub fn walk<R: BufRead + Seek, V: Visitor>(
    r: R,
    start: u64,
    end: u64,
    explicit: bool,
    visitor: &mut V,
) -> Result<(), WalkError> {
    let mut w = Walker::new(r, start, end)?;
    w.dataset(explicit, None, 0, visitor)
}

/// Walk the items of a sequence value that occupies bytes `start..end` of `r` (what
/// [`Visitor::span`] hands over): their elements are at depth 1.
pub fn walk_items<R: BufRead + Seek, V: Visitor>(
    r: R,
    start: u64,
    end: u64,
    explicit: bool,
    visitor: &mut V,
) -> Result<(), WalkError> {
    let mut w = Walker::new(r, start, end)?;
    w.sequence_defined(explicit, 0, end - start, 0, visitor)
}

struct Walker<R> {
    r: R,
    pos: u64,
    end: u64,
}

impl<R: BufRead + Seek> Walker<R> {
    fn new(mut r: R, start: u64, end: u64) -> Result<Self, WalkError> {
        r.seek(io::SeekFrom::Start(start))?;
        Ok(Walker { r, pos: start, end })
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), WalkError> {
        if self.pos + buf.len() as u64 > self.end {
            return Err(WalkError::Truncated(self.pos));
        }
        self.r.read_exact(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, WalkError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn skip(&mut self, n: u64, tag: u32) -> Result<(), WalkError> {
        if self.pos + n > self.end {
            return Err(self.past_end(tag, n));
        }
        self.r.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }

    fn past_end(&self, tag: u32, len: u64) -> WalkError {
        self.malformed(
            tag,
            format!("value length {len} runs past the end of the dataset"),
        )
    }

    fn malformed(&self, tag: u32, reason: String) -> WalkError {
        WalkError::Malformed {
            offset: self.pos,
            group: (tag >> 16) as u16,
            element: tag as u16,
            reason,
        }
    }

    fn tag(&mut self) -> Result<u32, WalkError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(((u16::from_le_bytes([b[0], b[1]]) as u32) << 16)
            | u16::from_le_bytes([b[2], b[3]]) as u32)
    }

    fn header(&mut self, tag: u32, explicit: bool) -> Result<Header, WalkError> {
        if !explicit {
            return Ok(Header {
                tag,
                vr: None,
                len: self.u32()?,
            });
        }
        let mut vr = [0u8; 2];
        self.read_exact(&mut vr)?;
        if !looks_like_vr(vr) {
            return Err(self.malformed(tag, format!("invalid VR {:02X}{:02X}", vr[0], vr[1])));
        }
        let len = if has_long_length(vr) {
            let mut reserved = [0u8; 2];
            self.read_exact(&mut reserved)?;
            self.u32()?
        } else {
            let mut l = [0u8; 2];
            self.read_exact(&mut l)?;
            u16::from_le_bytes(l) as u32
        };
        Ok(Header {
            tag,
            vr: Some(vr),
            len,
        })
    }

    /// Elements until `limit` (a defined-length item or the end of the data set) or until an
    /// item delimiter when `limit` is `None` inside an undefined-length item.
    fn dataset<V: Visitor>(
        &mut self,
        explicit: bool,
        limit: Option<u64>,
        depth: usize,
        v: &mut V,
    ) -> Result<(), WalkError> {
        if depth > MAX_DEPTH {
            return Err(WalkError::TooDeep);
        }
        let in_item = depth > 0;
        loop {
            let stop = limit.unwrap_or(self.end);
            if self.pos == stop && (limit.is_some() || !in_item) {
                return Ok(());
            }
            if self.pos > stop {
                return Err(self.malformed(0, "element overruns its item".into()));
            }
            let tag = self.tag()?;
            if tag == ITEM_DELIMITATION_ITEM {
                let _ = self.u32()?;
                if in_item && limit.is_none() {
                    return Ok(());
                }
                return Err(self.malformed(tag, "item delimiter outside an item".into()));
            }
            if tag >> 16 == 0xFFFE {
                return Err(self.malformed(tag, "item tag where an element was expected".into()));
            }
            let h = self.header(tag, explicit)?;
            let take = v.element(&h, depth);
            let value_start = self.pos;
            if h.len == UNDEFINED_LENGTH {
                match h.vr {
                    _ if tag == PIXEL_DATA => self.fragments()?,
                    Some(vr) if &vr == b"SQ" => self.sequence(explicit, depth, v)?,
                    // CP-246: an undefined-length UN is a sequence encoded in Implicit VR.
                    Some(vr) if &vr == b"UN" => self.sequence(false, depth, v)?,
                    None => self.sequence(false, depth, v)?,
                    Some(vr) => {
                        return Err(self.malformed(
                            tag,
                            format!("undefined length on VR {}", String::from_utf8_lossy(&vr)),
                        ))
                    }
                }
                if let Take::Span(max) = take {
                    // Without the sequence delimitation item: handed over as the value of a
                    // defined-length sequence.
                    self.hand_span(&h, depth, value_start, self.pos - 8, max, v)?;
                }
                continue;
            }
            match take {
                Take::Span(max) if h.is_sequence() => {
                    self.sequence_defined(explicit, depth, h.len as u64, tag, v)?;
                    self.hand_span(&h, depth, value_start, self.pos, max, v)?;
                }
                Take::Value => {
                    if self.pos + h.len as u64 > self.end {
                        return Err(self.past_end(tag, h.len as u64));
                    }
                    let mut value = vec![0u8; h.len as usize];
                    self.read_exact(&mut value)?;
                    v.value(&h, depth, value);
                }
                _ => self.skip(h.len as u64, tag)?,
            }
        }
    }

    /// Re-read a span already walked and hand it to the visitor.
    fn hand_span<V: Visitor>(
        &mut self,
        h: &Header,
        depth: usize,
        start: u64,
        end: u64,
        max: u64,
        v: &mut V,
    ) -> Result<(), WalkError> {
        if end - start > max {
            return Ok(());
        }
        let resume = self.pos;
        self.r.seek(io::SeekFrom::Start(start))?;
        let mut value = vec![0u8; (end - start) as usize];
        self.r.read_exact(&mut value)?;
        self.r.seek(io::SeekFrom::Start(resume))?;
        v.span(h, depth, value);
        Ok(())
    }

    /// A defined-length sequence: its items, up to the declared end.
    fn sequence_defined<V: Visitor>(
        &mut self,
        explicit: bool,
        depth: usize,
        len: u64,
        tag: u32,
        v: &mut V,
    ) -> Result<(), WalkError> {
        let end = self.pos + len;
        if end > self.end {
            return Err(self.past_end(tag, len));
        }
        while self.pos < end {
            let t = self.tag()?;
            let l = self.u32()?;
            match t {
                ITEM if l == UNDEFINED_LENGTH => self.dataset(explicit, None, depth + 1, v)?,
                ITEM => {
                    let limit = self.pos + l as u64;
                    if limit > end {
                        return Err(
                            self.malformed(t, format!("item length {l} runs past its sequence"))
                        );
                    }
                    self.dataset(explicit, Some(limit), depth + 1, v)?
                }
                _ => return Err(self.malformed(t, "expected an item in a sequence".into())),
            }
        }
        if self.pos != end {
            return Err(self.malformed(tag, "items overrun the sequence length".into()));
        }
        Ok(())
    }

    fn sequence<V: Visitor>(
        &mut self,
        explicit: bool,
        depth: usize,
        v: &mut V,
    ) -> Result<(), WalkError> {
        loop {
            let tag = self.tag()?;
            let len = self.u32()?;
            match tag {
                SEQUENCE_DELIMITATION_ITEM => return Ok(()),
                ITEM if len == UNDEFINED_LENGTH => self.dataset(explicit, None, depth + 1, v)?,
                ITEM => {
                    let limit = self.pos + len as u64;
                    if limit > self.end {
                        return Err(
                            self.malformed(tag, format!("item length {len} runs past the end"))
                        );
                    }
                    self.dataset(explicit, Some(limit), depth + 1, v)?
                }
                _ => return Err(self.malformed(tag, "expected an item in a sequence".into())),
            }
        }
    }

    /// Encapsulated pixel data: items of defined length up to the sequence delimiter.
    fn fragments(&mut self) -> Result<(), WalkError> {
        loop {
            let tag = self.tag()?;
            let len = self.u32()?;
            match tag {
                SEQUENCE_DELIMITATION_ITEM => return Ok(()),
                ITEM if len != UNDEFINED_LENGTH => self.skip(len as u64, tag)?,
                _ => return Err(self.malformed(tag, "bad pixel data fragment".into())),
            }
        }
    }
}
