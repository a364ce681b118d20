//! The transcoder (crates/transcode) plugged in where files change transfer syntax: import
//! (the archive's `destination_transfer_syntax`), export (STD-GEN-CD needs Explicit VR LE) and
//! the convert operation.

use std::path::Path;
use std::sync::Arc;

use dcmdisc_archive::ImportConversion;
use dcmdisc_transcode::{can_convert, convert_file, ConvertReport, Identity, Target};

use crate::config::{Config, ConvertTarget};
use crate::error::AppError;

/// The archive's import conversion for the configured destination syntax (`None`:
/// as received).
pub fn import_conversion(cfg: &Config) -> Option<ImportConversion> {
    let to = cfg
        .storage_provider
        .destination_transfer_syntax
        .target()?
        .transcode();
    let ident = cfg.identity();
    Some(ImportConversion {
        target_ts: to.uid().to_string(),
        convert: Arc::new(move |input: &Path, output: &Path| {
            convert_file(input, output, to, &ident)
                .map(|_| ())
                .map_err(Into::into)
        }),
    })
}

/// The media engine's converter: anything the transcoder reads, to Explicit VR LE.
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

/// Converts one Part 10 file into `output` (created or replaced). One file is one step: on
/// error nothing is left at `output`, so there is nothing to cancel or resume.
pub fn convert(
    cfg: &Config,
    input: &Path,
    output: &Path,
    to: ConvertTarget,
) -> Result<ConvertReport, AppError> {
    convert_file(input, output, to.transcode(), &cfg.identity()).map_err(|source| {
        AppError::Convert {
            input: input.to_path_buf(),
            target: to,
            source,
        }
    })
}
