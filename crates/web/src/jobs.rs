//! `/api/jobs`: list, one, create, cancel, retry — `dcmdisc jobs` and `dcmdisc job ...`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dcmdisc_app::config::Profile;
use dcmdisc_app::jobs::{self, JobRequest, JobView, Priority};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::Api;

/// The body of `POST /api/jobs`: the options of `dcmdisc job create`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJob {
    collection: i64,
    #[serde(default = "one")]
    copies: u32,
    #[serde(default)]
    profile: Option<Profile>,
    #[serde(default)]
    burner: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    capacity_mb: Option<u64>,
}

fn one() -> u32 {
    1
}

/// A job id from the path; anything but a number is a bad request, not a missing job.
pub(crate) fn job_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("job id {raw:?} is not a number")))
}

pub(crate) async fn list(State(api): State<Api>) -> Result<Json<Vec<JobView>>, ApiError> {
    api.blocking(|s| Ok(jobs::list(&s.cfg, &s.db)?))
        .await
        .map(Json)
}

pub(crate) async fn show(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id = job_id(&id)?;
    api.blocking(move |s| Ok(jobs::show(&s.cfg, &s.db, id)?))
        .await
        .map(Json)
}

pub(crate) async fn create(State(api): State<Api>, body: Bytes) -> Result<Response, ApiError> {
    // Parsed here rather than by axum's `Json`, so every refusal is a 400 with our error body;
    // an object only (serde would also take the fields as an array, in order).
    let bad = |e: serde_json::Error| ApiError::bad_request(format!("the job request: {e}"));
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(bad)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the job request: expected a JSON object such as {\"collection\": 1}",
        ));
    }
    let req: CreateJob = serde_json::from_value(value).map_err(bad)?;
    let priority = match req.priority.as_deref() {
        None => Priority::Normal,
        Some(p) => p
            .parse()
            .map_err(|e| ApiError::bad_request(format!("priority: {e}")))?,
    };
    let request = JobRequest {
        collection: req.collection,
        copies: req.copies,
        profile: req.profile,
        burner: req.burner,
        priority,
        capacity_mb: req.capacity_mb,
    };
    let job = api
        .blocking(move |s| {
            let id = jobs::create(&s.cfg, &s.db, &request)?;
            Ok(jobs::show(&s.cfg, &s.db, id)?)
        })
        .await?;
    let location = format!("/api/jobs/{}", job.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(job),
    )
        .into_response())
}

pub(crate) async fn cancel(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id = job_id(&id)?;
    api.blocking(move |s| {
        jobs::cancel(&s.db, id)?;
        Ok(jobs::show(&s.cfg, &s.db, id)?)
    })
    .await
    .map(Json)
}

pub(crate) async fn retry(
    State(api): State<Api>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id = job_id(&id)?;
    api.blocking(move |s| {
        jobs::retry(&s.db, id)?;
        Ok(jobs::show(&s.cfg, &s.db, id)?)
    })
    .await
    .map(Json)
}
