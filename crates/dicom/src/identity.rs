//! What names an instance wherever it goes: on the wire, in the archive, on a disc.

use std::fmt;

/// The (SOP Class, SOP Instance, Transfer Syntax) triple of one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InstanceId {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax_uid: String,
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (class {}, transfer syntax {})",
            self.sop_instance_uid, self.sop_class_uid, self.transfer_syntax_uid
        )
    }
}
