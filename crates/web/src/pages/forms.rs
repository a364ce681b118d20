//! The pages' forms (POST, `application/x-www-form-urlencoded`): each calls the operation
//! the JSON API calls and answers `303 See Other` to the page showing the result, or an
//! error page with the API's status and message.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use dcmdisc_app::config::{AeTitle, Profile, RemoteHost};
use dcmdisc_app::jobs::{self, JobRequest, Priority};
use serde::Deserialize;

use super::render::error_page;
use crate::error::ApiError;
use crate::jobs::job_id;
use crate::state::Api;

type FormResult<T> = Result<Form<T>, axum::extract::rejection::FormRejection>;

fn form<T>(f: FormResult<T>) -> Result<T, ApiError> {
    f.map(|Form(t)| t)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// `Ok(path)` → 303 to it; `Err` → the error page, with a way back to `back`.
fn answer(r: Result<String, ApiError>, back: &str) -> Response {
    match r {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => error_page(e, back),
    }
}

fn number<T: std::str::FromStr>(what: &str, v: &str) -> Result<T, ApiError> {
    v.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{what} = {v:?}: expected a number")))
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateForm {
    collection: String,
    copies: Option<String>,
    profile: Option<String>,
    burner: Option<String>,
    priority: Option<String>,
    capacity_mb: Option<String>,
}

pub(crate) async fn create_job(State(api): State<Api>, f: FormResult<CreateForm>) -> Response {
    let r = async {
        let f = form(f)?;
        let request = JobRequest {
            collection: number("collection", &f.collection)?,
            copies: match nonempty(f.copies) {
                None => 1,
                Some(c) => number("copies", &c)?,
            },
            profile: nonempty(f.profile)
                .map(|p| p.parse::<Profile>())
                .transpose()
                .map_err(|e| ApiError::bad_request(format!("profile: {e}")))?,
            burner: nonempty(f.burner),
            priority: match nonempty(f.priority) {
                None => Priority::Normal,
                Some(p) => p
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("priority: {e}")))?,
            },
            capacity_mb: nonempty(f.capacity_mb)
                .map(|c| number("capacity_mb", &c))
                .transpose()?,
        };
        let id = api
            .blocking(move |s| Ok(jobs::create(&s.cfg, &s.db, &request)?))
            .await?;
        Ok(format!("/jobs/{id}"))
    }
    .await;
    answer(r, "/patients")
}

pub(crate) async fn cancel(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let r = async {
        let id = job_id(&id)?;
        api.blocking(move |s| Ok(jobs::cancel(&s.db, id)?)).await?;
        Ok(format!("/jobs/{id}"))
    }
    .await;
    answer(r, "/jobs")
}

pub(crate) async fn retry(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let r = async {
        let id = job_id(&id)?;
        api.blocking(move |s| Ok(jobs::retry(&s.db, id)?)).await?;
        Ok(format!("/jobs/{id}"))
    }
    .await;
    answer(r, "/jobs")
}

#[derive(Debug, Deserialize)]
pub(crate) struct CopyForm {
    copies: Option<String>,
}

pub(crate) async fn copy(
    State(api): State<Api>,
    Path(id): Path<String>,
    f: FormResult<CopyForm>,
) -> Response {
    let r = async {
        let id = job_id(&id)?;
        let copies = match nonempty(form(f)?.copies) {
            None => 1,
            Some(c) => number("copies", &c)?,
        };
        let made = api
            .blocking(move |s| Ok(jobs::copy(&s.cfg, &s.db, id, copies)?))
            .await?;
        Ok(format!("/jobs/{}", made.id))
    }
    .await;
    answer(r, "/jobs")
}

#[derive(Debug, Deserialize)]
pub(crate) struct PriorityForm {
    priority: String,
}

pub(crate) async fn priority(
    State(api): State<Api>,
    Path(id): Path<String>,
    f: FormResult<PriorityForm>,
) -> Response {
    let r = async {
        let id = job_id(&id)?;
        let p: Priority = form(f)?
            .priority
            .parse()
            .map_err(|e| ApiError::bad_request(format!("priority: {e}")))?;
        api.blocking(move |s| Ok(jobs::set_priority(&s.db, id, p)?))
            .await?;
        Ok(format!("/jobs/{id}"))
    }
    .await;
    answer(r, "/jobs")
}

#[derive(Debug, Deserialize)]
pub(crate) struct PauseForm {
    reason: Option<String>,
}

pub(crate) async fn pause(
    State(api): State<Api>,
    Path(name): Path<String>,
    f: FormResult<PauseForm>,
) -> Response {
    let r = async {
        let reason = form(f)?.reason.unwrap_or_default();
        api.blocking(move |s| Ok(jobs::pause_burner(&s.cfg, &s.db, &name, &reason)?))
            .await?;
        Ok("/burners".to_string())
    }
    .await;
    answer(r, "/burners")
}

pub(crate) async fn resume(State(api): State<Api>, Path(name): Path<String>) -> Response {
    let r = async {
        api.blocking(move |s| Ok(jobs::resume_burner(&s.cfg, &s.db, &name)?))
            .await?;
        Ok("/burners".to_string())
    }
    .await;
    answer(r, "/burners")
}

#[derive(Debug, Deserialize)]
pub(crate) struct RemoteForm {
    ae_title: String,
    host: String,
    port: Option<String>,
}

pub(crate) async fn add_remote(State(api): State<Api>, f: FormResult<RemoteForm>) -> Response {
    let r = async {
        let f = form(f)?;
        let ae: AeTitle = f
            .ae_title
            .trim()
            .parse()
            .map_err(|e| ApiError::bad_request(format!("AE title: {e}")))?;
        let host: RemoteHost = f
            .host
            .trim()
            .parse()
            .map_err(|e| ApiError::bad_request(format!("host: {e}")))?;
        let port = nonempty(f.port)
            .map(|p| number::<u16>("port", &p))
            .transpose()?;
        api.blocking(move |s| Ok(s.db.add_remote(&ae, &host, port)?))
            .await?;
        Ok("/remotes".to_string())
    }
    .await;
    answer(r, "/remotes")
}

pub(crate) async fn remove_remote(State(api): State<Api>, Path(ae): Path<String>) -> Response {
    let r = async {
        let ae: AeTitle = ae
            .parse()
            .map_err(|e| ApiError::bad_request(format!("AE title: {e}")))?;
        api.blocking(move |s| Ok(s.db.remove_remote(&ae)?)).await?;
        Ok("/remotes".to_string())
    }
    .await;
    answer(r, "/remotes")
}
