//! What stands in for a login until there is one (issue 11): requests a web page on another
//! site could make the operator's browser send are refused.
//!
//! - DNS rebinding: a page of `evil.example` whose name is made to resolve to 127.0.0.1 is,
//!   to the browser, the same origin as the API and can read it. Its requests carry
//!   `Host: evil.example`; only loopback hosts (`127.x.x.x`, `[::1]`, `localhost`, with any
//!   port) are served (`403`).
//! - Cross-site requests: a page may send a "simple" POST (a form, or `fetch` with
//!   `no-cors`) without asking the server first. A POST must say
//!   `Content-Type: application/json`, which no simple request can, so the browser has to ask
//!   first (CORS preflight) and, this API allowing no other origin, never sends it (`415`).

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

pub(crate) async fn guard(req: Request, next: Next) -> Response {
    if let Some(host) = req.headers().get(header::HOST) {
        if !host.to_str().is_ok_and(loopback_host) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "the Host header must name a loopback address or localhost (the API has no \
                 login yet)",
            )
            .into_response();
        }
    }
    if req.method() == Method::POST && !json_content(&req) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a POST must be sent with Content-Type: application/json",
        )
        .into_response();
    }
    next.run(req).await
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
