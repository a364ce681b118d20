//! A whole Part 10 file through `convert_file` to Explicit VR LE: the transcoder's own File
//! Meta reader, its dataset walk (measure and write passes), the pixel plan (frames,
//! fragments, offset tables) and every decoder behind it (RLE, JPEG Lossless, and
//! libjpeg-turbo-rs for Baseline/Extended under its panic guard).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use dcmdisc_transcode::{convert_file, Identity, Target};
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<PathBuf> = OnceLock::new();

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("dcmdisc-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

fuzz_target!(|data: &[u8]| {
    let d = DIR.get_or_init(dir);
    let input = d.join("in.dcm");
    let output = d.join("out.dcm");
    std::fs::write(&input, data).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    let ident = Identity {
        implementation_class_uid: "1.2.3.4".into(),
        implementation_version_name: "FUZZ".into(),
    };
    if convert_file(&input, &output, Target::ExplicitLe, &ident).is_ok() {
        // What we wrote must be a Part 10 file whose dataset walks.
        let out = std::fs::read(&output).unwrap_or_else(|e| panic!("{}: {e}", output.display()));
        let meta = dcmdisc_dicom::meta::parse_meta(&out)
            .unwrap_or_else(|e| panic!("our output's File Meta does not parse: {e}"));
        let start = meta.dataset_offset;
        dcmdisc_dicom::keys::scan(std::io::Cursor::new(&out), start, out.len() as u64, true)
            .unwrap_or_else(|e| panic!("our output's dataset does not walk: {e}"));
    }
});
