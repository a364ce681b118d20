//! The association state machine in process: a real acceptor (`serve`) on 127.0.0.1 with a
//! fake `Services`, driven with raw PDUs over a loopback socket. What goes out is read back
//! byte by byte (rejections, aborts) or decoded with dicom-ul (the A-ASSOCIATE-AC), so these
//! tests check our framing against the standard's layouts, not against our own writer alone.
//!
//! Every read has a timeout and every loop a bound; nothing here measures time.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcmdisc_net::dimse::{self, Command};
use dcmdisc_net::{
    serve, CallingCheck, ContextTable, InstanceSink, ServerConfig, Services, StoreRequest,
    StoreStatus,
};
use dicom_ul::pdu::{
    AssociationAC, AssociationRQ, Pdu, PresentationContextProposed,
    PresentationContextResultReason, UserVariableItem,
};

const OUR_AE: &str = "DCMDISC";
const OUR_MAX_PDU: u32 = 16384;
const VERIFICATION: &str = "1.2.840.10008.1.1";
const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const PET: &str = "1.2.840.10008.5.1.4.1.1.128";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";
const IMPLICIT: &str = "1.2.840.10008.1.2";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The fake services. What they do with an instance is chosen by its SOP Instance UID, so one
// server covers every case.

#[derive(Default)]
struct State {
    /// Instances whose sink finished: (SOP Instance UID, dataset bytes).
    stored: Vec<(String, Vec<u8>)>,
    /// Every record_store call: (SOP Instance UID, status).
    records: Vec<(String, u16)>,
    /// Sinks dropped without finish (what they held is discarded).
    discarded: Vec<String>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

impl Fake {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Sink {
    state: Arc<Mutex<State>>,
    uid: String,
    data: Vec<u8>,
    /// Length of `data` before the slice the last `buffer` call lent.
    lent_at: usize,
    finished: bool,
}

impl Sink {
    fn has(&self, word: &str) -> bool {
        self.uid.split('.').any(|p| p == word)
    }
}

fn disk_full() -> StoreStatus {
    StoreStatus::new(StoreStatus::OUT_OF_RESOURCES, "disk full")
}

impl InstanceSink for Sink {
    fn write(&mut self, data: &[u8]) -> Result<(), StoreStatus> {
        if self.has("failwrite") {
            return Err(disk_full());
        }
        self.data.extend_from_slice(data);
        Ok(())
    }

    /// With "inplace" in the UID, lends at most 5 bytes at a time, so that one PDV takes
    /// several loans.
    fn buffer(&mut self, max: usize) -> Result<Option<&mut [u8]>, StoreStatus> {
        if self.has("failbuffer") {
            return Err(disk_full());
        }
        if !self.has("inplace") {
            return Ok(None);
        }
        let n = max.min(5);
        self.lent_at = self.data.len();
        self.data.resize(self.lent_at + n, 0xEE);
        Ok(Some(&mut self.data[self.lent_at..]))
    }

    fn commit(&mut self, n: usize) -> Result<(), StoreStatus> {
        self.data.truncate(self.lent_at + n);
        if self.has("failcommit") {
            return Err(disk_full());
        }
        Ok(())
    }

    fn finish(mut self, req: &StoreRequest<'_>) -> StoreStatus {
        self.finished = true;
        let data = std::mem::take(&mut self.data);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.stored.push((req.sop_instance_uid.to_string(), data));
        StoreStatus::success()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if !self.finished {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.discarded.push(self.uid.clone());
        }
    }
}

impl Services for Fake {
    type Sink = Sink;

    fn check_calling(&self, calling_ae: &str, _peer: IpAddr) -> CallingCheck {
        match calling_ae {
            "UNKNOWN" => CallingCheck::UnknownAe,
            "WRONGHOST" => CallingCheck::WrongHost,
            _ => CallingCheck::Allowed,
        }
    }

    fn begin_store(&self, req: &StoreRequest<'_>) -> Result<Sink, StoreStatus> {
        if req.sop_instance_uid.split('.').any(|p| p == "refuse") {
            return Err(StoreStatus::new(StoreStatus::OUT_OF_RESOURCES, "no room"));
        }
        Ok(Sink {
            state: self.0.clone(),
            uid: req.sop_instance_uid.to_string(),
            data: Vec::new(),
            lent_at: 0,
            finished: false,
        })
    }

    fn record_store(&self, req: &StoreRequest<'_>, status: &StoreStatus) {
        self.state()
            .records
            .push((req.sop_instance_uid.to_string(), status.code));
    }
}

// ---------------------------------------------------------------------------------------------
// The acceptor under test, on its own thread and runtime.

struct Server {
    addr: SocketAddr,
    fake: Fake,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn config(max_associations: usize) -> ServerConfig {
    ServerConfig {
        ae_titles: vec![OUR_AE.to_string()],
        max_pdu_length: OUR_MAX_PDU,
        max_associations,
        artim_timeout: IO_TIMEOUT,
        dimse_timeout: IO_TIMEOUT,
        shutdown_grace: Duration::from_secs(2),
        implementation_class_uid: "1.2.826.0.1.3680043.10.1".to_string(),
        implementation_version_name: "DCMDISC_TEST".to_string(),
        contexts: ContextTable::standard().expect("the statement's context table"),
    }
}

fn start_with(max_associations: usize) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let addr = listener.local_addr().expect("local address");
    let fake = Fake::default();
    let services = fake.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let shutdown = async {
                let _ = stopped.await;
            };
            let _ = serve(listener, config(max_associations), services, shutdown).await;
        });
    });
    Server {
        addr,
        fake,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn start() -> Server {
    start_with(4)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The peer's side: raw PDUs.

fn connect(server: &Server) -> TcpStream {
    let c = TcpStream::connect(server.addr).expect("connect");
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    c.set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    c
}

/// One whole PDU: (type, the bytes after the 6-byte header).
fn read_pdu(c: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 6];
    c.read_exact(&mut h).expect("a PDU header");
    let len = u32::from_be_bytes([h[2], h[3], h[4], h[5]]) as usize;
    assert!(len <= 1 << 20, "PDU of {len} bytes");
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).expect("a PDU body");
    (h[0], body)
}

/// After our last PDU the server closes (or lingers until we do): nothing more arrives.
fn expect_no_more(c: &mut TcpStream) {
    c.shutdown(std::net::Shutdown::Write).ok();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "unexpected bytes after the end: {rest:02x?}"
    );
}

fn send(c: &mut TcpStream, bytes: &[u8]) {
    c.write_all(bytes).expect("send");
}

fn encode(pdu: &Pdu) -> Vec<u8> {
    let mut out = Vec::new();
    dicom_ul::pdu::write_pdu(&mut out, pdu).expect("encode PDU");
    out
}

fn proposed(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
    PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    }
}

fn request(
    calling: &str,
    called: &str,
    contexts: Vec<PresentationContextProposed>,
) -> AssociationRQ {
    AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.to_string(),
        called_ae_title: called.to_string(),
        application_context_name: "1.2.840.10008.3.1.1.1".to_string(),
        presentation_contexts: contexts,
        user_variables: vec![
            UserVariableItem::MaxLength(0),
            UserVariableItem::ImplementationClassUID("1.2.3.4".to_string()),
        ],
    }
}

/// Verification on context 1, CT Image Storage on context 3.
fn standard_request() -> AssociationRQ {
    request(
        "SENDER",
        OUR_AE,
        vec![
            proposed(1, VERIFICATION, &[IMPLICIT]),
            proposed(3, CT, &[IMPLICIT, EXPLICIT]),
        ],
    )
}

fn associate_with(c: &mut TcpStream, rq: AssociationRQ) -> AssociationAC {
    send(c, &encode(&Pdu::AssociationRQ(rq)));
    let (t, body) = read_pdu(c);
    assert_eq!(
        t, 0x02,
        "expected A-ASSOCIATE-AC, got PDU type {t:#04x}: {body:02x?}"
    );
    let mut whole = vec![t, 0];
    whole.extend_from_slice(&(body.len() as u32).to_be_bytes());
    whole.extend_from_slice(&body);
    match dicom_ul::pdu::read_pdu(&whole[..], OUR_MAX_PDU, true) {
        Ok(Some(Pdu::AssociationAC(ac))) => ac,
        other => panic!("undecodable A-ASSOCIATE-AC: {other:?}"),
    }
}

/// An associated peer, with Verification on context 1 and CT Image Storage on context 3.
fn associated(server: &Server) -> TcpStream {
    let mut c = connect(server);
    associate_with(&mut c, standard_request());
    c
}

/// The (result, source, reason) bytes of the A-ASSOCIATE-RJ the server answers `rq` with.
fn rejection(server: &Server, rq: AssociationRQ) -> [u8; 3] {
    let mut c = connect(server);
    send(&mut c, &encode(&Pdu::AssociationRQ(rq)));
    let (t, body) = read_pdu(&mut c);
    assert_eq!(t, 0x03, "expected A-ASSOCIATE-RJ, got PDU type {t:#04x}");
    assert_eq!(body.len(), 4, "A-ASSOCIATE-RJ body");
    expect_no_more(&mut c);
    [body[1], body[2], body[3]]
}

/// The reason of the A-ABORT the server sends next (it must be from the service provider).
fn expect_abort(c: &mut TcpStream) -> u8 {
    let (t, body) = read_pdu(c);
    assert_eq!(
        t, 0x07,
        "expected A-ABORT, got PDU type {t:#04x}: {body:02x?}"
    );
    assert_eq!(body.len(), 4);
    assert_eq!(body[2], 2, "A-ABORT source");
    expect_no_more(c);
    body[3]
}

/// One PDV item.
fn pdv(context_id: u8, is_command: bool, is_last: bool, data: &[u8]) -> Vec<u8> {
    let mut item = ((data.len() + 2) as u32).to_be_bytes().to_vec();
    item.push(context_id);
    item.push(u8::from(is_command) | (u8::from(is_last) << 1));
    item.extend_from_slice(data);
    item
}

/// One P-DATA-TF PDU holding `items`.
fn pdata(items: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = items.concat();
    let mut pdu = vec![0x04, 0];
    pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
    pdu.extend_from_slice(&body);
    pdu
}

fn release(c: &mut TcpStream) {
    send(c, &[0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    let (t, body) = read_pdu(c);
    assert_eq!(
        (t, body.as_slice()),
        (0x06, &[0u8, 0, 0, 0][..]),
        "A-RELEASE-RP"
    );
    expect_no_more(c);
}

/// The next response command set, reassembled from as many PDVs as it takes.
fn read_response(c: &mut TcpStream, context_id: u8) -> Command {
    let mut bytes = Vec::new();
    for _ in 0..64 {
        let (t, body) = read_pdu(c);
        assert_eq!(
            t, 0x04,
            "expected P-DATA-TF, got PDU type {t:#04x}: {body:02x?}"
        );
        let mut at = 0;
        while at < body.len() {
            let len = u32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes")) as usize;
            let (ctx, control) = (body[at + 4], body[at + 5]);
            assert_eq!(ctx, context_id, "response context");
            assert_eq!(control & 1, 1, "responses carry no dataset");
            bytes.extend_from_slice(&body[at + 6..at + 4 + len]);
            at += 4 + len;
            if control & 2 != 0 {
                assert_eq!(at, body.len(), "bytes after the last command fragment");
                return Command::parse(&bytes).expect("a decodable response");
            }
        }
    }
    panic!("no complete response in 64 PDUs");
}

fn echo_rq(message_id: u16) -> Vec<u8> {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, VERIFICATION)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_ECHO_RQ)
        .push_u16(dimse::TAG_MESSAGE_ID, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET);
    c.encode()
}

fn store_rq(message_id: u16, class: &str, instance: &str, with_dataset: bool) -> Vec<u8> {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, class)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_STORE_RQ)
        .push_u16(dimse::TAG_MESSAGE_ID, message_id)
        .push_u16(0x0700, 0) // Priority: medium
        .push_u16(
            dimse::TAG_DATASET_TYPE,
            if with_dataset { 0 } else { dimse::NO_DATASET },
        )
        .push_uid(dimse::TAG_AFFECTED_SOP_INSTANCE, instance);
    c.encode()
}

/// A dataset whose bytes all differ from their neighbours, so a lost, doubled or swapped
/// fragment shows.
fn dataset(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn status(rsp: &Command) -> u16 {
    rsp.u16(dimse::TAG_STATUS).expect("a Status")
}

/// Check a C-STORE-RSP and return its status.
fn store_status(c: &mut TcpStream, message_id: u16, instance: &str) -> u16 {
    let rsp = read_response(c, 3);
    assert_eq!(rsp.command_field().ok(), Some(dimse::C_STORE_RSP));
    assert_eq!(rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED), Some(message_id));
    assert_eq!(rsp.u16(dimse::TAG_DATASET_TYPE), Some(dimse::NO_DATASET));
    assert_eq!(rsp.uid(dimse::TAG_AFFECTED_SOP_CLASS).as_deref(), Some(CT));
    assert_eq!(
        rsp.uid(dimse::TAG_AFFECTED_SOP_INSTANCE).as_deref(),
        Some(instance)
    );
    status(&rsp)
}

fn stored(server: &Server) -> HashMap<String, Vec<u8>> {
    server.fake.state().stored.iter().cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// Negotiation.

#[test]
fn presentation_contexts_get_one_answer_each_and_our_transfer_syntax_choice() {
    let server = start();
    let mut c = connect(&server);
    let ac = associate_with(
        &mut c,
        request(
            "SENDER",
            OUR_AE,
            vec![
                proposed(1, VERIFICATION, &[IMPLICIT]),
                // Explicit VR LE is preferred over the order of the proposal.
                proposed(3, CT, &[JPEG_BASELINE, IMPLICIT, EXPLICIT]),
                proposed(5, "1.2.3.4.5", &[EXPLICIT]),
                proposed(7, PET, &[JPEG_BASELINE]),
                proposed(9, CT, &[JPEG_BASELINE]),
            ],
        ),
    );
    assert_eq!(ac.protocol_version, 1);
    assert_eq!(
        ac.application_context_name.trim_end_matches('\0'),
        "1.2.840.10008.3.1.1.1"
    );
    let answers: Vec<(u8, PresentationContextResultReason, String)> = ac
        .presentation_contexts
        .iter()
        .map(|r| {
            let ts = r.transfer_syntax.trim_end_matches(['\0', ' ']).to_string();
            (r.id, r.reason.clone(), ts)
        })
        .collect();
    use PresentationContextResultReason::*;
    assert_eq!(answers[0], (1, Acceptance, IMPLICIT.to_string()));
    assert_eq!(answers[1], (3, Acceptance, EXPLICIT.to_string()));
    assert_eq!(
        (answers[2].0, &answers[2].1),
        (5, &AbstractSyntaxNotSupported)
    );
    assert_eq!(
        (answers[3].0, &answers[3].1),
        (7, &TransferSyntaxesNotSupported)
    );
    assert_eq!((answers[4].0, &answers[4].1), (9, &Acceptance));
    assert_eq!(answers[4].2, JPEG_BASELINE);
    assert_eq!(answers.len(), 5);
    assert!(ac
        .user_variables
        .iter()
        .any(|v| matches!(v, UserVariableItem::MaxLength(n) if *n == OUR_MAX_PDU)));
    // A PDV on a context we refused aborts.
    send(&mut c, &pdata(&[pdv(5, true, true, &echo_rq(1))]));
    assert_eq!(expect_abort(&mut c), 6);
}

// ---------------------------------------------------------------------------------------------
// Refusals: A-ASSOCIATE-RJ (result, source, reason), first failing check in the statement's
// order: protocol version, application context, calling AE, calling address, called AE, pool.

const PERMANENT: u8 = 1;
const TRANSIENT: u8 = 2;
const SERVICE_USER: u8 = 1;
const SERVICE_PROVIDER_ACSE: u8 = 2;
const SERVICE_PROVIDER_PRESENTATION: u8 = 3;

#[test]
fn protocol_version_without_bit_0_is_refused() {
    let server = start();
    let mut rq = standard_request();
    rq.protocol_version = 2;
    rq.application_context_name = "1.2.3".into(); // a later check also fails
    assert_eq!(
        rejection(&server, rq),
        [PERMANENT, SERVICE_PROVIDER_ACSE, 2]
    );
}

#[test]
fn foreign_application_context_is_refused() {
    let server = start();
    let mut rq = request(
        "UNKNOWN",
        "NOTUS",
        vec![proposed(1, VERIFICATION, &[IMPLICIT])],
    );
    rq.application_context_name = "1.2.3".into();
    assert_eq!(rejection(&server, rq), [PERMANENT, SERVICE_USER, 2]);
}

#[test]
fn unknown_calling_ae_is_refused() {
    let server = start();
    let rq = request(
        "UNKNOWN",
        "NOTUS",
        vec![proposed(1, VERIFICATION, &[IMPLICIT])],
    );
    assert_eq!(rejection(&server, rq), [PERMANENT, SERVICE_USER, 3]);
}

#[test]
fn calling_ae_from_the_wrong_address_is_refused() {
    let server = start();
    let rq = request(
        "WRONGHOST",
        "NOTUS",
        vec![proposed(1, VERIFICATION, &[IMPLICIT])],
    );
    assert_eq!(rejection(&server, rq), [PERMANENT, SERVICE_USER, 3]);
}

#[test]
fn called_ae_not_ours_is_refused() {
    let server = start_with(0);
    let rq = request(
        "SENDER",
        "NOTUS",
        vec![proposed(1, VERIFICATION, &[IMPLICIT])],
    );
    assert_eq!(rejection(&server, rq), [PERMANENT, SERVICE_USER, 7]);
}

#[test]
fn full_pool_is_a_transient_refusal() {
    let server = start_with(0);
    assert_eq!(
        rejection(&server, standard_request()),
        [TRANSIENT, SERVICE_PROVIDER_PRESENTATION, 2]
    );
}

#[test]
fn first_pdu_other_than_a_request_aborts() {
    let server = start();
    let mut c = connect(&server);
    send(&mut c, &pdata(&[pdv(1, true, true, &echo_rq(1))]));
    assert_eq!(expect_abort(&mut c), 2, "unexpected PDU");
}

#[test]
fn malformed_or_huge_request_aborts() {
    let server = start();
    let mut c = connect(&server);
    // An A-ASSOCIATE-RQ whose body is too short for its fixed fields.
    send(&mut c, &[0x01, 0, 0, 0, 0, 6, 0, 1, 0, 0, b'X', b'Y']);
    assert_eq!(expect_abort(&mut c), 6);
    let mut c = connect(&server);
    // Over 256 KiB: refused on the header alone.
    send(&mut c, &[0x01, 0, 0, 0x10, 0, 0]);
    assert_eq!(expect_abort(&mut c), 6);
}

// ---------------------------------------------------------------------------------------------
// C-ECHO and fragmented command sets.

fn assert_echo_rsp(rsp: &Command, message_id: u16) {
    assert_eq!(rsp.command_field().ok(), Some(dimse::C_ECHO_RSP));
    assert_eq!(rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED), Some(message_id));
    assert_eq!(rsp.u16(dimse::TAG_DATASET_TYPE), Some(dimse::NO_DATASET));
    assert_eq!(
        rsp.uid(dimse::TAG_AFFECTED_SOP_CLASS).as_deref(),
        Some(VERIFICATION)
    );
    assert_eq!(status(rsp), 0);
}

#[test]
fn c_echo_is_answered_and_release_is_confirmed() {
    let server = start();
    let mut c = associated(&server);
    send(&mut c, &pdata(&[pdv(1, true, true, &echo_rq(42))]));
    assert_echo_rsp(&read_response(&mut c, 1), 42);
    release(&mut c);
}

#[test]
fn command_split_across_pdvs_and_pdus_is_reassembled() {
    let server = start();
    let mut c = associated(&server);
    let cmd = echo_rq(7);
    let (a, rest) = cmd.split_at(3);
    let (b, rest) = rest.split_at(1);
    let (d, e) = rest.split_at(rest.len() - 2);
    // Two fragments in one PDU, then one PDU each, the last one empty of nothing but the tail.
    send(
        &mut c,
        &pdata(&[pdv(1, true, false, a), pdv(1, true, false, b)]),
    );
    send(&mut c, &pdata(&[pdv(1, true, false, d)]));
    send(&mut c, &pdata(&[pdv(1, true, true, e)]));
    assert_echo_rsp(&read_response(&mut c, 1), 7);
    // One byte per fragment, all in one PDU, followed by a whole second request.
    let mut items: Vec<Vec<u8>> = cmd
        .iter()
        .enumerate()
        .map(|(i, b)| pdv(1, true, i + 1 == cmd.len(), &[*b]))
        .collect();
    items.push(pdv(1, true, true, &echo_rq(8)));
    send(&mut c, &pdata(&items));
    assert_echo_rsp(&read_response(&mut c, 1), 7);
    assert_echo_rsp(&read_response(&mut c, 1), 8);
    release(&mut c);
}

#[test]
fn unsupported_command_gets_0211() {
    let server = start();
    let mut c = associated(&server);
    let mut find = Command::default();
    find.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, VERIFICATION)
        .push_u16(dimse::TAG_COMMAND_FIELD, 0x0020)
        .push_u16(dimse::TAG_MESSAGE_ID, 5)
        .push_u16(dimse::TAG_DATASET_TYPE, 0);
    // Its dataset is read and dropped before the answer.
    send(&mut c, &pdata(&[pdv(1, true, true, &find.encode())]));
    send(
        &mut c,
        &pdata(&[pdv(1, false, false, b"ab"), pdv(1, false, true, b"cd")]),
    );
    let rsp = read_response(&mut c, 1);
    assert_eq!(rsp.command_field().ok(), Some(0x8020));
    assert_eq!(rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED), Some(5));
    assert_eq!(status(&rsp), 0x0211);
    release(&mut c);
}

// ---------------------------------------------------------------------------------------------
// C-STORE.

/// How the dataset of one C-STORE is cut into PDVs and PDUs.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// The command in one PDU, the dataset in one PDV in another.
    Whole,
    /// Every dataset byte in its own PDV and PDU.
    OneBytePdus,
    /// Command and dataset in one PDU, the dataset one byte per PDV, then an empty last PDV.
    OneBytePdvsSharingThePdu,
    /// The command in two fragments, the dataset in PDVs of 1000 bytes, three per PDU.
    SeveralPerPdu,
}

fn send_store(c: &mut TcpStream, message_id: u16, instance: &str, data: &[u8], cut: Cut) {
    let cmd = store_rq(message_id, CT, instance, true);
    match cut {
        Cut::Whole => {
            send(c, &pdata(&[pdv(3, true, true, &cmd)]));
            send(c, &pdata(&[pdv(3, false, true, data)]));
        }
        Cut::OneBytePdus => {
            send(c, &pdata(&[pdv(3, true, true, &cmd)]));
            for (i, b) in data.iter().enumerate() {
                send(c, &pdata(&[pdv(3, false, i + 1 == data.len(), &[*b])]));
            }
        }
        Cut::OneBytePdvsSharingThePdu => {
            let mut items = vec![pdv(3, true, true, &cmd)];
            items.extend(data.iter().map(|b| pdv(3, false, false, &[*b])));
            items.push(pdv(3, false, true, &[]));
            send(c, &pdata(&items));
        }
        Cut::SeveralPerPdu => {
            let (a, b) = cmd.split_at(cmd.len() / 2);
            send(c, &pdata(&[pdv(3, true, false, a), pdv(3, true, true, b)]));
            let chunks: Vec<&[u8]> = data.chunks(1000).collect();
            for (i, group) in chunks.chunks(3).enumerate() {
                let items: Vec<Vec<u8>> = group
                    .iter()
                    .enumerate()
                    .map(|(j, d)| pdv(3, false, i * 3 + j + 1 == chunks.len(), d))
                    .collect();
                send(c, &pdata(&items));
            }
        }
    }
}

#[test]
fn c_store_datasets_arrive_exactly_however_they_are_cut() {
    let server = start();
    let mut c = associated(&server);
    let cuts = [
        Cut::Whole,
        Cut::OneBytePdus,
        Cut::OneBytePdvsSharingThePdu,
        Cut::SeveralPerPdu,
    ];
    let mut expected = HashMap::new();
    let mut id = 0u16;
    for (k, cut) in cuts.iter().enumerate() {
        // Through `write`, and received in place through `buffer`/`commit`.
        for mode in ["copy", "inplace"] {
            id += 1;
            let instance = format!("1.2.3.{k}.{mode}.{id}");
            let size = match cut {
                Cut::Whole | Cut::SeveralPerPdu => 7000,
                _ => 301,
            };
            let data = dataset(size + usize::from(id));
            send_store(&mut c, id, &instance, &data, *cut);
            assert_eq!(store_status(&mut c, id, &instance), 0, "{cut:?} {mode}");
            expected.insert(instance, data);
        }
    }
    release(&mut c);
    let got = stored(&server);
    for (instance, data) in &expected {
        let have = got.get(instance).map(Vec::as_slice);
        assert!(have == Some(data.as_slice()), "{instance}: dataset differs");
    }
    let st = server.fake.state();
    assert!(st.discarded.is_empty(), "discarded: {:?}", st.discarded);
    // Each success is recorded once, with its status.
    assert_eq!(st.records.len(), expected.len());
    assert!(st.records.iter().all(|(_, code)| *code == 0));
}

#[test]
fn largest_p_data_we_announced_is_accepted() {
    let server = start();
    let mut c = associated(&server);
    send(
        &mut c,
        &pdata(&[pdv(3, true, true, &store_rq(1, CT, "1.2.9.inplace", true))]),
    );
    // PDU length = 6 (PDV header) + data = exactly our maximum.
    let data = dataset(OUR_MAX_PDU as usize - 6);
    let one = pdata(&[pdv(3, false, true, &data)]);
    assert_eq!(one.len(), 6 + OUR_MAX_PDU as usize);
    send(&mut c, &one);
    assert_eq!(store_status(&mut c, 1, "1.2.9.inplace"), 0);
    release(&mut c);
    assert_eq!(stored(&server).get("1.2.9.inplace"), Some(&data));
}

#[test]
fn sink_failures_answer_a700_drop_the_data_and_keep_the_association() {
    let server = start();
    let mut c = associated(&server);
    let cases = [
        "1.2.5.failwrite",
        "1.2.5.inplace.failcommit",
        "1.2.5.inplace.failbuffer",
        "1.2.5.refuse",
    ];
    for (i, instance) in cases.iter().enumerate() {
        let id = 10 + i as u16;
        send_store(&mut c, id, instance, &dataset(3000), Cut::SeveralPerPdu);
        let rsp = read_response(&mut c, 3);
        assert_eq!(status(&rsp), StoreStatus::OUT_OF_RESOURCES, "{instance}");
        assert_eq!(rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED), Some(id));
        let comment = rsp.uid(dimse::TAG_ERROR_COMMENT).unwrap_or_default();
        assert!(
            comment == "disk full" || comment == "no room",
            "{comment:?}"
        );
    }
    // The whole of each dataset was consumed: the next message is understood.
    send(&mut c, &pdata(&[pdv(1, true, true, &echo_rq(99))]));
    assert_echo_rsp(&read_response(&mut c, 1), 99);
    release(&mut c);
    let st = server.fake.state();
    assert!(st.stored.is_empty());
    let failed: Vec<_> = st
        .records
        .iter()
        .map(|(u, code)| (u.as_str(), *code))
        .collect();
    let expected: Vec<_> = cases
        .iter()
        .map(|u| (*u, StoreStatus::OUT_OF_RESOURCES))
        .collect();
    assert_eq!(failed, expected);
    // Every sink that began was dropped unfinished.
    assert_eq!(st.discarded.len(), 3);
}

#[test]
fn c_store_request_faults_get_their_status() {
    let server = start();
    let mut c = associated(&server);
    // The command's SOP class differs from its context's.
    send(
        &mut c,
        &pdata(&[pdv(3, true, true, &store_rq(1, PET, "1.2.6.1", true))]),
    );
    send(&mut c, &pdata(&[pdv(3, false, true, b"xx")]));
    let rsp = read_response(&mut c, 3);
    assert_eq!(status(&rsp), StoreStatus::SOP_CLASS_NOT_SUPPORTED);
    // No dataset: answered at once.
    send(
        &mut c,
        &pdata(&[pdv(3, true, true, &store_rq(2, CT, "1.2.6.2", false))]),
    );
    assert_eq!(
        store_status(&mut c, 2, "1.2.6.2"),
        StoreStatus::CANNOT_UNDERSTAND
    );
    release(&mut c);
    assert!(stored(&server).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Aborts: a broken rule ends this association with A-ABORT (service provider, reason).

/// A fresh association, sent `bytes`, must be aborted with `reason`.
fn aborts_with(bytes: &[u8], reason: u8) {
    let server = start();
    let mut c = associated(&server);
    send(&mut c, bytes);
    assert_eq!(expect_abort(&mut c), reason, "after sending {bytes:02x?}");
}

const INVALID_PARAMETER: u8 = 6;

#[test]
fn oversized_p_data_aborts_before_its_body_is_read() {
    // Only the header is sent: the server must not wait for the body.
    let mut header = vec![0x04, 0];
    header.extend_from_slice(&(OUR_MAX_PDU + 1).to_be_bytes());
    aborts_with(&header, INVALID_PARAMETER);
}

#[test]
fn malformed_pdv_items_abort() {
    // Item length beyond the PDU.
    aborts_with(
        &[0x04, 0, 0, 0, 0, 8, 0, 0, 0, 9, 1, 3, 0, 0],
        INVALID_PARAMETER,
    );
    // Item length under 2 (no room for its context ID and control header).
    aborts_with(&[0x04, 0, 0, 0, 0, 6, 0, 0, 0, 1, 1, 3], INVALID_PARAMETER);
    // PDU body shorter than a PDV header.
    aborts_with(&[0x04, 0, 0, 0, 0, 3, 0, 0, 0], INVALID_PARAMETER);
}

#[test]
fn dataset_without_command_aborts() {
    aborts_with(&pdata(&[pdv(3, false, true, b"data")]), INVALID_PARAMETER);
}

#[test]
fn command_while_a_dataset_is_expected_aborts() {
    let store = store_rq(1, CT, "1.2.7.1", true);
    aborts_with(
        &pdata(&[
            pdv(3, true, true, &store),
            pdv(3, false, false, b"ab"),
            pdv(1, true, true, &echo_rq(2)),
        ]),
        INVALID_PARAMETER,
    );
}

#[test]
fn dataset_on_another_context_aborts() {
    let store = store_rq(1, CT, "1.2.7.2.inplace", true);
    aborts_with(
        &pdata(&[pdv(3, true, true, &store), pdv(1, false, true, b"ab")]),
        INVALID_PARAMETER,
    );
}

#[test]
fn undecodable_or_oversized_command_set_aborts() {
    // A command element outside group 0000.
    aborts_with(
        &pdata(&[pdv(1, true, true, &[8, 0, 0x16, 0, 2, 0, 0, 0, b'x', b'y'])]),
        INVALID_PARAMETER,
    );
    // No Command Field.
    aborts_with(&pdata(&[pdv(1, true, true, &[])]), INVALID_PARAMETER);
    // More than 64 KiB of command fragments.
    let server = start();
    let mut c = associated(&server);
    let chunk = vec![0u8; 16000];
    for _ in 0..5 {
        send(&mut c, &pdata(&[pdv(1, true, false, &chunk)]));
    }
    assert_eq!(expect_abort(&mut c), INVALID_PARAMETER);
}

#[test]
fn unexpected_and_unknown_pdus_abort() {
    // An A-ASSOCIATE-RQ inside an association: unexpected PDU.
    aborts_with(&encode(&Pdu::AssociationRQ(standard_request())), 2);
    // PDU type 0x09 does not exist: unrecognized PDU.
    aborts_with(&[0x09, 0, 0, 0, 0, 0], 1);
    // An A-RELEASE-RQ of the wrong length.
    aborts_with(&[0x05, 0, 0, 0, 0, 2, 0, 0], INVALID_PARAMETER);
}

#[test]
fn peer_abort_ends_the_association_quietly() {
    let server = start();
    let mut c = associated(&server);
    send(
        &mut c,
        &pdata(&[pdv(
            3,
            true,
            true,
            &store_rq(1, CT, "1.2.8.1.inplace", true),
        )]),
    );
    send(&mut c, &pdata(&[pdv(3, false, false, b"part")]));
    send(&mut c, &[0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    // The server sends nothing back and closes; the unfinished instance is discarded.
    expect_no_more(&mut c);
    let st = server.fake.state();
    assert_eq!(st.discarded, ["1.2.8.1.inplace"]);
    assert!(st.stored.is_empty() && st.records.is_empty());
}
