//! C-ECHO SCP (PS3.7 9.3.5): the Verification service answers success.

use crate::association::End;
use crate::contexts::VERIFICATION;
use crate::dimse::{self, Command};
use crate::dispatch::{answer, Exchange, Receiver};

pub(crate) fn handle<S, K>(
    ex: &Exchange<'_, S>,
    cmd: &Command,
    message_id: u16,
) -> Result<Option<Receiver<K>>, End> {
    let mut rsp = Command::default();
    rsp.push_uid(dimse::TAG_AFFECTED_SOP_CLASS, VERIFICATION)
        .push_u16(dimse::TAG_COMMAND_FIELD, dimse::C_ECHO_RSP)
        .push_u16(dimse::TAG_MESSAGE_ID_RESPONDED, message_id)
        .push_u16(dimse::TAG_DATASET_TYPE, dimse::NO_DATASET)
        .push_u16(dimse::TAG_STATUS, 0);
    // A C-ECHO-RQ should carry no dataset; if one follows anyway, it is read and dropped.
    answer(ex, cmd.has_dataset(), rsp)
}
