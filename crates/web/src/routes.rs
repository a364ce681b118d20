//! The routes: every path of docs/api.md under `/api/` (with JSON answers for unknown paths
//! and methods), and the operator's pages (docs/web-ui.md) at `/`.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::Api;
use crate::{actions, events, guard, jobs, listings, pages};

/// The JSON API, nested at `/api`.
fn json_api() -> Router<Api> {
    Router::new()
        .route("/jobs", get(jobs::list).post(jobs::create))
        .route("/jobs/{id}", get(jobs::show))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/retry", post(jobs::retry))
        .route("/jobs/{id}/copy", post(jobs::copy))
        .route("/jobs/{id}/priority", post(jobs::priority))
        .route("/burners", get(listings::burners))
        .route("/burners/{name}/pause", post(actions::pause))
        .route("/burners/{name}/resume", post(actions::resume))
        .route("/patients", get(listings::patients))
        .route("/patients/{id}/plan", get(actions::plan))
        .route("/log", get(listings::log))
        .route("/associations", get(listings::associations))
        .route("/events", get(events::stream))
        .fallback(|| async { ApiError::not_found("no such API path (see docs/api.md)") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not allowed on this path (see docs/api.md)",
            )
        })
        .layer(axum::middleware::from_fn(guard::json_posts))
}

/// The API's and the pages' router over `api`.
pub fn router(api: Api) -> Router {
    let pages = pages::router()
        // ---- AUTH: the login layer (users, sessions, CSRF; issue 11 item 3) wraps the pages
        // here, replacing or preceding this stand-in check of the forms' origin. ----
        .layer(axum::middleware::from_fn(pages::guard::same_origin_posts));
    Router::new()
        .nest("/api", json_api())
        .merge(pages)
        .layer(axum::middleware::from_fn(guard::loopback_only))
        .with_state(api)
}
