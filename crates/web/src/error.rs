//! Errors: an [`ApiError`] is an HTTP status with a message, answered as
//! `{"error": "..."}`; a [`WebError`] stops the web server from starting.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dcmdisc_app::AppError;

/// An error answer: status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// The message of an error with its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        let status = match &e {
            // The thing the URL names.
            AppError::NoSuchJob(_) => StatusCode::NOT_FOUND,
            // Something the request names or asks for that cannot be.
            AppError::NoSuchCollection(_)
            | AppError::NoSuchBurner(_)
            | AppError::Copies
            | AppError::ZeroCapacity
            | AppError::BadFilter { .. } => StatusCode::BAD_REQUEST,
            // Right job, wrong moment (cancel a done job, retry one that did not fail).
            AppError::JobState { .. } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = chain(&e);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %message, "web API request failed");
        }
        ApiError::new(status, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Why the web server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(
        "[web] bind_address = {addr} is not a loopback address: serving the web API on the \
         network needs a login, and dcmdisc has no users or login yet; set [web] \
         bind_address = \"127.0.0.1\" (or [web] enabled = false)"
    )]
    NeedsLogin { addr: std::net::IpAddr },
    #[error("cannot listen for the web API on {addr} (see [web] port, or --web-port)")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    App(#[from] AppError),
    #[error("the web API server failed")]
    Serve(#[source] std::io::Error),
}
