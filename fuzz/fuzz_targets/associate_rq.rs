//! The first PDU of a connection: dicom-ul's A-ASSOCIATE-RQ decoding as the server calls it,
//! then the refusal policy and the A-ASSOCIATE-AC (contexts negotiated, AC encoded).
#![no_main]

use std::sync::OnceLock;

use dcmdisc_fuzz::{server_config, Fake};
use dcmdisc_net::fuzzing::{establish, Establishment};
use dcmdisc_net::ServerConfig;
use libfuzzer_sys::fuzz_target;

static CONFIG: OnceLock<ServerConfig> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let cfg = CONFIG.get_or_init(server_config);
    let peer = "127.0.0.2:4000".parse().unwrap_or_else(|e| panic!("{e}"));
    match establish(cfg, &Fake, peer, data) {
        Establishment::Accepted { pdu, contexts } => {
            // What we send must decode as an A-ASSOCIATE-AC with our maximum.
            match dicom_ul::pdu::read_pdu(&pdu[..], dicom_ul::pdu::MAXIMUM_PDU_SIZE, true) {
                Ok(Some(dicom_ul::pdu::Pdu::AssociationAC(ac))) => {
                    let accepted = ac
                        .presentation_contexts
                        .iter()
                        .filter(|r| {
                            r.reason == dicom_ul::pdu::PresentationContextResultReason::Acceptance
                        })
                        .count();
                    assert!(accepted >= contexts, "AC accepts {accepted} < {contexts}");
                }
                other => panic!("our A-ASSOCIATE-AC does not decode: {other:?}"),
            }
        }
        Establishment::Rejected(pdu) => assert!(pdu.is_some(), "A-ASSOCIATE-RJ not encodable"),
        Establishment::Aborted(_) | Establishment::Gone => {}
    }
});
