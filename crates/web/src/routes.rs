//! The routes: every path of docs/api.md, and JSON answers for unknown paths and methods.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::Api;
use crate::{events, guard, jobs, listings};

/// The API's router over `api`.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/api/jobs", get(jobs::list).post(jobs::create))
        .route("/api/jobs/{id}", get(jobs::show))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/jobs/{id}/retry", post(jobs::retry))
        .route("/api/burners", get(listings::burners))
        .route("/api/patients", get(listings::patients))
        .route("/api/log", get(listings::log))
        .route("/api/associations", get(listings::associations))
        .route("/api/events", get(events::stream))
        .fallback(|| async { ApiError::not_found("no such API path (see docs/api.md)") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not allowed on this path (see docs/api.md)",
            )
        })
        .layer(axum::middleware::from_fn(guard::guard))
        .with_state(api)
}
