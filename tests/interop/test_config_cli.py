"""Configuration file, command-line overrides and the admin subcommands
(`remote`, `patients`, `instances`, `log`)."""

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydicom.uid import generate_uid

from helpers import (CT_IMAGE, ELE, LOCALHOST, VERIFICATION, Dcmdisc, association, context, create_dcmdisc,
                     dcmdisc_bin, echo_ok, free_port, make_dataset, port_open, store_file, wait_until,
                     write_config, write_dataset)
import rawdul


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize("value", [100, 4095, 4194305])
def test_bad_max_pdu_length_is_refused_before_start(tmp_path, value):
    d = Dcmdisc(tmp_path, storage_provider={"max_pdu_length": value})
    try:
        result = subprocess.run(d.serve_command(), capture_output=True, text=True, errors="replace", timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dcmdisc serve with max_pdu_length = {value} did not exit within 15 s")
    assert result.returncode != 0
    for needle in ("max_pdu_length", "4096", "4194304"):
        assert needle in result.stderr, f"{needle!r} not in stderr:\n{result.stderr}"
    assert not port_open(d.port), "something listens although the config was refused"


def test_bad_value_type_names_the_key(tmp_path):
    d = Dcmdisc(tmp_path)
    d.config["storage_provider"]["max_associations"] = "five"
    write_config(d.config_path, d.config)
    try:
        result = subprocess.run(d.serve_command(), capture_output=True, text=True, errors="replace", timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("dcmdisc serve with max_associations = \"five\" did not exit within 15 s")
    assert result.returncode != 0
    assert "max_associations" in result.stderr, result.stderr


@pytest.mark.parametrize("value", [4096, 4194304])
def test_max_pdu_length_bounds_are_accepted(dcmdisc_factory, value):
    server = dcmdisc_factory("bounds", storage_provider={"max_pdu_length": value})
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        pdu_type, ac = client.associate(server.ae_title, "RAWSCU", [(1, VERIFICATION, [ELE])])
        assert pdu_type == rawdul.A_ASSOCIATE_AC
        assert ac.max_pdu == value
        client.release()


def test_command_line_overrides_config(dcmdisc_factory, tmp_path):
    server = dcmdisc_factory("override", start=False)
    config_port = free_port()
    config_data_dir = tmp_path / "config-data-dir"
    server.config["storage_provider"]["port"] = config_port
    server.config["archive"]["data_dir"] = str(config_data_dir)
    write_config(server.config_path, server.config)
    server.ae_title = "OTHER_AE"
    server.start("--ae-title", "OTHER_AE")  # --port and --data-dir are always passed
    assert echo_ok(server)
    assert not port_open(config_port)
    ds = make_dataset()
    with association(server, [context(CT_IMAGE, [ELE])]) as assoc:
        assert store_file(assoc, write_dataset(ds, tmp_path / "one.dcm")) == 0
    [row] = server.instances_by_uid()[str(ds.SOPInstanceUID)]
    assert Path(row["path"]).resolve().is_relative_to(server.data_dir.resolve())
    assert not config_data_dir.exists() or not any(config_data_dir.iterdir())


def test_serve_without_config_file_uses_defaults(tmp_path):
    """Every key is optional: no --config at all, only --port and --data-dir."""
    data_dir = tmp_path / "data"
    port = free_port()
    base = [str(dcmdisc_bin())]
    add = subprocess.run(base + ["remote", "add", "PYNETDICOM", "--host", "127.0.0.1",
                                 "--data-dir", str(data_dir)], capture_output=True, text=True, errors="replace", timeout=30)
    assert add.returncode == 0, add.stderr
    log = open(tmp_path / "serve.log", "wb")
    # --web-port 0: the default web port (8104) may be taken on a shared machine.
    proc = subprocess.Popen(base + ["serve", "--data-dir", str(data_dir), "--port", str(port),
                                    "--web-port", "0"],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_until(lambda: port_open(port) or proc.poll() is not None, timeout=10)
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        assert echo_ok(SimpleNamespace(port=port, ae_title="CDP_PRINTER")), "the default AE title CDP_PRINTER is not served"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        log.close()


# --------------------------------------------------------------------------- remotes


def entry_for(entries, ae_title):
    matches = [e for e in entries if ae_title in [str(v).strip() for v in e.values()]]
    return matches[0] if matches else None


def test_remote_add_list_remove(tmp_path):
    d = create_dcmdisc(tmp_path, start=False, remotes=())
    d.add_remote("MODALITY_A", host="127.0.0.1", port=11112)
    d.add_remote("MODALITY_B", host="any")
    d.add_remote("MODALITY_C", host="localhost")
    entries = d.cli_json("remote", "list")
    assert isinstance(entries, list) and len(entries) == 3, entries
    a = entry_for(entries, "MODALITY_A")
    assert a is not None, entries
    assert "127.0.0.1" in [str(v) for v in a.values()] and 11112 in a.values(), a
    assert "any" in [str(v).lower() for v in entry_for(entries, "MODALITY_B").values()]
    assert "localhost" in [str(v) for v in entry_for(entries, "MODALITY_C").values()]
    assert "MODALITY_A" in d.cli("remote", "list").stdout
    d.cli("remote", "remove", "MODALITY_B")
    entries = d.cli_json("remote", "list")
    assert entry_for(entries, "MODALITY_B") is None and len(entries) == 2, entries


def test_remote_added_and_removed_while_serving(server):
    """The service reads the control database: no restart needed."""
    assert not echo_ok(server, ae_title="LATECOMER")
    server.add_remote("LATECOMER")
    assert echo_ok(server, ae_title="LATECOMER")
    server.cli("remote", "remove", "LATECOMER")
    assert not echo_ok(server, ae_title="LATECOMER")


# --------------------------------------------------------------------------- patients


def display(name: str) -> str:
    return " ".join(name.replace("^", " ").split())


def test_patients_grouped_by_name_and_id_with_generated_ids(server, tmp_path):
    s1, s2, s3, s4, s5 = (generate_uid() for _ in range(5))
    x1 = generate_uid()
    plan = [
        dict(patient_name="DOE^JOHN", patient_id="P1", study_uid=s1, series_uid=x1),
        dict(patient_name="DOE^JOHN", patient_id="P1", study_uid=s1, series_uid=x1),
        dict(patient_name="DOE^JOHN", patient_id="P1", study_uid=s2),
        dict(patient_name="DOE^JANE", patient_id="P1"),
        dict(patient_name="ROE^RICHARD", patient_id="", accession="ACC123", study_uid=s3),
        dict(patient_name="ROE^RICHARD", patient_id="", accession="ACC123", study_uid=s3),
        dict(patient_name="POE^EDGAR", patient_id=None, study_uid=s4),
        dict(patient_name="POE^EDGAR", patient_id=None, study_uid=s5),
    ]
    with association(server, [context(CT_IMAGE, [ELE])]) as assoc:
        for n, kwargs in enumerate(plan):
            path = write_dataset(make_dataset(**kwargs), tmp_path / f"{n}.dcm")
            assert store_file(assoc, path) == 0
    patients = server.patients()
    for p in patients:
        for key in ("id", "patient_name", "patient_id", "patient_id_generated", "studies", "series",
                    "instances", "bytes"):
            assert key in p, f"{key} missing in {p}"

    def collections(name):
        return [p for p in patients if display(str(p["patient_name"])) == display(name)]

    john = collections("DOE^JOHN")
    assert len(john) == 1 and john[0]["patient_id"] == "P1" and not john[0]["patient_id_generated"]
    assert (john[0]["studies"], john[0]["series"], john[0]["instances"]) == (2, 2, 3)
    assert john[0]["bytes"] > 0
    jane = collections("DOE^JANE")
    assert len(jane) == 1 and jane[0]["patient_id"] == "P1" and jane[0]["instances"] == 1
    richard = collections("ROE^RICHARD")
    assert len(richard) == 1, "one study with an empty Patient ID is one collection"
    assert richard[0]["patient_id"] and richard[0]["patient_id_generated"] is True
    assert richard[0]["instances"] == 2
    edgar = collections("POE^EDGAR")
    assert len(edgar) == 2, "a generated Patient ID is made per study"
    assert all(p["patient_id"] and p["patient_id_generated"] is True for p in edgar)
    assert edgar[0]["patient_id"] != edgar[1]["patient_id"]
    assert len(patients) == 5, [(p["patient_name"], p["patient_id"]) for p in patients]
    assert len({p["id"] for p in patients}) == 5


# --------------------------------------------------------------------------- instances and log


def test_instances_and_log_fields(server, tmp_path):
    ds = make_dataset(patient_name="FIELD^TEST", patient_id="F1")
    with association(server, [context(CT_IMAGE, [ELE])]) as assoc:
        assert store_file(assoc, write_dataset(ds, tmp_path / "one.dcm")) == 0
    [row] = server.instances_by_uid()[str(ds.SOPInstanceUID)]
    assert row["sop_class_uid"] == CT_IMAGE
    assert row["transfer_syntax"] == ELE
    assert row["study_instance_uid"] == ds.StudyInstanceUID
    assert row["series_instance_uid"] == ds.SeriesInstanceUID
    assert row["patient_id"] == "F1"
    assert display(str(row["patient_name"])) == "FIELD TEST"
    assert row["calling_ae"] == "PYNETDICOM"
    assert row["size"] > 0 and Path(row["path"]).is_file()

    entries = server.log()
    mine = [e for e in entries if e.get("sop_instance_uid") == ds.SOPInstanceUID]
    assert mine, entries[-5:]
    entry = mine[-1]
    for key in ("time", "status", "calling_ae", "peer", "sop_class_uid", "sop_instance_uid", "reason"):
        assert key in entry, f"{key} missing in {entry}"
    assert entry["status"] == "0000"
    assert entry["calling_ae"] == "PYNETDICOM"
    assert "127.0.0.1" in str(entry["peer"])
    assert entry["sop_class_uid"] == CT_IMAGE
    assert len(server.log(limit=1)) == 1


CHARSET_SAMPLES = [
    # (Specific Character Set, Patient's Name, what the display must contain)
    ("ISO_IR 100", "Müller^Jürgen", "Müller"),
    ("ISO_IR 192", "Gómez^Zoë=山田^太郎", "山田"),
    ("ISO_IR 144", "Иванов^Иван", "Иванов"),
    ("ISO_IR 126", "Διονυσιος^Νικος", "Διονυσιος"),
    ("GB18030", "Wang^XiaoDong=王^小东", "小东"),
    (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう", "山田"),
    (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞=홍^길동", "길동"),
]


@pytest.mark.parametrize("charset, name, fragment", CHARSET_SAMPLES,
                         ids=[str(c[0]).replace(" ", "_") for c in CHARSET_SAMPLES])
def test_patient_name_decoded_for_display(server, tmp_path, charset, name, fragment):
    """Conformance statement section 6 (Table 20) character sets; issue 2: names decoded for display."""
    ds = make_dataset(patient_name=name, patient_id="CS-1", SpecificCharacterSet=charset)
    with association(server, [context(CT_IMAGE, [ELE])]) as assoc:
        assert store_file(assoc, write_dataset(ds, tmp_path / "cs.dcm")) == 0
    [patient] = [p for p in server.patients() if p["patient_id"] == "CS-1"]
    assert fragment in str(patient["patient_name"]), \
        f"{charset}: patient_name {patient['patient_name']!r} does not contain {fragment!r}"
