//! DIMSE command sets (PS3.7 section 9 and annex E): always Implicit VR Little Endian, group
//! 0000 only, so a small codec of our own is simpler than a general dataset parser.

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("command set truncated at byte {0}")]
    Truncated(usize),
    #[error("command set element ({0:04X},{1:04X}) is outside group 0000")]
    NotCommandGroup(u16, u16),
    #[error("command set lacks {0}")]
    Missing(&'static str),
}

pub const C_STORE_RQ: u16 = 0x0001;
pub const C_STORE_RSP: u16 = 0x8001;
pub const C_ECHO_RQ: u16 = 0x0030;
pub const C_ECHO_RSP: u16 = 0x8030;
pub const C_CANCEL_RQ: u16 = 0x0FFF;
pub const N_EVENT_REPORT_RQ: u16 = 0x0100;
pub const N_EVENT_REPORT_RSP: u16 = 0x8100;
pub const N_GET_RQ: u16 = 0x0110;
pub const N_GET_RSP: u16 = 0x8110;
pub const N_ACTION_RQ: u16 = 0x0130;
pub const N_ACTION_RSP: u16 = 0x8130;
pub const N_CREATE_RQ: u16 = 0x0140;
pub const N_CREATE_RSP: u16 = 0x8140;
/// The other request command fields of PS3.7 (E.1-1): C-GET, C-FIND, C-MOVE and the
/// N-services. We provide none of them, and each has a response to refuse it with.
pub const OTHER_REQUESTS: [u16; 9] = [
    0x0010, 0x0020, 0x0021, 0x0100, 0x0110, 0x0120, 0x0130, 0x0140, 0x0150,
];
/// A response's command field is its request's with bit 15 set.
pub const RESPONSE_BIT: u16 = 0x8000;
pub const NO_DATASET: u16 = 0x0101;

pub const TAG_AFFECTED_SOP_CLASS: u16 = 0x0002;
pub const TAG_REQUESTED_SOP_CLASS: u16 = 0x0003;
pub const TAG_COMMAND_FIELD: u16 = 0x0100;
pub const TAG_MESSAGE_ID: u16 = 0x0110;
pub const TAG_MESSAGE_ID_RESPONDED: u16 = 0x0120;
pub const TAG_DATASET_TYPE: u16 = 0x0800;
pub const TAG_STATUS: u16 = 0x0900;
pub const TAG_ERROR_COMMENT: u16 = 0x0902;
pub const TAG_AFFECTED_SOP_INSTANCE: u16 = 0x1000;
pub const TAG_REQUESTED_SOP_INSTANCE: u16 = 0x1001;
pub const TAG_EVENT_TYPE_ID: u16 = 0x1002;
pub const TAG_ATTRIBUTE_IDENTIFIER_LIST: u16 = 0x1005;
pub const TAG_ACTION_TYPE_ID: u16 = 0x1008;
pub const TAG_OFFENDING_ELEMENT: u16 = 0x0901;
/// Any Data Set Type but 0101H says a data set follows; 0000H is what PS3.7 E.1 suggests.
pub const DATASET_PRESENT: u16 = 0x0000;

/// General statuses of the DIMSE-N services (PS3.7 Annex C) that ours return.
pub mod status {
    pub const SUCCESS: u16 = 0x0000;
    pub const PROCESSING_FAILURE: u16 = 0x0110;
    pub const NO_SUCH_SOP_INSTANCE: u16 = 0x0112;
    pub const INVALID_ARGUMENT_VALUE: u16 = 0x0115;
    pub const NO_SUCH_SOP_CLASS: u16 = 0x0118;
    pub const CLASS_INSTANCE_CONFLICT: u16 = 0x0119;
    pub const MISSING_ATTRIBUTE: u16 = 0x0120;
    pub const NO_SUCH_ACTION: u16 = 0x0123;
    pub const RESOURCE_LIMITATION: u16 = 0x0213;
}

/// A decoded command set: element number (group 0000 implied) and raw value.
#[derive(Debug, Default, Clone)]
pub struct Command {
    elements: Vec<(u16, Vec<u8>)>,
}

impl Command {
    pub fn parse(bytes: &[u8]) -> Result<Command, CommandError> {
        let mut elements = Vec::new();
        let mut pos = 0usize;
        while pos < bytes.len() {
            let head = bytes
                .get(pos..pos + 8)
                .ok_or(CommandError::Truncated(pos))?;
            let group = u16::from_le_bytes([head[0], head[1]]);
            let element = u16::from_le_bytes([head[2], head[3]]);
            let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
            if group != 0 {
                return Err(CommandError::NotCommandGroup(group, element));
            }
            let start = pos + 8;
            let end = start.checked_add(len).ok_or(CommandError::Truncated(pos))?;
            let value = bytes.get(start..end).ok_or(CommandError::Truncated(pos))?;
            elements.push((element, value.to_vec()));
            pos = end;
        }
        Ok(Command { elements })
    }

    /// An element's value as received.
    pub fn raw(&self, element: u16) -> Option<&[u8]> {
        self.elements
            .iter()
            .find(|(e, _)| *e == element)
            .map(|(_, v)| v.as_slice())
    }

    pub fn u16(&self, element: u16) -> Option<u16> {
        match self.raw(element)? {
            [a, b] => Some(u16::from_le_bytes([*a, *b])),
            _ => None,
        }
    }

    pub fn uid(&self, element: u16) -> Option<String> {
        let raw = self.raw(element)?;
        let s = String::from_utf8_lossy(raw);
        Some(crate::contexts::clean_uid(&s).to_string())
    }

    pub fn command_field(&self) -> Result<u16, CommandError> {
        self.u16(TAG_COMMAND_FIELD)
            .ok_or(CommandError::Missing("Command Field (0000,0100)"))
    }

    pub fn has_dataset(&self) -> bool {
        self.u16(TAG_DATASET_TYPE).is_some_and(|t| t != NO_DATASET)
    }

    pub fn push_u16(&mut self, element: u16, v: u16) -> &mut Self {
        self.elements.push((element, v.to_le_bytes().to_vec()));
        self
    }

    /// A value as it is to be sent (AT lists and the like).
    pub fn push_raw(&mut self, element: u16, value: Vec<u8>) -> &mut Self {
        self.elements.push((element, value));
        self
    }

    /// Replace (or add) a US value.
    pub fn set_u16(&mut self, element: u16, v: u16) -> &mut Self {
        self.elements.retain(|(e, _)| *e != element);
        self.push_u16(element, v)
    }

    /// UI values are padded with NUL to even length (PS3.5 6.2).
    pub fn push_uid(&mut self, element: u16, uid: &str) -> &mut Self {
        let mut v = uid.as_bytes().to_vec();
        if v.len() % 2 == 1 {
            v.push(0);
        }
        self.elements.push((element, v));
        self
    }

    /// LO values are padded with a space and limited to 64 characters.
    pub fn push_text(&mut self, element: u16, text: &str) -> &mut Self {
        let mut v: Vec<u8> = text
            .bytes()
            .filter(|b| (0x20..0x7f).contains(b) && *b != b'\\')
            .take(64)
            .collect();
        if v.len() % 2 == 1 {
            v.push(b' ');
        }
        self.elements.push((element, v));
        self
    }

    /// Encode with the Command Group Length first and elements in ascending order, as PS3.7
    /// requires.
    pub fn encode(&self) -> Vec<u8> {
        let mut els: Vec<&(u16, Vec<u8>)> = self.elements.iter().filter(|(e, _)| *e != 0).collect();
        els.sort_by_key(|(e, _)| *e);
        let body_len: usize = els.iter().map(|(_, v)| 8 + v.len()).sum();
        let mut out = Vec::with_capacity(12 + body_len);
        out.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0]);
        out.extend_from_slice(&(body_len as u32).to_le_bytes());
        for (e, v) in els {
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&e.to_le_bytes());
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut c = Command::default();
        c.push_uid(TAG_AFFECTED_SOP_CLASS, "1.2.840.10008.1.1")
            .push_u16(TAG_COMMAND_FIELD, C_ECHO_RSP)
            .push_u16(TAG_MESSAGE_ID_RESPONDED, 7)
            .push_u16(TAG_DATASET_TYPE, NO_DATASET)
            .push_u16(TAG_STATUS, 0);
        let bytes = c.encode();
        let d = Command::parse(&bytes).unwrap();
        assert_eq!(d.command_field().unwrap(), C_ECHO_RSP);
        assert_eq!(d.u16(TAG_MESSAGE_ID_RESPONDED), Some(7));
        assert_eq!(d.uid(TAG_AFFECTED_SOP_CLASS).unwrap(), "1.2.840.10008.1.1");
        assert!(!d.has_dataset());
        // group length counts everything after itself
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            bytes.len() - 12
        );
    }

    #[test]
    fn truncated_is_an_error() {
        assert!(Command::parse(&[0, 0, 0, 1, 10, 0, 0, 0, 1]).is_err());
        assert!(Command::parse(&[8, 0, 0x16, 0, 0, 0, 0, 0]).is_err());
    }
}
