//! `dcmdisc export`: the Media AE on the command line.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::Args;
use dcmdisc_media::export::{self, ExportOptions, Profile, VolumeSummary};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;

#[derive(Args)]
pub struct ExportArgs {
    /// Collection to export (the `id` of `dcmdisc patients`).
    collection: Option<i64>,
    /// Export every patient found in this folder instead (recursively; no service needed).
    #[arg(long, value_name = "SRC", conflicts_with = "collection")]
    from_folder: Option<PathBuf>,
    /// Output folder: VOL001.iso, VOL002.iso, ... (one subfolder per patient for folders
    /// holding several patients).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// STD-GEN-CD (default), STD-GEN-DVD-JPEG, STD-GEN-BD, STD-GEN-USB-JPEG.
    #[arg(long)]
    profile: Option<String>,
    /// Also write each volume's file tree as DIR/VOLnnn/.
    #[arg(long)]
    tree: bool,
    /// Volume capacity in MiB, overriding the profile's.
    #[arg(long, value_name = "N")]
    capacity_mb: Option<u64>,
    /// Print how long each stage took (reading, converting, dicomdir, writing) to stderr.
    #[arg(long)]
    timings: bool,
}

pub fn run(cfg: &Config, args: ExportArgs) -> Result<()> {
    let profile_name = args.profile.as_deref().unwrap_or(&cfg.media.profile);
    let Some(profile) = Profile::parse(profile_name) else {
        bail!("unknown profile {profile_name:?}: use STD-GEN-CD, STD-GEN-DVD-JPEG, STD-GEN-BD or STD-GEN-USB-JPEG");
    };
    let capacity = match (args.capacity_mb, profile) {
        (Some(0), _) => bail!("--capacity-mb must be at least 1"),
        (Some(mb), _) => Some(mb * 1024 * 1024),
        (None, Profile::GenCd) if cfg.media.cd_capacity_mb == 650 => Some(333_000 * 2048),
        (None, _) => None,
    };
    let base = ExportOptions {
        out_dir: args.out.clone(),
        profile,
        capacity,
        tree: args.tree,
        fileset_id_pattern: cfg.media.fileset_id_pattern.clone(),
        consistency_flag: cfg.media.fileset_consistency_flag,
        implementation_class_uid: cfg.storage_provider.implementation_class_uid.clone(),
        implementation_version_name: cfg.storage_provider.implementation_version_name.clone(),
        now: SystemTime::now(),
    };
    // (label, files, output dir)
    let mut jobs: Vec<(String, Vec<export::SourceFile>, PathBuf)> = Vec::new();
    if let Some(src) = &args.from_folder {
        if !src.is_dir() {
            bail!("{} is not a folder", src.display());
        }
        let started = std::time::Instant::now();
        let (groups, skipped) =
            export::scan_folder(src).with_context(|| format!("reading {}", src.display()))?;
        if args.timings {
            eprintln!("timing: reading {:.3} s", started.elapsed().as_secs_f64());
        }
        for (p, why) in &skipped {
            eprintln!("warning: skipped {}: {why}", p.display());
        }
        if groups.is_empty() {
            bail!("no DICOM instances found in {}", src.display());
        }
        let several = groups.len() > 1;
        for (i, g) in groups.into_iter().enumerate() {
            // Folder names are ours (PAT001...), never taken from the data.
            let out = if several {
                args.out.join(format!("PAT{:03}", i + 1))
            } else {
                args.out.clone()
            };
            jobs.push((
                format!("{} [{}]", g.patient_name, g.patient_id),
                g.files,
                out,
            ));
        }
    } else {
        let Some(id) = args.collection else {
            bail!("give a COLLECTION id (see `dcmdisc patients`) or --from-folder SRC");
        };
        let control = crate::control(cfg)?;
        let rows = control.instances(Some(id))?;
        let Some(first) = rows.first() else {
            bail!("collection {id} does not exist or is empty (see `dcmdisc patients`)");
        };
        let label = format!("{} [{}]", first.patient_name, first.patient_id);
        let paths: Vec<PathBuf> = rows.into_iter().map(|r| PathBuf::from(r.path)).collect();
        let started = std::time::Instant::now();
        let sources =
            export::read_sources(&paths).with_context(|| format!("reading collection {id}"))?;
        if args.timings {
            eprintln!("timing: reading {:.3} s", started.elapsed().as_secs_f64());
        }
        jobs.push((label, sources, args.out.clone()));
    }
    let mut all: Vec<(String, VolumeSummary)> = Vec::new();
    for (label, files, out) in jobs {
        let opts = ExportOptions {
            out_dir: out,
            ..base.clone()
        };
        let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let b = ProgressBar::new(files.len() as u64);
            b.set_style(
                ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        } else {
            ProgressBar::hidden()
        };
        let mut stages: Vec<(String, std::time::Instant)> = Vec::new();
        let mut progress = |stage: &str, done: u64, total: u64| {
            if stages.last().is_none_or(|(s, _)| s != stage) {
                stages.push((stage.to_string(), std::time::Instant::now()));
            }
            bar.set_message(stage.to_string());
            bar.set_length(total.max(1));
            bar.set_position(done);
        };
        let vols = export::export_patient(
            files,
            &opts,
            &crate::convert::MediaConverter(cfg.identity()),
            &mut progress,
        )
        .with_context(|| format!("exporting {label}"))?;
        bar.finish_and_clear();
        if args.timings {
            // A stage may recur (dicomdir, writing per volume): sum the spans per name.
            let mut totals: Vec<(String, f64)> = Vec::new();
            for w in stages.windows(2) {
                let secs = w[1].1.duration_since(w[0].1).as_secs_f64();
                match totals.iter_mut().find(|(n, _)| *n == w[0].0) {
                    Some(t) => t.1 += secs,
                    None => totals.push((w[0].0.clone(), secs)),
                }
            }
            for (name, secs) in totals {
                eprintln!("timing {label}: {name} {secs:.3} s");
            }
        }
        all.extend(vols.into_iter().map(|v| (label.clone(), v)));
    }
    for (label, v) in &all {
        let path = v
            .iso
            .as_ref()
            .or(v.tree.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        println!(
            "{label}: volume {}/{} {} — {} instances, {:.1} MB, {path}",
            v.number,
            v.count,
            v.fileset_id,
            v.instances,
            v.bytes as f64 / 1e6
        );
    }
    Ok(())
}
