//! Storage Commitment Push Model SCP: the N-ACTION-RQ and its N-ACTION-RSP, the report as
//! N-EVENT-REPORT-RQ on the same association, and on a new association (to a listener the
//! test plays the SCU's side on) when the requester released first. Requests in Implicit VR
//! are encoded by hand here, not by the server's writer.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use dcmdisc_dicom::tag;
use dcmdisc_net::dataset;
use dcmdisc_net::dimse::{self, Command};
use dicom_ul::pdu::{
    AssociationAC, Pdu, PresentationContextResult, PresentationContextResultReason, RequestorRoles,
    UserVariableItem,
};

use crate::fake::{start, Server};
use crate::peer::*;
use crate::{CT, EXPLICIT, IMPLICIT, IO_TIMEOUT, OUR_AE, OUR_MAX_PDU};

const SC: &str = "1.2.840.10008.1.20.1";
const SC_INSTANCE: &str = "1.2.840.10008.1.20.1.1";
const MR: &str = "1.2.840.10008.5.1.4.1.1.4";

/// Storage Commitment on context 1 in `ts`, with a role selection item (we SCU) if `roles`.
fn associated_sc(server: &Server, ts: &str, roles: bool) -> (TcpStream, AssociationAC) {
    let mut c = connect(server);
    let mut rq = request("MODALITY", OUR_AE, vec![proposed(1, SC, &[ts])]);
    if roles {
        rq.user_variables
            .push(UserVariableItem::ScuScpRoleSelectionSubItem(
                SC.to_string(),
                RequestorRoles {
                    scu: true,
                    scp: false,
                },
            ));
    }
    let ac = associate_with(&mut c, rq);
    (c, ac)
}

fn n_action(message_id: u16, action: u16, instance: &str, with_dataset: bool) -> Vec<u8> {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_REQUESTED_SOP_CLASS, SC)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::N_ACTION_RQ)
        .push_u16(dimse::TAG_MESSAGE_ID, message_id)
        .push_u16(
            dimse::TAG_DATASET_TYPE,
            if with_dataset { 0 } else { dimse::NO_DATASET },
        )
        .push_uid(dimse::TAG_REQUESTED_SOP_INSTANCE, instance)
        .push_u16(dimse::TAG_ACTION_TYPE_ID, action);
    c.encode()
}

/// One Implicit VR element, by hand.
pub fn implicit(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    out.extend_from_slice(&v);
}

/// The request's data set in Implicit VR: undefined-length sequence and items, as dcmtk
/// writes them.
fn implicit_request(transaction: &str, refs: &[(&str, &str)]) -> Vec<u8> {
    let mut d = Vec::new();
    implicit(&mut d, tag::TRANSACTION_UID, transaction.as_bytes());
    d.extend_from_slice(&[0x08, 0x00, 0x99, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
    for (class, instance) in refs {
        d.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        implicit(&mut d, tag::REFERENCED_SOP_CLASS_UID, class.as_bytes());
        implicit(
            &mut d,
            tag::REFERENCED_SOP_INSTANCE_UID,
            instance.as_bytes(),
        );
        d.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    }
    d.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    d
}

pub fn explicit_request(transaction: &str, refs: &[(&str, &str)]) -> Vec<u8> {
    let mut w = dataset::Writer::new(true);
    let items = refs
        .iter()
        .map(|(class, instance)| {
            let mut i = w.item();
            i.uid(tag::REFERENCED_SOP_CLASS_UID, class)
                .uid(tag::REFERENCED_SOP_INSTANCE_UID, instance);
            i
        })
        .collect();
    w.uid(tag::TRANSACTION_UID, transaction)
        .sequence(tag::REFERENCED_SOP_SEQUENCE, items);
    w.into_bytes()
}

/// The next message: its command set and its data set (empty when none follows).
pub fn read_message(c: &mut TcpStream, context_id: u8) -> (Command, Vec<u8>) {
    let (mut command, mut data) = (Vec::new(), Vec::new());
    let mut cmd: Option<Command> = None;
    for _ in 0..64 {
        let (t, body) = read_pdu(c);
        assert_eq!(t, 0x04, "expected P-DATA-TF, got PDU type {t:#04x}");
        let mut at = 0;
        while at < body.len() {
            let len = u32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes")) as usize;
            let (ctx, control) = (body[at + 4], body[at + 5]);
            assert_eq!(ctx, context_id, "message context");
            let fragment = &body[at + 6..at + 4 + len];
            at += 4 + len;
            if control & 1 == 1 {
                command.extend_from_slice(fragment);
                if control & 2 != 0 {
                    let parsed = Command::parse(&command).expect("a decodable command");
                    if !parsed.has_dataset() {
                        return (parsed, data);
                    }
                    cmd = Some(parsed);
                }
            } else {
                assert!(cmd.is_some(), "data set before its command");
                data.extend_from_slice(fragment);
                if control & 2 != 0 {
                    return (cmd.take().expect("the command"), data);
                }
            }
        }
    }
    panic!("no complete message in 64 PDUs");
}

fn event_report_rsp(message_id: u16, status: u16) -> Vec<u8> {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, SC)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::N_EVENT_REPORT_RSP)
        .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_u16(dimse::TAG_STATUS, status)
        .push_uid(dimse::TAG_AFFECTED_SOP_INSTANCE, SC_INSTANCE);
    c.encode()
}

fn action_status(c: &mut TcpStream, message_id: u16) -> u16 {
    let rsp = read_response(c, 1);
    assert_eq!(rsp.command_field().ok(), Some(dimse::N_ACTION_RSP));
    assert_eq!(rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED), Some(message_id));
    status(&rsp)
}

/// (class, instance[, reason]) of each item of a report's sequence.
fn refs_in(read: &dataset::Read, seq: u32) -> Vec<(String, String, Option<u16>)> {
    read.items(seq)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            let reason = i
                .value(tag::FAILURE_REASON)
                .map(|v| u16::from_le_bytes([v[0], v[1]]));
            (
                i.uid(tag::REFERENCED_SOP_CLASS_UID).unwrap_or_default(),
                i.uid(tag::REFERENCED_SOP_INSTANCE_UID).unwrap_or_default(),
                reason,
            )
        })
        .collect()
}

fn read_report(data: &[u8], explicit: bool) -> dataset::Read {
    dataset::read(
        data,
        explicit,
        &[tag::TRANSACTION_UID],
        &[tag::REFERENCED_SOP_SEQUENCE, tag::FAILED_SOP_SEQUENCE],
    )
    .expect("a report that parses")
}

#[test]
fn the_report_comes_on_the_same_association_with_each_failure_reason() {
    let server = start();
    let (mut c, ac) = associated_sc(&server, EXPLICIT, true);
    assert_eq!(
        ac.presentation_contexts[0].reason,
        PresentationContextResultReason::Acceptance
    );
    // Role selection answered: the requestor may be the SCU, not the SCP.
    assert!(ac.user_variables.iter().any(|v| matches!(v,
        UserVariableItem::ScuScpRoleSelectionSubItem(uid, r)
            if uid.trim_end_matches('\0') == SC && r.scu && !r.scp)));
    let data = explicit_request(
        "2.25.1001",
        &[(CT, "1.2.3.9100.1"), (CT, "1.2.3.77"), (MR, "1.2.3.9100.2")],
    );
    send(
        &mut c,
        &pdata(&[
            pdv(1, true, true, &n_action(5, 1, SC_INSTANCE, true)),
            pdv(1, false, true, &data),
        ]),
    );
    assert_eq!(action_status(&mut c, 5), 0x0000);
    let (cmd, data) = read_message(&mut c, 1);
    assert_eq!(cmd.command_field().ok(), Some(dimse::N_EVENT_REPORT_RQ));
    assert_eq!(cmd.uid(dimse::TAG_AFFECTED_SOP_CLASS).as_deref(), Some(SC));
    assert_eq!(
        cmd.uid(dimse::TAG_AFFECTED_SOP_INSTANCE).as_deref(),
        Some(SC_INSTANCE)
    );
    assert_eq!(cmd.u16(dimse::TAG_EVENT_TYPE_ID), Some(2));
    let id = cmd.u16(dimse::TAG_MESSAGE_ID).expect("a Message ID");
    let report = read_report(&data, true);
    assert_eq!(
        report.uid(tag::TRANSACTION_UID).as_deref(),
        Some("2.25.1001")
    );
    assert_eq!(
        refs_in(&report, tag::REFERENCED_SOP_SEQUENCE),
        vec![(CT.into(), "1.2.3.9100.1".into(), None)]
    );
    assert_eq!(
        refs_in(&report, tag::FAILED_SOP_SEQUENCE),
        vec![
            (CT.into(), "1.2.3.77".into(), Some(0x0112)),
            (MR.into(), "1.2.3.9100.2".into(), Some(0x0119)),
        ]
    );
    send(
        &mut c,
        &pdata(&[pdv(1, true, true, &event_report_rsp(id, 0))]),
    );
    // The association goes on: a second request, all committed, event type 1.
    let data = explicit_request("2.25.1002", &[(CT, "1.2.3.9100.3")]);
    send(
        &mut c,
        &pdata(&[
            pdv(1, true, true, &n_action(6, 1, SC_INSTANCE, true)),
            pdv(1, false, true, &data),
        ]),
    );
    assert_eq!(action_status(&mut c, 6), 0x0000);
    let (cmd, data) = read_message(&mut c, 1);
    assert_eq!(cmd.u16(dimse::TAG_EVENT_TYPE_ID), Some(1));
    assert!(read_report(&data, true)
        .items(tag::FAILED_SOP_SEQUENCE)
        .is_none());
    let id2 = cmd.u16(dimse::TAG_MESSAGE_ID).expect("a Message ID");
    assert_ne!(id, id2, "each request of ours has its own Message ID");
    send(
        &mut c,
        &pdata(&[pdv(1, true, true, &event_report_rsp(id2, 0))]),
    );
    release(&mut c);
    assert!(server.fake.state().destinations_asked.is_empty());
}

/// Accept the one connection the server opens to `listener`, within a bounded wait.
fn accept_within(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    for _ in 0..200 {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking");
                s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
                return s;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    panic!("the server opened no association for the report");
}

#[test]
fn a_requester_that_released_first_gets_the_report_on_a_new_association() {
    let server = start();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    server.fake.state().report_to = Some(listener.local_addr().expect("address"));
    let (mut c, _) = associated_sc(&server, IMPLICIT, false);
    let data = implicit_request("2.25.2001", &[(CT, "1.2.3.9100.1"), (CT, "1.2.3.9100.2")]);
    // The request and the release in one write: released before any report could go.
    let mut out = pdata(&[
        pdv(1, true, true, &n_action(9, 1, SC_INSTANCE, true)),
        pdv(1, false, true, &data),
    ]);
    out.extend_from_slice(&[0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    send(&mut c, &out);
    assert_eq!(action_status(&mut c, 9), 0x0000);
    let (t, _) = read_pdu(&mut c);
    assert_eq!(
        t, 0x06,
        "A-RELEASE-RP, no report on the released association"
    );
    expect_no_more(&mut c);

    let mut s = accept_within(&listener);
    let (t, body) = read_pdu(&mut s);
    assert_eq!(t, 0x01, "A-ASSOCIATE-RQ");
    let mut whole = vec![t, 0];
    whole.extend_from_slice(&(body.len() as u32).to_be_bytes());
    whole.extend_from_slice(&body);
    let Ok(Some(Pdu::AssociationRQ(rq))) = dicom_ul::pdu::read_pdu(&whole[..], OUR_MAX_PDU, true)
    else {
        panic!("undecodable A-ASSOCIATE-RQ");
    };
    assert_eq!(rq.calling_ae_title.trim(), OUR_AE);
    assert_eq!(rq.called_ae_title.trim(), "MODALITY");
    assert_eq!(rq.presentation_contexts.len(), 1);
    let pc = &rq.presentation_contexts[0];
    assert_eq!(pc.abstract_syntax.trim_end_matches('\0'), SC);
    assert!(rq.user_variables.iter().any(|v| matches!(v,
        UserVariableItem::ScuScpRoleSelectionSubItem(uid, r)
            if uid.trim_end_matches('\0') == SC && !r.scu && r.scp)));
    let ac = Pdu::AssociationAC(AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: rq.application_context_name.clone(),
        presentation_contexts: vec![PresentationContextResult {
            id: pc.id,
            reason: PresentationContextResultReason::Acceptance,
            transfer_syntax: IMPLICIT.to_string(),
        }],
        user_variables: vec![
            UserVariableItem::MaxLength(16384),
            UserVariableItem::ImplementationClassUID("1.2.3.4".into()),
            UserVariableItem::ScuScpRoleSelectionSubItem(
                SC.to_string(),
                RequestorRoles {
                    scu: false,
                    scp: true,
                },
            ),
        ],
    });
    send(&mut s, &encode(&ac));
    let (cmd, data) = read_message(&mut s, pc.id);
    assert_eq!(cmd.command_field().ok(), Some(dimse::N_EVENT_REPORT_RQ));
    assert_eq!(cmd.u16(dimse::TAG_EVENT_TYPE_ID), Some(1));
    let report = read_report(&data, false);
    assert_eq!(
        report.uid(tag::TRANSACTION_UID).as_deref(),
        Some("2.25.2001")
    );
    assert_eq!(refs_in(&report, tag::REFERENCED_SOP_SEQUENCE).len(), 2);
    let id = cmd.u16(dimse::TAG_MESSAGE_ID).expect("a Message ID");
    send(
        &mut s,
        &pdata(&[pdv(pc.id, true, true, &event_report_rsp(id, 0))]),
    );
    let (t, _) = read_pdu(&mut s);
    assert_eq!(t, 0x05, "A-RELEASE-RQ after the response");
    send(&mut s, &[0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty());
    assert_eq!(
        server.fake.state().destinations_asked,
        vec!["MODALITY".to_string()]
    );
}

#[test]
fn a_report_the_requester_refuses_here_goes_on_a_new_association() {
    let server = start();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    server.fake.state().report_to = Some(listener.local_addr().expect("address"));
    let (mut c, _) = associated_sc(&server, EXPLICIT, false);
    let data = explicit_request("2.25.3001", &[(CT, "1.2.3.4")]);
    send(
        &mut c,
        &pdata(&[
            pdv(1, true, true, &n_action(1, 1, SC_INSTANCE, true)),
            pdv(1, false, true, &data),
        ]),
    );
    assert_eq!(action_status(&mut c, 1), 0x0000);
    let (cmd, _) = read_message(&mut c, 1);
    let id = cmd.u16(dimse::TAG_MESSAGE_ID).expect("a Message ID");
    // What pynetdicom answers when no handler is bound for it.
    send(
        &mut c,
        &pdata(&[pdv(1, true, true, &event_report_rsp(id, 0x0110))]),
    );
    release(&mut c);
    let mut s = accept_within(&listener);
    let (t, _) = read_pdu(&mut s);
    assert_eq!(t, 0x01, "A-ASSOCIATE-RQ for the refused report");
}

#[test]
fn malformed_requests_get_their_n_action_status() {
    let server = start();
    let (mut c, _) = associated_sc(&server, EXPLICIT, false);
    let good = explicit_request("2.25.4001", &[(CT, "1.2.3.4")]);
    let cases: Vec<(Vec<u8>, Option<Vec<u8>>, u16)> = vec![
        // Action Type 2 does not exist.
        (
            n_action(1, 2, SC_INSTANCE, true),
            Some(good.clone()),
            0x0123,
        ),
        // Not the well-known instance.
        (n_action(2, 1, "1.2.3", true), Some(good.clone()), 0x0112),
        // No data set.
        (n_action(3, 1, SC_INSTANCE, false), None, 0x0115),
        // A data set that does not parse: a sequence running past its end.
        (
            n_action(4, 1, SC_INSTANCE, true),
            Some(good[..good.len() - 3].to_vec()),
            0x0110,
        ),
        // No Transaction UID.
        (
            n_action(5, 1, SC_INSTANCE, true),
            Some(good[8 + 10..].to_vec()),
            0x0115,
        ),
        // A reference whose instance UID breaks the rules.
        (
            n_action(6, 1, SC_INSTANCE, true),
            Some(explicit_request("2.25.4002", &[(CT, "1.2..3")])),
            0x0115,
        ),
        // An empty Referenced SOP Sequence.
        (
            n_action(7, 1, SC_INSTANCE, true),
            Some(explicit_request("2.25.4003", &[])),
            0x0115,
        ),
    ];
    for (cmd, data, expected) in cases {
        let mut items = vec![pdv(1, true, true, &cmd)];
        if let Some(d) = data {
            items.push(pdv(1, false, true, &d));
        }
        send(&mut c, &pdata(&items));
        let rsp = read_response(&mut c, 1);
        assert_eq!(rsp.command_field().ok(), Some(dimse::N_ACTION_RSP));
        assert_eq!(status(&rsp), expected, "{rsp:?}");
    }
    // A response to nothing we sent still ends the association.
    send(
        &mut c,
        &pdata(&[pdv(1, true, true, &event_report_rsp(77, 0))]),
    );
    expect_abort(&mut c);
    assert!(server.fake.state().destinations_asked.is_empty());
}
