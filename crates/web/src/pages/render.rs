//! What every page shares: the frame (title, navigation, the forms' token field), turning a
//! template into an answer, and the error page.

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The pages of the navigation: path and label.
pub(crate) const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/patients", "Patients"),
    ("/jobs", "Jobs"),
    ("/burners", "Burners"),
    ("/log", "Store log"),
    ("/remotes", "Remote AEs"),
    ("/config", "Configuration"),
];

/// The frame of a page.
pub(crate) struct Chrome {
    pub title: String,
    /// The navigation entry of this page (a path of [`NAV`]).
    pub nav: &'static str,
    pub nav_items: &'static [(&'static str, &'static str)],
}

impl Chrome {
    pub fn new(title: impl Into<String>, nav: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            nav,
            nav_items: NAV,
        }
    }

    /// The hidden fields every form carries, as HTML. The one place a form's CSRF token
    /// goes (issue 11 item 3, the auth layer): every `<form method="post">` of the templates
    /// is opened by a macro of `templates/forms.html` that writes this.
    pub fn token_field(&self) -> String {
        format!(
            r#"<input type="hidden" name="{}" value="{}">"#,
            crate::csrf::FIELD,
            super::token::MARKER
        )
    }

    pub fn is_current(&self, path: &&str) -> bool {
        self.nav == *path
    }
}

/// A rendered template as a `text/html` answer.
pub(crate) fn html(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("the page did not render: {e}"),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub message: String,
    /// Where to go back to.
    pub back: String,
}

/// An error as a page: the API's status and message, and a way back.
pub(crate) fn error_page(e: ApiError, back: &str) -> Response {
    let status = e.status;
    html(
        status,
        &ErrorPage {
            chrome: Chrome::new(status.canonical_reason().unwrap_or("Error").to_string(), ""),
            status: status.as_u16(),
            message: e.message,
            back: back.to_string(),
        },
    )
}

pub(crate) async fn not_found() -> Response {
    error_page(ApiError::not_found("no such page"), "/")
}
