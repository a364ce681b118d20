//! Media Creation Management over the job queue: a Media Creation Request (N-CREATE) names
//! instances already in the archive; its Initiate (N-ACTION 1) queues disc jobs, Cancel
//! (N-ACTION 2) cancels them, and its status (N-GET) is theirs (`status.rs`).
//!
//! The Referenced SOP Sequence may name any instances of the archive: all of a patient
//! collection or some of them, of one patient or several. Discs are single-patient (the
//! conformance statement), so the Initiate makes one job per patient collection named,
//! each holding exactly the instances the request named of it (`chosen_instance`: its
//! composing takes those and no later arrival). Instances not in the archive refuse the
//! request with 0106 and the Failed SOP Sequence listing them. Which other attributes are
//! honoured: `options.rs`.
//!
//! The requests are in the control database (`mcm_request`, schema version 9): after a
//! restart, a crash included, N-GET still answers, an initiated request still maps to its
//! jobs, and one only created can still be initiated or cancelled.

mod options;
mod status;

use std::collections::BTreeMap;
use std::sync::Arc;

use dcmdisc_archive::{Archive, McmRequest, NewJob, RequestInstance};
use dcmdisc_dicom::tag;
use dcmdisc_net::mcm::mcm_status;
use dcmdisc_net::{AssociationInfo, Commitment, McmAction, McmRefusal, MediaRequest, MediaStatus};
use tracing::{error, info};

use crate::config::Config;
use crate::control::{ControlDb, Open};
use crate::jobs::{self, JobState};

use options::{invalid, options};

pub(crate) struct Mcm {
    cfg: Config,
    db: ControlDb,
    archive: Arc<Archive>,
}

fn processing(why: impl std::fmt::Display) -> McmRefusal {
    error!("media creation: {why}");
    McmRefusal::new(0x0110, why.to_string())
}

fn no_such_request() -> McmRefusal {
    McmRefusal::new(0x0112, "no such media creation request")
}

impl Mcm {
    pub(crate) fn open(cfg: &Config, archive: Arc<Archive>) -> Result<Mcm, crate::AppError> {
        Ok(Mcm {
            cfg: cfg.clone(),
            db: ControlDb::open(cfg, Open::CreateIfMissing)?,
            archive,
        })
    }

    fn request(&self, instance: &str) -> Result<McmRequest, McmRefusal> {
        self.db
            .control()
            .mcm_request(instance)
            .map_err(processing)?
            .ok_or_else(no_such_request)
    }

    pub(crate) fn create(
        &self,
        info: &AssociationInfo,
        instance: &str,
        req: MediaRequest,
    ) -> Result<(), McmRefusal> {
        let duplicate = || {
            McmRefusal::new(
                mcm_status::DUPLICATE_SOP_INSTANCE,
                "a request with this SOP Instance UID exists",
            )
        };
        if self
            .db
            .control()
            .mcm_request(instance)
            .map_err(processing)?
            .is_some()
        {
            return Err(duplicate());
        }
        let opts = options(&req)?;
        let uids: Vec<&str> = req
            .refs
            .iter()
            .map(|r| r.sop_instance_uid.as_str())
            .collect();
        let indexed = self.archive.indexed_classes(&uids).map_err(processing)?;
        let mut failed = Vec::new();
        let mut instances = Vec::with_capacity(req.refs.len());
        for r in &req.refs {
            match indexed.get(&r.sop_instance_uid) {
                Some((class, c)) if *class == r.sop_class_uid => instances.push(RequestInstance {
                    sop_instance_uid: r.sop_instance_uid.clone(),
                    sop_class_uid: r.sop_class_uid.clone(),
                    collection: *c,
                }),
                Some(_) => failed.push((r.clone(), Commitment::CLASS_INSTANCE_CONFLICT)),
                None => failed.push((r.clone(), Commitment::NO_SUCH_OBJECT_INSTANCE)),
            }
        }
        if !failed.is_empty() {
            let mut r = invalid(
                tag::REFERENCED_SOP_SEQUENCE,
                format!(
                    "{} referenced instances are not in the archive",
                    failed.len()
                ),
            );
            r.failed = failed;
            return Err(r);
        }
        let added = self
            .db
            .control()
            .create_mcm_request(&McmRequest {
                instance_uid: instance.to_string(),
                calling_ae: info.calling_ae.clone(),
                copies: opts.copies,
                priority: opts.priority.name().to_string(),
                label_text: opts.label_text,
                fileset_id: opts.fileset_id,
                state: String::new(),
                instances,
                jobs: Vec::new(),
            })
            .map_err(processing)?;
        if !added {
            return Err(duplicate());
        }
        Ok(())
    }

    pub(crate) fn action(&self, instance: &str, action: McmAction) -> Result<(), McmRefusal> {
        let req = self.request(instance)?;
        let control = self.db.control();
        match (action, req.state.as_str()) {
            (McmAction::Initiate, dcmdisc_archive::mcm::INITIATED) => Err(McmRefusal::new(
                mcm_status::ALREADY_INITIATED,
                "already initiated",
            )),
            (McmAction::Initiate, dcmdisc_archive::mcm::CANCELLED) => Err(McmRefusal::new(
                mcm_status::ALREADY_COMPLETED,
                "the request was cancelled",
            )),
            (McmAction::Initiate, _) => {
                // One job per patient collection: discs are single-patient.
                let mut by_collection: BTreeMap<i64, Vec<String>> = BTreeMap::new();
                for i in &req.instances {
                    by_collection
                        .entry(i.collection)
                        .or_default()
                        .push(i.sop_instance_uid.clone());
                }
                let new: Vec<(NewJob, Vec<String>)> = by_collection
                    .into_iter()
                    .map(|(collection, uids)| {
                        (
                            NewJob {
                                collection,
                                priority: req.priority.clone(),
                                copies: req.copies,
                                profile: None,
                                burner: None,
                                capacity_mb: None,
                            },
                            uids,
                        )
                    })
                    .collect();
                match control
                    .initiate_mcm_request(instance, &new)
                    .map_err(processing)?
                {
                    Some(ids) => {
                        info!(instance = %instance, jobs = ?ids, "media creation initiated");
                        Ok(())
                    }
                    // Initiated or cancelled meanwhile, by another association.
                    None => Err(McmRefusal::new(
                        mcm_status::ALREADY_INITIATED,
                        "already initiated or cancelled",
                    )),
                }
            }
            (McmAction::Cancel, dcmdisc_archive::mcm::CREATED) => {
                if control.cancel_mcm_request(instance).map_err(processing)? {
                    Ok(())
                } else {
                    // Initiated meanwhile: cancel its jobs.
                    self.action(instance, action)
                }
            }
            (McmAction::Cancel, dcmdisc_archive::mcm::CANCELLED) => Ok(()),
            (McmAction::Cancel, _) => {
                let mut states = Vec::with_capacity(req.jobs.len());
                for id in &req.jobs {
                    let view = jobs::show(&self.cfg, &self.db, *id).map_err(processing)?;
                    states.push((*id, JobState::parse(&view.state)));
                }
                if states.iter().all(|(_, s)| *s == Some(JobState::Done)) {
                    return Err(McmRefusal::new(
                        mcm_status::ALREADY_COMPLETED,
                        "the discs are made",
                    ));
                }
                for (id, s) in states {
                    if s.is_some_and(|s| s.is_final()) {
                        continue;
                    }
                    jobs::cancel(&self.db, id).map_err(|e| {
                        McmRefusal::new(mcm_status::CANCELLATION_DENIED, e.to_string())
                    })?;
                }
                Ok(())
            }
        }
    }

    pub(crate) fn status(&self, instance: &str) -> Result<MediaStatus, McmRefusal> {
        let req = self.request(instance)?;
        status::of(&self.cfg, &self.db, &req).map_err(processing)
    }
}
