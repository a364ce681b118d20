//! The routes: every path of docs/api.md, and JSON answers for unknown paths and methods;
//! all behind the authentication layer (`auth::protect`).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::state::Api;
use crate::{actions, audit, auth, events, jobs, listings, pages};

/// The API's routes, not yet protected (the pages' router is merged into this one).
pub fn api_routes() -> Router<Api> {
    Router::new()
        .route("/api/jobs", get(jobs::list).post(jobs::create))
        .route("/api/jobs/{id}", get(jobs::show))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/jobs/{id}/retry", post(jobs::retry))
        .route("/api/jobs/{id}/copy", post(jobs::copy))
        .route("/api/jobs/{id}/priority", post(jobs::priority))
        .route("/api/burners", get(listings::burners))
        .route("/api/burners/{name}/pause", post(actions::pause))
        .route("/api/burners/{name}/resume", post(actions::resume))
        .route("/api/patients", get(listings::patients))
        .route("/api/patients/{id}/plan", get(actions::plan))
        .route("/api/log", get(listings::log))
        .route("/api/associations", get(listings::associations))
        .route("/api/events", get(events::stream))
        .route("/api/audit", get(audit::list))
        .route("/metrics", get(audit::metrics))
}

/// The whole router over `api`: the API (and `pages`, when given) behind
/// [`auth::protect`], JSON for unknown paths (404) and methods (405).
pub fn router_with(api: Api, pages: Option<Router<Api>>) -> Router {
    let mut r = api_routes();
    if let Some(p) = pages {
        r = r.merge(p);
    }
    let r = r
        // Unknown API paths get JSON; anything else is a page that does not exist.
        .fallback(|uri: axum::http::Uri| async move {
            if uri.path() == "/api" || uri.path().starts_with("/api/") {
                ApiError::not_found("no such API path (see docs/api.md)").into_response()
            } else {
                pages::not_found().await
            }
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not allowed on this path (see docs/api.md)",
            )
        });
    auth::protect(r, api)
}

/// The operator pages (docs/web-ui.md). They also refuse a form POST that the browser says
/// came from another site (`pages/guard.rs`): the CSRF token is the rule, this a second check.
pub fn pages_router() -> Router<Api> {
    pages::router().layer(axum::middleware::from_fn(pages::guard::same_origin_posts))
}

/// The API's and the operator pages' router over `api`, behind the authentication layer.
pub fn router(api: Api) -> Router {
    router_with(api, Some(pages_router()))
}
