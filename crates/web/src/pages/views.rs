//! The pages (GET): each reads what it shows in one blocking call and renders a template.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use dcmdisc_app::config::Profile;
use dcmdisc_app::control::{parse_log_since, parse_log_status};
use dcmdisc_app::jobs::{self, JobState};
use dcmdisc_app::plan::MediaPlan;
use dcmdisc_app::{AppError, LogQuery, RemoteAe};
use serde::Deserialize;

use super::render::{error_page, html, Chrome};
use super::rows::{self, *};
use super::status::{Retention, Today};
use crate::actions::{estimate, plan_args, PlanParams};
use crate::error::ApiError;
use crate::state::{Api, Inner};

/// The patient name of each collection, for the job rows.
fn names(s: &Inner) -> Result<HashMap<i64, String>, ApiError> {
    Ok(s.db
        .patients()?
        .into_iter()
        .map(|p| (p.id, p.patient_name))
        .collect())
}

/// Renders `t` or, when reading failed, the error page.
fn page<T: Template>(r: Result<T, ApiError>, back: &str) -> Response {
    match r {
        Ok(t) => html(StatusCode::OK, &t),
        Err(e) => error_page(e, back),
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub(crate) struct Dashboard {
    chrome: Chrome,
    ae_titles: String,
    dicom: String,
    data_dir: String,
    worker: bool,
    associations: Vec<AssocRow>,
    /// (state, how many), in the states' order, non-empty ones only.
    queue: Vec<(String, usize)>,
    active: Vec<JobRow>,
    burners: Vec<BurnerRow>,
    alerts: Vec<Alert>,
    today: Today,
    retention: Retention,
}

pub(crate) async fn dashboard(State(api): State<Api>) -> Response {
    let r = api
        .blocking(|s| {
            let names = names(s)?;
            let all = jobs::list(&s.cfg, &s.db)?;
            let views = jobs::burners(&s.cfg, &s.db)?;
            let burners = burner_rows(&views, &all);
            let mut rows: Vec<JobRow> = all.iter().map(|j| job_row(j, &names)).collect();
            mark_held(&mut rows, &views);
            let mut queue = Vec::new();
            for st in JobState::ALL {
                let n = all.iter().filter(|j| j.state == st.name()).count();
                if n > 0 {
                    queue.push((st.name().to_string(), n));
                }
            }
            // A dry run: what the sweeper's next pass would remove, and the disk.
            let report = dcmdisc_app::retention::pass(&s.cfg, &s.db, true)?;
            let retention = Retention::new(&report);
            // Since midnight UTC (the report's time is RFC 3339 UTC, as every stored time).
            let date = report.time.get(..10).unwrap_or(&report.time);
            let received = s.db.control().received_since(date);
            let today = Today::new(date, received.map_err(AppError::from)?);
            let mut alerts = alerts(&burners, &rows);
            alerts.extend(retention.alerts());
            alerts.extend(notify_alerts(&dcmdisc_app::notify::status(&s.cfg, &s.db)));
            let sp = &s.cfg.storage_provider;
            Ok(Dashboard {
                chrome: Chrome::new("Dashboard", "/"),
                ae_titles: sp
                    .ae_titles
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                dicom: format!("{}:{}", sp.bind_address, sp.port),
                data_dir: s.cfg.archive.data_dir.display().to_string(),
                worker: s.cfg.jobs.worker,
                associations: assoc_rows(&s.activity.list()),
                queue,
                alerts,
                today,
                retention,
                active: rows.into_iter().filter(|j| j.active).collect(),
                burners,
            })
        })
        .await;
    page(r, "/")
}

#[derive(Template)]
#[template(path = "patients.html")]
pub(crate) struct Patients {
    chrome: Chrome,
    patients: Vec<PatientRow>,
    /// (profile, selected: `[media] profile`).
    profiles: Vec<(&'static str, bool)>,
    burners: Vec<String>,
}

pub(crate) async fn patients(State(api): State<Api>) -> Response {
    let r = api
        .blocking(|s| {
            let patients = s.db.patients()?;
            // The newest arrival of each collection: what retention knows of them.
            let finals: Vec<&str> = JobState::ALL
                .iter()
                .filter(|st| st.is_final())
                .map(|st| st.name())
                .collect();
            let arrivals: HashMap<i64, String> =
                s.db.control()
                    .retention_facts(None, &finals)
                    .map_err(dcmdisc_app::AppError::from)?
                    .into_iter()
                    .map(|f| (f.collection, f.last_arrival))
                    .collect();
            let all = jobs::list(&s.cfg, &s.db)?;
            Ok(Patients {
                chrome: Chrome::new("Patients", "/patients"),
                patients: patient_rows(&patients, &arrivals, &all),
                profiles: Profile::ALL
                    .iter()
                    .map(|p| (p.name(), *p == s.cfg.media.profile))
                    .collect(),
                burners: s.cfg.burners().iter().map(|b| b.name.clone()).collect(),
            })
        })
        .await;
    page(r, "/")
}

#[derive(Template)]
#[template(path = "plan.html")]
pub(crate) struct PlanPage {
    chrome: Chrome,
    patient: PatientRow,
    plan: MediaPlan,
    size: String,
    capacity: String,
    burner: String,
    priority: String,
    capacity_mb: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MakeDisc {
    #[serde(flatten)]
    plan: PlanParams,
    burner: Option<String>,
    priority: Option<String>,
}

/// "Make disc", first step: the media plan, and the form that queues it.
pub(crate) async fn plan(
    State(api): State<Api>,
    Path(id): Path<String>,
    q: Result<Query<MakeDisc>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::bad_request(format!("collection {id:?} is not a number")))?;
        let plan = estimate(&api, id, plan_args(&q.plan)?).await?;
        let patient = api
            .blocking(move |s| {
                let p = s.db.patients()?;
                let rows = patient_rows(&p, &HashMap::new(), &[]);
                rows.into_iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| dcmdisc_app::AppError::NoSuchCollection(id).into())
            })
            .await?;
        let burner = q.burner.filter(|b| !b.is_empty()).unwrap_or_default();
        Ok(PlanPage {
            chrome: Chrome::new(format!("Make disc: {}", patient.name), "/patients"),
            size: rows::size(plan.bytes),
            capacity: plan
                .capacity
                .map(rows::size)
                .unwrap_or_else(|| "no limit".into()),
            patient,
            plan,
            burner,
            priority: q.priority.unwrap_or_else(|| "normal".into()),
            capacity_mb: q.plan.capacity_mb.unwrap_or_default(),
        })
    }
    .await;
    page(r, "/patients")
}

#[derive(Template)]
#[template(path = "jobs.html")]
pub(crate) struct Jobs {
    chrome: Chrome,
    /// This page (1-based) of `pages`, newest first; `total` jobs in all.
    page: usize,
    pages: usize,
    total: usize,
    jobs: Vec<JobRow>,
}

/// Jobs a page of the Jobs page shows: 10,000 rows would be megabytes of HTML (bench/pages.py).
const JOBS_PAGE: usize = 100;

#[derive(Debug, Deserialize)]
pub(crate) struct JobsQuery {
    page: Option<usize>,
}

pub(crate) async fn jobs(
    State(api): State<Api>,
    q: Result<Query<JobsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let page_no = match q {
        Ok(Query(q)) => q.page.unwrap_or(1).max(1),
        Err(e) => return error_page(ApiError::bad_request(e.body_text()), "/jobs"),
    };
    let r = api
        .blocking(move |s| {
            let names = names(s)?;
            let all = jobs::list(&s.cfg, &s.db)?;
            let total = all.len();
            // Newest first: the operator looks at what just happened.
            let mut jobs: Vec<JobRow> = all
                .iter()
                .rev()
                .skip((page_no - 1) * JOBS_PAGE)
                .take(JOBS_PAGE)
                .map(|j| job_row(j, &names))
                .collect();
            mark_held(&mut jobs, &jobs::burners(&s.cfg, &s.db)?);
            let pages = total.div_ceil(JOBS_PAGE).max(1);
            Ok(Jobs {
                chrome: Chrome::new("Jobs", "/jobs"),
                jobs,
                page: page_no,
                pages,
                total,
            })
        })
        .await;
    page(r, "/")
}

#[derive(Template)]
#[template(path = "job.html")]
pub(crate) struct JobPage {
    chrome: Chrome,
    job: JobRow,
    discs: Vec<DiscRow>,
    log: Vec<LogLine>,
}

/// The lines of a job's log its page shows (the newest).
const JOB_LOG: u32 = 200;

pub(crate) async fn job(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let r = async {
        let id = crate::jobs::job_id(&id)?;
        api.blocking(move |s| {
            let names = names(s)?;
            let j = jobs::show(&s.cfg, &s.db, id)?;
            let mut row = [job_row(&j, &names)];
            mark_held(&mut row, &jobs::burners(&s.cfg, &s.db)?);
            let [job] = row;
            Ok(JobPage {
                chrome: Chrome::new(format!("Job {id}"), "/jobs"),
                job,
                discs: disc_rows(&j),
                log: log_lines(&dcmdisc_app::events::of_job(&s.db, id, JOB_LOG)?),
            })
        })
        .await
    }
    .await;
    page(r, "/jobs")
}

#[derive(Template)]
#[template(path = "burners.html")]
pub(crate) struct Burners {
    chrome: Chrome,
    burners: Vec<BurnerRow>,
}

pub(crate) async fn burners(State(api): State<Api>) -> Response {
    let r = api
        .blocking(|s| {
            let all = jobs::list(&s.cfg, &s.db)?;
            Ok(Burners {
                chrome: Chrome::new("Burners", "/burners"),
                burners: burner_rows(&jobs::burners(&s.cfg, &s.db)?, &all),
            })
        })
        .await;
    page(r, "/")
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    calling_ae: String,
    #[serde(default)]
    since: String,
}

#[derive(Template)]
#[template(path = "log.html")]
pub(crate) struct Log {
    chrome: Chrome,
    filter: LogFilter,
    entries: Vec<LogRow>,
    limit: u32,
}

/// The entries one page shows.
const LOG_PAGE: u32 = 500;

pub(crate) async fn log(
    State(api): State<Api>,
    q: Result<Query<LogFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(filter) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let query = LogQuery {
            status: Some(filter.status.trim())
                .filter(|s| !s.is_empty())
                .map(parse_log_status)
                .transpose()?,
            calling_ae: Some(filter.calling_ae.trim().to_string()).filter(|a| !a.is_empty()),
            since: Some(filter.since.trim())
                .filter(|s| !s.is_empty())
                .map(parse_log_since)
                .transpose()?,
            limit: LOG_PAGE,
        };
        let mut entries = api
            .blocking(move |s| Ok(log_rows(&s.db.query_log(&query)?)))
            .await?;
        entries.reverse();
        Ok(Log {
            chrome: Chrome::new("Store log", "/log"),
            filter,
            entries,
            limit: LOG_PAGE,
        })
    }
    .await;
    page(r, "/log")
}

pub(crate) struct RemoteRow {
    pub ae_title: String,
    pub host: String,
    pub port: String,
    pub added: String,
    pub remove: String,
}

#[derive(Template)]
#[template(path = "remotes.html")]
pub(crate) struct Remotes {
    chrome: Chrome,
    remotes: Vec<RemoteRow>,
}

pub(crate) async fn remotes(State(api): State<Api>) -> Response {
    let r = api
        .blocking(|s| {
            let list: Vec<RemoteAe> = s.db.remotes()?;
            Ok(Remotes {
                chrome: Chrome::new("Remote AEs", "/remotes"),
                remotes: list
                    .into_iter()
                    .map(|r| RemoteRow {
                        remove: format!("/remotes/{}/remove", seg(&r.ae_title)),
                        ae_title: r.ae_title,
                        host: r.host,
                        port: r.port.map(|p| p.to_string()).unwrap_or_default(),
                        added: when(&r.added),
                    })
                    .collect(),
            })
        })
        .await;
    page(r, "/")
}

#[derive(Template)]
#[template(path = "config.html")]
pub(crate) struct ConfigPage {
    chrome: Chrome,
    /// (section, key, value) of what an operator asks first.
    summary: Vec<(&'static str, &'static str, String)>,
    /// Every value, as the program holds it.
    full: String,
}

pub(crate) async fn config(State(api): State<Api>) -> Response {
    let c = &api.inner().cfg;
    let sp = &c.storage_provider;
    let summary = vec![
        (
            "storage_provider",
            "ae_titles",
            sp.ae_titles
                .iter()
                .map(|a| a.as_str().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "storage_provider",
            "bind_address",
            sp.bind_address.to_string(),
        ),
        ("storage_provider", "port", sp.port.to_string()),
        (
            "storage_provider",
            "max_associations",
            sp.max_associations.to_string(),
        ),
        (
            "archive",
            "data_dir",
            c.archive.data_dir.display().to_string(),
        ),
        ("media", "profile", c.media.profile.name().to_string()),
        ("jobs", "worker", c.jobs.worker.to_string()),
        (
            "jobs",
            "quiet_period_secs",
            c.jobs.quiet_period_secs.to_string(),
        ),
        (
            "retention",
            "keep_forever",
            c.retention.keep_forever.to_string(),
        ),
        ("web", "bind_address", c.web.bind_address.to_string()),
        ("web", "port", c.web.port.to_string()),
        (
            "burners",
            "names",
            c.burners()
                .iter()
                .map(|b| b.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("rules", "count", c.rules.len().to_string()),
    ];
    // The configuration holds no secret today (no passwords, no keys: only paths to them
    // once TLS exists); a secret added later must be left out here.
    let t = ConfigPage {
        chrome: Chrome::new("Configuration", "/config"),
        summary,
        full: format!("{c:#?}"),
    };
    html(StatusCode::OK, &t)
}
