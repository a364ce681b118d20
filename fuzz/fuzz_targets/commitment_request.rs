//! The Storage Commitment N-ACTION data set as the SCP reads it (`dataset::read` over the
//! dicom walk and the item splitter, then the Transaction UID and references). What it
//! accepts, written back as the report's Referenced SOP Sequence, must read back the same.
#![no_main]

use dcmdisc_dicom::tag;
use dcmdisc_net::commitment::Report;
use dcmdisc_net::dataset;
use dcmdisc_net::fuzzing::commitment_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let explicit = mode & 1 == 1;
    let Ok((transaction_uid, refs)) = commitment_request(bytes, explicit) else {
        return;
    };
    assert!(!refs.is_empty(), "accepted without references");
    let report = Report {
        transaction_uid: transaction_uid.clone(),
        committed: refs.clone(),
        failed: Vec::new(),
    };
    let written = report.dataset(explicit);
    let read = dataset::read(
        &written,
        explicit,
        &[tag::TRANSACTION_UID],
        &[tag::REFERENCED_SOP_SEQUENCE],
    )
    .unwrap_or_else(|e| panic!("our report does not read back: {e}"));
    assert_eq!(read.uid(tag::TRANSACTION_UID), Some(transaction_uid));
    let back: Vec<(String, String)> = read
        .items(tag::REFERENCED_SOP_SEQUENCE)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            (
                i.uid(tag::REFERENCED_SOP_CLASS_UID).unwrap_or_default(),
                i.uid(tag::REFERENCED_SOP_INSTANCE_UID).unwrap_or_default(),
            )
        })
        .collect();
    let sent: Vec<(String, String)> = refs
        .into_iter()
        .map(|r| (r.sop_class_uid, r.sop_instance_uid))
        .collect();
    assert_eq!(back, sent);
});
