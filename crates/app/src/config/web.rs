//! `[web]`: the JSON HTTP API and event stream that `serve` runs beside the DICOM listener.

use std::net::{IpAddr, Ipv4Addr};

use serde::Deserialize;

/// The default web port: the DICOM port 104 plus 8000, clear of the registered 8080 and of
/// Orthanc's 8042, so a media center and a PACS on one host do not collide.
pub const DEFAULT_WEB_PORT: u16 = 8104;

/// `[web]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Serve the API inside `dcmdisc serve`.
    pub enabled: bool,
    /// Loopback only until users and a login exist (issue 11): another address is refused at
    /// start.
    pub bind_address: IpAddr,
    /// 0: any free port (the bound address is logged).
    pub port: u16,
}

impl Default for WebSection {
    fn default() -> Self {
        WebSection {
            enabled: true,
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_WEB_PORT,
        }
    }
}
