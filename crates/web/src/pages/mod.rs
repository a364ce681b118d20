//! The operator's pages (docs/web-ui.md): server-rendered HTML (askama templates under
//! `templates/`, every value escaped), a little plain JavaScript (`static/app.js`) that
//! follows `GET /api/events` and refreshes the parts of a page that changed, and the forms
//! that act (every one a `POST`, through [`Chrome::token_field`]).
//!
//! Each page handler makes the same app calls as the JSON API and turns the views into rows
//! of display strings (`rows.rs`); the forms (`forms.rs`) call the same operations and answer
//! `303 See Other` to the page that shows the result, or an error page with the API's status.

mod assets;
mod forms;
pub(crate) mod guard;
mod render;
mod rows;
mod status;
mod token;

pub(crate) use render::not_found;
mod views;

use axum::routing::{get, post};
use axum::Router;

use crate::state::Api;

/// The pages' router (merged beside `/api`, wrapped by the auth layer in `routes.rs`).
pub(crate) fn router() -> Router<Api> {
    Router::new()
        .route("/", get(views::dashboard))
        .route("/patients", get(views::patients))
        .route("/patients/{id}/disc", get(views::plan))
        .route("/jobs", get(views::jobs).post(forms::create_job))
        .route("/jobs/{id}", get(views::job))
        .route("/jobs/{id}/cancel", post(forms::cancel))
        .route("/jobs/{id}/retry", post(forms::retry))
        .route("/jobs/{id}/copy", post(forms::copy))
        .route("/jobs/{id}/priority", post(forms::priority))
        .route("/burners", get(views::burners))
        .route("/burners/{name}/pause", post(forms::pause))
        .route("/burners/{name}/resume", post(forms::resume))
        .route("/log", get(views::log))
        .route("/remotes", get(views::remotes).post(forms::add_remote))
        .route("/remotes/{ae}/remove", post(forms::remove_remote))
        .route("/config", get(views::config))
        .route("/static/{file}", get(assets::file))
        .fallback(render::not_found)
        .layer(axum::middleware::from_fn(token::fill))
        .layer(axum::middleware::from_fn(assets::security_headers))
}
