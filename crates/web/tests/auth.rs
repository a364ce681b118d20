//! The login and its rules (docs/security.md): no user → loopback `Host` only; with users →
//! 401 or a redirect without a session, 403 for the wrong role, CSRF tokens on every change
//! made with a cookie, 429 after five logins a minute, the cookie's attributes, API tokens,
//! the audit log, Argon2id hashes, and `/metrics` in the Prometheus text format.

// Test code: a panic is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use common::Fixture;
use dcmdisc_app::config::jobs::SimDisc;
use dcmdisc_app::users::{verify_password, Role};
use dcmdisc_app::{ControlDb, Open};
use dcmdisc_web::{router, Api};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ADMIN_PW: &str = "admin password 1";
const OPERATOR_PW: &str = "operator password";

struct Web {
    f: Fixture,
    app: Router,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Web {
    /// The fixture with users `ann` (admin) and `otto` (operator) when `users`.
    fn new(tag: &str, users: bool) -> Web {
        Web::with_config(tag, users, |_| {})
    }

    fn with_config(tag: &str, users: bool, edit: impl FnOnce(&mut dcmdisc_app::Config)) -> Web {
        let mut f = Fixture::new(tag, &[SimDisc::Blank, SimDisc::Blank]);
        edit(&mut f.cfg);
        let db = ControlDb::open(&f.cfg, Open::Existing).unwrap();
        if users {
            db.add_user(&"ann".parse().unwrap(), Role::Admin, ADMIN_PW)
                .unwrap();
            db.add_user(&"otto".parse().unwrap(), Role::Operator, OPERATOR_PW)
                .unwrap();
        }
        let app = router(Api::new(
            f.cfg.clone(),
            db,
            f.activity.clone(),
            f.shutdown.clone(),
        ));
        Web { f, app }
    }

    fn db(&self) -> ControlDb {
        ControlDb::open(&self.f.cfg, Open::Existing).unwrap()
    }

    async fn send_from(&self, mut req: Request<Body>, peer: &str) -> Answer {
        let peer: SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        self.send_from(req, "127.0.0.1:50000").await
    }

    /// `method uri` with these headers and body.
    async fn req(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn login_from(&self, user: &str, password: &str, peer: &str) -> Answer {
        let body = serde_urlencoded::to_string([("user", user), ("password", password)]).unwrap();
        let req = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send_from(req, peer).await
    }

    /// Logs in: the cookie header value and the session's CSRF token.
    async fn session(&self, user: &str, password: &str) -> (String, String) {
        let a = self.login_from(user, password, "127.0.0.1:50000").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let set = a.headers[header::SET_COOKIE].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_string();
        let me = self
            .req(Method::GET, "/api/session", &[("cookie", &cookie)], "")
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        let csrf = me.json()["csrf"].as_str().unwrap().to_string();
        (cookie, csrf)
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn without_users_only_loopback_hosts_and_everything_is_allowed() {
    let w = Web::new("auth-nouser", false);
    let ok = w
        .req(Method::GET, "/api/jobs", &[("host", "127.0.0.1:8104")], "")
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let bad = w
        .req(Method::GET, "/api/jobs", &[("host", "evil.example")], "")
        .await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN, "{}", bad.body);
    // The local operator may do what an admin may, as before logins existed.
    let audit = w.req(Method::GET, "/api/audit", &[], "").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    // API posts: JSON only (415); page forms: the process's CSRF token.
    let form = ("content-type", "application/x-www-form-urlencoded");
    let a = w
        .req(Method::POST, "/api/jobs", &[form], "collection=1")
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let a = w.req(Method::POST, "/logout", &[form], "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let me = w.req(Method::GET, "/api/session", &[], "").await.json();
    assert_eq!(me["via"], "local");
    let field = format!("csrf={}", me["csrf"].as_str().unwrap());
    let a = w.req(Method::POST, "/logout", &[form], &field).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // The login form says how to make a user.
    let page = w.req(Method::GET, "/login", &[], "").await;
    assert!(page.body.contains("dcmdisc user add"), "{}", page.body);
}

#[tokio::test]
async fn with_users_nothing_but_the_login_form_is_served_anonymously() {
    let w = Web::new("auth-anon", true);
    for path in [
        "/api/jobs",
        "/api/patients",
        "/api/events",
        "/api/audit",
        "/metrics",
    ] {
        let a = w.req(Method::GET, path, &[], "").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}: {}", a.body);
        assert!(a.headers.contains_key(header::WWW_AUTHENTICATE), "{path}");
        assert!(a.json()["error"].as_str().unwrap().contains("log in"));
    }
    let a = w
        .req(Method::POST, "/api/jobs", &[JSON], r#"{"collection":1}"#)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // A page: to the login form, coming back afterwards.
    let a = w.req(Method::GET, "/jobs?state=failed", &[], "").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.headers[header::LOCATION],
        "/login?next=%2Fjobs%3Fstate%3Dfailed"
    );
    let a = w.req(Method::GET, "/login", &[], "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.body.contains("<form method=\"post\" action=\"/login\">"),
        "{}",
        a.body
    );
    assert!(a.body.contains("type=\"password\""));
    // No job was made by the refused post.
    assert!(w.db().control().jobs().unwrap().is_empty());
}

#[tokio::test]
async fn a_login_sets_a_strict_http_only_cookie_and_a_wrong_password_does_not() {
    let w = Web::new("auth-cookie", true);
    let bad = w.login_from("ann", "wrong password", "127.0.0.1:1").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(!bad.headers.contains_key(header::SET_COOKIE));
    let bad = w.login_from("nobody", ADMIN_PW, "127.0.0.1:1").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);

    let a = w.login_from("ann", ADMIN_PW, "127.0.0.1:1").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let set = a.headers[header::SET_COOKIE].to_str().unwrap();
    let attrs: Vec<&str> = set.split(';').map(str::trim).collect();
    let (name, value) = attrs[0].split_once('=').unwrap();
    assert_eq!(name, "dcmdisc_session");
    assert_eq!(value.len(), 64, "256 random bits, hex");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    for want in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&want), "{set} lacks {want}");
    }
    // Served over plain HTTP here: not Secure (the TLS test checks that it is there).
    assert!(!attrs.contains(&"Secure"), "{set}");
    // The session id is not stored as given.
    let stored: String =
        w.f.sql()
            .query_row("SELECT id_hash FROM web_session", [], |r| r.get(0))
            .unwrap();
    assert_ne!(stored, value);

    let cookie = attrs[0];
    // With users, the Host may be a LAN name.
    let a = w
        .req(
            Method::GET,
            "/api/jobs",
            &[("cookie", cookie), ("host", "dcmdisc.lan:8104")],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // A made-up session id is nobody.
    let a = w
        .req(
            Method::GET,
            "/api/jobs",
            &[("cookie", &format!("dcmdisc_session={}", "0".repeat(64)))],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // An off-site `next` is not followed.
    let body = "user=ann&password=admin+password+1&next=%2F%2Fevil.example%2F";
    let a = w
        .req(
            Method::POST,
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await;
    assert_eq!(a.headers[header::LOCATION], "/");
    // A login posted by a form of another site (login CSRF) is refused.
    let a = w
        .req(
            Method::POST,
            "/login",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:8104"),
            ],
            "user=ann&password=admin+password+1",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_change_made_with_a_cookie_needs_the_session_csrf_token() {
    let w = Web::new("auth-csrf", true);
    let (cookie, csrf) = w.session("otto", OPERATOR_PW).await;
    let body = r#"{"collection":1}"#;
    let c = ("cookie", cookie.as_str());
    let a = w.req(Method::POST, "/api/jobs", &[c, JSON], body).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body.contains("CSRF"), "{}", a.body);
    let a = w
        .req(
            Method::POST,
            "/api/jobs",
            &[c, JSON, ("x-csrf-token", &"f".repeat(64))],
            body,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(w.db().control().jobs().unwrap().is_empty());
    // Another session's token is no better.
    let (_, other) = w.session("ann", ADMIN_PW).await;
    let a = w
        .req(
            Method::POST,
            "/api/jobs",
            &[c, JSON, ("x-csrf-token", &other)],
            body,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w
        .req(
            Method::POST,
            "/api/jobs",
            &[c, JSON, ("x-csrf-token", &csrf)],
            body,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // A form: the field.
    let form = ("content-type", "application/x-www-form-urlencoded");
    let a = w
        .req(Method::POST, "/logout", &[c, form], "csrf=nope")
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w.req(Method::POST, "/logout", &[c, form], "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = w
        .req(Method::POST, "/logout", &[c, form], &format!("csrf={csrf}"))
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    // The session is over.
    let a = w.req(Method::GET, "/api/jobs", &[c], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_session_is_nobody() {
    let w = Web::new("auth-expiry", true);
    let (cookie, _) = w.session("otto", OPERATOR_PW).await;
    let c = ("cookie", cookie.as_str());
    assert_eq!(
        w.req(Method::GET, "/api/jobs", &[c], "").await.status,
        StatusCode::OK
    );
    // Its expiry passed (set in the past rather than waited for).
    w.f.sql()
        .execute(
            "UPDATE web_session SET expires_ms = expires_ms - 86400000",
            [],
        )
        .unwrap();
    let a = w.req(Method::GET, "/api/jobs", &[c], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // And a removed user's sessions end with them.
    let (cookie, _) = w.session("ann", ADMIN_PW).await;
    w.db().remove_user(&"ann".parse().unwrap()).unwrap();
    let a = w
        .req(Method::GET, "/api/jobs", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn roles_are_enforced_per_route() {
    let w = Web::new("auth-roles", true);
    let op = w.db().new_token(&"otto".parse().unwrap()).unwrap();
    let admin = w.db().new_token(&"ann".parse().unwrap()).unwrap();
    let op = format!("Bearer {op}");
    let admin = format!("Bearer {admin}");
    let auth = |t: &str| ("authorization", t.to_string());
    // An operator makes and cancels discs (no CSRF token with a bearer token).
    let (k, v) = auth(&op);
    let a = w
        .req(
            Method::POST,
            "/api/jobs",
            &[(k, &v), JSON],
            r#"{"collection":1}"#,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.json()["id"].as_i64().unwrap();
    let a = w
        .req(
            Method::POST,
            &format!("/api/jobs/{id}/cancel"),
            &[(k, &v), JSON],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = w.req(Method::GET, "/api/jobs", &[(k, &v)], "").await;
    assert_eq!(a.status, StatusCode::OK);
    // ... and may not read the audit log, or change what only admins change.
    for (m, path) in [
        (Method::GET, "/api/audit"),
        (Method::GET, "/api/users"),
        (Method::POST, "/api/remotes"),
        (Method::POST, "/api/retention"),
    ] {
        let a = w.req(m.clone(), path, &[(k, &v), JSON], "{}").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{m} {path}: {}", a.body);
        assert!(a.body.contains("admin"), "{}", a.body);
    }
    let (k, v) = auth(&admin);
    let a = w.req(Method::GET, "/api/audit", &[(k, &v)], "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Past the role check, the route itself answers (these do not exist yet: 404).
    let a = w
        .req(Method::POST, "/api/remotes", &[(k, &v), JSON], "{}")
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    // A wrong token is 401, not anonymous.
    let a = w
        .req(
            Method::GET,
            "/api/jobs",
            &[("authorization", "Bearer dcmd_0000")],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("token"), "{}", a.body);
    // A new token replaces the old one.
    let again = w.db().new_token(&"otto".parse().unwrap()).unwrap();
    let a = w
        .req(Method::GET, "/api/jobs", &[("authorization", &op)], "")
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = w
        .req(
            Method::GET,
            "/api/jobs",
            &[("authorization", &format!("Bearer {again}"))],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn logins_are_limited_per_user_and_per_peer() {
    let w = Web::new("auth-limit", true);
    for _ in 0..5 {
        let a = w.login_from("ann", "wrong password", "127.0.0.1:1").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    // The sixth within the minute: 429, even with the right password, and from elsewhere.
    for peer in ["127.0.0.1:1", "127.0.0.9:1"] {
        let a = w.login_from("ann", ADMIN_PW, peer).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{peer}");
        let wait: u64 = a.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait));
        assert!(!a.headers.contains_key(header::SET_COOKIE));
    }
    // The same peer for another user: limited too; another user from another peer: not.
    let a = w.login_from("otto", OPERATOR_PW, "127.0.0.1:2").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let a = w.login_from("otto", OPERATOR_PW, "127.0.0.8:2").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn changes_and_logins_land_in_the_audit_log() {
    let w = Web::new("auth-audit", true);
    let tok = w.db().new_token(&"otto".parse().unwrap()).unwrap();
    let bearer = format!("Bearer {tok}");
    let a = w
        .send_from(
            Request::builder()
                .method(Method::POST)
                .uri("/api/jobs")
                .header("authorization", &bearer)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"collection":1}"#))
                .unwrap(),
            "127.0.0.5:4000",
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let refused = w
        .req(Method::GET, "/api/audit", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = w
        .req(
            Method::POST,
            "/api/remotes",
            &[("authorization", &bearer), JSON],
            "{}",
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // A change with a session but a forged (missing) CSRF token.
    let (otto, _) = w.session("otto", OPERATOR_PW).await;
    let forged = w
        .req(
            Method::POST,
            "/api/jobs/1/cancel",
            &[("cookie", &otto), JSON],
            "",
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    w.login_from("ann", "wrong password", "127.0.0.6:1").await;
    let (cookie, _) = w.session("ann", ADMIN_PW).await;
    let rows = w
        .req(Method::GET, "/api/audit", &[("cookie", &cookie)], "")
        .await
        .json();
    let rows = rows.as_array().unwrap();
    let find = |actor: &str, action: &str, outcome: &str| {
        rows.iter()
            .find(|r| r["actor"] == actor && r["action"] == action && r["outcome"] == outcome)
    };
    let job = find("otto", "POST /api/jobs", "201").expect("the job's creation");
    assert_eq!(job["peer"], "127.0.0.5");
    assert!(job["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(find("ann", "login", "401").unwrap()["peer"], "127.0.0.6");
    assert!(find("ann", "login", "ok").is_some());
    // Refused changes of a known user are there too, with 403.
    assert!(
        find("otto", "POST /api/remotes", "403").is_some(),
        "{rows:?}"
    );
    assert!(
        find("otto", "POST /api/jobs/1/cancel", "403").is_some(),
        "{rows:?}"
    );
    // Reads are not audited.
    assert!(
        rows.iter()
            .all(|r| !r["action"].as_str().unwrap().starts_with("GET")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_that_verify() {
    let w = Web::new("auth-hash", true);
    let (hash, role): (String, String) =
        w.f.sql()
            .query_row(
                "SELECT password_hash, role FROM web_user WHERE name = 'otto'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
    assert_eq!(role, "operator");
    assert!(hash.starts_with("$argon2id$v=19$m="), "{hash}");
    assert!(!hash.contains(OPERATOR_PW));
    assert!(verify_password(&hash, OPERATOR_PW));
    assert!(!verify_password(&hash, ADMIN_PW));
    // A new password ends the user's sessions and the old one no longer logs in.
    let (cookie, _) = w.session("otto", OPERATOR_PW).await;
    w.db()
        .set_password(&"otto".parse().unwrap(), "another password")
        .unwrap();
    let a = w
        .req(Method::GET, "/api/jobs", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = w.login_from("otto", OPERATOR_PW, "127.0.0.3:1").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = w
        .login_from("otto", "another password", "127.0.0.3:1")
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
}

/// A small parser of the Prometheus text format 0.0.4: every sample belongs to a family
/// declared by `# TYPE`, names and labels are well-formed, values are numbers; histogram
/// buckets are cumulative and end in `+Inf` equal to `_count`. Answers the samples by
/// `name{labels}`.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name), "{line}");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind));
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "twice: {line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        assert!(!line.starts_with('#'), "{line}");
        let (key, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let name = key.split('{').next().unwrap();
        assert!(name_ok(name), "{line}");
        if let Some(labels) = key.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap();
            for pair in inner.split(',') {
                let (k, v) = pair.split_once('=').unwrap();
                assert!(name_ok(k), "{line}");
                assert!(
                    v.starts_with('"') && v.ends_with('"') && v.len() >= 2,
                    "{line}"
                );
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "no # TYPE for {line}");
        assert!(
            samples.insert(key.to_string(), value).is_none(),
            "twice: {line}"
        );
    }
    for (name, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let buckets: Vec<(&String, &f64)> = samples
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}_bucket{{")))
            .collect();
        let mut by_le: Vec<(f64, f64)> = buckets
            .iter()
            .map(|(k, v)| {
                let le = k.split("le=\"").nth(1).unwrap().trim_end_matches("\"}");
                (
                    if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    },
                    **v,
                )
            })
            .collect();
        by_le.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        assert!(
            by_le.windows(2).all(|w| w[0].1 <= w[1].1),
            "{name} not cumulative"
        );
        assert_eq!(by_le.last().unwrap().0, f64::INFINITY, "{name}");
        assert_eq!(
            by_le.last().unwrap().1,
            samples[&format!("{name}_count")],
            "{name}"
        );
        assert!(samples.contains_key(&format!("{name}_sum")));
    }
    samples
}

#[tokio::test]
async fn metrics_are_prometheus_text_behind_the_login_or_the_metrics_token() {
    let token = "0123456789abcdef0123";
    let w = Web::with_config("auth-metrics", true, |c| {
        c.web.metrics_token = Some(token.into());
    });
    // Some state to count: a job, a failed store, a rejected disc.
    let sql = w.f.sql();
    sql.execute_batch(
        "INSERT INTO store_log (time, status, calling_ae, peer, sop_class_uid, sop_instance_uid, reason)
         VALUES ('2026-01-01T00:00:00.000Z', 0, 'CT1', '127.0.0.1', '1.2', '1.2.3', ''),
                ('2026-01-01T00:00:00.000Z', 42752, 'CT1', '127.0.0.1', '1.2', '1.2.4', 'disk full');
         INSERT INTO job (id, collection, state, priority, copies, created, updated)
         VALUES (7, 1, 'done', 'normal', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:02:00.000Z');
         INSERT INTO job_disc (job, volume, copy, burner, outcome, reason, time)
         VALUES (7, 1, 1, 'sim', 'rejected', 'verify failed', '2026-01-01T00:01:00.000Z');",
    )
    .unwrap();
    w.f.activity
        .counters()
        .store_took(std::time::Duration::from_millis(20));

    let a = w.req(Method::GET, "/metrics", &[], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = w
        .req(
            Method::GET,
            "/metrics",
            &[("authorization", "Bearer wrong-token-wrong")],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {token}");
    // The metrics token reads /metrics only.
    let a = w
        .req(Method::GET, "/api/jobs", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = w
        .req(Method::GET, "/metrics", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let m = parse_prometheus(&a.body);
    assert_eq!(m["dcmdisc_instances_stored"], 3.0);
    assert!(m["dcmdisc_stored_bytes"] > 3.0 * 2048.0);
    assert_eq!(m["dcmdisc_associations_open"], 0.0);
    assert_eq!(m["dcmdisc_store_log_total{status=\"0000\"}"], 1.0);
    assert_eq!(m["dcmdisc_store_log_total{status=\"A700\"}"], 1.0);
    assert_eq!(m["dcmdisc_jobs{state=\"done\"}"], 1.0);
    assert_eq!(m["dcmdisc_job_seconds_count"], 1.0);
    assert_eq!(m["dcmdisc_job_seconds_bucket{le=\"60\"}"], 0.0);
    assert_eq!(m["dcmdisc_job_seconds_bucket{le=\"300\"}"], 1.0);
    assert_eq!(m["dcmdisc_disc_rejects_total{burner=\"sim\"}"], 1.0);
    assert_eq!(m["dcmdisc_store_seconds_count"], 1.0);
    assert_eq!(m["dcmdisc_store_seconds_bucket{le=\"0.01\"}"], 0.0);
    assert_eq!(m["dcmdisc_store_seconds_bucket{le=\"0.025\"}"], 1.0);
    // A logged-in user reads it too.
    let (cookie, _) = w.session("otto", OPERATOR_PW).await;
    let a = w
        .req(Method::GET, "/metrics", &[("cookie", &cookie)], "")
        .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[test]
fn the_parser_refuses_what_is_not_the_format() {
    for bad in [
        "dcmdisc_x 1\n",                // no # TYPE
        "# TYPE x counter\nx one\n",    // not a number
        "# TYPE x counter\nx{a=b} 1\n", // unquoted label
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_prometheus(bad)).is_err(),
            "{bad}"
        );
    }
}
