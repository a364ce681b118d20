//! File Meta Information parsing (`dicom::meta::parse_meta`) on the first bytes of a file, and
//! what readers take from it.
#![no_main]

use dcmdisc_dicom::meta::parse_meta;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(meta) = parse_meta(data) else {
        return;
    };
    assert!(meta.dataset_offset as usize <= data.len());
    let _ = meta.transfer_syntax_uid();
    let _ = meta.source_ae_title();
    let _ = meta.private_information("2.25.267312939302375511414433714362251802968.1");
    let _ = meta.identity();
});
