//! Builds an ISO 9660 image from a directory tree whose names are already ISO-ready, and
//! reports how long it took. Used by `bench/iso.sh` to compare with genisoimage and xorriso.
//!
//! ```text
//! isobench SRC_DIR OUT.iso [--volume-id ID] [--plain]
//! ```
//! `--plain` writes through the generic `Write` path (user-space copies only) instead of the
//! file-to-file path that `write_to_path` uses.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use dcmdisc_iso9660::{FileSource, IsoBuilder, IsoDateTime};

fn walk(root: &Path, rel: &str, builder: &mut IsoBuilder) -> Result<(), String> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut entries = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    // Sorted so that the data order, and so the image, does not depend on readdir order.
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = e.metadata().map_err(|err| format!("{path}: {err}"))?;
        if meta.is_dir() {
            builder.add_dir(&path).map_err(|err| err.to_string())?;
            walk(root, &path, builder)?;
        } else if meta.is_file() {
            builder
                .add_file(&path, FileSource::path_with_size(e.path(), meta.len()))
                .map_err(|err| err.to_string())?;
        }
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut positional: Vec<String> = Vec::new();
    let mut volume_id = "ISOBENCH".to_string();
    let mut plain = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--volume-id" => volume_id = args.next().ok_or("--volume-id needs a value")?,
            "--plain" => plain = true,
            _ => positional.push(a),
        }
    }
    let [src, out] = <[String; 2]>::try_from(positional)
        .map_err(|_| "usage: isobench SRC_DIR OUT.iso [--volume-id ID] [--plain]".to_string())?;
    let (src, out) = (PathBuf::from(src), PathBuf::from(out));

    let started = Instant::now();
    let timestamp = IsoDateTime::now().map_err(|e| e.to_string())?;
    let mut builder = IsoBuilder::new(&volume_id, timestamp).map_err(|e| e.to_string())?;
    walk(&src, "", &mut builder)?;
    let layout = builder.layout().map_err(|e| e.to_string())?;
    let planned = started.elapsed();
    let written = if plain {
        let file = File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        builder.write(file)
    } else {
        builder.write_to_path(&out)
    }
    .map_err(|e| e.to_string())?;
    let total = started.elapsed();
    println!(
        "isobench: {} files, {} dirs, {} bytes image ({} sectors), \
         scan+layout {:.3} s, total {:.3} s, {:.0} MB/s{}",
        builder.tree().file_count(),
        builder.tree().dir_count(),
        written,
        layout.total_sectors(),
        planned.as_secs_f64(),
        total.as_secs_f64(),
        written as f64 / 1e6 / total.as_secs_f64(),
        if plain { " (plain writer)" } else { "" }
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("isobench: {e}");
            ExitCode::FAILURE
        }
    }
}
