//! The transcoder (crates/transcode) plugged into the archive (import-time destination
//! syntax), the media engine (STD-GEN-CD needs Explicit VR LE) and `dcmdisc convert`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use dcmdisc_archive::ImportConversion;
use dcmdisc_transcode::{can_convert, convert_file, Identity, Target};

use crate::config::Config;

fn target(name: &str) -> Option<Target> {
    match name {
        "explicit-le" => Some(Target::ExplicitLe),
        "implicit-le" => Some(Target::ImplicitLe),
        _ => None,
    }
}

pub fn import_conversion(cfg: &Config) -> Option<ImportConversion> {
    let to = target(&cfg.storage_provider.destination_transfer_syntax)?;
    let ident = cfg.identity();
    Some(ImportConversion {
        target_ts: to.uid().to_string(),
        convert: Arc::new(move |input: &Path, output: &Path| {
            // Typed, with its source: the archive tells a full disk (A700) from the rest.
            convert_file(input, output, to, &ident)
                .map(|_| ())
                .map_err(|e| Box::new(e) as _)
        }),
    })
}

pub struct MediaConverter(pub Identity);

impl dcmdisc_media::export::Converter for MediaConverter {
    fn can_convert(&self, from_ts: &str) -> bool {
        can_convert(from_ts, Target::ExplicitLe)
    }

    fn to_explicit_le(
        &self,
        input: &Path,
        output: &Path,
    ) -> Result<(), dcmdisc_media::export::ConvertError> {
        convert_file(input, output, Target::ExplicitLe, &self.0)
            .map(|_| ())
            .map_err(Into::into)
    }
}

pub fn run(cfg: &Config, input: &Path, output: &Path, to: &str) -> Result<()> {
    let Some(t) = target(to) else {
        bail!("--to {to:?}: use explicit-le or implicit-le");
    };
    let report = convert_file(input, output, t, &cfg.identity())
        .with_context(|| format!("converting {} to {to}", input.display()))?;
    println!(
        "{}: {} -> {} ({} bytes){}",
        output.display(),
        report.from_ts,
        report.to_ts,
        report.bytes_written,
        if report.lossy_source {
            ", lossy source"
        } else {
            ""
        }
    );
    Ok(())
}
