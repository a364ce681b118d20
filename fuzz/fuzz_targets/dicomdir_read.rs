//! The DICOMDIR reader of volume validation (`dcmdisc_media::dicomdir_read`) on arbitrary bytes:
//! File Meta, the record sequence and every record offset, then the depth-first walk.
#![no_main]

use dcmdisc_media::dicomdir_read::read_dicomdir;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(dir) = read_dicomdir(data) {
        let _ = dir.walk();
    }
});
