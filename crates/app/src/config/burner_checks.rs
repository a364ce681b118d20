//! The per-kind rules of a `[[burners]]` entry: each kind's own keys are refused on the
//! other kinds (a `device` on a folder burner is a mistake the operator should hear about),
//! and the drive's and command's values are checked before anything is spawned.

use super::jobs::{BurnerConfig, BurnerKind};
use super::ConfigError;

/// The placeholders a command burner's `argv` may use; `verify` may also use `{sha256}`.
pub const PLACEHOLDERS: [&str; 8] = [
    "image",
    "label",
    "label_pdf",
    "label_svg",
    "job",
    "volume",
    "copy",
    "name",
];

fn refuse(b: &BurnerConfig, what: String) -> ConfigError {
    ConfigError::Burner(format!("{:?}: {what}", b.name))
}

/// The keys set on `b` that belong to a kind other than its own.
fn foreign_keys(b: &BurnerConfig) -> Vec<(&'static str, &'static str)> {
    let mut set = Vec::new();
    let sim = "simulator";
    let drive = "drive";
    let command = "command";
    if !b.discs.is_empty() {
        set.push(("discs", sim));
    }
    if b.speed_mb_s != 0 {
        set.push(("speed_mb_s", sim));
    }
    for (key, on) in [
        ("device", b.device.is_some()),
        ("xorriso", b.xorriso.is_some()),
        ("blank_rewritable", b.blank_rewritable.is_some()),
        ("eject", b.eject.is_some()),
        ("speed", b.speed.is_some()),
    ] {
        if on {
            set.push((key, drive));
        }
    }
    if !b.argv.is_empty() {
        set.push(("argv", command));
    }
    if !b.verify.is_empty() {
        set.push(("verify", command));
    }
    if b.reject_exit_code.is_some() {
        set.push(("reject_exit_code", command));
    }
    let own = match b.kind {
        BurnerKind::Folder => "folder",
        BurnerKind::Simulator => sim,
        BurnerKind::Drive => drive,
        BurnerKind::Command => command,
    };
    set.retain(|(_, kind)| *kind != own);
    if b.timeout_secs.is_some() && !matches!(b.kind, BurnerKind::Drive | BurnerKind::Command) {
        set.push(("timeout_secs", "drive\" or \"command"));
    }
    set
}

/// `{word}` placeholders of one argument, or the reason it is malformed.
fn placeholders(arg: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("{arg:?} has a '{{' without '}}'"));
        };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(out)
}

fn check_template(
    b: &BurnerConfig,
    key: &str,
    argv: &[String],
    extra: &[&str],
) -> Result<(), ConfigError> {
    let Some(program) = argv.first() else {
        return Ok(());
    };
    if program.is_empty() {
        return Err(refuse(
            b,
            format!("{key}: the program (first element) is empty"),
        ));
    }
    for arg in argv {
        for p in placeholders(arg).map_err(|e| refuse(b, format!("{key}: {e}")))? {
            if !PLACEHOLDERS.contains(&p) && !extra.contains(&p) {
                let mut known: Vec<&str> = PLACEHOLDERS.to_vec();
                known.extend_from_slice(extra);
                return Err(refuse(
                    b,
                    format!(
                        "{key}: unknown placeholder {{{p}}} (known: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn check(b: &BurnerConfig) -> Result<(), ConfigError> {
    if let Some((key, kind)) = foreign_keys(b).first() {
        return Err(refuse(b, format!("{key} is for kind = \"{kind}\" only")));
    }
    if let Some(t) = b.timeout_secs {
        if !(1..=86_400).contains(&t) {
            return Err(refuse(
                b,
                format!("timeout_secs = {t}: allowed range is 1..=86400"),
            ));
        }
    }
    match b.kind {
        BurnerKind::Drive => {
            let device = b.device.as_deref().unwrap_or("");
            if device.is_empty() {
                return Err(refuse(
                    b,
                    "device is required for kind = \"drive\" (e.g. \"/dev/sr0\", or \
                     \"stdio:/path/file\" for a file as a pseudo-drive)"
                        .into(),
                ));
            }
            // xorriso would read a leading '-' as a command of its own.
            if device.starts_with('-') || device.contains('\n') {
                return Err(refuse(b, format!("device = {device:?}: not a device path")));
            }
            if device == "stdio:" {
                return Err(refuse(b, "device = \"stdio:\" names no file".into()));
            }
            if b.xorriso.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(refuse(b, "xorriso is empty".into()));
            }
            if let Some(s) = b.speed {
                if !(1..=100).contains(&s) {
                    return Err(refuse(b, format!("speed = {s}: allowed range is 1..=100")));
                }
            }
        }
        BurnerKind::Command => {
            if b.argv.is_empty() {
                return Err(refuse(
                    b,
                    "argv is required for kind = \"command\" (the program and its arguments)"
                        .into(),
                ));
            }
            check_template(b, "argv", &b.argv, &[])?;
            check_template(b, "verify", &b.verify, &["sha256"])?;
            if let Some(c) = b.reject_exit_code {
                if !(1..=255).contains(&c) {
                    return Err(refuse(
                        b,
                        format!("reject_exit_code = {c}: allowed range is 1..=255"),
                    ));
                }
            }
        }
        BurnerKind::Folder | BurnerKind::Simulator => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::placeholders;
    use crate::config::jobs::BurnerKind;
    use crate::config::Config;

    fn err(toml: &str) -> String {
        match Config::parse(toml).and_then(|c| c.validate()) {
            Ok(()) => panic!("accepted:\n{toml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn drive_and_command_burners_are_read_with_their_defaults() {
        let cfg = Config::parse(
            r#"
            [[burners]]
            name = "dvd"
            kind = "drive"
            device = "/dev/sr0"
            speed = 8

            [[burners]]
            name = "robot"
            kind = "command"
            argv = ["/usr/local/bin/robot", "--image={image}", "--label", "{label}", "{job}"]
            verify = ["/usr/local/bin/check", "{name}", "{sha256}"]
            reject_exit_code = 3
            timeout_secs = 600
            "#,
        )
        .unwrap();
        cfg.validate().unwrap();
        let b = cfg.burners();
        assert_eq!(b[0].kind, BurnerKind::Drive);
        assert_eq!(b[0].device.as_deref(), Some("/dev/sr0"));
        assert_eq!((b[0].eject, b[0].blank_rewritable), (None, None));
        assert_eq!(b[0].timeout().as_secs(), 3600);
        assert_eq!(b[1].kind, BurnerKind::Command);
        assert_eq!(b[1].argv.len(), 5);
        assert_eq!(b[1].timeout().as_secs(), 600);
    }

    /// The commented-out `[[burners]]` examples of dcmdisc.example.toml, uncommented, are a
    /// valid configuration: the documented keys and values are the ones we read.
    #[test]
    fn the_example_files_burners_are_valid() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dcmdisc.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("# [[burners]]").unwrap();
        let mut toml = String::new();
        for line in text[start..].lines() {
            let Some(l) = line.strip_prefix('#') else {
                break;
            };
            let l = l.strip_prefix(' ').unwrap_or(l);
            if !l.starts_with('#') {
                toml.push_str(l);
                toml.push('\n');
            }
        }
        let cfg = Config::parse(&toml).unwrap();
        cfg.validate().unwrap();
        let kinds: Vec<BurnerKind> = cfg.burners().iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            [
                BurnerKind::Folder,
                BurnerKind::Simulator,
                BurnerKind::Drive,
                BurnerKind::Command
            ]
        );
    }

    #[test]
    fn wrong_drive_and_command_entries_are_refused_naming_the_key() {
        let head = "[[burners]]\nname = \"b\"\n";
        let e = err(&format!("{head}kind = \"drive\"\n"));
        assert!(e.contains("[[burners]] \"b\": device is required"), "{e}");
        let e = err(&format!("{head}kind = \"drive\"\ndevice = \"\"\n"));
        assert!(e.contains("device is required"), "{e}");
        let e = err(&format!("{head}kind = \"drive\"\ndevice = \"-blank\"\n"));
        assert!(e.contains("not a device path"), "{e}");
        let e = err(&format!(
            "{head}kind = \"drive\"\ndevice = \"/dev/sr0\"\nspeed = 0\n"
        ));
        assert!(e.contains("speed = 0"), "{e}");
        let e = err(&format!("{head}kind = \"command\"\n"));
        assert!(e.contains("argv is required"), "{e}");
        let e = err(&format!("{head}kind = \"command\"\nargv = [\"\"]\n"));
        assert!(e.contains("argv: the program"), "{e}");
        let e = err(&format!(
            "{head}kind = \"command\"\nargv = [\"x\", \"{{patient}}\"]\n"
        ));
        assert!(e.contains("unknown placeholder {patient}"), "{e}");
        // {sha256} is the verify's only.
        let e = err(&format!(
            "{head}kind = \"command\"\nargv = [\"x\", \"{{sha256}}\"]\n"
        ));
        assert!(e.contains("argv: unknown placeholder {sha256}"), "{e}");
        let e = err(&format!(
            "{head}kind = \"command\"\nargv = [\"x\"]\nreject_exit_code = 0\n"
        ));
        assert!(e.contains("reject_exit_code = 0"), "{e}");
        let e = err(&format!(
            "{head}kind = \"command\"\nargv = [\"x\"]\ntimeout_secs = 0\n"
        ));
        assert!(e.contains("timeout_secs = 0"), "{e}");
        // One kind's keys on another kind.
        let e = err(&format!("{head}kind = \"folder\"\ndevice = \"/dev/sr0\"\n"));
        assert!(e.contains("device is for kind = \"drive\" only"), "{e}");
        let e = err(&format!(
            "{head}kind = \"drive\"\ndevice = \"/dev/sr0\"\nargv = [\"x\"]\n"
        ));
        assert!(e.contains("argv is for kind = \"command\" only"), "{e}");
        let e = err(&format!("{head}kind = \"simulator\"\ntimeout_secs = 5\n"));
        assert!(e.contains("timeout_secs is for"), "{e}");
        let e = err(&format!("{head}kind = \"folder\"\ndiscs = [\"blank\"]\n"));
        assert!(e.contains("discs is for kind = \"simulator\" only"), "{e}");
        // Names stay unique across kinds.
        let two =
            format!("{head}kind = \"folder\"\n{head}kind = \"drive\"\ndevice = \"/dev/sr0\"\n");
        assert!(err(&two).contains("two burners"));
    }

    #[test]
    fn placeholders_are_found_and_unclosed_ones_refused() {
        assert_eq!(
            placeholders("--in={image}:{job}").unwrap(),
            ["image", "job"]
        );
        assert!(placeholders("plain").unwrap().is_empty());
        assert!(placeholders("{image").is_err());
    }
}
