//! What the web API tests share: a data folder whose index holds one collection of small CT
//! files, a simulator burner, the router over it, and calls that answer status and JSON.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use dcmdisc_app::config::jobs::{BurnerConfig, BurnerKind, SimDisc};
use dcmdisc_app::{Activity, Config, ControlDb, Open, Shutdown};
use dcmdisc_testkit::Scratch;
use dcmdisc_web::{router, Api};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// One Explicit VR Little Endian element (the short or the long header form by VR).
fn element(out: &mut Vec<u8>, group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) {
    let mut value = value.to_vec();
    if value.len() % 2 == 1 {
        value.push(if vr == b"UI" { 0 } else { b' ' });
    }
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    out.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(&value);
}

/// A CT Image Storage instance `n` of `study`, Explicit VR LE, with `pixels` bytes of pixels.
pub fn ct_file(path: &Path, study: &str, n: u32, pixels: usize) {
    let instance = format!("{study}.{n}");
    let mut meta = Vec::new();
    element(&mut meta, 0x0002, 0x0001, b"OB", &[0, 1]);
    element(&mut meta, 0x0002, 0x0002, b"UI", CT_IMAGE.as_bytes());
    element(&mut meta, 0x0002, 0x0003, b"UI", instance.as_bytes());
    element(&mut meta, 0x0002, 0x0010, b"UI", EXPLICIT_VR_LE.as_bytes());
    element(&mut meta, 0x0002, 0x0012, b"UI", b"2.25.1");
    let mut ds = Vec::new();
    element(&mut ds, 0x0008, 0x0016, b"UI", CT_IMAGE.as_bytes());
    element(&mut ds, 0x0008, 0x0018, b"UI", instance.as_bytes());
    element(&mut ds, 0x0008, 0x0020, b"DA", b"20260101");
    element(&mut ds, 0x0008, 0x0030, b"TM", b"120000");
    element(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    element(&mut ds, 0x0010, 0x0010, b"PN", b"DOE^JOHN");
    element(&mut ds, 0x0010, 0x0020, b"LO", b"P1");
    element(&mut ds, 0x0020, 0x000D, b"UI", study.as_bytes());
    element(
        &mut ds,
        0x0020,
        0x000E,
        b"UI",
        format!("{study}.0").as_bytes(),
    );
    element(&mut ds, 0x0020, 0x0010, b"SH", b"1");
    element(&mut ds, 0x0020, 0x0011, b"IS", b"1");
    element(&mut ds, 0x0020, 0x0013, b"IS", n.to_string().as_bytes());
    element(&mut ds, 0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0004, b"CS", b"MONOCHROME2");
    element(&mut ds, 0x0028, 0x0010, b"US", &1u16.to_le_bytes());
    element(
        &mut ds,
        0x0028,
        0x0011,
        b"US",
        &((pixels / 2) as u16).to_le_bytes(),
    );
    element(&mut ds, 0x0028, 0x0100, b"US", &16u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0101, b"US", &16u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0102, b"US", &15u16.to_le_bytes());
    element(&mut ds, 0x0028, 0x0103, b"US", &0u16.to_le_bytes());
    element(&mut ds, 0x7FE0, 0x0010, b"OW", &vec![7u8; pixels]);
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    element(
        &mut file,
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    file.extend_from_slice(&meta);
    file.extend_from_slice(&ds);
    std::fs::write(path, file).unwrap();
}

/// A data folder with collection 1 (DOE^JOHN, 3 CT instances) indexed, a simulator burner
/// `sim` with `discs`, and the router over it.
pub struct Fixture {
    pub scratch: Scratch,
    pub cfg: Config,
    pub activity: Arc<Activity>,
    pub shutdown: Shutdown,
    pub app: Router,
}

impl Fixture {
    pub fn new(tag: &str, discs: &[SimDisc]) -> Fixture {
        let scratch = Scratch::new(tag);
        let mut cfg = Config::default();
        cfg.archive.data_dir = scratch.path().join("data");
        cfg.archive.durable = false;
        cfg.burners = vec![BurnerConfig {
            name: "sim".into(),
            kind: BurnerKind::Simulator,
            dir: None,
            discs: discs.to_vec(),
            speed_mb_s: 0,
            ..BurnerConfig::default()
        }];
        cfg.validate().unwrap();
        let db = ControlDb::open(&cfg, Open::CreateIfMissing).unwrap();
        let src = scratch.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute(
            "INSERT INTO patient (id, patient_name, patient_id, patient_id_generated, charset)
             VALUES (1, CAST('DOE^JOHN' AS BLOB), 'P1', 0, '')",
            [],
        )
        .unwrap();
        for k in 1..=3u32 {
            let path = src.join(format!("{k}.dcm"));
            ct_file(&path, "2.25.77", k, 2048);
            let size = std::fs::metadata(&path).unwrap().len();
            conn.execute(
                "INSERT INTO instance (sop_instance_uid, sop_class_uid, transfer_syntax, patient,
                    patient_name, charset, patient_id, patient_id_generated, study_instance_uid,
                    series_instance_uid, instance_number, size, path, received, calling_ae, keys)
                 VALUES (?1, ?2, ?3, 1, CAST('DOE^JOHN' AS BLOB), '', 'P1', 0, '2.25.77',
                    '2.25.77.0', ?4, ?5, ?6, '2026-01-01T00:00:00.000Z', 'CT1', X'')",
                rusqlite::params![
                    format!("2.25.77.{k}"),
                    CT_IMAGE,
                    EXPLICIT_VR_LE,
                    k.to_string(),
                    size,
                    path.to_string_lossy()
                ],
            )
            .unwrap();
        }
        let activity = Arc::new(Activity::new());
        let shutdown = Shutdown::new();
        let app = router(Api::new(
            cfg.clone(),
            db,
            activity.clone(),
            shutdown.clone(),
        ));
        Fixture {
            scratch,
            cfg,
            activity,
            shutdown,
            app,
        }
    }

    /// The router again, for a test that changed `cfg` after `new`.
    #[allow(dead_code)]
    pub fn rebuild(&mut self) {
        let db = ControlDb::open(&self.cfg, Open::Existing).unwrap();
        self.app = router(Api::new(
            self.cfg.clone(),
            db,
            self.activity.clone(),
            self.shutdown.clone(),
        ));
    }

    /// A connection of its own to the control database, to arrange what a test needs.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.cfg.control_database_path()).unwrap()
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(30), self.app.clone().oneshot(req))
            .await
            .expect("the API answers")
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes))
        });
        (status, headers, json)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, serde_json::Value) {
        let (s, _, j) = self.call(Method::GET, uri, None).await;
        (s, j)
    }

    pub async fn post(&self, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        let (s, _, j) = self.call(Method::POST, uri, Some(body)).await;
        (s, j)
    }
}

/// Asserts an error answer: its status and that its message contains `words`.
pub fn assert_error(got: (StatusCode, serde_json::Value), status: StatusCode, words: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    let obj = got.1.as_object().expect("an error object");
    assert_eq!(obj.len(), 1, "{}", got.1);
    let msg = obj["error"].as_str().expect("error is a string");
    assert!(msg.contains(words), "{msg:?} lacks {words:?}");
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    pub event: String,
    pub id: Option<String>,
    pub data: serde_json::Value,
}

/// Reads a `text/event-stream` body event by event.
pub struct SseReader {
    body: Body,
    buf: String,
}

impl SseReader {
    pub async fn open(app: &Router, uri: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = Request::builder().uri(uri);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        SseReader {
            body: resp.into_body(),
            buf: String::new(),
        }
    }

    /// The next event (comments skipped), `None` when the stream ended; panics after 30 s
    /// (keep-alive comments do not extend that).
    pub async fn next(&mut self) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::from("message"), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                let data = serde_json::from_str(&data).unwrap();
                return Some(Sse { event, id, data });
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .expect("an event within 30 s");
            match frame {
                None => return None,
                Some(f) => {
                    if let Ok(bytes) = f.unwrap().into_data() {
                        self.buf.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
            }
        }
    }

    /// Events until one satisfies `last` (included); at most `max`.
    pub async fn until(&mut self, max: usize, last: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let mut out = Vec::new();
        for _ in 0..max {
            let e = self.next().await.expect("the stream goes on");
            let stop = last(&e);
            out.push(e);
            if stop {
                return out;
            }
        }
        panic!("no matching event among {max}: {out:#?}");
    }
}
