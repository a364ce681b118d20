"""Media Creation Management SCP (PS3.4 Annex S) against pynetdicom as the MCM SCU: N-CREATE
of a request for instances sent before, N-ACTION Initiate, N-GET polled until the job is
done on a simulator burner (pieces of media = copies x volumes), Cancel, and the refusals:
unknown instances (with the Failed SOP Sequence), attributes we cannot honour (0106 with the
Offending Element), attributes outside the request (0105). Instance subsets: a request for
some instances of a patient makes a job whose disc's DICOMDIR (extracted by xorriso, read by
pydicom) holds exactly those; one spanning two patients makes two jobs, N-GET sums them. A
request survives a kill -9 of serve: after the restart it is initiated and N-GET answers.
"""

from __future__ import annotations

from io import BytesIO

from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.sop_class import MediaCreationManagement

import subprocess
from pathlib import Path

import pydicom

from helpers import CT_IMAGE, ELE, association, context, make_dataset, peer_tool, wait_until

MCM = "1.2.840.10008.5.1.1.33"
EXECUTION_STATUS = 0x21000020
EXECUTION_STATUS_INFO = 0x21000030
PIECES = 0x2200000B
MEDIA = 0x2200000D


def mcm_server(factory, tmp_path):
    d = factory("mcm", start=False)
    sim = tmp_path / "sim"
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write(f"""
[[burners]]
name = "sim"
kind = "simulator"
dir = "{sim}"
discs = ["blank", "blank", "blank", "blank", "blank", "blank", "blank", "blank"]
speed_mb_s = 100
""")
    return d.start()


def store(d, n: int, patient: str) -> list[str]:
    uids = []
    with association(d, [context(CT_IMAGE, [ELE])]) as assoc:
        for i in range(n):
            ds = make_dataset(patient_name=patient, patient_id=patient, pixel_bytes=4096,
                              InstanceNumber=i + 1)
            status = assoc.send_c_store(ds)
            assert status is not None and status.Status == 0x0000
            uids.append(str(ds.SOPInstanceUID))
    return uids


def media_request(uids, **attrs) -> Dataset:
    ds = Dataset()
    items = []
    for u in uids:
        item = Dataset()
        item.ReferencedSOPClassUID = CT_IMAGE
        item.ReferencedSOPInstanceUID = u
        items.append(item)
    ds.ReferencedSOPSequence = items
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


# The command sets pynetdicom received: its status object for N-CREATE holds only the Error
# Comment and Error ID, so the Offending Element is read from the command set itself.
RECEIVED = []


def on_recv(event):
    # The data set's bytes now: pynetdicom reuses the buffer once it has made its primitive.
    data = event.message.data_set.getvalue() if event.message.data_set is not None else b""
    RECEIVED.append((event.message.command_set, data))


def mcm(d):
    return association(d, [context(MCM, [ELE])], evt_handlers=[(evt.EVT_DIMSE_RECV, on_recv)])


def create(assoc, ds, instance=None):
    RECEIVED.clear()
    status, attrs = assoc.send_n_create(ds, MediaCreationManagement, instance or generate_uid())
    assert status is not None, "no N-CREATE-RSP"
    return status, attrs


def offending() -> int | None:
    [(cmd, _)] = [m for m in RECEIVED if m[0].CommandField == 0x8140]
    return cmd.get("OffendingElement")


def response_dataset() -> Dataset:
    """The N-CREATE-RSP's data set (pynetdicom hands over none with a failure status)."""
    [(_, raw)] = [m for m in RECEIVED if m[0].CommandField == 0x8140]
    return decode(BytesIO(raw), False, True)


def test_a_request_becomes_discs_and_its_status_follows_the_job(dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    uids = store(d, 3, "MCM^ONE")
    instance = generate_uid()
    with mcm(d) as assoc:
        status, _ = create(assoc, media_request(uids, NumberOfCopies="2", RequestPriority="HIGH",
                                                AllowMediaSplitting="YES"), instance)
        assert status.Status == 0x0000
        status, attrs = assoc.send_n_get([EXECUTION_STATUS, EXECUTION_STATUS_INFO], MediaCreationManagement,
                                         instance)
        assert status.Status == 0x0000 and attrs.ExecutionStatus == "IDLE"
        status, _ = assoc.send_n_action(None, 1, MediaCreationManagement, instance)
        assert status.Status == 0x0000
        # A second Initiate of the same request is refused.
        status, _ = assoc.send_n_action(None, 1, MediaCreationManagement, instance)
        assert status.Status == 0xA510
        seen = {}

        def done():
            st, a = assoc.send_n_get([EXECUTION_STATUS, PIECES, MEDIA], MediaCreationManagement, instance)
            seen["last"] = (st.Status if st else None, a)
            return a is not None and a.ExecutionStatus in ("DONE", "FAILURE")

        assert wait_until(done, timeout=120, interval=0.5), seen
        status, attrs = seen["last"]
        assert attrs.ExecutionStatus == "DONE", seen
        # Cancelling what is done is refused with "already completed".
        status, _ = assoc.send_n_action(None, 2, MediaCreationManagement, instance)
        assert status.Status == 0xC201
    [job] = d.cli_json("jobs")
    assert job["state"] == "done" and job["priority"] == "high" and job["copies"] == 2
    assert int(attrs.TotalNumberOfPiecesOfMediaCreated) == job["copies"] * job["volumes"]
    # One Referenced Storage Media Sequence item per piece, named as its DICOMDIR names it.
    ids = sorted(str(i.StorageMediaFileSetID) for i in attrs.ReferencedStorageMediaSequence)
    m = job["volumes"]
    assert ids == sorted(f"DCMDISC_{n}OF{m}" for n in range(1, m + 1) for _ in range(job["copies"]))


def test_cancel_before_initiate(dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    uids = store(d, 1, "MCM^CANCEL")
    instance = generate_uid()
    with mcm(d) as assoc:
        assert create(assoc, media_request(uids), instance)[0].Status == 0x0000
        status, _ = assoc.send_n_action(None, 2, MediaCreationManagement, instance)
        assert status.Status == 0x0000
        status, attrs = assoc.send_n_get([EXECUTION_STATUS, EXECUTION_STATUS_INFO], MediaCreationManagement,
                                         instance)
        assert (attrs.ExecutionStatus, attrs.ExecutionStatusInfo) == ("FAILURE", "CANCELLED")
        # Nothing to initiate any more, and no job was queued.
        assert assoc.send_n_action(None, 1, MediaCreationManagement, instance)[0].Status == 0xC201
        # A request nobody created.
        assert assoc.send_n_action(None, 1, MediaCreationManagement, generate_uid())[0].Status == 0x0112
    assert d.cli_json("jobs") == []


def test_unknown_instances_are_refused_with_the_failed_list(shared_server):
    unknown = generate_uid()
    with mcm(shared_server) as assoc:
        status, _ = create(assoc, media_request([unknown]))
        assert offending() == 0x00081199
        attrs = response_dataset()
    assert status.Status == 0x0106
    [item] = attrs.FailedSOPSequence
    assert (item.ReferencedSOPInstanceUID, item.FailureReason) == (unknown, 0x0112)


def test_attributes_we_cannot_honour_get_the_standard_status(dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    uids = store(d, 2, "MCM^ATTRS")
    with mcm(d) as assoc:
        for attrs, code, expected in [
            ({"NumberOfCopies": "0"}, 0x0106, 0x20000010),
            ({"RequestPriority": "URGENT"}, 0x0106, 0x22000020),
            ({"LabelText": "FOR DR WHO"}, 0x0106, 0x22000002),
            ({"IncludeDisplayApplication": "YES"}, 0x0106, 0x22000009),
            ({"PatientName": "NOT^HERE"}, 0x0105, 0x00100010),
        ]:
            status, _ = create(assoc, media_request(uids, **attrs))
            assert status.Status == code, attrs
            assert offending() == expected, attrs
    assert d.cli_json("jobs") == []


def wait_done(assoc, instance, timeout=180):
    seen = {}

    def done():
        st, a = assoc.send_n_get([], MediaCreationManagement, instance)
        seen["last"] = (st.Status if st else None, a)
        return a is not None and a.ExecutionStatus in ("DONE", "FAILURE")

    assert wait_until(done, timeout=timeout, interval=0.5), seen
    return seen["last"][1]


def dicomdir_instances(image: str, tmp: Path) -> set[str]:
    """The SOP Instance UIDs the DICOMDIR of a disc image references, read from outside:
    xorriso extracts it, pydicom reads it."""
    out = tmp / f"DICOMDIR-{Path(image).name}"
    subprocess.run([peer_tool("xorriso"), "-osirrox", "on", "-indev", f"stdio:{image}",
                    "-extract", "/DICOMDIR", str(out)], check=True, capture_output=True, timeout=60)
    dd = pydicom.dcmread(out)
    return {str(r.ReferencedSOPInstanceUIDInFile) for r in dd.DirectoryRecordSequence
            if r.DirectoryRecordType == "IMAGE"}


def test_a_request_for_some_instances_of_a_patient_makes_a_disc_of_exactly_those(
        dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    uids = store(d, 5, "MCM^SUBSET")
    chosen = [uids[0], uids[2], uids[4]]
    instance = generate_uid()
    with mcm(d) as assoc:
        assert create(assoc, media_request(chosen), instance)[0].Status == 0x0000
        assert assoc.send_n_action(None, 1, MediaCreationManagement, instance)[0].Status == 0x0000
        attrs = wait_done(assoc, instance)
    assert attrs.ExecutionStatus == "DONE", attrs
    [job] = d.cli_json("jobs")
    assert int(attrs.TotalNumberOfPiecesOfMediaCreated) == job["copies"] * job["volumes"] == 1
    [disc] = [x for x in job["discs"] if x["outcome"] == "burned"]
    assert dicomdir_instances(disc["image"], tmp_path) == set(chosen)


def test_a_request_spanning_two_patients_makes_two_jobs_and_n_get_sums_them(
        dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    one = store(d, 3, "MCM^ONE")
    two = store(d, 2, "MCM^TWO")
    instance = generate_uid()
    with mcm(d) as assoc:
        status, _ = create(assoc, media_request([one[1], two[0], two[1]], NumberOfCopies="2"),
                           instance)
        assert status.Status == 0x0000
        assert assoc.send_n_action(None, 1, MediaCreationManagement, instance)[0].Status == 0x0000
        attrs = wait_done(assoc, instance)
    assert attrs.ExecutionStatus == "DONE", attrs
    jobs = d.cli_json("jobs")
    assert len(jobs) == 2 and {j["collection"] for j in jobs} == {p["id"] for p in d.patients()}
    pieces = sum(j["copies"] * j["volumes"] for j in jobs)
    assert pieces == 4
    assert int(attrs.TotalNumberOfPiecesOfMediaCreated) == pieces
    assert len(attrs.ReferencedStorageMediaSequence) == pieces
    held = {}
    for j in jobs:
        burned = [x for x in j["discs"] if x["outcome"] == "burned"]
        held[j["collection"]] = dicomdir_instances(burned[0]["image"], tmp_path)
    assert sorted(held.values(), key=len) == [{one[1]}, {two[0], two[1]}]


def test_a_request_survives_a_kill_and_is_initiated_after_the_restart(dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    uids = store(d, 4, "MCM^KILL")
    instance, other = generate_uid(), generate_uid()
    with mcm(d) as assoc:
        assert create(assoc, media_request(uids[:2]), instance)[0].Status == 0x0000
        assert create(assoc, media_request(uids), other)[0].Status == 0x0000
        assert assoc.send_n_action(None, 1, MediaCreationManagement, other)[0].Status == 0x0000
    d.kill()
    d.start()
    with mcm(d) as assoc:
        status, attrs = assoc.send_n_get([EXECUTION_STATUS], MediaCreationManagement, instance)
        assert status.Status == 0x0000 and attrs.ExecutionStatus == "IDLE"
        # The same SOP Instance UID cannot be created twice, restart or not.
        assert create(assoc, media_request(uids), instance)[0].Status == 0x0111
        assert assoc.send_n_action(None, 1, MediaCreationManagement, instance)[0].Status == 0x0000
        assert assoc.send_n_action(None, 1, MediaCreationManagement, other)[0].Status == 0xA510
        first, second = wait_done(assoc, instance), wait_done(assoc, other)
    assert first.ExecutionStatus == second.ExecutionStatus == "DONE"
    jobs = sorted(d.cli_json("jobs"), key=lambda j: j["id"])
    assert len(jobs) == 2
    held = [dicomdir_instances([x for x in j["discs"] if x["outcome"] == "burned"][0]["image"],
                               tmp_path) for j in jobs]
    assert held == [set(uids), set(uids[:2])]


def test_a_requested_file_set_id_is_on_the_disc_and_a_bad_one_is_refused(
        dcmdisc_factory, tmp_path):
    d = mcm_server(dcmdisc_factory, tmp_path)
    uids = store(d, 2, "MCM^FSID")
    instance = generate_uid()
    with mcm(d) as assoc:
        for bad in ("lower", "TOO_LONG_FOR_A_FSID", "A-B"):
            status, _ = create(assoc, media_request(uids, StorageMediaFileSetID=bad))
            assert status.Status == 0x0106, bad
            assert offending() == 0x00880130, bad
        status, _ = create(assoc, media_request(uids, StorageMediaFileSetID="PACS_REQ 7"), instance)
        assert status.Status == 0x0000
        assert assoc.send_n_action(None, 1, MediaCreationManagement, instance)[0].Status == 0x0000
        attrs = wait_done(assoc, instance)
    assert attrs.ExecutionStatus == "DONE", attrs
    assert [str(i.StorageMediaFileSetID) for i in attrs.ReferencedStorageMediaSequence] == ["PACS_REQ 7"]
    [job] = d.cli_json("jobs")
    [disc] = [x for x in job["discs"] if x["outcome"] == "burned"]
    out = tmp_path / "DICOMDIR-fsid"
    subprocess.run([peer_tool("xorriso"), "-osirrox", "on", "-indev", f"stdio:{disc['image']}",
                    "-extract", "/DICOMDIR", str(out)], check=True, capture_output=True, timeout=60)
    assert pydicom.dcmread(out).FileSetID == "PACS_REQ 7"
