//! Every endpoint of docs/api.md through the router, with its error answers.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{assert_error, Fixture};
use dcmdisc_app::activity::{AssociationEnd, AssociationInfo};
use dcmdisc_app::config::jobs::SimDisc;
use serde_json::json;

#[tokio::test]
async fn jobs_are_created_listed_shown_cancelled_and_retried() {
    let f = Fixture::new("web-jobs", &[SimDisc::Blank]);
    assert_eq!(f.get("/api/jobs").await, (StatusCode::OK, json!([])));

    let (status, headers, job) = f
        .call(
            Method::POST,
            "/api/jobs",
            Some(
                r#"{"collection": 1, "copies": 2, "burner": "sim", "priority": "high",
                     "profile": "STD-GEN-CD", "capacity_mb": 5}"#,
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_i64().unwrap();
    assert_eq!(headers["location"], format!("/api/jobs/{id}").as_str());
    for (k, v) in [
        ("collection", json!(1)),
        ("state", json!("queued")),
        ("priority", json!("high")),
        ("copies", json!(2)),
        ("burner", json!("sim")),
        ("profile", json!("STD-GEN-CD")),
        ("capacity_mb", json!(5)),
        ("progress", json!(0.0)),
        ("volumes", json!(0)),
        ("error", json!(null)),
        ("discs", json!([])),
    ] {
        assert_eq!(job[k], v, "{k}: {job}");
    }
    // Only the collection is needed: one copy, normal priority, the first burner.
    let (status, second) = f.post("/api/jobs", r#"{"collection": 1}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (&second["copies"], &second["priority"], &second["burner"]),
        (&json!(1), &json!("normal"), &json!("sim"))
    );
    let second = second["id"].as_i64().unwrap();

    let (status, list) = f.get("/api/jobs").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id, second]);
    assert_eq!(
        f.get(&format!("/api/jobs/{id}")).await,
        (StatusCode::OK, job)
    );

    let (status, cancelled) = f.post(&format!("/api/jobs/{id}/cancel"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["state"], "cancelled");
    assert_error(
        f.post(&format!("/api/jobs/{id}/cancel"), "").await,
        StatusCode::CONFLICT,
        "is cancelled",
    );
    assert_error(
        f.post(&format!("/api/jobs/{second}/retry"), "").await,
        StatusCode::CONFLICT,
        "only a failed job can be retried",
    );
    // A failed job is queued again by a retry.
    f.sql()
        .execute(
            "UPDATE job SET state = 'failed', error = 'x' WHERE id = ?1",
            [second],
        )
        .unwrap();
    let (status, retried) = f.post(&format!("/api/jobs/{second}/retry"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retried["state"], "queued");
}

#[tokio::test]
async fn job_requests_that_cannot_be_are_refused_with_the_reason() {
    let f = Fixture::new("web-job-errors", &[SimDisc::Blank]);
    for (body, words) in [
        ("{", "the job request"),
        ("[1]", "the job request"),
        (r#"{"copies": 1}"#, "missing field `collection`"),
        (
            r#"{"collection": 1, "colour": "red"}"#,
            "unknown field `colour`",
        ),
        (r#"{"collection": "one"}"#, "invalid type"),
        (
            r#"{"collection": 1, "copies": 0}"#,
            "copies must be 1 to 99",
        ),
        (
            r#"{"collection": 1, "copies": 100}"#,
            "copies must be 1 to 99",
        ),
        (r#"{"collection": 1, "capacity_mb": 0}"#, "at least 1 MiB"),
        (r#"{"collection": 42}"#, "collection 42 does not exist"),
        (
            r#"{"collection": 1, "burner": "nope"}"#,
            "no burner \"nope\"",
        ),
        (
            r#"{"collection": 1, "priority": "urgent"}"#,
            "priority: \"urgent\"",
        ),
        (r#"{"collection": 1, "profile": "CD"}"#, "STD-GEN-CD"),
    ] {
        assert_error(
            f.post("/api/jobs", body).await,
            StatusCode::BAD_REQUEST,
            words,
        );
    }
    // Nothing was queued by any of them.
    assert_eq!(f.get("/api/jobs").await, (StatusCode::OK, json!([])));
    for path in ["/api/jobs/7", "/api/jobs/7/cancel", "/api/jobs/7/retry"] {
        let got = if path.ends_with('7') {
            f.get(path).await
        } else {
            f.post(path, "").await
        };
        assert_error(got, StatusCode::NOT_FOUND, "no job 7");
    }
    for path in [
        "/api/jobs/seven",
        "/api/jobs/1.5/cancel",
        "/api/jobs/-/retry",
    ] {
        let got = if path.contains("seven") {
            f.get(path).await
        } else {
            f.post(path, "").await
        };
        assert_error(got, StatusCode::BAD_REQUEST, "is not a number");
    }
}

#[tokio::test]
async fn burners_and_patients_are_listed_as_the_cli_lists_them() {
    let f = Fixture::new("web-listings", &[SimDisc::Written, SimDisc::Blank]);
    let (status, burners) = f.get("/api/burners").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(burners.as_array().unwrap().len(), 1);
    let b = &burners[0];
    assert_eq!(
        (&b["name"], &b["kind"], &b["state"]),
        (&json!("sim"), &json!("simulator"), &json!("ready"))
    );
    assert_eq!(
        b["discs"],
        json!([
            {"disc": "written", "outcome": "unused", "label": ""},
            {"disc": "blank", "outcome": "unused", "label": ""}
        ])
    );
    let (status, patients) = f.get("/api/patients").await;
    assert_eq!(status, StatusCode::OK);
    let p = &patients[0];
    assert_eq!(patients.as_array().unwrap().len(), 1);
    for (k, v) in [
        ("id", json!(1)),
        ("patient_name", json!("DOE^JOHN")),
        ("patient_id", json!("P1")),
        ("patient_id_generated", json!(false)),
        ("studies", json!(1)),
        ("series", json!(1)),
        ("instances", json!(3)),
    ] {
        assert_eq!(p[k], v, "{k}: {p}");
    }
}

#[tokio::test]
async fn the_store_log_is_filtered_and_bad_filters_are_refused() {
    let f = Fixture::new("web-log", &[SimDisc::Blank]);
    let sql = f.sql();
    for (time, status, ae) in [
        ("2026-01-01T10:00:00.000Z", 0, "CT1"),
        ("2026-01-01T11:00:00.000Z", 0xA700, "CT1"),
        ("2026-01-02T09:00:00.000Z", 0, "MR1"),
        ("2026-01-02T10:00:00.000Z", 0xC000, "MR1"),
    ] {
        sql.execute(
            "INSERT INTO store_log (time, status, calling_ae, peer, sop_class_uid,
                sop_instance_uid, reason) VALUES (?1, ?2, ?3, '127.0.0.1:5', '1.2', '1.2.3', 'r')",
            rusqlite::params![time, status, ae],
        )
        .unwrap();
    }
    let rows = |j: serde_json::Value| -> Vec<String> {
        j.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["status"].as_str().unwrap(),
                    e["calling_ae"].as_str().unwrap()
                )
            })
            .collect()
    };
    let (status, all) = f.get("/api/log").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rows(all.clone()),
        ["0000 CT1", "A700 CT1", "0000 MR1", "C000 MR1"]
    );
    for k in [
        "time",
        "status",
        "calling_ae",
        "peer",
        "sop_class_uid",
        "sop_instance_uid",
        "reason",
    ] {
        assert!(all[0].get(k).is_some(), "{k}: {}", all[0]);
    }
    for (query, want) in [
        ("status=failure", vec!["A700 CT1", "C000 MR1"]),
        ("status=success&calling_ae=MR1", vec!["0000 MR1"]),
        ("status=a700", vec!["A700 CT1"]),
        ("since=2026-01-02", vec!["0000 MR1", "C000 MR1"]),
        (
            "since=2026-01-01T10:30:00Z&limit=2",
            vec!["0000 MR1", "C000 MR1"],
        ),
        ("limit=1", vec!["C000 MR1"]),
        ("calling_ae=NOBODY", vec![]),
    ] {
        let (status, got) = f.get(&format!("/api/log?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {got}");
        assert_eq!(rows(got), want, "{query}");
    }
    for (query, words) in [
        ("status=ok", "status = \"ok\""),
        ("since=yesterday", "since = \"yesterday\""),
        ("limit=0", "limit = \"0\""),
        ("limit=many", "limit = \"many\""),
        ("limit=10001", "limit = \"10001\""),
        ("sort=time", "unknown field `sort`"),
    ] {
        assert_error(
            f.get(&format!("/api/log?{query}")).await,
            StatusCode::BAD_REQUEST,
            words,
        );
    }
}

#[tokio::test]
async fn the_associations_open_now_are_listed_with_their_counts() {
    let f = Fixture::new("web-assoc", &[SimDisc::Blank]);
    assert_eq!(
        f.get("/api/associations").await,
        (StatusCode::OK, json!([]))
    );
    let info = AssociationInfo {
        id: 12,
        calling_ae: "CT1".into(),
        called_ae: "CDP_PRINTER".into(),
        peer: "127.0.0.1:50001".parse().unwrap(),
    };
    f.activity.opened(&info);
    f.activity.byte_counter(12).unwrap().add(5000);
    f.activity.stored(12, true);
    f.activity.stored(12, true);
    f.activity.stored(12, false);
    let (status, list) = f.get("/api/associations").await;
    assert_eq!(status, StatusCode::OK);
    let a = &list[0];
    assert_eq!(list.as_array().unwrap().len(), 1);
    for (k, v) in [
        ("id", json!(12)),
        ("peer", json!("127.0.0.1:50001")),
        ("calling_ae", json!("CT1")),
        ("called_ae", json!("CDP_PRINTER")),
        ("instances", json!(2)),
        ("failures", json!(1)),
        ("bytes", json!(5000)),
    ] {
        assert_eq!(a[k], v, "{k}: {a}");
    }
    assert!(a["since"].as_str().unwrap().ends_with('Z'));
    f.activity.closed(&info, AssociationEnd::Released);
    assert_eq!(
        f.get("/api/associations").await,
        (StatusCode::OK, json!([]))
    );
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_failures_answer_json_errors() {
    let f = Fixture::new("web-errors", &[SimDisc::Blank]);
    assert_error(
        f.get("/api/nothing").await,
        StatusCode::NOT_FOUND,
        "no such API path",
    );
    assert_error(f.get("/").await, StatusCode::NOT_FOUND, "no such API path");
    let (s, _, j) = f.call(Method::DELETE, "/api/jobs", None).await;
    assert_error((s, j), StatusCode::METHOD_NOT_ALLOWED, "not allowed");
    assert_error(
        f.post("/api/patients", "{}").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "not allowed",
    );
    assert_error(
        f.get("/api/jobs/1/cancel").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "not allowed",
    );
    // The database cannot answer: 500, with the reason.
    f.sql().execute_batch("DROP TABLE job_disc").unwrap();
    f.post("/api/jobs", r#"{"collection": 1}"#).await;
    assert_error(
        f.get("/api/jobs").await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "job_disc",
    );
}

/// A request as a page of another site could make a browser send it.
async fn raw(
    f: &Fixture,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = f
        .app
        .clone()
        .oneshot(
            req.body(axum::body::Body::from(r#"{"collection": 1}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn requests_another_site_could_send_are_refused() {
    let f = Fixture::new("web-guard", &[SimDisc::Blank]);
    // DNS rebinding: the browser sends the attacker's host name.
    for host in ["evil.example", "evil.example:8104", "192.0.2.1:8104"] {
        assert_error(
            raw(&f, Method::GET, "/api/jobs", &[("host", host)]).await,
            StatusCode::FORBIDDEN,
            "Host header",
        );
    }
    for host in ["127.0.0.1:8104", "localhost:8104", "[::1]:8104"] {
        assert_eq!(
            raw(&f, Method::GET, "/api/jobs", &[("host", host)]).await.0,
            StatusCode::OK
        );
    }
    // A form post or a no-cors fetch cannot say application/json.
    for headers in [
        &[][..],
        &[("content-type", "text/plain")][..],
        &[("content-type", "application/x-www-form-urlencoded")][..],
    ] {
        assert_error(
            raw(&f, Method::POST, "/api/jobs", headers).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json",
        );
    }
    assert_error(
        raw(
            &f,
            Method::POST,
            "/api/jobs/1/cancel",
            &[("content-type", "text/plain")],
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Content-Type",
    );
    // Nothing was queued; with the right type it is.
    assert_eq!(f.get("/api/jobs").await, (StatusCode::OK, json!([])));
    let ok = raw(
        &f,
        Method::POST,
        "/api/jobs",
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("host", "127.0.0.1"),
        ],
    )
    .await;
    assert_eq!(ok.0, StatusCode::CREATED, "{}", ok.1);
}
