//! The ISO 9660 reader of volume validation (`dcmdisc_iso9660::read`) on an arbitrary image:
//! open it, list its files and read the first bytes of each (what validation does).
#![no_main]

use std::io::Cursor;

use dcmdisc_iso9660::read::IsoImage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut image) = IsoImage::open(Cursor::new(data)) else {
        return;
    };
    let paths: Vec<String> = image.files().iter().map(|f| f.path.clone()).collect();
    for p in paths.iter().take(64) {
        let _ = image.read_file_prefix(p, 4096);
    }
});
