"""The Debian package (issue 11 item 6): scripts/deb.sh builds it with cargo deb; it lists the
files it should; `dpkg -i` installs it in this container; the installed binary, man pages,
unit, system user and data folder are what the unit needs; the service runs as the unit says,
as the `dcmdisc` user with CAP_NET_BIND_SERVICE alone, on port 104, and stops cleanly on
SIGTERM; `dpkg --purge` removes it. Real tools only: dpkg, man, systemd-analyze, setpriv,
echoscu."""

import gzip
import os
import pwd
import re
import shlex
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from helpers import ECHOSCU, LOCALHOST, REPO, dcmdisc_bin, free_port, port_open, unavailable, wait_until

UNIT = "/usr/lib/systemd/system/dcmdisc.service"
CONF = "/etc/dcmdisc/dcmdisc.toml"
DATA = Path("/var/lib/dcmdisc")
MAN1 = Path("/usr/share/man/man1")


def run(*cmd, check=True, timeout=300, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        pytest.fail(f"{shlex.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}", pytrace=False)
    return r


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if os.geteuid() != 0:
        unavailable("installing a .deb needs root")
    if run("cargo", "deb", "--version", check=False).returncode != 0:
        unavailable("cargo-deb not found (scripts/test.sh installs it: cargo install cargo-deb --locked)")
    for tool in ("dpkg", "man", "setpriv"):
        if not shutil.which(tool):
            unavailable(f"{tool} not found")
    if run("dpkg-query", "-W", "dcmdisc", check=False).returncode == 0:
        pytest.fail("a dcmdisc package is already installed here; this test installs and purges its own",
                    pytrace=False)
    binary = dcmdisc_bin()
    target = binary.parent.parent
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), SKIP_BUILD="1")
    built = run("bash", str(REPO / "scripts" / "deb.sh"), env=env, cwd=REPO, timeout=600)
    path = Path(built.stdout.strip().splitlines()[-1])
    assert path.is_file(), built.stdout
    # The pages the binary generates now: what the package must hold, no more, no less.
    pages = tmp_path_factory.mktemp("man")
    run(str(binary), "man", "--dir", str(pages))
    yield path, binary, sorted(p.name for p in pages.iterdir())
    if run("dpkg-query", "-W", "dcmdisc", check=False).returncode == 0:
        run("dpkg", "--purge", "dcmdisc", check=False)
    shutil.rmtree(DATA, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(deb):
    path, binary, pages = deb
    r = run("dpkg", "-i", str(path), env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return path, binary, pages, r


def test_deb_lists_every_file(deb):
    path, _, pages = deb
    listing = run("dpkg-deb", "-c", str(path)).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines() if not line.startswith("d")}
    expected = {"/usr/bin/dcmdisc", CONF, UNIT, "/usr/share/doc/dcmdisc/dcmdisc.example.toml",
                "/usr/share/doc/dcmdisc/README.md", "/usr/share/doc/dcmdisc/copyright"}
    expected |= {f"/usr/share/man/man1/{p}.gz" for p in pages}
    assert files == expected, f"missing {expected - files}, unexpected {files - expected}"
    assert "dcmdisc.1" in pages and "dcmdisc-serve.1" in pages
    assert run("dpkg-deb", "-f", str(path), "Package").stdout.strip() == "dcmdisc"
    depends = run("dpkg-deb", "-f", str(path), "Depends").stdout
    assert "adduser" in depends and "libc6" in depends
    control = Path(run("mktemp", "-d").stdout.strip())
    run("dpkg-deb", "-e", str(path), str(control))
    assert (control / "conffiles").read_text().split() == [CONF]
    assert "adduser --system" in (control / "postinst").read_text()
    shutil.rmtree(control)


def test_installed_binary_user_and_data_folder(installed):
    _, binary, _, _ = installed
    version = run("/usr/bin/dcmdisc", "--version").stdout.strip()
    assert version == run(str(binary), "--version").stdout.strip()
    assert re.fullmatch(r"dcmdisc \d+\.\d+\.\d+", version)
    user = pwd.getpwnam("dcmdisc")
    assert user.pw_dir == str(DATA) and user.pw_shell == "/usr/sbin/nologin"
    assert user.pw_uid < 1000, "a system user"
    st = DATA.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.pw_uid, 0o750)
    assert Path(CONF).read_bytes() == (REPO / "dcmdisc.example.toml").read_bytes()
    conf = Path(CONF).stat()
    assert (conf.st_gid, stat.S_IMODE(conf.st_mode)) == (user.pw_gid, 0o640)


def test_installed_man_pages_match_the_cli(installed):
    """The installed pages are what the installed binary generates from its clap definition:
    a subcommand or option added without a page cannot ship."""
    _, _, pages, _ = installed
    fresh = Path(run("mktemp", "-d").stdout.strip())
    run("/usr/bin/dcmdisc", "man", "--dir", str(fresh))
    assert sorted(p.name for p in fresh.iterdir()) == pages
    for page in pages:
        with gzip.open(MAN1 / f"{page}.gz", "rt") as f:
            assert f.read() == (fresh / page).read_text(), page
    assert gzip.open(MAN1 / "dcmdisc.1.gz", "rt").read() == run("/usr/bin/dcmdisc", "man").stdout
    shutil.rmtree(fresh)
    env = dict(os.environ, MANPAGER="cat", MANWIDTH="80", LANG="C.UTF-8")
    main = run("man", "--warnings", "-l", str(MAN1 / "dcmdisc.1.gz"), env=env)
    assert main.stderr.strip() == "", main.stderr
    text = main.stdout
    for word in ("NAME", "SYNOPSIS", "--config", "--data-dir", "serve", "remote", "retention", "user"):
        assert word in text, word
    assert re.search(r"^\s+man\b", text, re.M) is None, "the hidden man subcommand is listed"
    serve = run("man", "-l", str(MAN1 / "dcmdisc-serve.1.gz"), env=env).stdout
    assert "--web-port" in serve and "--ae-title" in serve


def test_systemd_accepts_the_unit(installed):
    if not shutil.which("systemd-analyze"):
        unavailable("systemd-analyze not found (apt-get install systemd)")
    r = run("systemd-analyze", "verify", UNIT, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    unit = Path(UNIT).read_text()
    for line in ("User=dcmdisc", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes",
                 "PrivateTmp=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "StateDirectory=dcmdisc",
                 "ReadWritePaths=/var/lib/dcmdisc", "Restart=on-failure"):
        assert line in unit.splitlines(), line


def exec_start() -> list[str]:
    for line in Path(UNIT).read_text().splitlines():
        if line.startswith("ExecStart="):
            return shlex.split(line.removeprefix("ExecStart="))
    pytest.fail("no ExecStart in the unit")


def test_service_runs_as_the_unit_says(installed, tmp_path):
    """The unit's own command line, as its user with its one capability (setpriv does what
    systemd's User= and AmbientCapabilities= do): port 104 binds without root, C-ECHO is
    answered, SIGTERM stops it with status 0, and it wrote only in the data folder."""
    if not Path(ECHOSCU).exists():
        unavailable("echoscu not found (dcmtk)")
    if port_open(104):
        unavailable("port 104 is taken on this machine")
    as_user = ["setpriv", "--reuid=dcmdisc", "--regid=dcmdisc", "--init-groups",
               "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service",
               "--bounding-set=-all,+net_bind_service"]
    cmd = exec_start()
    assert cmd[0] == "/usr/bin/dcmdisc" and cmd[-1] == "serve"
    run(*as_user, *cmd[:-1], "remote", "add", "ECHOSCU", "--host", "127.0.0.1", cwd=DATA)
    # Only the DICOM address and the web port differ from the unit: loopback and a free port.
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([*as_user, *cmd, "--bind", LOCALHOST, "--web-port", str(free_port())],
                            cwd=DATA, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: port_open(104) or proc.poll() is not None, 15)
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        echo = run(ECHOSCU, "-aet", "ECHOSCU", "-aec", "CDP_PRINTER", "-to", "10", LOCALHOST, "104",
                   check=False, timeout=30)
        assert echo.returncode == 0, echo.stdout + echo.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0, (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = (tmp_path / "serve.log").read_text()
    assert "stopping" in text, text
    owner = pwd.getpwnam("dcmdisc").pw_uid
    made = [p for p in DATA.rglob("*")]
    assert made and all(p.stat().st_uid == owner for p in made)


def test_purge_removes_the_package_and_keeps_the_data(installed):
    run("dpkg", "--purge", "dcmdisc")
    assert not Path("/usr/bin/dcmdisc").exists() and not Path(UNIT).exists()
    assert not Path(CONF).exists()
    with pytest.raises(KeyError):
        pwd.getpwnam("dcmdisc")
    assert DATA.is_dir(), "the data folder (patients' images) is kept on purge"
