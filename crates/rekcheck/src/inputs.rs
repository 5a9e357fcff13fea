//! What `check`, `fix` and `--verify-images` share: the manifests they read, and a reader that
//! stops with the run.

use std::io::{self, Read};
use std::path::PathBuf;

use rekcheck_analyze::Dataset;
use rekcheck_fetch::{Fetcher, S3Location, Source};

use crate::error::PipelineError;
use crate::source::{Named, ParseSourceError};

/// What to check besides the training manifest (the pipeline's one source).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSpec {
    /// The testing manifest (a path or `s3://` URI), if the training has one.
    pub testing: Option<String>,
    /// The training will split the training manifest 80/20 (`TestingData.AutoCreate`).
    pub auto_split: bool,
    /// Read every image's header from S3 and apply the image rules to the real values.
    pub verify_images: bool,
}

/// Parses a manifest argument: `s3://bucket/key` or a local path.
pub(crate) fn parse_source(s: &str) -> Result<Source, PipelineError> {
    if s.starts_with("s3://") {
        let loc: S3Location = s
            .parse()
            .map_err(|e| PipelineError::Input(format!("{s}: {e}")))?;
        Ok(Source::S3(loc))
    } else {
        Ok(Source::Local(PathBuf::from(s)))
    }
}

/// The manifest a source names, for `check` and `fix`: a local file or an S3 object.
pub(crate) fn manifest_source(named: &Named) -> Result<Source, PipelineError> {
    match &named.source {
        Ok(crate::source::Source::Path(p)) => Ok(Source::Local(p.clone())),
        Ok(crate::source::Source::S3(l)) => Ok(Source::S3(l.clone())),
        Ok(_) => Err(PipelineError::Input(format!(
            "{}: an ARN names a training, not a manifest; give the manifest as a local path or an s3:// object",
            named.arg
        ))),
        Err(ParseSourceError::S3(e)) => Err(PipelineError::Input(format!("{}: {e}", named.arg))),
        // A string that starts with `arn:` but is no ARN: a file name, as any other string.
        Err(_) => Ok(Source::Local(PathBuf::from(&named.arg))),
    }
}

/// The training and testing manifests to check.
pub(crate) fn check_inputs(
    sources: &[Named],
    spec: &CheckSpec,
) -> Result<Vec<(Dataset, String, Source)>, PipelineError> {
    let [training] = sources else {
        return Err(PipelineError::Input(
            "check reads one training manifest (and --testing for the testing one)".into(),
        ));
    };
    if spec.testing.is_some() && spec.auto_split {
        return Err(PipelineError::Input(
            "--testing and --auto-split exclude each other: a training either has a testing manifest or splits the training one".into(),
        ));
    }
    let mut inputs = vec![(
        Dataset::Training,
        training.arg.clone(),
        manifest_source(training)?,
    )];
    if let Some(t) = &spec.testing {
        inputs.push((Dataset::Testing, t.clone(), parse_source(t)?));
    }
    Ok(inputs)
}

pub(crate) fn open(
    fetcher: &Fetcher,
    source: &Source,
) -> Result<Box<dyn std::io::Read + Send>, PipelineError> {
    fetcher.open(source).map_err(PipelineError::from)
}

/// A reader that fails once the run is told to stop.
pub(crate) struct Stoppable<'a, R> {
    pub(crate) inner: R,
    pub(crate) stop: &'a (dyn Fn() -> bool + Send + Sync),
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if (self.stop)() {
            return Err(io::Error::other("stopped"));
        }
        self.inner.read(buf)
    }
}
