//! The header walk (`dicom::keys::scan`, on `walk::walk`) over a received data set, Explicit
//! VR LE when the first byte is odd, Implicit VR LE otherwise; then what the index and the
//! DICOMDIR read of its result (kept sequences walked again, the keys blob round trip).
#![no_main]

use std::io::Cursor;

use dcmdisc_dicom::keys::{item_values, scan, Keys};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, dataset)) = data.split_first() else {
        return;
    };
    let explicit = mode & 1 == 1;
    let end = dataset.len() as u64;
    let Ok(keys) = scan(Cursor::new(dataset), 0, end, explicit) else {
        return;
    };
    for e in keys.elements.iter().filter(|e| e.vr == Some(*b"SQ")) {
        let _ = item_values(&e.value, 0x0008_1155);
    }
    let _ = keys.string(0x0010_0010);
    let blob = keys.to_blob();
    let back = Keys::from_blob(&blob).unwrap_or_else(|| panic!("our keys blob does not decode"));
    assert_eq!(back.elements.len(), keys.elements.len());
});
