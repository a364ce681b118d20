//! dcmdisc's JSON HTTP API and Server-Sent Events stream (docs/api.md) and the operator's
//! pages over them (docs/web-ui.md, module `pages`), served by
//! `dcmdisc serve` beside the DICOM listener on `[web] bind_address`:`port`, on the same
//! Tokio runtime, and stopped by the same [`Shutdown`](dcmdisc_app::Shutdown) token.
//!
//! **For**: turning HTTP requests into calls of the application layer's operations (the
//! ones the CLI calls: jobs, burners, patients, the store log) and its views into JSON;
//! the associations open now; `GET /api/events`, which tails the control database's event
//! log by id (so a stream resumed with `Last-Event-ID` misses and repeats nothing) and adds
//! progress, burner and association changes as they happen.
//!
//! Also who may ask (`auth`): the login form and sessions, API tokens, CSRF tokens, roles
//! per route, the login rate limit, the audit of every change; `/metrics`; HTTPS (`tls.rs`).
//! While no user exists the server refuses any bind address but loopback ([`check_bind`])
//! and refuses requests a page of another site could make a browser send (`guard.rs`).
//!
//! **Not for**: any work of its own — no DICOM, no SQL, no files: a handler that needs more
//! than an app call and a conversion to JSON means the operation belongs in `app`, where the
//! CLI shares it. Users' storage, hashing and the metrics' contents are `app`'s.

mod actions;
mod audit;
pub mod auth;
mod error;
mod events;
mod guard;
mod jobs;
mod listings;
mod pages;
mod routes;
mod server;
mod state;
mod tls;

pub use auth::{csrf, CurrentUser, Via};
pub use error::{ApiError, WebError};
pub use routes::{api_routes, pages_router, router, router_with};
pub use server::{check_bind, WebServer};
pub use state::Api;
