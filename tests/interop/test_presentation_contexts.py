"""Presentation context negotiation, exactly the table in
crates/net/data/presentation-contexts.tsv (conformance statement Tables 12 and 13)."""

import pytest

from helpers import (ELE, ILE, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS_SV1, NEVER_ACCEPTED_TS, RLE,
                     TABLE_13_TS, VERIFICATION, CT_IMAGE, associate, context, describe_failed_association,
                     load_presentation_contexts)

TABLE = load_presentation_contexts()

ACCEPTANCE = 0
ABSTRACT_SYNTAX_NOT_SUPPORTED = 3
TRANSFER_SYNTAXES_NOT_SUPPORTED = 4


def negotiate(server, proposals):
    """Propose [(abstract, [ts, ...]), ...] in one association (context IDs 1, 3, 5, ...).

    Returns [(result, accepted ts or None)] in proposal order. A Verification context
    is appended so that the association has at least one acceptable context.
    """
    proposals = list(proposals) + [(VERIFICATION, [ELE])]
    assert len(proposals) <= 128
    contexts = [context(a, tss, context_id=2 * i + 1) for i, (a, tss) in enumerate(proposals)]
    assoc = associate(server, contexts)
    try:
        assert assoc.is_established, describe_failed_association(assoc)
        answers = {cx.context_id: (cx.result, cx.transfer_syntax[0] if cx.transfer_syntax else None)
                   for cx in assoc.accepted_contexts}
        answers.update({cx.context_id: (cx.result, None) for cx in assoc.rejected_contexts})
    finally:
        if assoc.is_established:
            assoc.release()
    return [answers.get(2 * i + 1, ("no answer", None)) for i in range(len(proposals) - 1)]


def chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def test_table_has_verification_first_and_68_storage_classes():
    uids = list(TABLE)
    assert uids[0] == VERIFICATION
    assert len(uids) == 69 and len(set(uids)) == 69
    assert all(set(tss) <= set(TABLE_13_TS) for tss in TABLE.values())


def test_every_abstract_syntax_with_every_transfer_syntax(shared_server):
    """69 abstract syntaxes x (the 6 of Table 13 + 3 never accepted), one TS per context."""
    matrix = [(a, ts) for a in TABLE for ts in TABLE_13_TS + NEVER_ACCEPTED_TS]
    mismatches = []
    for batch in chunks(matrix, 127):
        answers = negotiate(shared_server, [(a, [ts]) for a, ts in batch])
        for (abstract, ts), (result, accepted_ts) in zip(batch, answers):
            if ts in TABLE[abstract]:
                if (result, accepted_ts) != (ACCEPTANCE, ts):
                    mismatches.append(f"{abstract} {ts}: got result {result} ts {accepted_ts}, expected acceptance")
            elif result != TRANSFER_SYNTAXES_NOT_SUPPORTED:
                mismatches.append(f"{abstract} {ts}: got result {result}, expected 4")
    assert not mismatches, f"{len(mismatches)} of {len(matrix)} contexts wrong:\n" + "\n".join(mismatches[:80])


@pytest.mark.parametrize("abstract", [
    "1.2.3.4.5.6.7.8.9",                    # not a SOP class at all
    "1.2.840.10008.5.1.4.1.1.13.1.3",       # Breast Tomosynthesis Image Storage (not in Table 5)
    "1.2.840.10008.5.1.4.1.2.1.1",          # Patient Root Q/R FIND
    "1.2.840.10008.5.1.4.1.1.104.1",        # Encapsulated PDF Storage
])
def test_unknown_abstract_syntax_gets_3(shared_server, abstract):
    [(result, _)] = negotiate(shared_server, [(abstract, [ELE, ILE])])
    assert result == ABSTRACT_SYNTAX_NOT_SUPPORTED


def test_no_acceptable_transfer_syntax_gets_4(shared_server):
    """For each distinct accepted set in the table, propose all the others in one context."""
    seen = {}
    for abstract, tss in TABLE.items():
        seen.setdefault(tuple(tss), abstract)
    proposals = []
    for tss, abstract in seen.items():
        others = [ts for ts in TABLE_13_TS + NEVER_ACCEPTED_TS if ts not in tss]
        proposals.append((abstract, others))
    answers = negotiate(shared_server, proposals)
    assert [r for r, _ in answers] == [TRANSFER_SYNTAXES_NOT_SUPPORTED] * len(proposals), \
        list(zip([a for a, _ in proposals], answers))


def test_duplicate_contexts_answered_one_by_one(shared_server):
    proposals = [
        (CT_IMAGE, [ELE]),
        (CT_IMAGE, [ELE]),
        (CT_IMAGE, [NEVER_ACCEPTED_TS[1]]),
        (CT_IMAGE, [ILE]),
        (CT_IMAGE, [ELE]),
        ("1.2.3.4.5.6.7.8.9", [ELE]),
        (VERIFICATION, [ILE]),
        (VERIFICATION, [ILE]),
        (CT_IMAGE, [RLE]),
    ]
    assert negotiate(shared_server, proposals) == [expected_single(a, tss[0]) for a, tss in proposals]


def expected_single(abstract, ts):
    """What the table says the answer to a one-transfer-syntax context is."""
    if abstract not in TABLE:
        return (ABSTRACT_SYNTAX_NOT_SUPPORTED, None)
    if ts not in TABLE[abstract]:
        return (TRANSFER_SYNTAXES_NOT_SUPPORTED, None)
    return (ACCEPTANCE, ts)


@pytest.mark.parametrize("proposed, expected", [
    ([ILE, ELE], ELE),
    ([JPEG_BASELINE, JPEG_LOSSLESS_SV1, ILE], ILE),
    ([JPEG_EXTENDED, JPEG_BASELINE, JPEG_LOSSLESS_SV1], JPEG_LOSSLESS_SV1),
    ([JPEG_BASELINE, RLE], RLE),
    ([NEVER_ACCEPTED_TS[0], JPEG_EXTENDED], JPEG_EXTENDED),
])
def test_transfer_syntax_preference(shared_server, proposed, expected):
    """Explicit VR LE, then Implicit VR LE, then lossless compressed, then lossy."""
    assert set(proposed) & set(TABLE[CT_IMAGE])
    [(result, ts)] = negotiate(shared_server, [(CT_IMAGE, proposed)])
    assert (result, ts) == (0, expected)
