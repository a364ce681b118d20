//! Who is asking and may they: the layer every request passes ([`protect`]), the extractor
//! handlers and pages read the result from ([`CurrentUser`]), CSRF tokens ([`csrf`]), the
//! login rate limit, `/login` and `/logout`.
//!
//! Two regimes, decided per request by whether the control database has a user (one made
//! with `dcmdisc user add` while `serve` runs counts at once):
//!
//! - **No user** (the server is then on loopback only, `check_bind`): everyone who can reach
//!   the port is the local operator, with every right, as before logins existed. What keeps a
//!   web page of another site out is `guard.rs` (a loopback `Host`, JSON for API posts) and,
//!   for page forms, a process-wide CSRF token.
//! - **Users exist**: every path but the login form and assets needs a session cookie (with
//!   its CSRF token on every state-changing request) or `Authorization: Bearer <API token>`;
//!   the role is checked against `access.rs`'s table. Without either: `401` (API, `/metrics`)
//!   or a redirect to `/login` (pages). `/metrics` also takes `[web] metrics_token`.
//!
//! Every state-changing request that passes, or that an identified user was refused (role,
//! CSRF), and every login is written to the audit log.

mod access;
pub mod csrf;
mod limit;
pub(crate) mod login;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use dcmdisc_app::users::Role;

pub use access::{changes_state, required, Access};
pub(crate) use limit::Limiter;

use crate::error::ApiError;
use crate::state::Api;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dcmdisc_session";

/// The connection's peer address, for every request that passed the layer (from the
/// connection, never from a header a client could set).
#[derive(Debug, Clone)]
pub(crate) struct Peer(pub String);

/// How the requester proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// No user exists; the requester is on this host (loopback).
    Local,
    /// A session cookie (state-changing requests carry its CSRF token).
    Session,
    /// An API token (`Authorization: Bearer`), no cookie, so no CSRF token.
    Token,
    /// `[web] metrics_token`: `/metrics` only.
    Metrics,
}

/// The requester of a request that passed [`protect`]: an extractor for handlers and pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user name (`local` when no user exists).
    pub name: String,
    pub role: Role,
    pub via: Via,
    /// The CSRF token that forms of this page must carry (see [`csrf::field`]).
    pub csrf: String,
    /// Where the request came from (`unknown` without connection info).
    pub peer: String,
}

impl CurrentUser {
    /// Whether the user may do what `role` may.
    pub fn can(&self, role: Role) -> bool {
        self.role.allows(role)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| {
                // Only a router built without `protect` gets here: a bug, not the requester's.
                ApiError::internal("the request did not pass the authentication layer")
            })
    }
}

/// Wraps `router` (the API's and the pages') in the authentication, CSRF, role and audit
/// checks, and adds `/login` and `/logout`.
pub fn protect(router: Router<Api>, api: Api) -> Router {
    router
        .merge(login::routes())
        .layer(axum::middleware::from_fn_with_state(api.clone(), layer))
        .with_state(api)
}

fn peer_of(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn is_api(path: &str) -> bool {
    path == "/metrics" || path == "/api" || path.starts_with("/api/")
}

/// Not logged in: the API answers 401, a page sends the browser to the login form.
fn anonymous(path: &str, query: Option<&str>) -> Response {
    if is_api(path) {
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in first: a session cookie from POST /login, or Authorization: Bearer <token> \
             from `dcmdisc user token NAME`",
        )
        .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"dcmdisc\""),
        );
        r
    } else {
        let mut next = path.to_string();
        if let Some(q) = query {
            next.push('?');
            next.push_str(q);
        }
        let next: String = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        Redirect::to(&format!("/login?{next}")).into_response()
    }
}

fn forbidden(message: impl Into<String>) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, message).into_response()
}

/// Who the request is from, when users exist; `Ok(None)`: nobody (anonymous).
async fn identify(
    api: &Api,
    headers: &HeaderMap,
    path: &str,
    peer: &str,
) -> Result<Option<CurrentUser>, ApiError> {
    if let Some(token) = bearer(headers) {
        let metrics = api.inner().cfg.web.metrics_token.as_deref();
        if path == "/metrics" && metrics.is_some_and(|m| csrf::same(m, token)) {
            return Ok(Some(CurrentUser {
                name: "metrics".into(),
                role: Role::Operator,
                via: Via::Metrics,
                csrf: String::new(),
                peer: peer.into(),
            }));
        }
        let token = token.to_string();
        let user = api
            .blocking(move |s| Ok(s.db.user_by_token(&token)?))
            .await?;
        return match user {
            Some(u) => Ok(Some(CurrentUser {
                name: u.name,
                role: u.role,
                via: Via::Token,
                csrf: String::new(),
                peer: peer.into(),
            })),
            // A wrong token is not anonymous: say so rather than redirect.
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "the API token is not valid",
            )),
        };
    }
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = api.blocking(move |s| Ok(s.db.session(&id)?)).await?;
    Ok(session.map(|s| CurrentUser {
        name: s.user,
        role: s.role,
        via: Via::Session,
        csrf: s.csrf,
        peer: peer.into(),
    }))
}

async fn layer(State(api): State<Api>, req: Request, next: Next) -> Response {
    let peer = peer_of(&req);
    let has_users = match api.blocking(|s| Ok(s.db.has_users()?)).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let need = required(&method, &path);
    let user = if has_users {
        let headers = req.headers().clone();
        match identify(&api, &headers, &path, &peer).await {
            Err(e) => return e.into_response(),
            Ok(Some(u)) => Some(u),
            Ok(None) if need == Access::Public => None,
            Ok(None) => return anonymous(&path, req.uri().query()),
        }
    } else {
        // Loopback only, and no page of another site (see guard.rs).
        if let Err(e) = crate::guard::local_only(&req) {
            return e.into_response();
        }
        Some(CurrentUser {
            name: "local".into(),
            role: Role::Admin,
            via: Via::Local,
            csrf: api.inner().local_csrf.clone(),
            peer: peer.clone(),
        })
    };
    if let Some(u) = &user {
        let allowed = match need {
            Access::Public => true,
            Access::User => u.via != Via::Metrics || path == "/metrics",
            Access::Role(r) => u.via != Via::Metrics && u.can(r),
        };
        if !allowed {
            let needs = match need {
                Access::Role(r) => format!("the {r} role"),
                _ => "a user login".into(),
            };
            if changes_state(&method) {
                record(&api, &u.name, &method, &path, &peer, "403").await;
            }
            return forbidden(format!("{} {path} needs {needs}", method));
        }
    }
    if let Err(e) = crate::guard::json_api(&req) {
        return e.into_response();
    }
    let mut req = req;
    // `/login` has no session yet; it checks `Origin` instead (login.rs).
    if changes_state(&method) && path != "/login" {
        if let Some(u) = user
            .as_ref()
            .filter(|u| matches!(u.via, Via::Session | Via::Local))
        {
            // The API's JSON posts from the no-user loopback case are covered by guard.rs;
            // forms there, and everything with a cookie, carry the token.
            let needs_token = u.via == Via::Session || !is_api(&path);
            if needs_token {
                match csrf::check(req, &u.csrf).await {
                    Ok(r) => req = r,
                    Err(e) => {
                        // Who was refused, and what: a forged request shows up here.
                        record(&api, &u.name, &method, &path, &peer, "403").await;
                        return e.into_response();
                    }
                }
            }
        }
    }
    let audited = changes_state(&method) && path != "/login";
    let actor = user.as_ref().map(|u| u.name.clone());
    req.extensions_mut().insert(Peer(peer.clone()));
    if let Some(u) = user {
        req.extensions_mut().insert(u);
    }
    let resp = next.run(req).await;
    if audited {
        let actor = actor.unwrap_or_else(|| "anonymous".into());
        let outcome = resp.status().as_u16().to_string();
        record(&api, &actor, &method, &path, &peer, &outcome).await;
    }
    resp
}

/// One audit row for `method path`.
async fn record(api: &Api, actor: &str, method: &Method, path: &str, peer: &str, outcome: &str) {
    let (actor, peer, outcome) = (actor.to_string(), peer.to_string(), outcome.to_string());
    let action = format!("{method} {path}");
    // An action that happened is not undone because its record failed; it is logged.
    if let Err(e) = api
        .blocking(move |s| Ok(s.db.audit(&actor, &action, &peer, &outcome)?))
        .await
    {
        tracing::error!(error = %e.message, "audit log write failed");
    }
}
