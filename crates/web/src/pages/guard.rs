//! A stand-in for CSRF tokens until the login exists (issue 11 item 3): a page's form
//! `POST` is served only when the browser says it comes from this origin. Browsers send
//! `Sec-Fetch-Site` with every request (`same-origin` from our own pages) and `Origin` with
//! every POST; a request with neither is not from a browser (curl on this host), which the
//! loopback-only bind already admits to the JSON API.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn same_origin(req: &Request) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site") {
        // `none`: the operator typed or bookmarked it (not for a POST, but harmless).
        return matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    match (h.get(header::ORIGIN), h.get(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => match (origin.to_str(), host.to_str()) {
            (Ok(o), Ok(host)) => o
                .split_once("://")
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host)),
            _ => false,
        },
        (Some(_), None) => false,
    }
}

pub(crate) async fn same_origin_posts(req: Request, next: Next) -> Response {
    if req.method() == Method::POST && !same_origin(&req) {
        return (
            StatusCode::FORBIDDEN,
            "a form may be sent only from dcmdisc's own pages",
        )
            .into_response();
    }
    next.run(req).await
}
