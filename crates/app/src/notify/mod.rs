//! Notifications (issue 11, item 4): a webhook POST or a mail when a burner is paused or out
//! of discs, a job failed, the disk is over the high-water mark, or the service cannot store.
//!
//! Driven by the durable event log (`archive/src/events.rs`), never by callbacks: each
//! configured target has its own thread and its own cursor in the database (the id of the
//! last event it took), advanced only after the target accepted the notice, so a restart
//! neither loses a notice nor sends one twice, but for the one in flight at a crash (sent
//! again with the same `id`: at least once). A target that fails is retried with a back-off
//! on its own thread; nothing else in the service waits for it. Refused stores coalesce:
//! those within `coalesce_secs` of the first are one notice with a count.
//!
//! `notice.rs` decides what events make a notice and words it (pure, unit-tested);
//! `send.rs` delivers one (ureq, lettre); `run.rs` is the per-target loop and `notify test`.

mod notice;
mod run;
mod send;

pub use notice::{build, mail_body, mail_subject, take, Batch, Facts, JobFacts, Notice, Taken};
pub use run::{send_test, spawn, status, TargetStatus, TestOutcome};
pub use send::Sender;

#[cfg(test)]
mod tests;
