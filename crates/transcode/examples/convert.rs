//! `convert IN OUT [--to explicit-le|implicit-le]`: one file through
//! `dcmdisc_transcode::convert_file`, for tests and benchmarks. Prints the report as one
//! line of `key=value` (with the peak resident memory); exit status 0 done, 1 conversion
//! refused or failed, 2 usage.
//!
//! `convert --can FROM_TS` prints yes/no (exit 0/1) for `can_convert(FROM_TS, explicit-le)`.

use std::path::PathBuf;
use std::process::ExitCode;

use dcmdisc_transcode::{can_convert, convert_file, Identity, Target};

const USAGE: &str =
    "usage: convert IN OUT [--to explicit-le|implicit-le] | convert --can TRANSFER_SYNTAX_UID";

/// VmHWM of this process (Linux), for the memory checks of the tests: a parent's peak is
/// not inherited here, unlike `ru_maxrss` of a forked child.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 2 && args[0] == "--can" {
        let yes = can_convert(&args[1], Target::ExplicitLe);
        println!("{}", if yes { "yes" } else { "no" });
        return if yes {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let mut files = Vec::new();
    let mut to = Target::ExplicitLe;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--to" => match it.next().map(String::as_str) {
                Some("explicit-le") => to = Target::ExplicitLe,
                Some("implicit-le") => to = Target::ImplicitLe,
                _ => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            _ => files.push(PathBuf::from(a)),
        }
    }
    let [input, output] = files.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let ident = Identity {
        implementation_class_uid: "2.25.267312939302375511414433714362251802968".into(),
        implementation_version_name: format!("DCMDISC_{}", env!("CARGO_PKG_VERSION")),
    };
    match convert_file(input, output, to, &ident) {
        Ok(r) => {
            let rss = peak_rss_kib().map_or("unknown".to_string(), |k| k.to_string());
            println!(
                "from_ts={} to_ts={} bytes_written={} lossy_source={} peak_rss_kib={rss}",
                r.from_ts, r.to_ts, r.bytes_written, r.lossy_source
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("convert: {}: {e}", input.display());
            ExitCode::from(1)
        }
    }
}
