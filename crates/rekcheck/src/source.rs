//! What a pipeline reads: [`Source`], typed, and the strings a command line gives.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rekcheck_analyze::Dataset;
use rekcheck_fetch::{ParseLocationError, S3Location};

/// What [`ParseSourceError`] says of a string that starts with `arn:` but is no Rekognition
/// project or project version ARN.
const NOT_AN_ARN: &str = "not a Rekognition project or project version ARN (arn:aws:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP)";

/// One input of a [`Pipeline`](crate::Pipeline).
///
/// Build it from a path (`From<PathBuf>`, `From<&Path>`: always a local file or folder, whatever
/// its name, so a folder named `arn:x` or `s3:` stays a folder), from an [`S3Location`], or
/// parse a command-line string with [`str::parse`]: `s3://…` is an S3 object or prefix,
/// `arn:…` a project or version ARN, anything else a path.
///
/// Which [features](crate#features) a source needs: [`Source::S3`] needs `s3`, the ARNs need
/// `rekognition` (and `s3`, to read what they point at); [`Source::Path`] needs none.
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use rekcheck::Source;
///
/// let arn: Source = "arn:aws:rekognition:us-east-1:111122223333:project/p/1690474772815".parse()?;
/// assert!(matches!(arn, Source::ProjectArn(_)));
/// let s3: Source = "s3://my-bucket/output/".parse()?;
/// assert!(matches!(s3, Source::S3(_)));
/// // A path is a path, even when its name looks like an ARN.
/// let folder = Source::from(Path::new("arn:not-really"));
/// assert!(matches!(folder, Source::Path(_)));
/// assert!("s3://no bucket/x".parse::<Source>().is_err());
/// # Ok::<(), rekcheck::ParseSourceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// A local file or folder.
    Path(PathBuf),
    /// An S3 object (`s3://bucket/key`) or prefix (`s3://bucket/prefix/`).
    S3(S3Location),
    /// A Custom Labels project: its versions (see
    /// [`PipelineBuilder::filter`](crate::PipelineBuilder::filter)).
    ProjectArn(ProjectArn),
    /// One project version.
    VersionArn(VersionArn),
}

impl Source {
    /// Whether reading it needs the S3 client (an S3 location, or an ARN whose files are in S3).
    pub(crate) fn is_remote(&self) -> bool {
        !matches!(self, Source::Path(_))
    }

    /// Whether it is a Rekognition ARN.
    pub(crate) fn is_arn(&self) -> bool {
        matches!(self, Source::ProjectArn(_) | Source::VersionArn(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Path(p) => write!(f, "{}", p.display()),
            Source::S3(l) => write!(f, "{l}"),
            Source::ProjectArn(a) => write!(f, "{a}"),
            Source::VersionArn(a) => write!(f, "{a}"),
        }
    }
}

impl From<PathBuf> for Source {
    fn from(p: PathBuf) -> Source {
        Source::Path(p)
    }
}

impl From<&Path> for Source {
    fn from(p: &Path) -> Source {
        Source::Path(p.to_owned())
    }
}

impl From<S3Location> for Source {
    fn from(l: S3Location) -> Source {
        Source::S3(l)
    }
}

impl From<ProjectArn> for Source {
    fn from(a: ProjectArn) -> Source {
        Source::ProjectArn(a)
    }
}

impl From<VersionArn> for Source {
    fn from(a: VersionArn) -> Source {
        Source::VersionArn(a)
    }
}

impl FromStr for Source {
    type Err = ParseSourceError;

    /// `s3://…` -> [`Source::S3`], `arn:…` -> [`Source::ProjectArn`] or
    /// [`Source::VersionArn`], anything else -> [`Source::Path`].
    fn from_str(s: &str) -> Result<Source, ParseSourceError> {
        if s.starts_with("s3://") {
            return s.parse().map(Source::S3).map_err(ParseSourceError::S3);
        }
        if s.starts_with("arn:") {
            return match arn_kind(s) {
                Some(ArnKind::Project) => Ok(Source::ProjectArn(ProjectArn(s.to_owned()))),
                Some(ArnKind::Version) => Ok(Source::VersionArn(VersionArn(s.to_owned()))),
                None => Err(ParseSourceError::Arn),
            };
        }
        Ok(Source::Path(PathBuf::from(s)))
    }
}

/// Why a string is not a [`Source`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseSourceError {
    /// It starts with `s3://` but is no S3 location.
    #[error(transparent)]
    S3(ParseLocationError),
    /// It starts with `arn:` but is no Rekognition project or project version ARN.
    #[error("{NOT_AN_ARN}")]
    Arn,
}

/// A Rekognition project ARN: `arn:PARTITION:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectArn(String);

/// A Rekognition project version ARN:
/// `arn:PARTITION:rekognition:REGION:ACCOUNT:project/NAME/version/VERSION/TIMESTAMP`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionArn(String);

macro_rules! arn_type {
    ($t:ident, $kind:ident, $what:literal) => {
        impl $t {
            /// The ARN.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $t {
            type Err = ParseSourceError;

            #[doc = concat!("Parses ", $what, ".")]
            fn from_str(s: &str) -> Result<$t, ParseSourceError> {
                match arn_kind(s) {
                    Some(ArnKind::$kind) => Ok($t(s.to_owned())),
                    _ => Err(ParseSourceError::Arn),
                }
            }
        }
    };
}

arn_type!(ProjectArn, Project, "a project ARN");
arn_type!(VersionArn, Version, "a project version ARN");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArnKind {
    Project,
    Version,
}

/// The grammar of `rekcheck_locate::parse_arn`, without the locate crate (which needs the AWS
/// SDK): a test checks that both agree.
fn arn_kind(s: &str) -> Option<ArnKind> {
    let mut parts = s.splitn(6, ':');
    let (arn, partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn != "arn" || partition.is_empty() || service != "rekognition" || account.is_empty() {
        return None;
    }
    let segs: Vec<&str> = resource.split('/').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match segs.as_slice() {
        ["project", name, ts] if !name.is_empty() && digits(ts) => Some(ArnKind::Project),
        ["project", name, "version", version, ts]
            if !name.is_empty() && !version.is_empty() && digits(ts) =>
        {
            Some(ArnKind::Version)
        }
        _ => None,
    }
}

/// A source as the pipeline keeps it: typed, or a string that did not parse (kept to be reported
/// as a failure of the run), with what to call it and the dataset the caller says it is.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    /// How the caller wrote it (the string given, or the source printed).
    pub(crate) arg: String,
    pub(crate) source: Result<Source, ParseSourceError>,
    pub(crate) dataset: Option<Dataset>,
}

impl Named {
    pub(crate) fn typed(source: Source, dataset: Option<Dataset>) -> Named {
        Named {
            arg: source.to_string(),
            source: Ok(source),
            dataset,
        }
    }

    pub(crate) fn parsed(arg: String, dataset: Option<Dataset>) -> Named {
        Named {
            source: arg.parse(),
            arg,
            dataset,
        }
    }

    /// Whether it is (or was meant as) a Rekognition ARN.
    pub(crate) fn is_arn(&self) -> bool {
        match &self.source {
            Ok(s) => s.is_arn(),
            Err(e) => matches!(e, ParseSourceError::Arn),
        }
    }

    /// Whether it is (or was meant as) anything but a local path.
    pub(crate) fn is_remote(&self) -> bool {
        match &self.source {
            Ok(s) => s.is_remote(),
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_parse_by_their_scheme_and_paths_stay_paths() {
        let p = "arn:aws:rekognition:us-east-1:111122223333:project/p/1690474772815";
        let v = "arn:aws:rekognition:us-east-1:111122223333:project/p/version/p.1/1690474772815";
        assert_eq!(
            p.parse::<Source>().unwrap(),
            Source::ProjectArn(p.parse().unwrap())
        );
        assert_eq!(
            v.parse::<Source>().unwrap(),
            Source::VersionArn(v.parse().unwrap())
        );
        assert!(p.parse::<VersionArn>().is_err() && v.parse::<ProjectArn>().is_err());
        assert_eq!(
            "arn:aws:s3:::bucket".parse::<Source>(),
            Err(ParseSourceError::Arn)
        );
        assert!(matches!(
            "s3://bkt/".parse::<Source>(),
            Ok(Source::S3(l)) if l.bucket == "bkt" && l.is_prefix()
        ));
        assert!(matches!(
            "s3://a b/k".parse::<Source>(),
            Err(ParseSourceError::S3(_))
        ));
        for path in ["arn:x", "s3:folder", "./s3://x", "m.json"] {
            assert_eq!(
                Source::from(Path::new(path)),
                Source::Path(PathBuf::from(path))
            );
        }
        assert_eq!(
            "s3:folder".parse::<Source>().unwrap(),
            Source::Path("s3:folder".into())
        );
        assert_eq!(p.parse::<Source>().unwrap().to_string(), p);
    }

    #[test]
    fn the_arn_grammar_is_the_locators() {
        for s in [
            "arn:aws:rekognition:us-east-1:1:project/p/1",
            "arn:aws-cn:rekognition:cn-north-1:1:project/p/version/v/2",
            "arn:aws:rekognition:us-east-1:1:project/p/dataset/train/1",
            "arn:aws:rekognition:us-east-1::project/p/1",
            "arn::rekognition:us-east-1:1:project/p/1",
            "arn:aws:rekognition:us-east-1:1:project//1",
            "arn:aws:rekognition:us-east-1:1:project/p/x1",
            "arn:aws:rekognition:us-east-1:1:project/p/version//1",
            "arn:aws:s3:::bucket",
            "arn:aws:rekognition",
            "s3://b/k",
        ] {
            #[cfg(feature = "rekognition")]
            assert_eq!(
                arn_kind(s),
                match rekcheck_locate::parse_arn(s) {
                    Some(rekcheck_locate::Arn::Project { .. }) => Some(ArnKind::Project),
                    Some(rekcheck_locate::Arn::Version { .. }) => Some(ArnKind::Version),
                    _ => None,
                },
                "{s}"
            );
            #[cfg(not(feature = "rekognition"))]
            let _ = arn_kind(s);
        }
    }
}
