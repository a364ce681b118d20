//! The fake services, and the acceptor under test on its own thread and runtime. What the fake
//! does with an instance is chosen by words in its SOP Instance UID, so one server covers
//! every case.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dcmdisc_net::{
    serve, AssociationEnd, AssociationInfo, CallingCheck, Commitment, ContextTable, InstanceSink,
    McmAction, McmRefusal, MediaRequest, MediaStatus, ServerConfig, Services, SopRef, StoreRequest,
    StoreStatus,
};

use crate::{IO_TIMEOUT, OUR_AE, OUR_MAX_PDU};

#[derive(Default)]
pub struct State {
    /// Instances whose sink finished: (SOP Instance UID, dataset bytes).
    pub stored: Vec<(String, Vec<u8>)>,
    /// Every record_store call: (SOP Instance UID, status).
    pub records: Vec<(String, u16)>,
    /// Sinks dropped without finish (what they held is discarded).
    pub discarded: Vec<String>,
    /// Every association_opened / association_closed call: (calling AE, None when opened,
    /// Some(how it ended) when closed).
    pub lifecycle: Vec<(String, Option<AssociationEnd>)>,
    /// Where commitment reports go when they need a new association (`None`: nowhere).
    pub report_to: Option<SocketAddr>,
    /// Every report_destination call: the calling AE it was asked for.
    pub destinations_asked: Vec<String>,
    /// Media creation requests created: (SOP Instance UID, request).
    pub media_requests: Vec<(String, MediaRequest)>,
}

#[derive(Clone, Default)]
pub struct Fake(Arc<Mutex<State>>);

impl Fake {
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Sink {
    state: Arc<Mutex<State>>,
    uid: String,
    data: Vec<u8>,
    /// Length of `data` before the slice the last `buffer` call lent.
    lent_at: usize,
    finished: bool,
}

/// What a test asks of the fake, as a component of the SOP Instance UID (digits, as a
/// received UID must be): 9001 receive in place, 9002 fail `write`, 9003 fail `commit`,
/// 9004 fail `buffer`, 9005 refuse at `begin_store`; for Storage Commitment, 9100 is stored
/// (as CT Image Storage), anything else unknown.
fn code(word: &str) -> &'static str {
    match word {
        "inplace" => "9001",
        "failwrite" => "9002",
        "failcommit" => "9003",
        "failbuffer" => "9004",
        "refuse" => "9005",
        "stored" => "9100",
        _ => "",
    }
}

fn has(uid: &str, word: &str) -> bool {
    uid.split('.').any(|p| p == code(word))
}

impl Sink {
    fn has(&self, word: &str) -> bool {
        has(&self.uid, word)
    }
}

pub fn disk_full() -> StoreStatus {
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

    /// With "inplace" (9001) in the UID, lends at most 5 bytes at a time, so that one PDV takes
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
        if has(req.sop_instance_uid, "refuse") {
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

    fn association_opened(&self, info: &AssociationInfo) {
        self.state().lifecycle.push((info.calling_ae.clone(), None));
    }

    fn association_closed(&self, info: &AssociationInfo, end: AssociationEnd) {
        self.state()
            .lifecycle
            .push((info.calling_ae.clone(), Some(end)));
    }

    fn check_commitment(&self, _info: &AssociationInfo, refs: &[SopRef]) -> Vec<Commitment> {
        refs.iter()
            .map(|r| match has(&r.sop_instance_uid, "stored") {
                true if r.sop_class_uid == crate::CT => Commitment::Committed,
                true => Commitment::Failed(Commitment::CLASS_INSTANCE_CONFLICT),
                false => Commitment::Failed(Commitment::NO_SUCH_OBJECT_INSTANCE),
            })
            .collect()
    }

    fn report_destination(&self, info: &AssociationInfo) -> Result<SocketAddr, String> {
        let mut st = self.state();
        st.destinations_asked.push(info.calling_ae.clone());
        st.report_to.ok_or_else(|| "no port configured".to_string())
    }

    /// Accepts a request whose instances are all "stored" (9100); the others are unknown.
    fn mcm_create(
        &self,
        _info: &AssociationInfo,
        instance: &str,
        request: MediaRequest,
    ) -> Result<(), McmRefusal> {
        let failed: Vec<(SopRef, u16)> = request
            .refs
            .iter()
            .filter(|r| !has(&r.sop_instance_uid, "stored"))
            .map(|r| (r.clone(), 0x0112))
            .collect();
        if !failed.is_empty() {
            let mut r = McmRefusal::new(0x0106, "unknown instances").offending(&[0x0008_1199]);
            r.failed = failed;
            return Err(r);
        }
        self.state()
            .media_requests
            .push((instance.to_string(), request));
        Ok(())
    }

    fn mcm_action(
        &self,
        _info: &AssociationInfo,
        instance: &str,
        _action: McmAction,
    ) -> Result<(), McmRefusal> {
        if self
            .state()
            .media_requests
            .iter()
            .any(|(i, _)| i == instance)
        {
            Ok(())
        } else {
            Err(McmRefusal::new(0x0112, "no such request"))
        }
    }

    fn mcm_status(
        &self,
        _info: &AssociationInfo,
        _instance: &str,
    ) -> Result<MediaStatus, McmRefusal> {
        Ok(MediaStatus {
            execution_status: "DONE".into(),
            execution_status_info: "NORMAL".into(),
            pieces_created: 2,
            failed: Vec::new(),
            media: vec![("DISC1".into(), String::new())],
        })
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub fake: Fake,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub fn config(max_associations: usize) -> ServerConfig {
    ServerConfig {
        ae_titles: vec![OUR_AE.to_string()],
        max_pdu_length: OUR_MAX_PDU,
        max_associations,
        max_pending_connections: 16,
        max_pending_per_address: 4,
        artim_timeout: IO_TIMEOUT,
        dimse_timeout: IO_TIMEOUT,
        min_receive_bytes_per_sec: 1024,
        shutdown_grace: Duration::from_secs(2),
        implementation_class_uid: "1.2.826.0.1.3680043.10.1".to_string(),
        implementation_version_name: "DCMDISC_TEST".to_string(),
        contexts: ContextTable::standard().expect("the statement's context table"),
    }
}

pub fn start_with(max_associations: usize) -> Server {
    start_config(config(max_associations))
}

/// A server with the given configuration (on 127.0.0.1, the listener's port in `Server`).
pub fn start_config(cfg: ServerConfig) -> Server {
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
            let _ = serve(listener, cfg, services, shutdown).await;
        });
    });
    Server {
        addr,
        fake,
        stop: Some(stop),
        thread: Some(thread),
    }
}

pub fn start() -> Server {
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
