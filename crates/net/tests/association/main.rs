//! The association state machine in process: a real acceptor (`serve`) on 127.0.0.1 with a
//! fake `Services`, driven with raw PDUs over a loopback socket. What goes out is read back
//! byte by byte (rejections, aborts) or decoded with dicom-ul (the A-ASSOCIATE-AC), so these
//! tests check our framing against the standard's layouts, not against our own writer alone.
//!
//! Every read has a timeout and every loop a bound; nothing here measures time.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commitment;
mod fake;
mod hostile;
mod mcm;
mod peer;

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::Duration;

use dcmdisc_net::dimse::{self, Command};
use dcmdisc_net::{AssociationEnd, StoreStatus};
use dicom_ul::pdu::{Pdu, PresentationContextResultReason, UserVariableItem};

use fake::{start, start_with};
use peer::*;

const OUR_AE: &str = "DCMDISC";
const OUR_MAX_PDU: u32 = 16384;
const VERIFICATION: &str = "1.2.840.10008.1.1";
const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const PET: &str = "1.2.840.10008.5.1.4.1.1.128";
const EXPLICIT: &str = "1.2.840.10008.1.2.1";
const IMPLICIT: &str = "1.2.840.10008.1.2";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const IO_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The services hear of each accepted association once when it opens and once when it ends,
/// with how it ended; a refused one is never opened.
#[test]
fn services_hear_associations_open_and_close() {
    let server = start();
    let mut c = associated(&server);
    release(&mut c);
    drop(c);
    let mut c = associated(&server);
    send(&mut c, &[0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    drop(c);
    let rq = request(
        "UNKNOWN",
        OUR_AE,
        vec![proposed(1, VERIFICATION, &[IMPLICIT])],
    );
    assert_eq!(rejection(&server, rq), [PERMANENT, SERVICE_USER, 3]);
    let want = [
        ("SENDER".to_string(), None),
        ("SENDER".to_string(), Some(AssociationEnd::Released)),
        ("SENDER".to_string(), None),
        ("SENDER".to_string(), Some(AssociationEnd::Aborted)),
    ];
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen = server.fake.state().lifecycle.clone();
        if seen.len() >= want.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(seen, want);
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

#[test]
fn cancel_responses_and_undefined_commands_abort_at_once() {
    // C-CANCEL (nothing of ours can be cancelled), a response, an undefined field.
    for (field, reason) in [(0x0FFF, 5), (0x8001, 5), (0x1234, 4)] {
        let server = start();
        let mut c = associated(&server);
        let mut cmd = Command::default();
        cmd.push_u16(dimse::TAG_COMMAND_FIELD, field)
            .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, 1)
            .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET);
        send(&mut c, &pdata(&[pdv(1, true, true, &cmd.encode())]));
        assert_eq!(expect_abort(&mut c), reason, "command field {field:#06x}");
    }
}

#[test]
fn invalid_command_uids_are_refused_before_any_sink() {
    let server = start();
    let mut c = associated(&server);
    for (n, (class, instance, code)) in [
        (CT, "1.2.3/4", 0x0117),
        (CT, "1.2..4", 0x0117),
        ("1.2.840.10008.5.1.4.1.1.2\t", "1.2.3.4", 0xC000),
    ]
    .into_iter()
    .enumerate()
    {
        let id = n as u16 + 1;
        send(
            &mut c,
            &pdata(&[
                pdv(3, true, true, &store_rq(id, class, instance, true)),
                pdv(3, false, true, &dataset(10)),
            ]),
        );
        let rsp = read_response(&mut c, 3);
        assert_eq!(status(&rsp), code, "{class} {instance}");
        assert_eq!(rsp.u16(dimse::TAG_MESSAGE_ID_RESPONDED), Some(id));
    }
    // A leading-zero component and space padding are what real senders send.
    send(
        &mut c,
        &pdata(&[
            pdv(3, true, true, &store_rq(9, CT, "1.2.040.0 ", true)),
            pdv(3, false, true, &dataset(10)),
        ]),
    );
    assert_eq!(store_status(&mut c, 9, "1.2.040.0"), 0);
    release(&mut c);
    let st = server.fake.state();
    assert_eq!(st.discarded, Vec::<String>::new());
    assert_eq!(
        st.stored
            .iter()
            .map(|(u, _)| u.as_str())
            .collect::<Vec<_>>(),
        ["1.2.040.0"]
    );
}

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
        // (9001 asks the fake for in-place buffers: see fake.rs.)
        for mode in ["1", "9001"] {
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
        &pdata(&[pdv(3, true, true, &store_rq(1, CT, "1.2.9.9001", true))]),
    );
    // PDU length = 6 (PDV header) + data = exactly our maximum.
    let data = dataset(OUR_MAX_PDU as usize - 6);
    let one = pdata(&[pdv(3, false, true, &data)]);
    assert_eq!(one.len(), 6 + OUR_MAX_PDU as usize);
    send(&mut c, &one);
    assert_eq!(store_status(&mut c, 1, "1.2.9.9001"), 0);
    release(&mut c);
    assert_eq!(stored(&server).get("1.2.9.9001"), Some(&data));
}

#[test]
fn sink_failures_answer_a700_drop_the_data_and_keep_the_association() {
    let server = start();
    let mut c = associated(&server);
    let cases = [
        "1.2.5.9002",
        "1.2.5.9001.9003",
        "1.2.5.9001.9004",
        "1.2.5.9005",
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
    let store = store_rq(1, CT, "1.2.7.2.9001", true);
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
        &pdata(&[pdv(3, true, true, &store_rq(1, CT, "1.2.8.1.9001", true))]),
    );
    send(&mut c, &pdata(&[pdv(3, false, false, b"part")]));
    send(&mut c, &[0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    // The server sends nothing back and closes; the unfinished instance is discarded.
    expect_no_more(&mut c);
    let st = server.fake.state();
    assert_eq!(st.discarded, ["1.2.8.1.9001"]);
    assert!(st.stored.is_empty() && st.records.is_empty());
}
