//! `GET /login` (a plain form, no script), `POST /login` (rate-limited; sets the session
//! cookie), `POST /logout` (CSRF-checked by the layer; ends the session).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use dcmdisc_app::users::SESSION_LIFETIME;
use serde::Deserialize;

use super::{cookie, Peer, SESSION_COOKIE};
use crate::error::ApiError;
use crate::state::Api;

pub(crate) fn routes() -> Router<Api> {
    Router::new()
        .route("/login", get(form).post(login))
        .route("/logout", post(logout))
        .route("/api/session", get(whoami))
}

/// `GET /api/session`: who is logged in, their role, and the CSRF token a script sends as
/// `X-CSRF-Token` (readable only by pages of this origin).
async fn whoami(Extension(u): Extension<super::CurrentUser>) -> Response {
    let via = match u.via {
        super::Via::Local => "local",
        super::Via::Session => "session",
        super::Via::Token => "token",
        super::Via::Metrics => "metrics",
    };
    no_store(
        axum::Json(serde_json::json!({
            "user": u.name, "role": u.role, "via": via, "csrf": u.csrf,
        }))
        .into_response(),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextParam {
    next: Option<String>,
}

/// Only a path of this site: never `//other.example` or `https://...` (an open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(message: Option<&str>, next: &str) -> Html<String> {
    let message = message
        .map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>\n", escape(m)))
        .unwrap_or_default();
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Log in — dcmdisc</title></head>\n<body><main>\n<h1>dcmdisc: log in</h1>\n\
         {message}<form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\n\
         <p><label for=\"user\">User name</label><br>\
         <input id=\"user\" name=\"user\" autocomplete=\"username\" required autofocus></p>\n\
         <p><label for=\"password\">Password</label><br>\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></p>\n\
         <p><button type=\"submit\">Log in</button></p>\n</form>\n</main></body></html>\n",
        escape(next)
    ))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn form(
    State(api): State<Api>,
    params: Result<Query<NextParam>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let next = params.ok().and_then(|Query(p)| p.next);
    let has_users = api.blocking(|s| Ok(s.db.has_users()?)).await?;
    let msg = (!has_users).then_some(
        "No user exists yet: this server is open on loopback only. Create one with \
         `dcmdisc user add NAME --role admin`.",
    );
    Ok(no_store(
        page(msg, safe_next(next.as_deref())).into_response(),
    ))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    next: Option<String>,
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
/// makes the browser send it), Secure when served over TLS.
fn session_cookie(value: &str, max_age: u64, tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

/// `Origin`, when a browser sends one, must be this server: a login form of another site
/// posting a known account's password would log the victim's browser in as that account.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

async fn login(
    State(api): State<Api>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a login must come from this server's own form (Origin differs)",
        ));
    }
    let f: LoginForm = serde_urlencoded::from_bytes(&body)
        .map_err(|_| ApiError::bad_request("the login form needs the fields user and password"))?;
    let next = safe_next(f.next.as_deref()).to_string();
    // Keys: the name as typed, cut (an attacker's names must not fill memory), and the peer.
    let name: String = f.user.chars().take(64).collect();
    let keys = [format!("user:{name}"), format!("peer:{peer}")];
    if let Err(wait) = api.inner().limiter.attempt(&keys, Instant::now()) {
        let secs = wait.as_secs().max(1);
        let (n, p) = (name.clone(), peer.clone());
        let _ = api
            .blocking(move |s| Ok(s.db.audit(&n, "login", &p, "429")?))
            .await;
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            page(
                Some(&format!("Too many login attempts: try again in {secs} s.")),
                &next,
            ),
        )
            .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(no_store(r));
    }
    let (n, p, password) = (name.clone(), peer.clone(), f.password);
    let session = api
        .blocking(move |s| {
            let user = s.db.authenticate(&n, &password)?;
            let outcome = if user.is_some() { "ok" } else { "401" };
            s.db.audit(&n, "login", &p, outcome)?;
            match user {
                Some(u) => Ok(Some(s.db.new_session(&u.name, &p)?)),
                None => Ok(None),
            }
        })
        .await?;
    let Some(id) = session else {
        return Ok(no_store(
            (
                StatusCode::UNAUTHORIZED,
                page(Some("Wrong user name or password."), &next),
            )
                .into_response(),
        ));
    };
    let tls = api.inner().tls;
    let mut r = Redirect::to(&next).into_response();
    let c = session_cookie(&id, SESSION_LIFETIME.as_secs(), tls);
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&c).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(no_store(r))
}

async fn logout(State(api): State<Api>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        api.blocking(move |s| Ok(s.db.end_session(&id)?)).await?;
    }
    let mut r = Redirect::to("/login").into_response();
    let c = session_cookie("", 0, api.inner().tls);
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&c).map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/jobs?x=1")), "/jobs?x=1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "jobs",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_cookie_has_its_attributes() {
        let c = session_cookie("abc", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!session_cookie("abc", 60, false).contains("Secure"));
    }
}
