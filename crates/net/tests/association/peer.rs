//! The peer's side: raw PDUs built by hand (PDVs, P-DATA-TF, release, abort) or with
//! dicom-ul's writer (A-ASSOCIATE-RQ), and what the server sends back read byte by byte or
//! decoded with dicom-ul.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use dcmdisc_net::dimse::{self, Command};
use dicom_ul::pdu::{
    AssociationAC, AssociationRQ, Pdu, PresentationContextProposed, UserVariableItem,
};

use crate::fake::Server;
use crate::{CT, EXPLICIT, IMPLICIT, IO_TIMEOUT, OUR_AE, OUR_MAX_PDU, VERIFICATION};

pub fn connect(server: &Server) -> TcpStream {
    let c = TcpStream::connect(server.addr).expect("connect");
    c.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    c.set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    c
}

/// One whole PDU: (type, the bytes after the 6-byte header).
pub fn read_pdu(c: &mut impl Read) -> (u8, Vec<u8>) {
    let mut h = [0u8; 6];
    c.read_exact(&mut h).expect("a PDU header");
    let len = u32::from_be_bytes([h[2], h[3], h[4], h[5]]) as usize;
    assert!(len <= 1 << 20, "PDU of {len} bytes");
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).expect("a PDU body");
    (h[0], body)
}

/// After our last PDU the server closes (or lingers until we do): nothing more arrives.
pub fn expect_no_more(c: &mut TcpStream) {
    c.shutdown(std::net::Shutdown::Write).ok();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "unexpected bytes after the end: {rest:02x?}"
    );
}

pub fn send(c: &mut impl Write, bytes: &[u8]) {
    c.write_all(bytes).expect("send");
}

pub fn encode(pdu: &Pdu) -> Vec<u8> {
    let mut out = Vec::new();
    dicom_ul::pdu::write_pdu(&mut out, pdu).expect("encode PDU");
    out
}

pub fn proposed(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
    PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    }
}

pub fn request(
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
pub fn standard_request() -> AssociationRQ {
    request(
        "SENDER",
        OUR_AE,
        vec![
            proposed(1, VERIFICATION, &[IMPLICIT]),
            proposed(3, CT, &[IMPLICIT, EXPLICIT]),
        ],
    )
}

pub fn associate_with(c: &mut (impl Read + Write), rq: AssociationRQ) -> AssociationAC {
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
pub fn associated(server: &Server) -> TcpStream {
    let mut c = connect(server);
    associate_with(&mut c, standard_request());
    c
}

/// The (result, source, reason) bytes of the A-ASSOCIATE-RJ the server answers `rq` with.
pub fn rejection(server: &Server, rq: AssociationRQ) -> [u8; 3] {
    let mut c = connect(server);
    send(&mut c, &encode(&Pdu::AssociationRQ(rq)));
    let (t, body) = read_pdu(&mut c);
    assert_eq!(t, 0x03, "expected A-ASSOCIATE-RJ, got PDU type {t:#04x}");
    assert_eq!(body.len(), 4, "A-ASSOCIATE-RJ body");
    expect_no_more(&mut c);
    [body[1], body[2], body[3]]
}

/// The reason of the A-ABORT the server sends next (it must be from the service provider).
pub fn expect_abort(c: &mut TcpStream) -> u8 {
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
pub fn pdv(context_id: u8, is_command: bool, is_last: bool, data: &[u8]) -> Vec<u8> {
    let mut item = ((data.len() + 2) as u32).to_be_bytes().to_vec();
    item.push(context_id);
    item.push(u8::from(is_command) | (u8::from(is_last) << 1));
    item.extend_from_slice(data);
    item
}

/// One P-DATA-TF PDU holding `items`.
pub fn pdata(items: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = items.concat();
    let mut pdu = vec![0x04, 0];
    pdu.extend_from_slice(&(body.len() as u32).to_be_bytes());
    pdu.extend_from_slice(&body);
    pdu
}

pub fn release(c: &mut TcpStream) {
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
pub fn read_response(c: &mut impl Read, context_id: u8) -> Command {
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

pub fn echo_rq(message_id: u16) -> Vec<u8> {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, VERIFICATION)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_ECHO_RQ)
        .push_u16(dimse::TAG_MESSAGE_ID, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET);
    c.encode()
}

pub fn store_rq(message_id: u16, class: &str, instance: &str, with_dataset: bool) -> Vec<u8> {
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
pub fn dataset(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

pub fn status(rsp: &Command) -> u16 {
    rsp.u16(dimse::TAG_STATUS).expect("a Status")
}

/// Check a C-STORE-RSP and return its status.
pub fn store_status(c: &mut impl Read, message_id: u16, instance: &str) -> u16 {
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

pub fn stored(server: &Server) -> HashMap<String, Vec<u8>> {
    server.fake.state().stored.iter().cloned().collect()
}
