//! `dcmdisc label`: one disc label (SVG and PDF) from facts given on the command line, with
//! the config's `[label]` template and fonts — for checking a layout or a font by hand.

use std::path::PathBuf;

use anyhow::{bail, Result};
use dcmdisc_app::label::{self, Content, Face, LabelData, NameScript, Study};
use dcmdisc_app::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Patient's Name in PN form, e.g. 'Yamada^Tarou=山田^太郎=やまだ^たろう'.
    #[arg(long)]
    name: String,
    /// The name's script when it is CJK: ja, ko or zh (else guessed from the characters).
    #[arg(long)]
    script: Option<String>,
    /// Birth date, YYYYMMDD.
    #[arg(long, default_value = "")]
    birth_date: String,
    /// A study as DATE:MODALITY,MODALITY[:DESCRIPTION] (repeatable), e.g. 20261130:CT,SR.
    #[arg(long = "study")]
    studies: Vec<String>,
    #[arg(long, default_value = "")]
    institution: String,
    /// The creation date, YYYYMMDD (default: today).
    #[arg(long)]
    created: Option<String>,
    /// The disc holds web content: "DICOM PLUS WEB" (else "DICOM ONLY").
    #[arg(long)]
    web: bool,
    #[arg(long, default_value_t = 1)]
    disc: u32,
    #[arg(long, default_value_t = 1)]
    discs: u32,
    #[arg(long, default_value = "DCMDISC")]
    fileset_id: String,
    #[arg(long)]
    job: Option<u64>,
    /// disc or sleeve (default: the config's).
    #[arg(long)]
    face: Option<String>,
    /// The folder to write LABEL.svg and LABEL.pdf into.
    #[arg(long)]
    out: PathBuf,
    /// The file names' stem.
    #[arg(long, default_value = "label")]
    stem: String,
}

pub fn run(cfg: &Config, args: Args) -> Result<()> {
    let script = match args.script.as_deref() {
        None => None,
        Some("ja") => Some(NameScript::Japanese),
        Some("ko") => Some(NameScript::Korean),
        Some("zh") => Some(NameScript::Chinese),
        Some(other) => bail!("--script {other:?}: use ja, ko or zh"),
    };
    let face = match args.face.as_deref() {
        None => None,
        Some("disc") => Some(Face::Disc),
        Some("sleeve") => Some(Face::Sleeve),
        Some(other) => bail!("--face {other:?}: use disc or sleeve"),
    };
    let studies = args
        .studies
        .iter()
        .map(|s| {
            let mut parts = s.splitn(3, ':');
            Study {
                date: parts.next().unwrap_or("").to_string(),
                modalities: parts
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
                description: parts.next().unwrap_or("").to_string(),
            }
        })
        .collect();
    let created = match args.created {
        Some(d) => d,
        None => dcmdisc_app::label::today(),
    };
    let data = LabelData {
        patient_name: args.name,
        script,
        birth_date: args.birth_date,
        studies,
        institution: args.institution,
        created,
        content: if args.web {
            Content::DicomPlusWeb
        } else {
            Content::DicomOnly
        },
        disc: args.disc,
        discs: args.discs,
        fileset_id: args.fileset_id,
        job: args.job,
    };
    let (svg, pdf) = label::write_one(&cfg.label, &data, face, &args.out, &args.stem)?;
    println!("{}", svg.display());
    println!("{}", pdf.display());
    Ok(())
}
