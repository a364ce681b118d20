//! What the fuzz targets share: a server configuration, fake services, and the fixed
//! association that the P-DATA target's inputs follow.

use std::io::Cursor;
use std::net::IpAddr;
use std::time::Duration;

use dcmdisc_dicom::uid;
use dcmdisc_net::{
    CallingCheck, ContextTable, InstanceSink, ServerConfig, Services, StoreRequest, StoreStatus,
};
use dicom_ul::pdu::{AssociationRQ, Pdu, PresentationContextProposed, UserVariableItem};

pub const OUR_AE: &str = "DCMDISC";
pub const CALLING_AE: &str = "FUZZSCU";
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
pub const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Small, so that inputs reach the "P-DATA-TF too long" refusal and many PDUs.
pub const OUR_MAX_PDU: u32 = 16384;

pub fn server_config() -> ServerConfig {
    ServerConfig {
        ae_titles: vec![OUR_AE.into()],
        max_pdu_length: OUR_MAX_PDU,
        max_associations: 64,
        // The target connects once per input, one at a time; the limits must never refuse it.
        max_pending_connections: 64,
        max_pending_per_address: 64,
        // The inputs end with a half-close, so no timer should ever run out; if one does,
        // the target reports the hang instead of waiting.
        artim_timeout: Duration::from_secs(5),
        dimse_timeout: Duration::from_secs(5),
        // 0: no minimum progress (an input is all there at once anyway).
        min_receive_bytes_per_sec: 0,
        shutdown_grace: Duration::from_secs(1),
        implementation_class_uid: "1.2.3.4".into(),
        implementation_version_name: "FUZZ".into(),
        contexts: ContextTable::standard().unwrap_or_else(|e| panic!("context table: {e}")),
    }
}

/// Admits `FUZZSCU`; any other calling AE starting with `W` is configured for another host,
/// the rest are unknown. Instances go to a [`Sink`].
pub struct Fake;

impl Services for Fake {
    type Sink = Sink;

    fn check_calling(&self, calling_ae: &str, _peer: IpAddr) -> CallingCheck {
        if calling_ae == CALLING_AE {
            CallingCheck::Allowed
        } else if calling_ae.starts_with('W') {
            CallingCheck::WrongHost
        } else {
            CallingCheck::UnknownAe
        }
    }

    fn begin_store(&self, req: &StoreRequest<'_>) -> Result<Sink, StoreStatus> {
        let has = |w: &str| req.sop_instance_uid.split('.').any(|p| p == w);
        if has("7") {
            return Err(StoreStatus::new(StoreStatus::OUT_OF_RESOURCES, "refused"));
        }
        Ok(Sink {
            data: Vec::new(),
            lent_at: 0,
            in_place: has("1"),
            fail_write: has("9"),
            explicit: req.transfer_syntax != uid::IMPLICIT_VR_LE,
        })
    }

    fn record_store(&self, _req: &StoreRequest<'_>, _status: &StoreStatus) {}
}

/// (A SOP Instance UID with a component `7` is refused before its data arrives.)
///
/// Keeps the dataset (at most 1 MiB), lends buffers of at most 5 bytes when the SOP Instance
/// UID has a component `1`, fails writes with a component `9`, and walks the dataset at the
/// end as the archive does (a failed walk is C000).
pub struct Sink {
    data: Vec<u8>,
    lent_at: usize,
    in_place: bool,
    fail_write: bool,
    explicit: bool,
}

const MAX_KEPT: usize = 1 << 20;

impl InstanceSink for Sink {
    fn write(&mut self, data: &[u8]) -> Result<(), StoreStatus> {
        if self.fail_write {
            return Err(StoreStatus::new(StoreStatus::OUT_OF_RESOURCES, "disk full"));
        }
        if self.data.len() + data.len() <= MAX_KEPT {
            self.data.extend_from_slice(data);
        }
        Ok(())
    }

    fn buffer(&mut self, max: usize) -> Result<Option<&mut [u8]>, StoreStatus> {
        if !self.in_place || self.data.len() + 5 > MAX_KEPT {
            return Ok(None);
        }
        let n = max.min(5);
        self.lent_at = self.data.len();
        self.data.resize(self.lent_at + n, 0xEE);
        Ok(Some(&mut self.data[self.lent_at..]))
    }

    fn commit(&mut self, n: usize) -> Result<(), StoreStatus> {
        self.data.truncate(self.lent_at + n);
        Ok(())
    }

    fn finish(self, _req: &StoreRequest<'_>) -> StoreStatus {
        let end = self.data.len() as u64;
        match dcmdisc_dicom::keys::scan(Cursor::new(&self.data), 0, end, self.explicit) {
            Ok(_) => StoreStatus::success(),
            Err(e) => StoreStatus::new(StoreStatus::CANNOT_UNDERSTAND, e.to_string()),
        }
    }
}

fn proposed(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
    PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    }
}

/// The A-ASSOCIATE-RQ every P-DATA input follows: Verification on context 1 (Implicit VR),
/// CT Image Storage on context 3 (Explicit VR chosen), peer maximum 256 bytes (so that
/// responses are split).
pub fn association_rq() -> Vec<u8> {
    let rq = AssociationRQ {
        protocol_version: 1,
        calling_ae_title: CALLING_AE.into(),
        called_ae_title: OUR_AE.into(),
        application_context_name: uid::DICOM_APPLICATION_CONTEXT.into(),
        presentation_contexts: vec![
            proposed(1, VERIFICATION, &[uid::IMPLICIT_VR_LE]),
            proposed(3, CT, &[uid::EXPLICIT_VR_LE, uid::IMPLICIT_VR_LE]),
        ],
        user_variables: vec![
            UserVariableItem::MaxLength(256),
            UserVariableItem::ImplementationClassUID("1.2.3.4".into()),
        ],
    };
    let mut out = Vec::new();
    dicom_ul::pdu::write_pdu(&mut out, &Pdu::AssociationRQ(rq))
        .unwrap_or_else(|e| panic!("encoding the fixed A-ASSOCIATE-RQ: {e}"));
    out
}
