//! The forms' CSRF token (`auth/csrf.rs`). Every form of the templates writes
//! [`Chrome::token_field`](super::render::Chrome::token_field), a hidden field whose value is
//! [`MARKER`]; this layer, inside the authentication layer, puts the requester's token in its
//! place in every HTML page it answers. So the pages' handlers and templates need not carry
//! the user, and a form can never be written without the field.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::CurrentUser;
use crate::error::ApiError;

/// The value the templates write; never a real token (those are hex).
pub(crate) const MARKER: &str = "__DCMDISC_CSRF_TOKEN__";

/// The largest page this layer rewrites (ours are tens of kilobytes).
const MAX_PAGE: usize = 16 * 1024 * 1024;

pub(crate) async fn fill(req: Request, next: Next) -> Response {
    let token = req
        .extensions()
        .get::<CurrentUser>()
        .map(|u| u.csrf.clone())
        .unwrap_or_default();
    let res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !html {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match to_bytes(body, MAX_PAGE).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::internal(format!("a page could not be read: {e}")).into_response()
        }
    };
    let page = String::from_utf8_lossy(&bytes).replace(MARKER, &token);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}
