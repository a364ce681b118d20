//! The read-only listings: burners, patients, the store log (`dcmdisc burners`, `patients`,
//! `log`) and the associations open now.

use axum::extract::{Query, State};
use axum::Json;
use dcmdisc_app::control::{parse_log_since, parse_log_status};
use dcmdisc_app::jobs::{self, BurnerView};
use dcmdisc_app::{AssociationView, Collection, LogEntry, LogQuery};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::Api;

/// `dcmdisc log`'s default.
const DEFAULT_LOG_LIMIT: u32 = 100;
/// The most entries one request returns.
const MAX_LOG_LIMIT: u32 = 10_000;

pub(crate) async fn burners(State(api): State<Api>) -> Result<Json<Vec<BurnerView>>, ApiError> {
    api.blocking(|s| Ok(jobs::burners(&s.cfg, &s.db)?))
        .await
        .map(Json)
}

pub(crate) async fn patients(State(api): State<Api>) -> Result<Json<Vec<Collection>>, ApiError> {
    api.blocking(|s| Ok(s.db.patients()?)).await.map(Json)
}

/// `GET /api/log` query parameters (all optional). Strings, so that a bad value is answered
/// by our own message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogParams {
    status: Option<String>,
    calling_ae: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

pub(crate) async fn log(
    State(api): State<Api>,
    params: Result<Query<LogParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LOG_LIMIT,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_LOG_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit = {l:?}: expected a number from 1 to {MAX_LOG_LIMIT}"
                )))
            }
        },
    };
    let q = LogQuery {
        status: p.status.as_deref().map(parse_log_status).transpose()?,
        calling_ae: p.calling_ae.filter(|a| !a.is_empty()),
        since: p.since.as_deref().map(parse_log_since).transpose()?,
        limit,
    };
    api.blocking(move |s| Ok(s.db.query_log(&q)?))
        .await
        .map(Json)
}

pub(crate) async fn associations(State(api): State<Api>) -> Json<Vec<AssociationView>> {
    Json(api.inner().activity.list())
}
