//! DIMSE command set decoding (group 0000, Implicit VR LE) and what the dispatcher reads of it;
//! a decoded command re-encodes to one that decodes the same.
#![no_main]

use dcmdisc_net::dimse::{self, Command};
use libfuzzer_sys::fuzz_target;

const ELEMENTS: [u16; 8] = [
    dimse::TAG_AFFECTED_SOP_CLASS,
    dimse::TAG_COMMAND_FIELD,
    dimse::TAG_MESSAGE_ID,
    dimse::TAG_MESSAGE_ID_RESPONDED,
    dimse::TAG_DATASET_TYPE,
    dimse::TAG_STATUS,
    dimse::TAG_ERROR_COMMENT,
    dimse::TAG_AFFECTED_SOP_INSTANCE,
];

fuzz_target!(|data: &[u8]| {
    let Ok(cmd) = Command::parse(data) else {
        return;
    };
    let field = cmd.command_field().ok();
    let has_dataset = cmd.has_dataset();
    let values: Vec<_> = ELEMENTS.iter().map(|&e| (cmd.u16(e), cmd.uid(e))).collect();
    let again = Command::parse(&cmd.encode())
        .unwrap_or_else(|e| panic!("our encoding of a parsed command does not parse: {e}"));
    assert_eq!(again.command_field().ok(), field);
    assert_eq!(again.has_dataset(), has_dataset);
    let values_again: Vec<_> = ELEMENTS
        .iter()
        .map(|&e| (again.u16(e), again.uid(e)))
        .collect();
    assert_eq!(values, values_again);
});
