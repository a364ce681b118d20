//! Media Creation Management SCP: N-CREATE (with and without a SOP Instance UID, refused
//! with the Failed SOP Sequence and Offending Element), N-ACTION, N-GET with an attribute
//! list, over raw PDUs against the fake services.

use dcmdisc_dicom::tag;
use dcmdisc_net::dataset;
use dcmdisc_net::dimse::{self, Command};
use dicom_ul::pdu::PresentationContextResultReason;

use crate::commitment::{explicit_request, read_message};
use crate::fake::start;
use crate::peer::*;
use crate::{CT, EXPLICIT, OUR_AE};

const MCM: &str = "1.2.840.10008.5.1.1.33";

fn n_create(message_id: u16, instance: Option<&str>) -> Vec<u8> {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, MCM)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::N_CREATE_RQ)
        .push_u16(dimse::TAG_MESSAGE_ID, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, 0);
    if let Some(i) = instance {
        c.push_uid(dimse::TAG_AFFECTED_SOP_INSTANCE, i);
    }
    c.encode()
}

fn requested(field: u16, message_id: u16, instance: &str) -> Command {
    let mut c = Command::default();
    c.push_uid(dimse::TAG_REQUESTED_SOP_CLASS, MCM)
        .push_u16(dimse::TAG_COMMAND_FIELD, field)
        .push_u16(dimse::TAG_MESSAGE_ID, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_uid(dimse::TAG_REQUESTED_SOP_INSTANCE, instance);
    c
}

#[test]
fn create_action_and_get_over_raw_pdus() {
    let server = start();
    let mut c = connect(&server);
    let ac = associate_with(
        &mut c,
        request("PACS", OUR_AE, vec![proposed(1, MCM, &[EXPLICIT])]),
    );
    assert_eq!(
        ac.presentation_contexts[0].reason,
        PresentationContextResultReason::Acceptance
    );
    // Without a SOP Instance UID: we make one and answer it.
    let data = explicit_request("2.25.1", &[(CT, "1.2.3.9100.1")]);
    // The request's data set has no Transaction UID: the helper's first element is it, so
    // the data set from the Referenced SOP Sequence on is a Media Creation Request.
    let data = data[8 + 6..].to_vec();
    send(
        &mut c,
        &pdata(&[
            pdv(1, true, true, &n_create(1, None)),
            pdv(1, false, true, &data),
        ]),
    );
    let rsp = read_response(&mut c, 1);
    assert_eq!(rsp.command_field().ok(), Some(dimse::N_CREATE_RSP));
    assert_eq!(status(&rsp), 0);
    let made = rsp
        .uid(dimse::TAG_AFFECTED_SOP_INSTANCE)
        .expect("the instance we made");
    assert!(
        made.starts_with("2.25.") && dcmdisc_dicom::uid::is_valid(&made),
        "{made}"
    );
    assert_eq!(server.fake.state().media_requests[0].0, made);

    // Unknown instances: 0106, the Offending Element, the Failed SOP Sequence.
    let data = explicit_request("2.25.1", &[(CT, "1.2.3.77")]);
    send(
        &mut c,
        &pdata(&[
            pdv(1, true, true, &n_create(2, Some("1.2.3.4.5"))),
            pdv(1, false, true, &data[8 + 6..]),
        ]),
    );
    let (rsp, data) = read_message(&mut c, 1);
    assert_eq!(status(&rsp), 0x0106);
    assert_eq!(
        rsp.raw(dimse::TAG_OFFENDING_ELEMENT),
        Some(&[0x08, 0x00, 0x99, 0x11][..])
    );
    let read = dataset::read(&data, true, &[], &[tag::FAILED_SOP_SEQUENCE]).expect("parses");
    let failed = read
        .items(tag::FAILED_SOP_SEQUENCE)
        .expect("Failed SOP Sequence");
    assert_eq!(
        failed[0].uid(tag::REFERENCED_SOP_INSTANCE_UID).as_deref(),
        Some("1.2.3.77")
    );

    // N-ACTION: initiate the one made, an unknown one, an action that does not exist.
    for (instance, action, expected) in [
        (made.as_str(), 1, 0),
        ("1.2.9", 1, 0x0112),
        (made.as_str(), 3, 0x0123),
    ] {
        let mut cmd = requested(dimse::N_ACTION_RQ, 3, instance);
        cmd.push_u16(dimse::TAG_ACTION_TYPE_ID, action);
        send(&mut c, &pdata(&[pdv(1, true, true, &cmd.encode())]));
        let rsp = read_response(&mut c, 1);
        assert_eq!(rsp.command_field().ok(), Some(dimse::N_ACTION_RSP));
        assert_eq!(status(&rsp), expected, "{instance} action {action}");
    }

    // N-GET of two attributes we have and one we do not: 0107, only the two.
    let mut cmd = requested(dimse::N_GET_RQ, 4, &made);
    let mut list = Vec::new();
    for (g, e) in [(0x2100u16, 0x0020u16), (0x2200, 0x000B), (0x0010, 0x0010)] {
        list.extend_from_slice(&g.to_le_bytes());
        list.extend_from_slice(&e.to_le_bytes());
    }
    cmd.push_raw(dimse::TAG_ATTRIBUTE_IDENTIFIER_LIST, list);
    send(&mut c, &pdata(&[pdv(1, true, true, &cmd.encode())]));
    let (rsp, data) = read_message(&mut c, 1);
    assert_eq!(rsp.command_field().ok(), Some(dimse::N_GET_RSP));
    assert_eq!(status(&rsp), 0x0107);
    let read = dataset::read(&data, true, &[0x2100_0020, 0x2200_000B], &[]).expect("parses");
    assert_eq!(read.tags, vec![0x2100_0020, 0x2200_000B]);
    assert_eq!(read.value(0x2100_0020), Some(&b"DONE"[..]));
    assert_eq!(read.u16(0x2200_000B), Some(2));
    release(&mut c);
}
