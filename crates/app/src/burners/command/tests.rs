//! The command burner against a robot script: it copies the image where the test can read
//! it, prints progress, and answers burned, rejected, failed or nothing (a hang) as told.

use std::path::{Path, PathBuf};

use super::*;
use crate::burners::sha256_file;
use crate::testutil::TempDir;

/// `robot MODE IMAGE LABEL JOB VOLUME COPY NAME OUT`: logs its arguments, then per MODE.
const ROBOT: &str = r#"#!/bin/sh
mode="$1"; image="$2"; out="$8"
printf '%s\n' "$@" > "$out.args"
case "$mode" in
  ok) echo "PROGRESS 0.5"; cp "$image" "$out/$7"; echo "PROGRESS 1"; exit 0 ;;
  reject) echo "loading" >&2; echo "REJECT: the disc failed the robot's media check" >&2; exit 2 ;;
  fail) echo "printer offline" >&2; exit 7 ;;
  hang) sleep 60 ;;
esac
"#;

/// `check FILE SHA256`: exit 0 when FILE has that SHA-256.
const CHECK: &str = r#"#!/bin/sh
got=$(sha256sum "$1" | cut -d' ' -f1)
[ "$got" = "$2" ] && exit 0
echo "read back $got" >&2
exit 1
"#;

struct Robot {
    _tmp: TempDir,
    out: PathBuf,
    image: PathBuf,
    dir: PathBuf,
    robot: PathBuf,
    check: PathBuf,
}

fn script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Robot {
    fn new(tag: &str) -> Robot {
        let tmp = TempDir::new(tag);
        let out = tmp.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let image = tmp.path().join("vol 1.iso");
        std::fs::write(&image, vec![7u8; 100_000]).unwrap();
        let robot = tmp.path().join("robot");
        let check = tmp.path().join("check");
        script(&robot, ROBOT);
        script(&check, CHECK);
        Robot {
            dir: tmp.path().join("labels"),
            _tmp: tmp,
            out,
            image,
            robot,
            check,
        }
    }

    fn burner(&self, mode: &str, verify: bool, timeout: Option<u64>) -> CommandBurner {
        let s = |p: &Path| p.display().to_string();
        let argv = [
            s(&self.robot),
            mode.to_string(),
            "{image}".into(),
            "{label}".into(),
            "{job}".into(),
            "{volume}".into(),
            "{copy}".into(),
            "{name}".into(),
            s(&self.out),
        ];
        let cfg = BurnerConfig {
            name: "robot".into(),
            kind: BurnerKind::Command,
            argv: argv.to_vec(),
            verify: if verify {
                vec![
                    s(&self.check),
                    format!("{}/{{name}}", self.out.display()),
                    "{sha256}".into(),
                ]
            } else {
                Vec::new()
            },
            timeout_secs: timeout,
            ..BurnerConfig::default()
        };
        CommandBurner::new(&cfg, self.dir.clone())
    }
}

const DISC: DiscId = DiscId {
    job: 4,
    volume: 2,
    copy: 3,
};

fn burn(b: &mut CommandBurner, image: &Path) -> (Result<Written, BurnError>, Vec<f64>) {
    let mut seen = Vec::new();
    let r = b.burn(image, &DISC, &Shutdown::new(), &mut |p| seen.push(p));
    (r, seen)
}

#[test]
fn exit_0_is_burned_with_our_values_in_the_placeholders_and_progress_read() {
    let r = Robot::new("command-ok");
    let mut b = r.burner("ok", true, None);
    let (written, progress) = burn(&mut b, &r.image);
    let written = written.unwrap();
    assert_eq!(progress, [0.5, 1.0]);
    let args = std::fs::read_to_string(r.out.with_extension("args")).unwrap();
    let label = r.dir.join("job4-vol2-copy3.label");
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "ok",
            r.image.to_str().unwrap(),
            label.to_str().unwrap(),
            "4",
            "2",
            "3",
            "job4-vol2-copy3.iso",
            r.out.to_str().unwrap()
        ],
        "one argument each, a space in a path included: no shell"
    );
    assert_eq!(
        std::fs::read_to_string(&label).unwrap(),
        "dcmdisc job 4 volume 2 copy 3\n"
    );
    let sha = sha256_file(&r.image).unwrap();
    b.verify(&written, &sha).unwrap();
    // The verify command decides: other bytes where the robot put the disc → rejected.
    let (written, _) = burn(&mut b, &r.image);
    std::fs::write(r.out.join("job4-vol2-copy3.iso"), b"other").unwrap();
    match b.verify(&written.unwrap(), &sha) {
        Err(BurnError::Rejected(why)) => {
            assert!(why.starts_with("verification failed: read back"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(std::fs::read_to_string(&label)
        .unwrap()
        .starts_with("REJECT: verification failed"));
}

#[test]
fn without_a_verify_command_the_robot_is_trusted() {
    let r = Robot::new("command-trust");
    let mut b = r.burner("ok", false, None);
    let written = burn(&mut b, &r.image).0.unwrap();
    b.verify(&written, "not-even-a-hash").unwrap();
}

#[test]
fn the_reject_code_rejects_the_disc_with_the_last_stderr_line_and_others_fail() {
    let r = Robot::new("command-codes");
    match burn(&mut r.burner("reject", false, None), &r.image).0 {
        Err(BurnError::Rejected(why)) => {
            assert_eq!(why, "REJECT: the disc failed the robot's media check")
        }
        other => panic!("{other:?}"),
    }
    let label = std::fs::read_to_string(r.dir.join("job4-vol2-copy3.label")).unwrap();
    assert!(label.starts_with("REJECT: "), "{label}");
    match burn(&mut r.burner("fail", false, None), &r.image).0 {
        Err(BurnError::Failed(why)) => {
            assert!(why.contains("exit status 7: printer offline"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    match burn(&mut r.burner("hang", false, Some(1)), &r.image).0 {
        Err(BurnError::Failed(why)) => assert!(why.contains("did not finish within 1 s"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut cfg = BurnerConfig {
        name: "gone".into(),
        kind: BurnerKind::Command,
        ..BurnerConfig::default()
    };
    cfg.argv = vec!["/no/such/robot".into()];
    let mut b = CommandBurner::new(&cfg, r.dir.clone());
    assert!(
        matches!(burn(&mut b, &r.image).0, Err(BurnError::Failed(w)) if w.contains("cannot run"))
    );
}

#[test]
fn placeholders_are_replaced_by_our_values_only() {
    let v: [(&str, &OsStr); 2] = [
        ("image", OsStr::new("/a b/x.iso")),
        ("job", OsStr::new("7")),
    ];
    assert_eq!(expand("--in={image}", &v), "--in=/a b/x.iso");
    assert_eq!(expand("{job}-{job}", &v), "7-7");
    assert_eq!(expand("{other}{", &v), "{other}{");
    assert_eq!(parse_progress("PROGRESS 0.42"), Some(0.42));
    assert_eq!(parse_progress("PROGRESS 7"), Some(1.0));
    assert_eq!(parse_progress("PROGRESS NaN"), None);
    assert_eq!(parse_progress("progress 0.1"), None);
}

#[test]
fn the_disc_label_beside_the_image_is_a_placeholder() {
    let r = Robot::new("command-label-pdf");
    let s = |p: &Path| p.display().to_string();
    let cfg = BurnerConfig {
        name: "robot".into(),
        kind: BurnerKind::Command,
        argv: vec![
            s(&r.robot),
            "ok".into(),
            "{image}".into(),
            "{label}".into(),
            "{job}".into(),
            "{volume}".into(),
            "{copy}".into(),
            "{name}".into(),
            s(&r.out),
            "{label_pdf}".into(),
            "{label_svg}".into(),
        ],
        ..BurnerConfig::default()
    };
    let args = |b: &mut CommandBurner| {
        burn(b, &r.image).0.unwrap();
        let text = std::fs::read_to_string(r.out.with_extension("args")).unwrap();
        text.lines().skip(8).map(str::to_string).collect::<Vec<_>>()
    };
    // No label written (labels off): empty arguments, so the script can tell.
    let mut b = CommandBurner::new(&cfg, r.dir.clone());
    assert_eq!(args(&mut b), ["", ""]);
    let (pdf, svg) = (r.image.with_extension("pdf"), r.image.with_extension("svg"));
    std::fs::write(&pdf, b"%PDF-").unwrap();
    std::fs::write(&svg, b"<svg/>").unwrap();
    assert_eq!(args(&mut b), [s(&pdf), s(&svg)]);
}
