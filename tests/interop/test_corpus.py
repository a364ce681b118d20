"""Storage SOP Classes with real peers and real sample files (4.2.1.4.2).

- dcmtk storescu sends the whole sample corpus; dcmdump reads every stored file.
- pynetdicom sends each file's dataset bytes unchanged; the stored file's dataset
  bytes are the same, and its File Meta says what the contract says.
"""

import re
import subprocess
from pathlib import Path

import pytest

from corpus import rounds_by_instance, sample_corpus, storescu_groups
from helpers import (LOCALHOST, PHILIPS_IMPLEMENTATION_UID, STORESCU, association, context,
                     dataset_bytes, dcmdump_ok, load_presentation_contexts, read_meta, store_file)


@pytest.fixture(scope="module")
def corpus():
    files = sample_corpus()
    assert len(files) >= 100, f"only {len(files)} sample files found: is pydicom-data installed?"
    return files


def check_part10_header(path: Path) -> list[str]:
    head = path.read_bytes()[:132]
    problems = []
    if head[:128] != bytes(128):
        problems.append("preamble is not 128 zero bytes")
    if head[128:132] != b"DICM":
        problems.append("no DICM prefix")
    return problems


def check_stored_meta(path: Path, *, sop_class: str, sop_instance: str, transfer_syntax: str | None,
                      calling_ae: str) -> list[str]:
    """What the contract says about a stored file's File Meta; returns the problems found."""
    problems = check_part10_header(path)
    try:
        meta = read_meta(path)
    except Exception as exc:  # noqa: BLE001 - reported as a problem
        return problems + [f"File Meta unreadable: {exc}"]
    expect = {
        "MediaStorageSOPClassUID": sop_class,
        "MediaStorageSOPInstanceUID": sop_instance,
        "SourceApplicationEntityTitle": calling_ae,
    }
    if transfer_syntax:
        expect["TransferSyntaxUID"] = transfer_syntax
    for key, want in expect.items():
        got = str(meta.get(key, "")).strip()
        if got != want:
            problems.append(f"{key} is {got!r}, expected {want!r}")
    impl = str(meta.get("ImplementationClassUID", ""))
    if not impl or impl == PHILIPS_IMPLEMENTATION_UID:
        problems.append(f"ImplementationClassUID is {impl!r} (must be our own)")
    return problems


def test_storescu_sends_whole_corpus(server, corpus):
    table = load_presentation_contexts()
    failures = []
    last_sent = {}  # SOP Instance UID -> the sample sent last with it (the one kept)
    for flag, files in sorted(storescu_groups(corpus).items()):
        last_sent.update((f.sop_instance, f) for f in files)
        cmd = [STORESCU, "-R", "-nh", "-v", flag, "-aet", "STORESCU", "-aec", server.ae_title,
               "-to", "10", "-ta", "30", "-td", "60", LOCALHOST, str(server.port)]
        result = subprocess.run(cmd + [str(f.path) for f in files], capture_output=True,
                                text=True, errors="replace", timeout=300)
        output = result.stdout + result.stderr
        ok = output.count("Received Store Response (Success)")
        failed = re.findall(r"Store Failed, file: (.*?):?$", output, re.M)
        if result.returncode != 0 or ok != len(files) or failed:
            failures.append(f"storescu {flag}: exit {result.returncode}, {ok}/{len(files)} "
                            f"successes, failed: {failed[:10]}\n{output[-3000:]}")
    assert not failures, "\n\n".join(failures)

    rows = server.instances_by_uid()
    problems = []
    for uid, sample in sorted(last_sent.items()):
        found = rows.get(uid, [])
        if len(found) != 1:
            problems.append(f"{sample.name}: {len(found)} instance rows for {uid}")
            continue
        row = found[0]
        path = Path(row["path"])
        if not path.is_absolute() or not path.is_file():
            problems.append(f"{sample.name}: stored path {row['path']!r} is not an absolute file")
            continue
        if row["sop_class_uid"] != sample.sop_class:
            problems.append(f"{sample.name}: sop_class_uid {row['sop_class_uid']}")
        if row["transfer_syntax"] not in table[sample.sop_class]:
            problems.append(f"{sample.name}: transfer_syntax {row['transfer_syntax']} not accepted")
        if row["calling_ae"] != "STORESCU":
            problems.append(f"{sample.name}: calling_ae {row['calling_ae']!r}")
        problems += [f"{sample.name}: {p}" for p in check_stored_meta(
            path, sop_class=sample.sop_class, sop_instance=uid,
            transfer_syntax=row["transfer_syntax"], calling_ae="STORESCU")]
        dump = dcmdump_ok(path)
        if dump.returncode != 0:
            problems.append(f"{sample.name}: dcmdump {path} exited {dump.returncode}: "
                            f"{dump.stderr[:300]}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


@pytest.mark.parametrize("max_pdu_length", [16384, 4096])
def test_bit_preservation_pynetdicom(dcmdisc_factory, corpus, max_pdu_length):
    """Each file's dataset bytes, sent unchanged (fragmented to our max PDU), are stored
    unchanged after our File Meta."""
    server = dcmdisc_factory("bits", storage_provider={"max_pdu_length": max_pdu_length})
    pairs = sorted({(f.sop_class, f.transfer_syntax) for f in corpus})
    assert len(pairs) <= 127
    contexts = [context(sop_class, [ts]) for sop_class, ts in pairs]
    problems = []
    for number, batch in enumerate(rounds_by_instance(corpus)):
        with association(server, contexts) as assoc:
            for f in batch:
                status = store_file(assoc, f.path)
                if status != 0:
                    problems.append(f"round {number} {f.name}: C-STORE status {status:#06x}")
        rows = server.instances_by_uid()
        for f in batch:
            found = rows.get(f.sop_instance, [])
            if len(found) != 1:
                problems.append(f"round {number} {f.name}: {len(found)} instance rows")
                continue
            row = found[0]
            stored = Path(row["path"])
            if row["transfer_syntax"] != f.transfer_syntax:
                problems.append(f"{f.name}: transfer_syntax {row['transfer_syntax']}, sent {f.transfer_syntax}")
            if row["calling_ae"] != "PYNETDICOM":
                problems.append(f"{f.name}: calling_ae {row['calling_ae']!r}")
            if f.sop_instance in stored.name:
                problems.append(f"{f.name}: the stored file name contains the SOP Instance UID")
            problems += [f"{f.name}: {p}" for p in check_stored_meta(
                stored, sop_class=f.sop_class, sop_instance=f.sop_instance,
                transfer_syntax=f.transfer_syntax, calling_ae="PYNETDICOM")]
            try:
                same = dataset_bytes(stored) == dataset_bytes(f.path)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{f.name}: stored file unreadable: {exc}")
                continue
            if not same:
                problems.append(f"{f.name}: stored dataset bytes differ from the bytes sent "
                                f"({stored.stat().st_size} vs {f.path.stat().st_size} file bytes)")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


def test_concurrent_storescu_associations(server, corpus):
    """Four storescu processes at once (within the pool of 5), each its share of the
    uncompressed samples: every store succeeds."""
    files = [f for f in corpus if f.transfer_syntax in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")]
    shares = [files[i::4] for i in range(4)]
    procs = [subprocess.Popen([STORESCU, "-R", "-nh", "-v", "-xe", "-aet", "STORESCU", "-aec", server.ae_title,
                               "-to", "10", "-ta", "30", "-td", "60", LOCALHOST, str(server.port)]
                              + [str(f.path) for f in share],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for share in shares]
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            outputs.append((proc.returncode, out.decode("utf-8", "replace")))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for share, (code, out) in zip(shares, outputs):
        ok = out.count("Received Store Response (Success)")
        assert code == 0 and ok == len(share), f"exit {code}, {ok}/{len(share)} stored:\n{out[-2000:]}"
    rows = server.instances_by_uid()
    missing = {f.sop_instance for f in files} - set(rows)
    assert not missing, f"{len(missing)} instances not indexed"
    doubles = {uid: len(v) for uid, v in rows.items() if len(v) != 1}
    assert not doubles, f"SOP instances with several rows: {doubles}"
