//! Storage Commitment over the archive: what "committed" means for dcmdisc, and where a report
//! goes when it needs a new association.
//!
//! Committed: the instance with that SOP Instance UID is in the archive index with that SOP
//! Class UID. An indexed instance's file is complete (its seal holds), and with `[archive]
//! durable = true` (the default) it and its folder entry were synced to the device before its
//! C-STORE was answered, so a power loss cannot take it. Without durability nothing is
//! committed (processing failure): the promise could not be kept.

use std::net::{SocketAddr, ToSocketAddrs};

use dcmdisc_archive::Archive;
use dcmdisc_net::{AssociationInfo, Commitment, SopRef};
use tracing::{error, warn};

/// One answer per reference, in order.
pub(crate) fn check(archive: &Archive, info: &AssociationInfo, refs: &[SopRef]) -> Vec<Commitment> {
    let failed = |reason| refs.iter().map(|_| Commitment::Failed(reason)).collect();
    if !archive.is_durable() {
        warn!(
            assoc = info.id,
            "storage commitment refused: [archive] durable = false (instances are not \
             synced before they are acknowledged)"
        );
        return failed(Commitment::PROCESSING_FAILURE);
    }
    let uids: Vec<&str> = refs.iter().map(|r| r.sop_instance_uid.as_str()).collect();
    let classes = match archive.indexed_classes(&uids) {
        Ok(c) => c,
        Err(e) => {
            error!(assoc = info.id, error = %e, "storage commitment: index lookup failed");
            return failed(Commitment::PROCESSING_FAILURE);
        }
    };
    refs.iter()
        .map(|r| match classes.get(&r.sop_instance_uid) {
            Some((class, _)) if *class == r.sop_class_uid => Commitment::Committed,
            Some(_) => Commitment::Failed(Commitment::CLASS_INSTANCE_CONFLICT),
            None => Commitment::Failed(Commitment::NO_SUCH_OBJECT_INSTANCE),
        })
        .collect()
}

/// The calling AE's configured host and port. A host of `any` means the address the
/// request came from.
pub(crate) fn destination(archive: &Archive, info: &AssociationInfo) -> Result<SocketAddr, String> {
    let ae = &info.calling_ae;
    let (host, port) = archive
        .remote_address(ae)
        .map_err(|e| format!("remote AE lookup failed: {e}"))?
        .ok_or_else(|| format!("remote AE {ae:?} is not configured"))?;
    let port = port.ok_or_else(|| {
        format!("remote AE {ae:?} has no port (set one with: dcmdisc remote add {ae} --host {host} --port PORT)")
    })?;
    if host == "any" {
        return Ok(SocketAddr::new(info.peer.ip(), port));
    }
    (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ct_file, TempDir};
    use dcmdisc_archive::{ArchiveConfig, Control, Incoming, LogEntry};

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
    const MR: &str = "1.2.840.10008.5.1.4.1.1.4";

    fn open(dir: &std::path::Path, durable: bool) -> std::sync::Arc<Archive> {
        Archive::open(ArchiveConfig {
            data_dir: dir.to_path_buf(),
            durable,
            implementation_class_uid: "2.25.1".into(),
            implementation_version_name: "TEST".into(),
            conversion: None,
        })
        .unwrap()
    }

    /// Store one CT instance `1.2.3.<n>` through the archive's own C-STORE path.
    fn store(archive: &std::sync::Arc<Archive>, tmp: &TempDir, n: u32) -> String {
        let file = tmp.path().join(format!("ct{n}.dcm"));
        ct_file(&file, "DOE^J", "P1", "1.2.3", n, 16);
        let bytes = std::fs::read(&file).unwrap();
        let meta = dcmdisc_dicom::meta::parse_meta(&bytes).unwrap();
        let uid = format!("1.2.3.{n}");
        let mut w = archive
            .begin(Incoming {
                sop_class_uid: CT.into(),
                sop_instance_uid: uid.clone(),
                transfer_syntax: "1.2.840.10008.1.2.1".into(),
                calling_ae: "MODALITY".into(),
                called_ae: "CDP_PRINTER".into(),
            })
            .unwrap();
        w.write(&bytes[meta.dataset_offset as usize..]).unwrap();
        w.finish(LogEntry {
            time: String::new(),
            status: String::new(),
            calling_ae: "MODALITY".into(),
            peer: "127.0.0.1:1".into(),
            sop_class_uid: CT.into(),
            sop_instance_uid: uid.clone(),
            reason: String::new(),
        })
        .unwrap();
        uid
    }

    fn info() -> AssociationInfo {
        AssociationInfo {
            id: 1,
            calling_ae: "MODALITY".into(),
            called_ae: "DCMDISC".into(),
            peer: "127.0.0.9:4000".parse().unwrap(),
        }
    }

    fn sop(class: &str, instance: &str) -> SopRef {
        SopRef {
            sop_class_uid: class.into(),
            sop_instance_uid: instance.into(),
        }
    }

    #[test]
    fn indexed_instances_are_committed_and_the_rest_get_their_reason() {
        let tmp = TempDir::new("commitment");
        let archive = open(&tmp.path().join("data"), true);
        let uid = store(&archive, &tmp, 1);
        let refs = [sop(CT, &uid), sop(CT, "1.2.3.99"), sop(MR, &uid)];
        assert_eq!(
            check(&archive, &info(), &refs),
            vec![
                Commitment::Committed,
                Commitment::Failed(0x0112),
                Commitment::Failed(0x0119)
            ]
        );
    }

    #[test]
    fn nothing_is_committed_without_durability() {
        let tmp = TempDir::new("commitment-volatile");
        let archive = open(&tmp.path().join("data"), false);
        let uid = store(&archive, &tmp, 2);
        assert_eq!(
            check(&archive, &info(), &[sop(CT, &uid)]),
            vec![Commitment::Failed(0x0110)]
        );
    }

    #[test]
    fn the_destination_is_the_configured_host_and_port() {
        let tmp = TempDir::new("commitment-destination");
        let dir = tmp.path().join("data");
        let archive = open(&dir, true);
        let control = Control::open(&dir).unwrap();
        assert!(destination(&archive, &info())
            .unwrap_err()
            .contains("not configured"));
        control.add_remote("MODALITY", "127.0.0.5", None).unwrap();
        assert!(destination(&archive, &info())
            .unwrap_err()
            .contains("--port PORT"));
        control
            .add_remote("MODALITY", "127.0.0.5", Some(11113))
            .unwrap();
        assert_eq!(
            destination(&archive, &info()).unwrap(),
            "127.0.0.5:11113".parse().unwrap()
        );
        control.add_remote("MODALITY", "any", Some(11114)).unwrap();
        assert_eq!(
            destination(&archive, &info()).unwrap(),
            "127.0.0.9:11114".parse().unwrap()
        );
    }
}
