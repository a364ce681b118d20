//! `dcmdisc export`: the Media AE on the command line, with a progress bar on a terminal and
//! per-stage timings on request.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use dcmdisc_app::config::Profile;
use dcmdisc_app::export::{self, ExcludedKind, ExportOptions};
use dcmdisc_app::{Config, Open, Progress, Shutdown, Stage};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args)]
pub struct Args {
    /// Collection to export (the `id` of `dcmdisc patients`).
    collection: Option<i64>,
    /// Export every patient found in this folder instead (recursively; no service needed).
    #[arg(long, value_name = "SRC", conflicts_with = "collection")]
    from_folder: Option<PathBuf>,
    /// Output folder: VOL001.iso, VOL002.iso, ... (one subfolder per patient for folders
    /// holding several patients).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-BD or STD-GEN-USB-JPEG; overrides [media] profile.
    #[arg(long)]
    profile: Option<Profile>,
    /// Also write each volume's file tree as DIR/VOLnnn/.
    #[arg(long)]
    tree: bool,
    /// Volume capacity in MiB, overriding the profile's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    capacity_mb: Option<u64>,
    /// Leave out instances that cannot go on the disc (a syntax nothing converts, a data set
    /// that does not parse, a SOP class without a directory record) instead of failing; each
    /// volume's README.TXT then lists what was left out.
    #[arg(long)]
    leave_out_unreadable: bool,
    /// Print how long each stage took (reading, converting, dicomdir, writing, validating) to
    /// stderr.
    #[arg(long)]
    timings: bool,
}

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    cfg.validate()?;
    let opts = ExportOptions {
        out_dir: args.out.clone(),
        profile: args.profile,
        capacity_mb: args.capacity_mb,
        tree: args.tree,
        leave_out_unreadable: args.leave_out_unreadable,
        job: None,
    };
    let shutdown = Shutdown::new();
    crate::signals::cancel_on_signal(shutdown.clone());
    let mut view = View::new(args.timings);
    let volumes = if let Some(src) = &args.from_folder {
        let started = Instant::now();
        let scan = export::scan_folder(cfg, src)?;
        if args.timings {
            eprintln!("timing: reading {:.3} s", started.elapsed().as_secs_f64());
        }
        for e in &scan.excluded {
            let p = e.path.display();
            match e.kind {
                ExcludedKind::NotDicom => eprintln!("note: ignored {p}: {}", e.reason),
                ExcludedKind::Dicomdir => eprintln!(
                    "note: {p} is a DICOMDIR of another File-set: not put on the disc (its \
                     instances are exported from their own files)"
                ),
                // Without --leave-out-unreadable the export fails naming them all.
                ExcludedKind::Unreadable if args.leave_out_unreadable => {
                    eprintln!("warning: left out {p}: {}", e.reason)
                }
                ExcludedKind::Unreadable => {}
            }
        }
        export::export_folder(cfg, scan, &opts, &shutdown, &mut |p| view.update(p))
    } else {
        let Some(id) = args.collection else {
            bail!("give a COLLECTION id (see `dcmdisc patients`) or --from-folder SRC");
        };
        let db = crate::open_control(cfg, Open::Existing)?;
        export::export_collection(cfg, &db, id, &opts, &shutdown, &mut |p| view.update(p))
    };
    view.finish();
    for v in volumes? {
        let s = &v.volume;
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
        let path = s
            .iso
            .as_ref()
            .or(s.tree.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // The image's SHA-256 goes last on the line, so what reads the fields before it
        // still finds them where they were.
        let sha256 = s
            .sha256
            .as_ref()
            .map(|h| format!(", sha256 {h}"))
            .unwrap_or_default();
        println!(
            "{}: volume {}/{} {} — {} instances, {:.1} MB, {path}{sha256}",
            v.label,
            s.number,
            s.count,
            s.fileset_id,
            s.instances,
            s.bytes as f64 / 1e6
        );
    }
    Ok(())
}

/// The progress bar (on a terminal only) and, with --timings, when each stage began.
struct View {
    bar: ProgressBar,
    timings: bool,
    /// The patient the stages below belong to.
    patient: Option<(u64, String)>,
    stages: Vec<(Stage, Instant)>,
}

impl View {
    fn new(timings: bool) -> View {
        let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let b = ProgressBar::new(1);
            b.set_style(
                ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        View {
            bar,
            timings,
            patient: None,
            stages: Vec::new(),
        }
    }

    fn update(&mut self, p: &Progress) {
        let who = (p.patient.done, p.label.clone());
        if self.patient.as_ref() != Some(&who) {
            self.print_timings();
            self.patient = Some(who);
        }
        if self.stages.last().is_none_or(|(s, _)| *s != p.stage) {
            self.stages.push((p.stage, Instant::now()));
        }
        self.bar.set_message(p.stage.name());
        self.bar.set_length(p.items.total.max(1));
        self.bar.set_position(p.items.done);
    }

    /// The time between one stage's start and the next's, summed per stage (dicomdir and
    /// writing recur per volume); the last stage (done) has no span.
    fn print_timings(&mut self) {
        let stages = std::mem::take(&mut self.stages);
        let Some((_, label)) = self.patient.as_ref().filter(|_| self.timings) else {
            return;
        };
        let mut totals: Vec<(Stage, f64)> = Vec::new();
        for w in stages.windows(2) {
            let secs = w[1].1.duration_since(w[0].1).as_secs_f64();
            match totals.iter_mut().find(|(s, _)| *s == w[0].0) {
                Some(t) => t.1 += secs,
                None => totals.push((w[0].0, secs)),
            }
        }
        for (stage, secs) in totals {
            if stage == Stage::Reading {
                eprintln!("timing: reading {secs:.3} s");
            } else {
                eprintln!("timing {label}: {} {secs:.3} s", stage.name());
            }
        }
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
        self.print_timings();
    }
}
