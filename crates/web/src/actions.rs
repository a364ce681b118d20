//! Burner pause and resume (`dcmdisc burner pause|resume`) and the media plan of a disc
//! before it is queued (`app::plan::estimate`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use dcmdisc_app::config::Profile;
use dcmdisc_app::jobs::{self, BurnerView};
use dcmdisc_app::plan::{self, MediaPlan};
use serde::Deserialize;

use crate::error::ApiError;
use crate::jobs::optional_body;
use crate::state::Api;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pause {
    #[serde(default)]
    reason: String,
}

/// The burner `name` as it is after `f`.
async fn burner_after(
    api: Api,
    name: String,
    f: impl FnOnce(&crate::state::Inner, &str) -> Result<(), dcmdisc_app::AppError> + Send + 'static,
) -> Result<Json<BurnerView>, ApiError> {
    api.blocking(move |s| {
        f(s, &name)?;
        jobs::burners(&s.cfg, &s.db)?
            .into_iter()
            .find(|b| b.name == name)
            .ok_or_else(|| dcmdisc_app::AppError::NoSuchBurner(name).into())
    })
    .await
    .map(Json)
}

pub(crate) async fn pause(
    State(api): State<Api>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<BurnerView>, ApiError> {
    let req: Pause = optional_body(&body, "the pause request")?;
    burner_after(api, name, move |s, n| {
        jobs::pause_burner(&s.cfg, &s.db, n, &req.reason)
    })
    .await
}

pub(crate) async fn resume(
    State(api): State<Api>,
    Path(name): Path<String>,
) -> Result<Json<BurnerView>, ApiError> {
    burner_after(api, name, |s, n| jobs::resume_burner(&s.cfg, &s.db, n)).await
}

/// `GET /api/patients/{id}/plan` parameters, strings so a bad value gets our message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanParams {
    pub copies: Option<String>,
    pub profile: Option<String>,
    pub capacity_mb: Option<String>,
}

/// The parsed parameters: copies, profile, capacity in MiB.
pub(crate) type PlanArgs = (u32, Option<Profile>, Option<u64>);

pub(crate) fn plan_args(p: &PlanParams) -> Result<PlanArgs, ApiError> {
    let number = |what: &str, v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("{what} = {v:?}: expected a number")))
    };
    let copies = match p.copies.as_deref().filter(|c| !c.is_empty()) {
        None => 1,
        Some(c) => u32::try_from(number("copies", c)?).unwrap_or(u32::MAX),
    };
    let profile = match p.profile.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<Profile>()
                .map_err(|e| ApiError::bad_request(format!("profile: {e}")))?,
        ),
    };
    let capacity = match p.capacity_mb.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(number("capacity_mb", c)?),
    };
    Ok((copies, profile, capacity))
}

pub(crate) async fn estimate(api: &Api, id: i64, args: PlanArgs) -> Result<MediaPlan, ApiError> {
    let (copies, profile, capacity) = args;
    api.blocking(move |s| {
        Ok(plan::estimate(
            &s.cfg, &s.db, id, profile, capacity, copies,
        )?)
    })
    .await
}

pub(crate) async fn plan(
    State(api): State<Api>,
    Path(id): Path<String>,
    params: Result<Query<PlanParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MediaPlan>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("collection id {id:?} is not a number")))?;
    estimate(&api, id, plan_args(&p)?).await.map(Json)
}
