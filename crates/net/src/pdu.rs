//! PDU framing on a blocking socket. Association PDUs are decoded by dicom-ul; P-DATA-TF
//! bodies are walked here because their PDVs go straight to the instance sink without being
//! copied into per-PDV vectors.

use std::io::{self, Read, Write};

pub const A_ASSOCIATE_RQ: u8 = 0x01;
pub const P_DATA_TF: u8 = 0x04;
pub const A_RELEASE_RQ: u8 = 0x05;
pub const A_RELEASE_RP: u8 = 0x06;
pub const A_ABORT: u8 = 0x07;

/// A-ABORT source 2 (service provider) reasons, PS3.8 9.3.8.
pub const ABORT_REASON_NOT_SPECIFIED: u8 = 0;
pub const ABORT_UNRECOGNIZED_PDU: u8 = 1;
pub const ABORT_UNEXPECTED_PDU: u8 = 2;
pub const ABORT_UNRECOGNIZED_PDU_PARAMETER: u8 = 4;
pub const ABORT_UNEXPECTED_PDU_PARAMETER: u8 = 5;
pub const ABORT_INVALID_PDU_PARAMETER: u8 = 6;

#[derive(Debug, Clone, Copy)]
pub struct PduHeader {
    pub pdu_type: u8,
    pub length: u32,
}

/// Read the 6-byte PDU header. `Ok(None)` means the peer closed the connection cleanly
/// between PDUs.
pub fn read_header(r: &mut impl Read) -> io::Result<Option<PduHeader>> {
    let mut h = [0u8; 6];
    let mut got = 0;
    while got < h.len() {
        match r.read(&mut h[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(PduHeader {
        pdu_type: h[0],
        length: u32::from_be_bytes([h[2], h[3], h[4], h[5]]),
    }))
}

pub fn abort_pdu(source: u8, reason: u8) -> [u8; 10] {
    [A_ABORT, 0, 0, 0, 0, 4, 0, 0, source, reason]
}

pub fn release_rp_pdu() -> [u8; 10] {
    [A_RELEASE_RP, 0, 0, 0, 0, 4, 0, 0, 0, 0]
}

#[derive(Debug, thiserror::Error)]
#[error("malformed PDV item at offset {0} of a P-DATA-TF PDU")]
pub struct MalformedPdv(pub usize);

/// Bytes that open a PDV item: item length (4), presentation context ID, message control
/// header.
pub const PDV_HEADER_LEN: usize = 6;

/// The header of one PDV item inside a P-DATA-TF body.
#[derive(Debug, Clone, Copy)]
pub struct PdvHeader {
    pub context_id: u8,
    pub is_command: bool,
    pub is_last: bool,
    /// Length of the fragment that follows the header.
    pub data_len: usize,
}

impl PdvHeader {
    /// Decode the header found at offset `at` of a body that has `left` bytes from there on
    /// (header included); an item that does not fit in them is malformed.
    pub fn parse(hdr: &[u8; PDV_HEADER_LEN], at: usize, left: usize) -> Result<Self, MalformedPdv> {
        let item_len = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
        if left < PDV_HEADER_LEN || item_len < 2 || item_len > left - 4 {
            return Err(MalformedPdv(at));
        }
        Ok(PdvHeader {
            context_id: hdr[4],
            is_command: hdr[5] & 0x01 != 0,
            is_last: hdr[5] & 0x02 != 0,
            data_len: item_len - 2,
        })
    }
}

/// Encode a command or dataset as P-DATA-TF PDUs that respect the peer's maximum length
/// (0 = unlimited), appended to `out` so the caller can send everything in one write.
pub fn encode_pdata(
    out: &mut Vec<u8>,
    context_id: u8,
    is_command: bool,
    data: &[u8],
    peer_max: u32,
) {
    // PDV header is 6 bytes (length + context id + control header).
    let max_chunk = if peer_max == 0 {
        usize::MAX
    } else {
        (peer_max as usize).saturating_sub(6).max(1)
    };
    let mut chunks = data.chunks(max_chunk).peekable();
    if data.is_empty() {
        push_pdv(out, context_id, is_command, true, &[]);
        return;
    }
    while let Some(chunk) = chunks.next() {
        push_pdv(out, context_id, is_command, chunks.peek().is_none(), chunk);
    }
}

fn push_pdv(out: &mut Vec<u8>, context_id: u8, is_command: bool, last: bool, chunk: &[u8]) {
    let pdv_len = chunk.len() as u32 + 2;
    out.push(P_DATA_TF);
    out.push(0);
    out.extend_from_slice(&(pdv_len + 4).to_be_bytes());
    out.extend_from_slice(&pdv_len.to_be_bytes());
    out.push(context_id);
    out.push(u8::from(is_command) | (u8::from(last) << 1));
    out.extend_from_slice(chunk);
}

pub fn write_all(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(bytes)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PDV items of a whole P-DATA-TF body: (header, fragment).
    fn pdvs(body: &[u8]) -> Result<Vec<(PdvHeader, &[u8])>, MalformedPdv> {
        let mut items = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let hdr = body
                .get(at..at + PDV_HEADER_LEN)
                .and_then(|h| <&[u8; PDV_HEADER_LEN]>::try_from(h).ok())
                .ok_or(MalformedPdv(at))?;
            let h = PdvHeader::parse(hdr, at, body.len() - at)?;
            let start = at + PDV_HEADER_LEN;
            items.push((h, &body[start..start + h.data_len]));
            at = start + h.data_len;
        }
        Ok(items)
    }

    #[test]
    fn fragments_respect_peer_max() {
        let mut out = Vec::new();
        let data = vec![7u8; 100];
        encode_pdata(&mut out, 3, false, &data, 46);
        // 40 data bytes per PDU: 3 PDUs of 40, 40, 20
        let mut pos = 0;
        let mut seen = Vec::new();
        while pos < out.len() {
            let len = u32::from_be_bytes(out[pos + 2..pos + 6].try_into().unwrap()) as usize;
            assert!(len <= 46);
            for (h, data) in pdvs(&out[pos + 6..pos + 6 + len]).unwrap() {
                seen.push((data.len(), h.is_last));
            }
            pos += 6 + len;
        }
        assert_eq!(seen, vec![(40, false), (40, false), (20, true)]);
    }

    #[test]
    fn malformed_pdv_is_reported() {
        let body = [0, 0, 0, 9, 1, 0, 1];
        assert!(pdvs(&body).is_err());
        let body = [0, 0, 0, 1, 1];
        assert!(pdvs(&body).is_err());
    }
}
