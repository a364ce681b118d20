//! One shutdown signal for every long-running part: the DICOM service now, job workers and
//! the web server next. The binary triggers it on SIGINT/SIGTERM; async code awaits
//! [`Shutdown::wait`], blocking code (an export on a worker thread) polls
//! [`Shutdown::is_triggered`] between steps.

use tokio_util::sync::CancellationToken;

/// A clone-able shutdown token: every clone sees the same trigger.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks every holder to stop. Idempotent.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves once [`Shutdown::trigger`] has been called (at once if it already was).
    pub async fn wait(&self) {
        self.0.cancelled().await
    }

    /// A token that stops with this one and can also be stopped alone (one job of many).
    pub fn child(&self) -> Shutdown {
        Shutdown(self.0.child_token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_sees_the_trigger_and_children_follow_parents_only() {
        let s = Shutdown::new();
        let c = s.clone();
        let child = s.child();
        child.child().trigger();
        assert!(!s.is_triggered() && !child.is_triggered());
        child.trigger();
        assert!(!s.is_triggered());
        let other = s.child();
        c.trigger();
        assert!(s.is_triggered() && other.is_triggered());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(s.wait());
    }
}
