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
//! What is checked: every header and value lies inside the data set and inside everything that
//! encloses it with a defined length (item or sequence): nothing nested, not even an
//! undefined-length sequence or item looking for its delimiter, may run past it; VRs are two
//! upper-case letters; sequences and items of undefined length close with their delimiters;
//! the items of every sequence are walked, defined-length ones included (in Implicit VR a
//! defined-length value is a sequence when the dictionary says SQ); CP-246 (an
//! undefined-length UN is a sequence in Implicit VR) and encapsulated Pixel Data are followed;
//! nesting is bounded. Readers (dcmtk, pydicom) refuse a file that breaks any of these, so the
//! archive must never acknowledge one.

use std::io::{self, BufRead, Seek};

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

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
    #[error(
        "byte {offset}: runs past the end of its enclosing {enclosing} of defined length \
         (byte {limit})"
    )]
    Overrun {
        offset: u64,
        limit: u64,
        enclosing: Enclosing,
    },
    #[error(
        "{what} of undefined length ({group:04X},{element:04X}) at byte {offset} has no \
         delimitation item before the end of its enclosing {enclosing} (byte {limit})"
    )]
    Unclosed {
        what: &'static str,
        offset: u64,
        group: u16,
        element: u16,
        limit: u64,
        enclosing: Enclosing,
    },
    #[error("dataset nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// What ends where the walk must stop: the data set, or the innermost defined-length item or
/// sequence around the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enclosing {
    Dataset,
    Item,
    Sequence,
}

impl std::fmt::Display for Enclosing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Enclosing::Dataset => "dataset",
            Enclosing::Item => "item",
            Enclosing::Sequence => "sequence",
        })
    }
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
    /// Seek over it (a sequence is still walked, item by item, seeking over their values).
    Skip,
    /// Read it and hand it to [`Visitor::value`] (defined-length values only; ignored for
    /// undefined-length ones). A defined-length sequence is walked first.
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
    w.dataset(explicit, false, 0, visitor)
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

/// In Implicit VR only the dictionary tells a defined-length sequence from any other value.
fn implicit_sequence(tag: u32) -> bool {
    let (group, element) = crate::tag::split(tag);
    StandardDataDictionary
        .by_tag(Tag(group, element))
        .is_some_and(|e| e.vr == VirtualVr::Exact(VR::SQ))
}

struct Walker<R> {
    r: R,
    pos: u64,
    /// The innermost bound: the end of the enclosing defined-length item or sequence, or of
    /// the data set. Every read is checked against it.
    limit: u64,
    enclosing: Enclosing,
}

impl<R: BufRead + Seek> Walker<R> {
    fn new(mut r: R, start: u64, end: u64) -> Result<Self, WalkError> {
        r.seek(io::SeekFrom::Start(start))?;
        Ok(Walker {
            r,
            pos: start,
            limit: end,
            enclosing: Enclosing::Dataset,
        })
    }

    fn overrun(&self) -> WalkError {
        match self.enclosing {
            Enclosing::Dataset => WalkError::Truncated(self.pos),
            enclosing => WalkError::Overrun {
                offset: self.pos,
                limit: self.limit,
                enclosing,
            },
        }
    }

    /// Run `f` with the bound narrowed to `limit` (which the caller checked lies within the
    /// current one), then restore it.
    fn within<T>(
        &mut self,
        limit: u64,
        enclosing: Enclosing,
        f: impl FnOnce(&mut Self) -> Result<T, WalkError>,
    ) -> Result<T, WalkError> {
        let outer = (self.limit, self.enclosing);
        self.limit = limit;
        self.enclosing = enclosing;
        let r = f(self);
        (self.limit, self.enclosing) = outer;
        r
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), WalkError> {
        if self.pos + buf.len() as u64 > self.limit {
            return Err(self.overrun());
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
        if self.pos + n > self.limit {
            return Err(self.past_end(tag, n));
        }
        self.r.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }

    fn past_end(&self, tag: u32, len: u64) -> WalkError {
        self.malformed(
            tag,
            format!(
                "value length {len} runs past the end of its enclosing {} (byte {})",
                self.enclosing, self.limit
            ),
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

    /// The next 8 bytes of an undefined-length container (an item or delimiter header) must
    /// lie within the bound, or the container is not closed where it has to be.
    fn need_delimiter(&self, what: &'static str, tag: u32, start: u64) -> Result<(), WalkError> {
        if self.pos + 8 > self.limit {
            let (group, element) = crate::tag::split(tag);
            return Err(WalkError::Unclosed {
                what,
                offset: start,
                group,
                element,
                limit: self.limit,
                enclosing: self.enclosing,
            });
        }
        Ok(())
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

    /// Elements up to the current bound, or, for an undefined-length item (`delimited`), up
    /// to its item delimiter, which must come before the bound.
    fn dataset<V: Visitor>(
        &mut self,
        explicit: bool,
        delimited: bool,
        depth: usize,
        v: &mut V,
    ) -> Result<(), WalkError> {
        if depth > MAX_DEPTH {
            return Err(WalkError::TooDeep);
        }
        let start = self.pos;
        loop {
            if delimited {
                self.need_delimiter("item", ITEM, start.saturating_sub(8))?;
            } else if self.pos == self.limit {
                return Ok(());
            }
            let tag = self.tag()?;
            if tag == ITEM_DELIMITATION_ITEM {
                let _ = self.u32()?;
                if delimited {
                    return Ok(());
                }
                return Err(self.malformed(
                    tag,
                    "item delimiter outside an item of undefined length".into(),
                ));
            }
            if tag >> 16 == 0xFFFE {
                return Err(self.malformed(tag, "item tag where an element was expected".into()));
            }
            let h = self.header(tag, explicit)?;
            let take = v.element(&h, depth);
            let value_start = self.pos;
            if h.len == UNDEFINED_LENGTH {
                match h.vr {
                    _ if tag == PIXEL_DATA => self.fragments(tag, value_start)?,
                    Some(vr) if &vr == b"SQ" => {
                        self.sequence(explicit, depth, tag, value_start, v)?
                    }
                    // CP-246: an undefined-length UN is a sequence encoded in Implicit VR.
                    Some(vr) if &vr == b"UN" => self.sequence(false, depth, tag, value_start, v)?,
                    None => self.sequence(false, depth, tag, value_start, v)?,
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
                    let items = self.reread(value_start, self.pos - 8, max)?;
                    if let Some(items) = items {
                        v.span(&h, depth, items);
                    }
                }
                continue;
            }
            let sequence = match h.vr {
                Some(vr) => &vr == b"SQ",
                // An empty value has no items to walk: no need to ask the dictionary.
                None => h.len > 0 && implicit_sequence(tag),
            };
            if sequence {
                // Walked whatever the visitor takes: broken structure in a sequence the
                // visitor skips is still broken for every reader of the file.
                self.sequence_defined(explicit, depth, h.len as u64, tag, v)?;
                let max = match take {
                    Take::Span(max) => max,
                    Take::Value => u64::MAX,
                    Take::Skip => continue,
                };
                if let Some(bytes) = self.reread(value_start, self.pos, max)? {
                    match take {
                        Take::Span(_) => v.span(&h, depth, bytes),
                        _ => v.value(&h, depth, bytes),
                    }
                }
                continue;
            }
            match take {
                Take::Value => {
                    if self.pos + h.len as u64 > self.limit {
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

    /// Read again bytes `start..end` already walked (if at most `max`), and come back.
    /// Relative seeks: within the reader's buffer they cost nothing.
    fn reread(&mut self, start: u64, end: u64, max: u64) -> Result<Option<Vec<u8>>, WalkError> {
        if end - start > max {
            return Ok(None);
        }
        let back = (self.pos - start) as i64;
        self.r.seek_relative(-back)?;
        let mut value = vec![0u8; (end - start) as usize];
        self.r.read_exact(&mut value)?;
        self.r.seek_relative(back - value.len() as i64)?;
        Ok(Some(value))
    }

    /// A defined-length sequence: its items, up to the declared end, none past it.
    fn sequence_defined<V: Visitor>(
        &mut self,
        explicit: bool,
        depth: usize,
        len: u64,
        tag: u32,
        v: &mut V,
    ) -> Result<(), WalkError> {
        let end = self.pos + len;
        if end > self.limit {
            return Err(self.past_end(tag, len));
        }
        self.within(end, Enclosing::Sequence, |w| {
            while w.pos < end {
                let t = w.tag()?;
                let l = w.u32()?;
                w.item(t, l, explicit, depth, v)?;
            }
            Ok(())
        })
    }

    /// One item of a sequence, after its header (tag `t`, length `l`).
    fn item<V: Visitor>(
        &mut self,
        t: u32,
        l: u32,
        explicit: bool,
        depth: usize,
        v: &mut V,
    ) -> Result<(), WalkError> {
        match t {
            ITEM if l == UNDEFINED_LENGTH => self.dataset(explicit, true, depth + 1, v),
            ITEM => {
                let item_end = self.pos + l as u64;
                if item_end > self.limit {
                    return Err(self.malformed(
                        t,
                        format!(
                            "item length {l} runs past the end of its enclosing {} (byte {})",
                            self.enclosing, self.limit
                        ),
                    ));
                }
                self.within(item_end, Enclosing::Item, |w| {
                    w.dataset(explicit, false, depth + 1, v)
                })
            }
            _ => Err(self.malformed(t, "expected an item in a sequence".into())),
        }
    }

    /// An undefined-length sequence: items up to its delimiter, which must come before the
    /// current bound.
    fn sequence<V: Visitor>(
        &mut self,
        explicit: bool,
        depth: usize,
        tag: u32,
        start: u64,
        v: &mut V,
    ) -> Result<(), WalkError> {
        loop {
            self.need_delimiter("sequence", tag, start)?;
            let t = self.tag()?;
            let l = self.u32()?;
            if t == SEQUENCE_DELIMITATION_ITEM {
                return Ok(());
            }
            self.item(t, l, explicit, depth, v)?;
        }
    }

    /// Encapsulated pixel data: items of defined length up to the sequence delimiter, which
    /// must come before the current bound.
    fn fragments(&mut self, tag: u32, start: u64) -> Result<(), WalkError> {
        loop {
            self.need_delimiter("pixel data", tag, start)?;
            let t = self.tag()?;
            let len = self.u32()?;
            match t {
                SEQUENCE_DELIMITATION_ITEM => return Ok(()),
                ITEM if len != UNDEFINED_LENGTH => self.skip(len as u64, t)?,
                _ => return Err(self.malformed(t, "bad pixel data fragment".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests;
