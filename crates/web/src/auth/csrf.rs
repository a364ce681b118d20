//! CSRF: the synchronizer token. Each session has a random token (the database keeps it with
//! the session); every state-changing request with the session's cookie must carry it, in the
//! `X-CSRF-Token` header (scripts) or a `csrf` form field ([`field`], forms). A page of
//! another site can make the browser send the cookie (were it not SameSite=Strict) but cannot
//! read the token, so it cannot send it.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, StatusCode};

use crate::error::ApiError;

/// The header scripts send the token in.
pub const HEADER: &str = "x-csrf-token";
/// The form field forms send it in.
pub const FIELD: &str = "csrf";
/// The largest form body read to find the field (our forms are a few fields).
const MAX_FORM: usize = 64 * 1024;

/// Equal, in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The hidden field a form of a page for `user` must contain.
pub fn field(user: &super::CurrentUser) -> String {
    // The token is hex: nothing to escape.
    format!(
        r#"<input type="hidden" name="{FIELD}" value="{}">"#,
        user.csrf
    )
}

fn refused(why: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, format!("CSRF check failed: {why}"))
}

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Passes `req` on (its body put back) if it carries `expected`; else `403`.
pub(crate) async fn check(req: Request, expected: &str) -> Result<Request, ApiError> {
    if expected.is_empty() {
        return Err(refused("this session has no token"));
    }
    if let Some(v) = req.headers().get(HEADER) {
        return match v.to_str() {
            Ok(t) if same(t, expected) => Ok(req),
            _ => Err(refused("the X-CSRF-Token header is wrong")),
        };
    }
    if !is_form(&req) {
        return Err(refused(
            "no X-CSRF-Token header (or csrf field of a form) was sent",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| refused("the form is too large"))?;
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| refused("the form cannot be read"))?;
    match fields.iter().find(|(k, _)| k == FIELD) {
        Some((_, t)) if same(t, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Some(_) => Err(refused("the form's csrf field is wrong")),
        None => Err(refused("the form has no csrf field")),
    }
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn compares_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
