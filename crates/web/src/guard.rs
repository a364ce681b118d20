//! What keeps a web page of another site out when no user exists (the server is then on
//! loopback only, and everyone reaching it is the local operator), and the API's JSON rule.
//!
//! - DNS rebinding: a page of `evil.example` whose name is made to resolve to 127.0.0.1 is,
//!   to the browser, the same origin as the API and can read it. Its requests carry
//!   `Host: evil.example`; with no user, only loopback hosts (`127.x.x.x`, `[::1]`,
//!   `localhost`, with any port) are served (`403`). With users this is not needed: such a
//!   page's requests carry no session cookie of ours (SameSite=Strict, another site) and no
//!   token, so they are anonymous; and a LAN name or address must work then.
//! - Cross-site requests: a page may send a "simple" POST (a form, or `fetch` with
//!   `no-cors`) without asking the server first. A POST to `/api/` must say
//!   `Content-Type: application/json`, which no simple request can, so the browser has to ask
//!   first (CORS preflight) and, this API allowing no other origin, never sends it (`415`).
//!   Always, users or not (the API takes JSON); page forms (outside `/api/`) carry a CSRF
//!   token instead (`auth/csrf.rs`).

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};

use crate::error::ApiError;

/// `Host` names a loopback address or `localhost` (a request without one, HTTP/1.0, passes:
/// browsers always send it).
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        match rest.split_once(']') {
            Some((v6, _)) => v6,
            None => return false,
        }
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn json_content(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// No user exists: the `Host` must be loopback.
pub(crate) fn local_only(req: &Request) -> Result<(), ApiError> {
    match req.headers().get(header::HOST) {
        Some(host) if !host.to_str().is_ok_and(loopback_host) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the Host header must name a loopback address or localhost (no user exists: \
             see `dcmdisc user add`)",
        )),
        _ => Ok(()),
    }
}

/// A POST to the API is JSON.
pub(crate) fn json_api(req: &Request) -> Result<(), ApiError> {
    let api = req.uri().path().starts_with("/api/");
    if api && req.method() == Method::POST && !json_content(req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a POST must be sent with Content-Type: application/json",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::loopback_host;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8104",
            "127.9.9.9:1",
            "localhost",
            "LOCALHOST:8104",
            "[::1]",
            "[::1]:8104",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8104",
            "localhost.evil.example",
            "10.0.0.1:8104",
            "[2001:db8::1]:8104",
            "[::1",
            "",
            "127.0.0.1.nip.io",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }
}
