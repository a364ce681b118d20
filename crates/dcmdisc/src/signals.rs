//! SIGINT and SIGTERM, turned into the application layer's shutdown token.

use dcmdisc_app::Shutdown;

/// Resolves at the next SIGINT or SIGTERM and names it.
pub async fn next() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// For a blocking command: on a thread of its own, the first signal triggers `shutdown` (the
/// operation stops at its next check and cleans up), a second one exits at once.
pub fn cancel_on_signal(shutdown: Shutdown) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let name = next().await;
            eprintln!("dcmdisc: {name}: stopping after the current step (again to stop now)");
            shutdown.trigger();
            next().await;
            std::process::exit(130);
        });
    });
}
