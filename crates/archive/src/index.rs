//! Index rows for stored instances and the patient collections built on them.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::ArchiveError;
use dcmdisc_dicom::charset::decode_text;
use dcmdisc_dicom::{patient, tag, Keys};

pub struct NewInstance<'a> {
    pub keys: &'a Keys,
    pub sop_class_uid: &'a str,
    pub sop_instance_uid: &'a str,
    pub transfer_syntax: &'a str,
    pub size: u64,
    pub path: &'a str,
    pub calling_ae: &'a str,
    pub called_ae: &'a str,
    pub received: &'a str,
}

/// Insert or replace the instance row; returns the path of the file it replaced, if any.
pub fn upsert_instance(
    tx: &Transaction<'_>,
    n: &NewInstance<'_>,
) -> Result<Option<String>, ArchiveError> {
    use tag::*;
    let k = n.keys;
    let name = k.text(PATIENT_NAME).unwrap_or_default().to_vec();
    let charset = k.string(SPECIFIC_CHARACTER_SET).unwrap_or_default();
    let (patient_id, generated) = patient::patient_id(k);
    // Cached statements: this runs once per received instance.
    tx.prepare_cached(
        "INSERT INTO patient (patient_name, patient_id, patient_id_generated, charset)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (patient_name, patient_id) DO NOTHING",
    )?
    .execute(params![name, patient_id, generated, charset])?;
    let patient: i64 = tx
        .prepare_cached("SELECT id FROM patient WHERE patient_name = ?1 AND patient_id = ?2")?
        .query_row(params![name, patient_id], |r| r.get(0))?;
    let old: Option<(String, i64)> = tx
        .prepare_cached("SELECT path, patient FROM instance WHERE sop_instance_uid = ?1")?
        .query_row(params![n.sop_instance_uid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    tx.prepare_cached(
        "INSERT INTO instance (sop_instance_uid, sop_class_uid, transfer_syntax, patient,
            patient_name, charset, patient_id, patient_id_generated, birth_date, sex,
            study_instance_uid, series_instance_uid, study_date, study_time, study_id,
            study_description, accession_number, modality, series_number, instance_number, size,
            path, received, calling_ae, keys, called_ae)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)
         ON CONFLICT (sop_instance_uid) DO UPDATE SET
            sop_class_uid = excluded.sop_class_uid, transfer_syntax = excluded.transfer_syntax,
            patient = excluded.patient, patient_name = excluded.patient_name,
            charset = excluded.charset, patient_id = excluded.patient_id,
            patient_id_generated = excluded.patient_id_generated,
            birth_date = excluded.birth_date, sex = excluded.sex,
            study_instance_uid = excluded.study_instance_uid,
            series_instance_uid = excluded.series_instance_uid, study_date = excluded.study_date,
            study_time = excluded.study_time, study_id = excluded.study_id,
            study_description = excluded.study_description,
            accession_number = excluded.accession_number, modality = excluded.modality,
            series_number = excluded.series_number, instance_number = excluded.instance_number,
            size = excluded.size, path = excluded.path, received = excluded.received,
            calling_ae = excluded.calling_ae, keys = excluded.keys,
            called_ae = excluded.called_ae",
    )?
    .execute(params![
        n.sop_instance_uid,
        n.sop_class_uid,
        n.transfer_syntax,
        patient,
        name,
        charset,
        patient_id,
        generated,
        k.string(PATIENT_BIRTH_DATE),
        k.string(PATIENT_SEX),
        k.string(STUDY_INSTANCE_UID).unwrap_or_default(),
        k.string(SERIES_INSTANCE_UID).unwrap_or_default(),
        k.string(STUDY_DATE),
        k.string(STUDY_TIME),
        k.string(STUDY_ID),
        k.text(STUDY_DESCRIPTION).map(<[u8]>::to_vec),
        k.string(ACCESSION_NUMBER),
        k.string(MODALITY),
        k.string(SERIES_NUMBER),
        k.string(INSTANCE_NUMBER),
        n.size as i64,
        n.path,
        n.received,
        n.calling_ae,
        k.to_blob(),
        n.called_ae,
    ])?;
    if let Some((_, old_patient)) = &old {
        if *old_patient != patient {
            // The replacement moved the instance to another collection; drop the old one if
            // that left it empty.
            tx.execute(
                "DELETE FROM patient
                 WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM instance WHERE patient = ?1)",
                params![old_patient],
            )?;
        }
    }
    Ok(old.map(|(p, _)| p))
}

#[derive(Debug, Clone, Serialize)]
pub struct Collection {
    pub id: i64,
    pub patient_name: String,
    pub patient_id: String,
    pub patient_id_generated: bool,
    /// Kept by retention whatever its rules say (`dcmdisc patient pin`).
    pub pinned: bool,
    pub studies: u64,
    pub series: u64,
    pub instances: u64,
    pub bytes: u64,
}

pub fn collections(conn: &Connection) -> Result<Vec<Collection>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT p.id, p.patient_name, p.charset, p.patient_id, p.patient_id_generated,
                COUNT(DISTINCT i.study_instance_uid), COUNT(DISTINCT i.series_instance_uid),
                COUNT(i.id), COALESCE(SUM(i.size), 0), p.pinned
         FROM patient p JOIN instance i ON i.patient = p.id
         WHERE NOT EXISTS (SELECT 1 FROM removal_file r WHERE r.instance = i.id)
         GROUP BY p.id ORDER BY p.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let raw: Vec<u8> = r.get(1)?;
        let charset: String = r.get(2)?;
        Ok(Collection {
            id: r.get(0)?,
            patient_name: decode_text(&raw, &charset),
            patient_id: r.get(3)?,
            patient_id_generated: r.get(4)?,
            studies: r.get::<_, i64>(5)? as u64,
            series: r.get::<_, i64>(6)? as u64,
            instances: r.get::<_, i64>(7)? as u64,
            bytes: r.get::<_, i64>(8)? as u64,
            pinned: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    pub collection: i64,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax: String,
    pub path: String,
    pub size: u64,
    pub patient_name: String,
    pub patient_id: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub modality: Option<String>,
    pub calling_ae: String,
    pub received: String,
}

/// Instances, optionally of one collection, in study/series/instance order.
pub fn instances(
    conn: &Connection,
    collection: Option<i64>,
) -> Result<Vec<InstanceRow>, ArchiveError> {
    let mut stmt = conn.prepare(
        "SELECT patient, sop_instance_uid, sop_class_uid, transfer_syntax, path, size, patient_name,
                charset, patient_id, study_instance_uid, series_instance_uid, modality, calling_ae,
                received
         FROM instance WHERE (?1 IS NULL OR patient = ?1)
            AND NOT EXISTS (SELECT 1 FROM removal_file r WHERE r.instance = instance.id)
         ORDER BY patient, study_instance_uid, series_instance_uid,
                  CAST(instance_number AS INTEGER), sop_instance_uid",
    )?;
    let rows = stmt.query_map(params![collection], |r| {
        let raw: Vec<u8> = r.get(6)?;
        let charset: String = r.get(7)?;
        Ok(InstanceRow {
            collection: r.get(0)?,
            sop_instance_uid: r.get(1)?,
            sop_class_uid: r.get(2)?,
            transfer_syntax: r.get(3)?,
            path: r.get(4)?,
            size: r.get::<_, i64>(5)? as u64,
            patient_name: decode_text(&raw, &charset),
            patient_id: r.get(8)?,
            study_instance_uid: r.get(9)?,
            series_instance_uid: r.get(10)?,
            modality: r.get(11)?,
            calling_ae: r.get(12)?,
            received: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
