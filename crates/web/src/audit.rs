//! `GET /api/audit` (admin): the newest audit entries, oldest first — `dcmdisc audit --json`.
//! `GET /metrics`: Prometheus text (`dcmdisc_app::metrics`).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dcmdisc_app::AuditRow;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::Api;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    limit: Option<String>,
}

pub(crate) async fn list(
    State(api): State<Api>,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditRow>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = match p.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "limit = {l:?}: expected a number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    api.blocking(move |s| Ok(s.db.audit_log(limit)?))
        .await
        .map(Json)
}

pub(crate) async fn metrics(State(api): State<Api>) -> Result<Response, ApiError> {
    let text = api
        .blocking(|s| Ok(dcmdisc_app::metrics::render(&s.db, &s.activity)?))
        .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
