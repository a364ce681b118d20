//! dcmdisc's JSON HTTP API and Server-Sent Events stream (docs/api.md), served by
//! `dcmdisc serve` beside the DICOM listener on `[web] bind_address`:`port`, on the same
//! Tokio runtime, and stopped by the same [`Shutdown`](dcmdisc_app::Shutdown) token.
//!
//! **For**: turning HTTP requests into calls of the application layer's operations (the
//! ones the CLI calls: jobs, burners, patients, the store log) and its views into JSON;
//! the associations open now; `GET /api/events`, which tails the control database's event
//! log by id (so a stream resumed with `Last-Event-ID` misses and repeats nothing) and adds
//! progress, burner and association changes as they happen.
//!
//! **Not for**: any work of its own — no DICOM, no SQL, no files: a handler that needs more
//! than an app call and a conversion to JSON means the operation belongs in `app`, where the
//! CLI shares it. Not the operator's HTML pages, users or login (issue 11): until those exist
//! the server refuses to listen on anything but a loopback address ([`check_bind`]), and
//! refuses requests a page of another site could make a browser send (`guard.rs`).

mod error;
mod events;
mod guard;
mod jobs;
mod listings;
mod routes;
mod server;
mod state;

pub use error::{ApiError, WebError};
pub use routes::router;
pub use server::{check_bind, WebServer};
pub use state::Api;
