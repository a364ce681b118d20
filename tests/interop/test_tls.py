"""DICOM TLS (PS3.15 B.9, the BCP 195 profile) on the TLS port, against real peers: dcmtk's
storescu/echoscu with +tls (Debian's dcmtk is built with OpenSSL), pynetdicom with an
ssl.SSLContext, and the OpenSSL command line for the handshake parameters.

The certificates are made here with `openssl` (RSA 2048: the BCP 195 suites are ECDHE-RSA):
a CA, the server's certificate for IP 127.0.0.1, client certificates whose subject CN is the
calling AE title, and a certificate of another CA. Nothing is committed. Every wait is
bounded; everything is on 127.0.0.1.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import StorageCommitmentPushModel, Verification

import pynetdicom_fixes
import rawdul
from helpers import (CT_IMAGE, ECHOSCU, ELE, ILE, LOCALHOST, STORESCU, context, create_dcmdisc,
                     free_port, make_ae, make_dataset, write_config, write_dataset)
from test_commitment import SC, commitment_request, n_action_rq, refs_of, store_instances

OPENSSL = "/usr/bin/openssl"


def run(*args, timeout: float = 60, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, errors="replace",
                       timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


class Pki:
    """A CA and certificates it signs, as PEM files in `folder`."""

    def __init__(self, folder: Path, name: str):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_key = folder / f"{name}-ca.key"
        self.ca = folder / f"{name}-ca.pem"
        run(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.ca_key,
            "-out", self.ca, "-days", "2", "-subj", f"/CN={name} test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, cn: str, *, ip: str | None = None) -> tuple[Path, Path]:
        """(certificate, key) for subject CN=`cn`, for server and client use."""
        key = self.folder / f"{cn}.key"
        csr = self.folder / f"{cn}.csr"
        cert = self.folder / f"{cn}.pem"
        ext = self.folder / f"{cn}.ext"
        lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                 "extendedKeyUsage=serverAuth,clientAuth"]
        if ip:
            lines.append(f"subjectAltName=IP:{ip}")
        ext.write_text("\n".join(lines) + "\n")
        run(OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", f"/CN={cn}")
        run(OPENSSL, "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ours = Pki(folder, "ours")
    other = Pki(folder / "other", "other")
    return {
        "ca": ours.ca,
        "server": ours.leaf("dcmdisc", ip=LOCALHOST),
        "storescu": ours.leaf("STORESCU"),
        "echoscu": ours.leaf("ECHOSCU"),
        "pynetdicom": ours.leaf("PYNETDICOM"),
        "commitscu": ours.leaf("COMMITSCU", ip=LOCALHOST),
        "elsewhere": ours.leaf("ELSEWHERE"),
        "stranger": other.leaf("STORESCU"),
        "other_key": other.leaf("unrelated")[1],
    }


def tls_server(tmp_path, pki, *, require: bool = True, start: bool = True, **tls):
    d = create_dcmdisc(tmp_path / "tls", start=False)
    d.tls_port = free_port()
    cert, key = pki["server"]
    d.config["tls"] = {"enabled": True, "port": d.tls_port, "cert": str(cert), "key": str(key),
                       "client_ca": str(pki["ca"]), "require_client_cert": require, **tls}
    write_config(d.config_path, d.config)
    if start:
        d.start()
        assert "DICOM TLS listening on" in d.log_text()[d.log_start:] or wait_logged(d)
    return d


def wait_logged(d, timeout: float = 10.0) -> bool:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "DICOM TLS listening on" in d.log_text()[d.log_start:]:
            return True
        time.sleep(0.05)
    return False


def client_context(pki, who: str | None, *, minimum=ssl.TLSVersion.TLSv1_2) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = minimum
    ctx.load_verify_locations(cafile=str(pki["ca"]))
    if who:
        cert, key = pki[who]
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def tls_associate(d, ctx, ae_title="PYNETDICOM", contexts=None):
    ae = make_ae(ae_title)
    assoc = ae.associate(LOCALHOST, d.tls_port, contexts=contexts or [context(Verification, [ELE])],
                         ae_title=d.ae_title, tls_args=(ctx, LOCALHOST))
    # The rejection may be read after the close: pynetdicom then reports an abort.
    pynetdicom_fixes.recover_rejection(assoc)
    return assoc


def echo_over_tls(d, ctx, ae_title="PYNETDICOM") -> int | None:
    assoc = tls_associate(d, ctx, ae_title)
    if not assoc.is_established:
        return None
    try:
        status = assoc.send_c_echo()
        return status.Status if status else None
    finally:
        assoc.release()


def storescu_tls(d, pki, files, who="storescu", aet="STORESCU", **kw):
    cert, key = pki[who]
    return run(STORESCU, "+tls", key, cert, "+cf", pki["ca"], "-aet", aet, "-aec", d.ae_title,
               LOCALHOST, d.tls_port, *files, **kw)


def test_storescu_stores_20_instances_over_tls_and_the_plain_port_works_beside(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    files, uids = [], set()
    for i in range(20):
        ds = make_dataset(pixel_bytes=32 * 1024, InstanceNumber=i + 1)
        uids.add(str(ds.SOPInstanceUID))
        files.append(write_dataset(ds, tmp_path / f"ct{i:02}.dcm"))
    storescu_tls(d, pki, files)
    stored = {row["sop_instance_uid"] for row in d.instances()}
    assert uids <= stored
    log = d.log_text()[d.log_start:]
    assert re.search(r"TLS session established.*CN=STORESCU", log), log[-3000:]
    # Plain DICOM on the plain port, at the same time as the TLS port listens.
    run(ECHOSCU, "-aet", "ECHOSCU", "-aec", d.ae_title, LOCALHOST, d.port)
    # dcmtk's echoscu over TLS too, with its own certificate.
    cert, key = pki["echoscu"]
    run(ECHOSCU, "+tls", key, cert, "+cf", pki["ca"], "-aet", "ECHOSCU", "-aec", d.ae_title,
        LOCALHOST, d.tls_port)


def test_pynetdicom_with_an_ssl_context_echoes_and_stores(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    assert echo_over_tls(d, client_context(pki, "pynetdicom")) == 0x0000
    assoc = tls_associate(d, client_context(pki, "pynetdicom"), contexts=[context(CT_IMAGE, [ELE])])
    assert assoc.is_established
    ds = make_dataset(pixel_bytes=256 * 1024)
    try:
        assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()
    assert str(ds.SOPInstanceUID) in {r["sop_instance_uid"] for r in d.instances()}


def handshake(d, ctx) -> tuple[str, str]:
    """(version, cipher) negotiated with the TLS port, or raises ssl.SSLError."""
    with socket.create_connection((LOCALHOST, d.tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=LOCALHOST) as s:
            return s.version(), s.cipher()[0]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_2_and_1_3_are_negotiated_with_aead_suites_and_older_versions_refused(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = client_context(pki, "pynetdicom", minimum=version)
        ctx.maximum_version = version
        got, cipher = handshake(d, ctx)
        assert got == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        assert "GCM" in cipher or "CHACHA20" in cipher, cipher
        if got == "TLSv1.2":
            assert cipher.startswith("ECDHE-RSA-"), cipher
    # The BCP 195 suites a dcmtk peer asks for, one at a time, and one we never accept.
    for cipher, ok in (("ECDHE-RSA-AES128-GCM-SHA256", True), ("ECDHE-RSA-AES256-GCM-SHA384", True),
                       ("AES128-SHA256", False), ("ECDHE-RSA-AES128-SHA", False)):
        r = run(OPENSSL, "s_client", "-connect", f"{LOCALHOST}:{d.tls_port}", "-tls1_2",
                "-cipher", cipher, "-CAfile", pki["ca"], "-cert", pki["pynetdicom"][0],
                "-key", pki["pynetdicom"][1], input="", check=False, timeout=30)
        if ok:
            assert re.search(rf"Protocol\s*: TLSv1\.2", r.stdout), r.stdout + r.stderr
            assert re.search(rf"Cipher\s*: {cipher}", r.stdout), r.stdout + r.stderr
        else:
            assert not re.search(rf"Cipher\s*: {cipher}", r.stdout), r.stdout
    # TLS 1.1 and 1.0: the local OpenSSL must be allowed to offer them (security level 0),
    # so that the refusal seen is the server's ("protocol version" alert or the like).
    for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):  # deprecated: that is the point
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        ctx.minimum_version = old
        ctx.maximum_version = old
        with pytest.raises(ssl.SSLError) as refused:
            handshake(d, ctx)
        # The server's answer (an alert), not the local OpenSSL declining to offer it.
        assert "ALERT" in str(refused.value).upper(), \
            f"the local OpenSSL did not offer {old}: {refused.value}"
    assert d.log_text()[d.log_start:].count("TLS handshake failed") >= 2
    # The service goes on.
    assert echo_over_tls(d, client_context(pki, "pynetdicom")) == 0x0000


def test_a_client_without_a_certificate_is_refused_when_one_is_required(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    assert echo_over_tls(d, client_context(pki, None)) is None
    # dcmtk's anonymous TLS likewise.
    r = run(ECHOSCU, "+tla", "+cf", pki["ca"], "-aet", "ECHOSCU", "-aec", d.ae_title, LOCALHOST,
            d.tls_port, check=False)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "TLS handshake failed" in d.log_text()[d.log_start:]
    assert echo_over_tls(d, client_context(pki, "pynetdicom")) == 0x0000


def test_optional_client_certificates_admit_a_client_without_one(tmp_path, pki):
    d = tls_server(tmp_path, pki, require=False)
    assert echo_over_tls(d, client_context(pki, None)) == 0x0000
    assert echo_over_tls(d, client_context(pki, "pynetdicom")) == 0x0000


def test_a_certificate_of_another_ca_is_refused(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    ds = make_dataset()
    f = write_dataset(ds, tmp_path / "one.dcm")
    r = storescu_tls(d, pki, [f], who="stranger", check=False)
    assert r.returncode != 0, r.stdout + r.stderr
    assert str(ds.SOPInstanceUID) not in {row["sop_instance_uid"] for row in d.instances()}


def test_a_certificate_admits_only_the_ae_title_its_cn_names(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    # A valid certificate of STORESCU, calling as PYNETDICOM (a configured remote AE).
    ctx = client_context(pki, "storescu")
    assoc = tls_associate(d, ctx, ae_title="PYNETDICOM")
    assert assoc.is_rejected
    p = assoc.acceptor.primitive
    assert (p.result, p.result_source, p.diagnostic) == (1, 1, 3)
    assert "is not for calling AE \"PYNETDICOM\"" in d.log_text()[d.log_start:]
    # The host rule still applies on top: a certificate naming ELSEWHERE, a remote AE
    # configured for another host, is refused.
    d.cli("remote", "add", "ELSEWHERE", "--host", "127.0.0.9")
    ctx = client_context(pki, "elsewhere")
    assoc = tls_associate(d, ctx, ae_title="ELSEWHERE")
    assert assoc.is_rejected
    assert "not configured for address 127.0.0.1" in d.log_text()[d.log_start:]


def test_plain_dicom_to_the_tls_port_fails_cleanly_and_the_service_goes_on(tmp_path, pki):
    d = tls_server(tmp_path, pki)
    r = run(ECHOSCU, "-aet", "ECHOSCU", "-aec", d.ae_title, LOCALHOST, d.tls_port, "-to", "5",
            "-ta", "5", check=False)
    assert r.returncode != 0
    assert d.running
    assert echo_over_tls(d, client_context(pki, "pynetdicom")) == 0x0000


@pytest.mark.parametrize("change,key", [
    ({"cert": "missing.pem"}, "[tls] cert"),
    ({"key": "other_key"}, "[tls] key"),
    ({"client_ca": "missing.pem"}, "[tls] client_ca"),
])
def test_bad_tls_files_are_refused_at_start_naming_the_key(tmp_path, pki, change, key):
    values = {"missing.pem": str(tmp_path / "missing.pem"), "other_key": str(pki["other_key"])}
    d = tls_server(tmp_path, pki, start=False, **{k: values[v] for k, v in change.items()})
    r = subprocess.run(d.serve_command(), capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert key in r.stderr, r.stderr


def test_a_commitment_report_to_a_remote_ae_added_with_tls_goes_over_tls(tmp_path, pki):
    """The requester releases first; the report goes on a new association to the remote AE's
    port, which is a pynetdicom SCP behind TLS that requires a client certificate: dcmdisc
    presents its own and checks the SCP's against the CA and 127.0.0.1."""
    d = tls_server(tmp_path, pki)
    uids = store_instances(d)
    reports, peer_certs = [], []
    got = threading.Event()

    def on_report(event):
        reports.append((event.event_type, event.event_information))
        peer_certs.append(event.assoc.dul.socket.socket.getpeercert())
        got.set()
        return 0x0000, None

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    server_ctx.load_cert_chain(str(pki["commitscu"][0]), str(pki["commitscu"][1]))
    server_ctx.load_verify_locations(cafile=str(pki["ca"]))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    port = free_port()
    scp = make_ae("COMMITSCU")
    scp.add_supported_context(StorageCommitmentPushModel, [ELE, ILE], scu_role=False, scp_role=True)
    listener = scp.start_server((LOCALHOST, port), block=False, ssl_context=server_ctx,
                                evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    try:
        d.cli("remote", "add", "COMMITSCU", "--host", LOCALHOST, "--port", str(port), "--tls")
        assert "tls" in d.cli("remote", "list").stdout
        transaction = generate_uid()
        data = encode(commitment_request(transaction, [(CT_IMAGE, u) for u in uids]), True, True)
        with rawdul.RawClient(LOCALHOST, d.port) as client:
            pdu_type, _ = client.associate(d.ae_title, "COMMITSCU", [(1, SC, [ILE])])
            assert pdu_type == rawdul.A_ASSOCIATE_AC
            client.send(rawdul.p_data(rawdul.pdv(1, n_action_rq(3), command=True),
                                      rawdul.pdv(1, data, command=False)) + rawdul.release_rq())
            cmd, _ = client.recv_message()
            assert cmd.CommandField == 0x8130 and cmd.Status == 0x0000
            assert client.recv_pdu()[0] == rawdul.A_RELEASE_RP
        assert got.wait(timeout=30), "no N-EVENT-REPORT over TLS:\n" + d.log_text()[-3000:]
    finally:
        listener.shutdown()
    [(event_type, info)] = reports
    assert event_type == 1 and info.TransactionUID == transaction
    assert refs_of(info.ReferencedSOPSequence) == [(CT_IMAGE, u) for u in uids]
    subject = dict(x[0] for x in peer_certs[0]["subject"])
    assert subject["commonName"] == "dcmdisc"
