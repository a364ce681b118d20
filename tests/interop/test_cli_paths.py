"""Where the commands look for their data (issue 9, item 8): a relative `[archive] data_dir`
is relative to the config file's folder, not to the folder a command runs in; a command that
creates a control database says so with its full path; a listing that finds none says where it
looked, exits non-zero and creates nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from helpers import CT_IMAGE, ELE, Dcmdisc, association, context, dcmdisc_bin, echo_ok, make_dataset, \
    store_file, write_config, write_dataset

CREATED = re.compile(r"created a new control database at (\S.*)$", re.MULTILINE)
LISTINGS = (["patients"], ["instances"], ["log"], ["remote", "list"])


def site(tmp_path: Path, name: str = "site") -> Dcmdisc:
    """A dcmdisc whose config names its data folder relatively (`data`), run without
    --data-dir, so the config file alone decides where the database is."""
    d = Dcmdisc(tmp_path / name)
    d.config["archive"]["data_dir"] = "data"
    write_config(d.config_path, d.config)
    d.common_args = lambda: ["--config", str(d.config_path)]
    return d


def run(*args, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    if not dcmdisc_bin().exists():
        pytest.fail(f"dcmdisc binary not found at {dcmdisc_bin()}", pytrace=False)
    return subprocess.run([str(dcmdisc_bin()), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, errors="replace", timeout=timeout)


def announced(stderr: str) -> list[Path]:
    return [Path(m.group(1).strip()).resolve() for m in CREATED.finditer(stderr)]


def elsewhere(tmp_path: Path) -> Path:
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def test_remote_add_from_another_folder_reaches_the_running_service(tmp_path, monkeypatch):
    d = site(tmp_path)
    other = elsewhere(tmp_path)
    db = d.workdir / "data" / "control.sqlite"
    monkeypatch.chdir(other)  # the service, too, runs from another folder
    d.start()
    try:
        assert announced(d.log_text()) == [db.resolve()], d.log_text()
        assert db.is_file()
        assert not echo_ok(d, ae_title="NEWCOMER")

        r = run("remote", "add", "NEWCOMER", "--host", "127.0.0.1", "--config", d.config_path, cwd=other)
        assert r.returncode == 0, r.stderr
        assert "NEWCOMER" in r.stdout
        assert announced(r.stderr) == [], f"the service's database was not found:\n{r.stderr}"
        assert echo_ok(d, ae_title="NEWCOMER"), "the running service does not admit NEWCOMER"

        # A relative --config from yet another folder means the same file, the same database.
        r = run("remote", "add", "LATER", "--host", "127.0.0.1", "--config",
                Path("..") / d.workdir.name / d.config_path.name, cwd=other)
        assert r.returncode == 0 and announced(r.stderr) == [], r.stderr
        assert echo_ok(d, ae_title="LATER")
        assert list(other.iterdir()) == [], "a command left files in the folder it ran from"
    finally:
        d.kill()


def test_patients_from_another_folder_finds_the_right_database(tmp_path, monkeypatch):
    d = site(tmp_path)
    other = elsewhere(tmp_path)
    r = run("remote", "add", "PYNETDICOM", "--host", "127.0.0.1", "--config", d.config_path, cwd=other)
    assert r.returncode == 0, r.stderr
    assert announced(r.stderr) == [(d.workdir / "data" / "control.sqlite").resolve()], r.stderr
    monkeypatch.chdir(other)
    d.start()
    try:
        ds = make_dataset(patient_name="WHERE^IS", patient_id="W1")
        with association(d, [context(CT_IMAGE, [ELE])]) as assoc:
            assert store_file(assoc, write_dataset(ds, tmp_path / "one.dcm")) == 0
    finally:
        d.kill()
    r = run("patients", "--config", d.config_path, cwd=other)
    assert r.returncode == 0, r.stderr
    assert "W1" in r.stdout and "PATIENT NAME" in r.stdout, r.stdout
    r = run("instances", "--json", "--config", d.config_path, cwd=other)
    assert r.returncode == 0 and str(ds.SOPInstanceUID) in r.stdout, r.stderr
    assert announced(r.stderr) == []
    assert list(other.iterdir()) == []


@pytest.mark.parametrize("listing", LISTINGS, ids=[" ".join(a) for a in LISTINGS])
def test_a_listing_without_a_database_says_where_it_looked_and_creates_nothing(tmp_path, listing):
    d = site(tmp_path)
    other = elsewhere(tmp_path)
    r = run(*listing, "--config", d.config_path, cwd=other)
    assert r.returncode != 0, f"{listing} without a database exited 0:\n{r.stdout}{r.stderr}"
    expected = d.workdir / "data" / "control.sqlite"
    assert str(expected) in r.stderr or str(expected.resolve()) in r.stderr, r.stderr
    assert not (d.workdir / "data").exists(), "the listing created the data folder"
    assert list(other.iterdir()) == [], "the listing created files where it ran"
    assert announced(r.stderr) == []
    # Without --config: the current folder's default data folder, named in full.
    r = run(*listing, cwd=other)
    assert r.returncode != 0
    assert str(other / "dcmdisc-data" / "control.sqlite") in r.stderr \
        or str((other / "dcmdisc-data" / "control.sqlite").resolve()) in r.stderr, r.stderr
    assert list(other.iterdir()) == []


def test_only_the_command_that_creates_the_database_announces_it(tmp_path):
    d = site(tmp_path)
    other = elsewhere(tmp_path)
    db = (d.workdir / "data" / "control.sqlite").resolve()
    first = run("remote", "add", "ONE", "--host", "any", "--config", d.config_path, cwd=other)
    assert first.returncode == 0 and announced(first.stderr) == [db], first.stderr
    again = run("remote", "add", "TWO", "--host", "any", "--config", d.config_path, cwd=other)
    assert again.returncode == 0 and announced(again.stderr) == [], again.stderr
    listed = run("remote", "list", "--config", d.config_path, cwd=other)
    assert listed.returncode == 0 and "ONE" in listed.stdout and "TWO" in listed.stdout
    # --data-dir on the command line is relative to where the command runs.
    made = run("remote", "add", "THREE", "--host", "any", "--data-dir", "local", cwd=other)
    assert made.returncode == 0
    assert announced(made.stderr) == [(other / "local" / "control.sqlite").resolve()], made.stderr
