//! The header walk against every nesting form, valid and broken.

use super::*;
use crate::encode::explicit_element;
use std::io::Cursor;

const UNDEFINED: [u8; 4] = [0xFF; 4];

fn tag_bytes(tag: u32) -> Vec<u8> {
    let mut v = ((tag >> 16) as u16).to_le_bytes().to_vec();
    v.extend_from_slice(&(tag as u16).to_le_bytes());
    v
}

fn el(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    explicit_element(&mut v, tag, *vr, value);
    v
}

/// A sequence (or, with `vr` UN, a CP-246 one) of defined length, or of undefined length
/// with its delimiter, or (`Open`) without it.
#[derive(Clone, Copy, Debug)]
enum Len {
    Defined,
    Undefined,
    Open,
}

fn container(head: Vec<u8>, content: &[u8], len: Len, delimiter: u32) -> Vec<u8> {
    let mut v = head;
    match len {
        Len::Defined => v.extend_from_slice(&(content.len() as u32).to_le_bytes()),
        Len::Undefined | Len::Open => v.extend_from_slice(&UNDEFINED),
    }
    v.extend_from_slice(content);
    if let Len::Undefined = len {
        v.extend_from_slice(&tag_bytes(delimiter));
        v.extend_from_slice(&[0; 4]);
    }
    v
}

fn sq_vr(tag: u32, vr: &[u8; 2], items: &[u8], len: Len) -> Vec<u8> {
    let mut head = tag_bytes(tag);
    head.extend_from_slice(vr);
    head.extend_from_slice(&[0, 0]);
    container(head, items, len, SEQUENCE_DELIMITATION_ITEM)
}

fn sq(tag: u32, items: &[u8], len: Len) -> Vec<u8> {
    sq_vr(tag, b"SQ", items, len)
}

fn item(content: &[u8], len: Len) -> Vec<u8> {
    container(tag_bytes(ITEM), content, len, ITEM_DELIMITATION_ITEM)
}

/// Records what it was shown; takes every value (`take`), or skips everything.
#[derive(Debug)]
struct Seen {
    take: Take,
    elements: Vec<(u32, usize)>,
    values: Vec<u32>,
}

impl Visitor for Seen {
    fn element(&mut self, h: &Header, depth: usize) -> Take {
        self.elements.push((h.tag, depth));
        self.take
    }
    fn value(&mut self, h: &Header, _: usize, _: Vec<u8>) {
        self.values.push(h.tag);
    }
    fn span(&mut self, h: &Header, _: usize, _: Vec<u8>) {
        self.values.push(h.tag);
    }
}

fn run(bytes: &[u8], explicit: bool, take: Take) -> Result<Seen, WalkError> {
    let mut seen = Seen {
        take,
        elements: Vec::new(),
        values: Vec::new(),
    };
    walk(
        Cursor::new(bytes),
        0,
        bytes.len() as u64,
        explicit,
        &mut seen,
    )?;
    Ok(seen)
}

const TAKES: [Take; 3] = [Take::Skip, Take::Value, Take::Span(1 << 20)];
const OUTER: u32 = 0x0040_0275; // Request Attributes Sequence
const INNER: u32 = 0x0008_1110; // Referenced Study Sequence
const LEAF: u32 = 0x0008_1150; // Referenced SOP Class UID

/// `before` SQ { item { LO, `inner`, LO } } `after`, with the outer sequence and its
/// item of each length form.
fn framed(inner: &[u8], outer: Len, outer_item: Len) -> Vec<u8> {
    let mut content = el(0x0040_0007, b"LO", b"STEP");
    content.extend_from_slice(inner);
    content.extend_from_slice(&el(0x0040_1400, b"LT", b"comment"));
    let mut d = el(0x0008_0018, b"UI", b"1.2.3");
    d.extend_from_slice(&sq(OUTER, &item(&content, outer_item), outer));
    d.extend_from_slice(&el(0x7FE0_0008, b"OF", &[0; 8]));
    d
}

fn every_frame(inner: &[u8]) -> Vec<(Len, Len, Vec<u8>)> {
    let mut all = Vec::new();
    for outer in [Len::Defined, Len::Undefined] {
        for outer_item in [Len::Defined, Len::Undefined] {
            all.push((outer, outer_item, framed(inner, outer, outer_item)));
        }
    }
    all
}

#[test]
fn valid_nestings_of_every_kind_pass_and_are_walked_to_the_leaves() {
    for inner_seq in [Len::Defined, Len::Undefined] {
        for inner_item in [Len::Defined, Len::Undefined] {
            let leaf = item(&el(LEAF, b"UI", b"1.2.840.10008.5.1.4.1.1.2"), inner_item);
            let mut items = leaf.clone();
            items.extend_from_slice(&item(&[], inner_item)); // an empty item too
            let inner = sq(INNER, &items, inner_seq);
            for (outer, outer_item, d) in every_frame(&inner) {
                for take in TAKES {
                    let what =
                        format!("{outer:?}/{outer_item:?}/{inner_seq:?}/{inner_item:?}/{take:?}");
                    let seen = run(&d, true, take).unwrap_or_else(|e| panic!("{what}: {e}"));
                    // Even a skipped sequence is walked: its innermost element was seen.
                    assert!(seen.elements.contains(&(LEAF, 2)), "{what}");
                    assert!(seen.elements.contains(&(0x7FE0_0008, 0)), "{what}");
                    if take == Take::Value {
                        // A defined-length sequence's value is handed over after its walk.
                        assert_eq!(
                            seen.values.contains(&OUTER),
                            matches!(outer, Len::Defined),
                            "{what}"
                        );
                    }
                }
            }
        }
    }
    // Empty sequences of both forms, CP-246 UN and encapsulated pixel data in an item
    // (an icon image), all inside a defined-length item.
    let mut inner = sq(INNER, &[], Len::Defined);
    inner.extend_from_slice(&sq(0x0008_1111, &[], Len::Undefined));
    let un_items = item(
        &[0x08, 0x00, 0x50, 0x11, 2, 0, 0, 0, b'1', 0],
        Len::Undefined,
    );
    inner.extend_from_slice(&sq_vr(0x0009_1010, b"UN", &un_items, Len::Undefined));
    let mut fragments = item(&[], Len::Defined);
    fragments.extend_from_slice(&item(&[1, 2, 3, 4], Len::Defined));
    let mut pixels = tag_bytes(PIXEL_DATA);
    pixels.extend_from_slice(b"OB\0\0");
    inner.extend_from_slice(&container(
        pixels,
        &fragments,
        Len::Undefined,
        SEQUENCE_DELIMITATION_ITEM,
    ));
    for (outer, outer_item, d) in every_frame(&inner) {
        for take in TAKES {
            run(&d, true, take)
                .unwrap_or_else(|e| panic!("{outer:?}/{outer_item:?}/{take:?}: {e}"));
        }
    }
}

/// The shapes a reader refuses, each inside every framing: none may pass, whatever the
/// visitor takes.
#[test]
fn broken_nestings_are_refused_in_every_frame() {
    let leaf = || el(LEAF, b"UI", b"1.2");
    // The reported one: an undefined-length sequence without its delimiter.
    let mut shapes: Vec<(&str, Vec<u8>)> = vec![(
        "open sequence",
        sq(INNER, &item(&leaf(), Len::Undefined), Len::Open),
    )];
    shapes.push((
        "open sequence, defined item",
        sq(INNER, &item(&leaf(), Len::Defined), Len::Open),
    ));
    // An undefined-length item without its delimiter, in both sequence forms.
    shapes.push((
        "open item",
        sq(INNER, &item(&leaf(), Len::Open), Len::Defined),
    ));
    shapes.push((
        "open item, undefined sequence",
        sq(INNER, &item(&leaf(), Len::Open), Len::Undefined),
    ));
    // CP-246 UN without its delimiter.
    shapes.push((
        "open UN",
        sq_vr(0x0009_1010, b"UN", &item(&[], Len::Undefined), Len::Open),
    ));
    // Encapsulated pixel data without its delimiter.
    let mut pixels = tag_bytes(PIXEL_DATA);
    pixels.extend_from_slice(b"OB\0\0");
    shapes.push((
        "open pixel data",
        container(
            pixels,
            &item(&[], Len::Defined),
            Len::Open,
            SEQUENCE_DELIMITATION_ITEM,
        ),
    ));
    // A value that runs past its defined-length item.
    let mut long_item = item(&leaf(), Len::Defined);
    long_item[4] -= 2;
    shapes.push(("value past its item", sq(INNER, &long_item, Len::Undefined)));
    // An item that runs past its defined-length sequence.
    let mut short_seq = sq(INNER, &item(&leaf(), Len::Defined), Len::Defined);
    short_seq[8] -= 2;
    short_seq.extend_from_slice(&[0, 0]);
    shapes.push(("item past its sequence", short_seq));
    // Something else than an item in a defined-length sequence.
    shapes.push(("not an item", sq(INNER, &leaf(), Len::Defined)));
    // A sequence delimiter where an item was expected in a defined-length sequence.
    let mut delim = tag_bytes(SEQUENCE_DELIMITATION_ITEM);
    delim.extend_from_slice(&[0; 4]);
    shapes.push((
        "delimiter in a defined sequence",
        sq(INNER, &delim, Len::Defined),
    ));
    // An item delimiter in a defined-length item.
    let mut content = leaf();
    content.extend_from_slice(&tag_bytes(ITEM_DELIMITATION_ITEM));
    content.extend_from_slice(&[0; 4]);
    shapes.push((
        "item delimiter in a defined item",
        sq(INNER, &item(&content, Len::Defined), Len::Undefined),
    ));
    for (name, inner) in &shapes {
        for (outer, outer_item, d) in every_frame(inner) {
            for take in TAKES {
                assert!(
                    run(&d, true, take).is_err(),
                    "{name} in {outer:?} sequence, {outer_item:?} item, {take:?}: accepted"
                );
            }
        }
    }
}

#[test]
fn an_open_sequence_in_a_defined_item_is_named_as_such() {
    // Item { SQ of undefined length { item } } and no sequence delimiter before the item ends.
    let inner = sq(
        INNER,
        &item(&el(LEAF, b"UI", b"1.2"), Len::Undefined),
        Len::Open,
    );
    let mut d = sq(OUTER, &item(&inner, Len::Defined), Len::Defined);
    d.extend_from_slice(&el(0x0010_0010, b"PN", b"DOE"));
    let e = run(&d, true, Take::Skip).unwrap_err();
    assert!(
        matches!(
            e,
            WalkError::Unclosed {
                what: "sequence",
                group: 0x0008,
                element: 0x1110,
                enclosing: Enclosing::Item,
                ..
            }
        ),
        "{e}"
    );
    // An element header cut by the end of its item.
    let mut cut = item(&el(LEAF, b"UI", b"1.2"), Len::Defined);
    cut[4] = 6;
    cut.truncate(8 + 6);
    cut.extend_from_slice(&el(0x0040_1400, b"LT", b"x"));
    let d = framed(
        &sq(INNER, &cut, Len::Undefined),
        Len::Undefined,
        Len::Undefined,
    );
    assert!(run(&d, true, Take::Skip).is_err());
}

#[test]
fn implicit_defined_length_sequences_are_walked_by_the_dictionary() {
    fn implicit(tag: u32, value: &[u8]) -> Vec<u8> {
        let mut v = tag_bytes(tag);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        v.extend_from_slice(value);
        v
    }
    let leaf = implicit(LEAF, b"1.2\0");
    let items = item(&leaf, Len::Defined);
    let mut d = implicit(0x0008_0018, b"1.2\0");
    d.extend_from_slice(&implicit(INNER, &items));
    let seen = run(&d, false, Take::Skip).unwrap();
    assert!(seen.elements.contains(&(LEAF, 1)));
    // The same bytes under a private tag are an opaque value.
    let mut private = implicit(0x0009_1010, &items);
    private.extend_from_slice(&implicit(INNER, &item(&[], Len::Defined)));
    let seen = run(&private, false, Take::Skip).unwrap();
    assert!(!seen.elements.contains(&(LEAF, 1)));
    // A broken item inside a dictionary sequence is refused.
    let mut broken = item(&leaf, Len::Defined);
    broken[4] -= 2;
    let mut d = implicit(INNER, &broken);
    d.extend_from_slice(&implicit(0x0010_0010, b"DOE "));
    assert!(run(&d, false, Take::Skip).is_err());
    // An undefined-length sequence with no delimiter inside a defined-length item.
    let mut open = tag_bytes(0x0008_1111);
    open.extend_from_slice(&UNDEFINED);
    open.extend_from_slice(&item(&leaf, Len::Undefined));
    let mut d = implicit(INNER, &item(&open, Len::Defined));
    d.extend_from_slice(&implicit(0x0010_0010, b"DOE "));
    assert!(run(&d, false, Take::Skip).is_err());
}
