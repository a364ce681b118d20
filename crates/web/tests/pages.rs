//! The operator's pages: every route answers HTML with the page's security headers, every
//! value from outside (a patient name, a store log reason) is escaped, and the forms act
//! through the same operations as the JSON API (and only from this origin).

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use common::Fixture;
use dcmdisc_app::config::jobs::SimDisc;
use http_body_util::BodyExt;
use tower::ServiceExt;

const HOSTILE: &str = "<script>alert(1)</script>^\"Bobby\"&'";
const HOSTILE_REASON: &str = "<img src=x onerror=alert(2)>";

/// A page request: status, headers, body text.
async fn send(
    f: &Fixture,
    method: Method,
    uri: &str,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    // Every form of our pages carries the session's CSRF token (auth/csrf.rs): so does this
    // one, whatever else a test changes about the request.
    let form = match form {
        Some(body) => {
            let token = csrf_token(f).await;
            Some(if body.is_empty() {
                format!("csrf={token}")
            } else {
                format!("{body}&csrf={token}")
            })
        }
        None => None,
    };
    let mut req = Request::builder().method(method).uri(uri);
    if form.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(form.map(Body::from).unwrap_or_default()).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), f.app.clone().oneshot(req))
        .await
        .expect("the server answers")
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The CSRF token a page's forms carry (`GET /api/session`, as the pages' script reads it).
async fn csrf_token(f: &Fixture) -> String {
    let req = Request::builder()
        .uri("/api/session")
        .body(Body::empty())
        .unwrap();
    let resp = f.app.clone().oneshot(req).await.unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["csrf"].as_str().unwrap().to_string()
}

async fn page(f: &Fixture, uri: &str) -> (StatusCode, HeaderMap, String) {
    send(f, Method::GET, uri, None, &[]).await
}

/// A form post as our own page sends it.
async fn submit(f: &Fixture, uri: &str, body: &str) -> (StatusCode, HeaderMap, String) {
    send(
        f,
        Method::POST,
        uri,
        Some(body),
        &[("sec-fetch-site", "same-origin")],
    )
    .await
}

/// Collection 2: a patient whose name is markup, one instance; a store log failure whose
/// reason is markup.
fn hostile(f: &Fixture) {
    let sql = f.sql();
    sql.execute(
        "INSERT INTO patient (id, patient_name, patient_id, patient_id_generated, charset)
         VALUES (2, CAST(?1 AS BLOB), 'GEN-1', 1, 'ISO_IR 192')",
        [HOSTILE],
    )
    .unwrap();
    let src = f.scratch.path().join("src").join("h.dcm");
    common::ct_file(&src, "2.25.88", 1, 2048);
    let size = std::fs::metadata(&src).unwrap().len();
    sql.execute(
        "INSERT INTO instance (sop_instance_uid, sop_class_uid, transfer_syntax, patient,
            patient_name, charset, patient_id, patient_id_generated, study_instance_uid,
            series_instance_uid, instance_number, size, path, received, calling_ae, keys)
         VALUES ('2.25.88.1', ?1, ?2, 2, CAST(?3 AS BLOB), 'ISO_IR 192', 'GEN-1', 1,
            '2.25.88', '2.25.88.0', '1', ?4, ?5, '2026-01-02T00:00:00.000Z', 'CT1', X'')",
        rusqlite::params![
            common::CT_IMAGE,
            common::EXPLICIT_VR_LE,
            HOSTILE,
            size,
            src.to_string_lossy()
        ],
    )
    .unwrap();
    sql.execute(
        "INSERT INTO store_log (time, status, calling_ae, peer, sop_class_uid,
            sop_instance_uid, reason)
         VALUES ('2026-01-02T00:00:01.000Z', 42752, 'EVIL<b>', '127.0.0.1:1', ?1, '1.2', ?2)",
        rusqlite::params![common::CT_IMAGE, HOSTILE_REASON],
    )
    .unwrap();
}

fn assert_page(uri: &str, got: &(StatusCode, HeaderMap, String)) {
    let (status, headers, body) = got;
    assert_eq!(*status, StatusCode::OK, "{uri}: {body}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{uri}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{uri}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{uri}: {csp}");
    assert!(!csp.contains("unsafe"), "{uri}: {csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
    assert!(body.starts_with("<!DOCTYPE html>"), "{uri}");
    // The only script is our own file; no markup from outside got through.
    assert_eq!(body.matches("<script").count(), 1, "{uri}: {body}");
    assert!(
        body.contains(r#"<script src="/static/app.js" defer></script>"#),
        "{uri}"
    );
    assert!(!body.contains("<img"), "{uri}: {body}");
    assert!(!body.contains("<b>"), "{uri}: {body}");
}

#[tokio::test]
async fn every_page_answers_escaped_html_with_its_security_headers() {
    let f = Fixture::new("pages-all", &[SimDisc::Blank, SimDisc::Blank]);
    hostile(&f);
    let (s, _, job) = f
        .call(Method::POST, "/api/jobs", Some(r#"{"collection": 2}"#))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    let id = job["id"].as_i64().unwrap();
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;";
    for uri in [
        "/".to_string(),
        "/patients".into(),
        "/patients/2/disc?copies=2&profile=STD-GEN-CD&burner=sim".into(),
        "/jobs".into(),
        format!("/jobs/{id}"),
        "/burners".into(),
        "/log".into(),
        "/log?status=failure&calling_ae=&since=2026-01-01".into(),
        "/remotes".into(),
        "/config".into(),
    ] {
        let got = page(&f, &uri).await;
        assert_page(&uri, &got);
        let body = &got.2;
        if uri.starts_with("/patients") || uri.starts_with("/jobs") {
            assert!(body.contains(escaped), "{uri}: the name escaped: {body}");
        }
    }
    let (_, _, patients) = page(&f, "/patients").await;
    assert!(patients.contains("DOE^JOHN"));
    assert!(
        patients.contains("GEN-1 <span class=\"tag warn\""),
        "{patients}"
    );
    let (_, _, log) = page(&f, "/log?status=failure").await;
    assert!(
        log.contains("&#60;img src=x onerror=alert(2)&#62;"),
        "{log}"
    );
    assert!(log.contains("EVIL&#60;b&#62;"), "{log}");
    assert!(!log.contains("2.25.77"), "only failures: {log}");
    let (_, _, plan) = page(&f, "/patients/2/disc?copies=2&burner=sim").await;
    assert!(plan.contains("2 × 1 CD-R (2 discs in all)"), "{plan}");
}

#[tokio::test]
async fn assets_are_served_by_us_and_unknown_pages_are_html_404s() {
    let f = Fixture::new("pages-assets", &[SimDisc::Blank]);
    let (s, h, js) = page(&f, "/static/app.js").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert!(js.contains("EventSource"));
    let (s, h, _) = page(&f, "/static/app.css").await;
    assert_eq!(
        (s, h["content-type"].to_str().unwrap()),
        (StatusCode::OK, "text/css; charset=utf-8")
    );
    let (s, h, _) = page(&f, "/static/favicon.svg").await;
    assert_eq!(
        (s, h["content-type"].to_str().unwrap()),
        (StatusCode::OK, "image/svg+xml")
    );
    assert_eq!(
        page(&f, "/static/../Cargo.toml").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(page(&f, "/static/evil.js").await.0, StatusCode::NOT_FOUND);
    let (s, h, body) = page(&f, "/no-such-page").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("no such page"));
    // A bad value in a page's query: the API's 400 and message, as a page.
    let (s, _, body) = page(&f, "/log?since=yesterday").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("since"), "{body}");
    let (s, _, _) = page(&f, "/jobs/77").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forms_act_like_the_api_and_only_from_our_own_pages() {
    let f = Fixture::new("pages-forms", &[SimDisc::Blank]);
    // Make disc: queued, and the answer goes to the job's page.
    let (s, h, body) = submit(
        &f,
        "/jobs",
        "collection=1&copies=2&profile=STD-GEN-CD&burner=sim&priority=high&capacity_mb=",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let at = h["location"].to_str().unwrap().to_string();
    let id: i64 = at.strip_prefix("/jobs/").unwrap().parse().unwrap();
    let (_, job) = f.get(&format!("/api/jobs/{id}")).await;
    assert_eq!(
        (
            job["state"].as_str(),
            job["copies"].as_u64(),
            job["priority"].as_str()
        ),
        (Some("queued"), Some(2), Some("high"))
    );
    // From another site: refused, whichever header tells.
    for headers in [
        [("sec-fetch-site", "cross-site")],
        [("origin", "http://evil.example")],
    ] {
        let (s, _, _) = send(&f, Method::POST, "/jobs", Some("collection=1"), &headers).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{headers:?}");
    }
    let (s, _, _) = send(
        &f,
        Method::POST,
        "/jobs",
        Some("collection=1"),
        &[
            ("origin", "http://localhost:8104"),
            ("host", "localhost:8104"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "same origin by Origin and Host");
    // A refusal is the API's status and reason, as a page.
    let (s, _, body) = submit(&f, "/jobs", "collection=1&copies=0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("copies must be 1 to 99"), "{body}");
    // Priority: changed while not final.
    let (s, _, body) = submit(&f, &format!("/jobs/{id}/priority"), "priority=low").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(f.get(&format!("/api/jobs/{id}")).await.1["priority"], "low");
    let (s, _, _) = submit(&f, &format!("/jobs/{id}/priority"), "priority=urgent").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, _, jp) = page(&f, &format!("/jobs/{id}")).await;
    assert!(
        jp.contains(&format!(r#"action="/jobs/{id}/priority""#)),
        "{jp}"
    );
    // Its own log only (two jobs exist by now).
    assert!(jp.contains("<h2>Log</h2>"), "{jp}");
    assert_eq!(jp.matches("created: queued").count(), 1, "{jp}");
    // Cancel, then cancel again (409), retry of a job that did not fail (409).
    assert_eq!(
        submit(&f, &format!("/jobs/{id}/cancel"), "").await.0,
        StatusCode::SEE_OTHER
    );
    let (_, _, jp) = page(&f, &format!("/jobs/{id}")).await;
    assert!(jp.contains("queued → cancelled"), "the job's log: {jp}");
    assert_eq!(
        f.get(&format!("/api/jobs/{id}")).await.1["state"],
        "cancelled"
    );
    assert_eq!(
        submit(&f, &format!("/jobs/{id}/cancel"), "").await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        submit(&f, &format!("/jobs/{id}/retry"), "").await.0,
        StatusCode::CONFLICT
    );
    let (s, _, _) = submit(&f, &format!("/jobs/{id}/priority"), "priority=high").await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a cancelled job keeps its priority"
    );
    let (s, _, body) = submit(&f, &format!("/jobs/{id}/copy"), "copies=1").await;
    assert_eq!(s, StatusCode::CONFLICT, "only a done job is copied: {body}");
    // Pause and resume: the burner's state, and the dashboard names the action.
    assert_eq!(
        submit(&f, "/burners/sim/pause", "reason=lid+open").await.0,
        StatusCode::SEE_OTHER
    );
    let (_, burners) = f.get("/api/burners").await;
    assert_eq!(
        (burners[0]["state"].as_str(), burners[0]["reason"].as_str()),
        (Some("paused"), Some("lid open"))
    );
    let (_, _, dash) = page(&f, "/").await;
    assert!(dash.contains("Burner sim is paused: lid open"), "{dash}");
    assert!(dash.contains("resume it"), "{dash}");
    assert!(dash.contains(r#"action="/burners/sim/resume""#), "{dash}");
    assert_eq!(
        submit(&f, "/burners/sim/resume", "").await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(f.get("/api/burners").await.1[0]["state"], "ready");
    assert_eq!(
        submit(&f, "/burners/nope/pause", "").await.0,
        StatusCode::BAD_REQUEST
    );
    // Remote AEs: add, list, remove, remove again (404).
    let (s, _, body) = submit(&f, "/remotes", "ae_title=CT_ROOM&host=127.0.0.1&port=11112").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, _, list) = page(&f, "/remotes").await;
    assert!(list.contains("CT_ROOM") && list.contains("11112"), "{list}");
    assert_eq!(
        submit(&f, "/remotes", "ae_title=&host=x").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        submit(&f, "/remotes/CT_ROOM/remove", "").await.0,
        StatusCode::SEE_OTHER
    );
    assert!(!page(&f, "/remotes").await.2.contains("CT_ROOM"));
    assert_eq!(
        submit(&f, "/remotes/CT_ROOM/remove", "").await.0,
        StatusCode::NOT_FOUND
    );
    // The JSON API keeps refusing form posts.
    let (s, _, _) = send(&f, Method::POST, "/api/jobs", Some("collection=1"), &[]).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn the_api_plans_pauses_resumes_and_copies() {
    let f = Fixture::new("pages-api", &[SimDisc::Blank]);
    let (s, plan) = f
        .get("/api/patients/1/plan?copies=3&profile=STD-GEN-DVD-JPEG")
        .await;
    assert_eq!(s, StatusCode::OK, "{plan}");
    assert_eq!(
        (
            plan["volumes"].as_u64(),
            plan["discs"].as_u64(),
            plan["medium"].as_str(),
            plan["instances"].as_u64()
        ),
        (Some(1), Some(3), Some("DVD"), Some(3))
    );
    common::assert_error(
        f.get("/api/patients/9/plan").await,
        StatusCode::BAD_REQUEST,
        "collection 9",
    );
    common::assert_error(
        f.get("/api/patients/1/plan?copies=0").await,
        StatusCode::BAD_REQUEST,
        "copies",
    );
    common::assert_error(
        f.get("/api/patients/1/plan?profile=FLOPPY").await,
        StatusCode::BAD_REQUEST,
        "profile",
    );
    common::assert_error(
        f.get("/api/patients/1/plan?colour=red").await,
        StatusCode::BAD_REQUEST,
        "colour",
    );
    let (s, b) = f
        .post("/api/burners/sim/pause", r#"{"reason": "robot door"}"#)
        .await;
    assert_eq!(
        (s, b["state"].as_str(), b["reason"].as_str()),
        (StatusCode::OK, Some("paused"), Some("robot door"))
    );
    let (s, b) = f.post("/api/burners/sim/resume", "").await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("ready")));
    let (s, b) = f.post("/api/burners/sim/pause", "").await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (StatusCode::OK, Some("paused by the operator"))
    );
    common::assert_error(
        f.post("/api/burners/none/resume", "").await,
        StatusCode::BAD_REQUEST,
        "none",
    );
    common::assert_error(
        f.post("/api/burners/sim/pause", r#"{"why": 1}"#).await,
        StatusCode::BAD_REQUEST,
        "why",
    );
    let (_, job) = f.post("/api/jobs", r#"{"collection": 1}"#).await;
    let id = job["id"].as_i64().unwrap();
    common::assert_error(
        f.post(&format!("/api/jobs/{id}/copy"), r#"{"copies": 2}"#)
            .await,
        StatusCode::CONFLICT,
        "queued",
    );
    let (s, j) = f
        .post(
            &format!("/api/jobs/{id}/priority"),
            r#"{"priority": "high"}"#,
        )
        .await;
    assert_eq!(
        (s, j["priority"].as_str()),
        (StatusCode::OK, Some("high")),
        "{j}"
    );
    common::assert_error(
        f.post(
            &format!("/api/jobs/{id}/priority"),
            r#"{"priority": "asap"}"#,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "priority",
    );
    common::assert_error(
        f.post("/api/jobs/99/priority", r#"{"priority": "low"}"#)
            .await,
        StatusCode::NOT_FOUND,
        "no job 99",
    );
    common::assert_error(
        f.post("/api/jobs/99/copy", "").await,
        StatusCode::NOT_FOUND,
        "no job 99",
    );
    common::assert_error(
        f.post(&format!("/api/jobs/{id}/copy"), "[1]").await,
        StatusCode::BAD_REQUEST,
        "object",
    );
}
