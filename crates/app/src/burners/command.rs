//! The command burner: a disc robot's client or a site script, run once per disc from an
//! argument vector (`argv`, never a shell) whose placeholders are filled with our own values:
//! `{image}` (the validated image), `{label}` (a label file we write: the job, volume and
//! copy), `{label_pdf}` and `{label_svg}` (the disc label the export wrote beside the image,
//! `VOLnnn.pdf`/`.svg`; empty when there is none, `[label] enabled = false`), `{job}`,
//! `{volume}`, `{copy}`, `{name}` (`job<ID>-vol<N>-copy<M>.iso`).
//!
//! Its answer: exit status 0 = the disc is burned; `reject_exit_code` (default 2) = this disc
//! is rejected, the last line on stderr its reason, and the next one is taken; anything else
//! (another status, killed, `timeout_secs` passed) = the burner failed, and the job fails
//! with that reason. Lines `PROGRESS 0.42` on stdout report the fraction written.
//!
//! Verify: the optional `verify` template (the same placeholders plus `{sha256}`, the
//! image's) runs after a burn: exit 0 = verified, any other status = the disc is rejected
//! (its last stderr line the reason). Without one the robot's own verify is trusted.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::{self, End, Output, Stream};
use super::{BurnError, Burner, DiscId, Written};
use crate::config::jobs::{BurnerConfig, BurnerKind};
use crate::shutdown::Shutdown;

pub const DEFAULT_REJECT_EXIT_CODE: i32 = 2;

/// The disc label the export wrote beside `image` (`VOL001.iso` → `VOL001.pdf`), or an empty
/// path when there is none (labels off), so a robot's script can tell.
fn beside(image: &Path, ext: &str) -> PathBuf {
    let p = image.with_extension(ext);
    if p.is_file() {
        p
    } else {
        PathBuf::new()
    }
}

pub struct CommandBurner {
    name: String,
    dir: PathBuf,
    argv: Vec<String>,
    verify: Vec<String>,
    reject_code: i32,
    timeout: Duration,
    /// The disc of the last burn and its image, for the verify.
    current: Option<(DiscId, PathBuf, PathBuf)>,
    /// The stop signal of the last burn: its verify ends at shutdown too.
    stop: Shutdown,
}

/// `arg` with each `{key}` replaced by its value; unknown ones (refused by the config check)
/// are left as they are.
fn expand(arg: &str, values: &[(&str, &OsStr)]) -> OsString {
    let mut out = OsString::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        out.push(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let key = &after[..close];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v, close))
        });
        match hit {
            Some((v, close)) => {
                out.push(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push("{");
                rest = after;
            }
        }
    }
    out.push(rest);
    out
}

/// The reason a program gave: its last non-empty stderr line.
fn last_words(out: &Output) -> Option<String> {
    out.stderr
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// `PROGRESS 0.42` → 0.42.
pub fn parse_progress(line: &str) -> Option<f64> {
    let v: f64 = line.trim().strip_prefix("PROGRESS")?.trim().parse().ok()?;
    v.is_finite().then_some(v.clamp(0.0, 1.0))
}

/// The values of one disc's placeholders, shared by the burn and the verify templates (the
/// verify template also has `{sha256}`).
struct Placeholders {
    image: PathBuf,
    label: PathBuf,
    label_pdf: PathBuf,
    label_svg: PathBuf,
    job: String,
    volume: String,
    copy: String,
    name: String,
}

impl Placeholders {
    fn new(image: &Path, label: &Path, disc: &DiscId) -> Placeholders {
        Placeholders {
            image: image.to_path_buf(),
            label: label.to_path_buf(),
            label_pdf: beside(image, "pdf"),
            label_svg: beside(image, "svg"),
            job: disc.job.to_string(),
            volume: disc.volume.to_string(),
            copy: disc.copy.to_string(),
            name: disc.file_name(),
        }
    }

    fn table<'a>(&'a self, sha256: Option<&'a str>) -> Vec<(&'static str, &'a OsStr)> {
        let mut t: Vec<(&'static str, &'a OsStr)> = vec![
            ("image", self.image.as_os_str()),
            ("label", self.label.as_os_str()),
            ("label_pdf", self.label_pdf.as_os_str()),
            ("label_svg", self.label_svg.as_os_str()),
            ("job", self.job.as_ref()),
            ("volume", self.volume.as_ref()),
            ("copy", self.copy.as_ref()),
            ("name", self.name.as_ref()),
        ];
        if let Some(h) = sha256 {
            t.push(("sha256", h.as_ref()));
        }
        t
    }
}

impl CommandBurner {
    pub fn new(cfg: &BurnerConfig, dir: PathBuf) -> CommandBurner {
        CommandBurner {
            name: cfg.name.clone(),
            dir,
            argv: cfg.argv.clone(),
            verify: cfg.verify.clone(),
            reject_code: cfg.reject_exit_code.unwrap_or(DEFAULT_REJECT_EXIT_CODE),
            timeout: cfg.timeout(),
            current: None,
            stop: Shutdown::new(),
        }
    }

    fn run(
        &self,
        what: &str,
        template: &[String],
        values: &[(&str, &OsStr)],
        stop: &Shutdown,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Output, BurnError> {
        let argv: Vec<OsString> = template.iter().map(|a| expand(a, values)).collect();
        let out = process::run(&argv, self.timeout, stop, &mut |s, l| {
            if s == Stream::Stdout {
                if let Some(p) = parse_progress(l) {
                    progress(p);
                }
            }
        })
        .map_err(|e| {
            BurnError::Failed(format!(
                "burner {}: cannot run {what} {:?}: {e}",
                self.name,
                template.first().map(String::as_str).unwrap_or("")
            ))
        })?;
        match out.end {
            End::Stopped => Err(BurnError::Stopped),
            End::TimedOut => Err(BurnError::Failed(format!(
                "burner {}: {what} did not finish within {} s (killed)",
                self.name,
                self.timeout.as_secs()
            ))),
            End::Exited(_) => Ok(out),
        }
    }

    fn label(&self, path: &Path, text: &str) {
        let _ = fs::create_dir_all(&self.dir);
        let _ = fs::write(path, format!("{text}\n"));
    }
}

impl Burner for CommandBurner {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> BurnerKind {
        BurnerKind::Command
    }

    fn burn(
        &mut self,
        image: &Path,
        disc: &DiscId,
        stop: &Shutdown,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Written, BurnError> {
        let label = self.dir.join(format!("{}.label", disc.stem()));
        fs::create_dir_all(&self.dir)
            .and_then(|()| {
                fs::write(
                    &label,
                    format!(
                        "dcmdisc job {} volume {} copy {}\n",
                        disc.job, disc.volume, disc.copy
                    ),
                )
            })
            .map_err(|e| {
                BurnError::Failed(format!("cannot write the label {}: {e}", label.display()))
            })?;
        self.current = Some((*disc, image.to_path_buf(), label.clone()));
        self.stop = stop.clone();
        let values = Placeholders::new(image, &label, disc);
        let out = self.run(
            "the burn command",
            &self.argv,
            &values.table(None),
            stop,
            progress,
        )?;
        match out.code() {
            Some(0) => Ok(Written {
                image: PathBuf::new(),
            }),
            Some(c) if c == self.reject_code => {
                let why = last_words(&out).unwrap_or_else(|| "rejected by the robot".into());
                self.label(&label, &format!("REJECT: {why}"));
                Err(BurnError::Rejected(why))
            }
            code => Err(BurnError::Failed(format!(
                "burner {}: the burn command ended with {}{}",
                self.name,
                code.map_or("a signal".to_string(), |c| format!("exit status {c}")),
                last_words(&out)
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default()
            ))),
        }
    }

    fn interrupted(&mut self, disc: &DiscId, _position: usize) {
        let label = self.dir.join(format!("{}.label", disc.stem()));
        self.label(&label, super::INTERRUPTED_LABEL);
    }

    fn verify(&mut self, _written: &Written, sha256: &str) -> Result<(), BurnError> {
        if self.verify.is_empty() {
            return Ok(());
        }
        let Some((disc, image, label)) = self.current.take() else {
            return Err(BurnError::Failed("verify without a burn".into()));
        };
        let values = Placeholders::new(&image, &label, &disc);
        let out = self.run(
            "the verify command",
            &self.verify,
            &values.table(Some(sha256)),
            &self.stop,
            &mut |_| {},
        )?;
        if out.success() {
            return Ok(());
        }
        let why = format!(
            "verification failed: {}",
            last_words(&out).unwrap_or_else(|| format!("exit status {:?}", out.code()))
        );
        self.label(&label, &format!("REJECT: {why}"));
        Err(BurnError::Rejected(why))
    }
}

#[cfg(test)]
mod tests;
