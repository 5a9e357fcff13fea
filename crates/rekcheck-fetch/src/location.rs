//! `S3Location`: `s3://bucket/key`, as the AWS CLI writes it.

use std::fmt;
use std::str::FromStr;

/// An S3 object or prefix. The key is raw: spaces, `?`, `#` and non-ASCII characters are part of
/// it and nothing is percent-decoded, as in the AWS CLI.
///
/// Parsed from `s3://bucket/key` with [`str::parse`] ([`ParseLocationError`] when the string
/// does not start with `s3://` or the bucket name is not valid), and printed back the same way.
///
/// # Example
///
/// ```
/// use rekcheck_fetch::S3Location;
///
/// let loc: S3Location = "s3://my-bucket/output/my project/Training Manifest.json".parse()?;
/// assert_eq!(loc.bucket, "my-bucket");
/// assert_eq!(loc.key, "output/my project/Training Manifest.json");
/// assert_eq!(loc.file_name(), "Training Manifest.json");
/// assert!(!loc.is_prefix());
/// assert_eq!(loc.to_string(), "s3://my-bucket/output/my project/Training Manifest.json");
///
/// let prefix: S3Location = "s3://my-bucket/output/".parse()?;
/// assert!(prefix.is_prefix());
/// assert!("https://my-bucket.s3.amazonaws.com/x".parse::<S3Location>().is_err());
/// # Ok::<(), rekcheck_fetch::ParseLocationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct S3Location {
    /// The bucket name.
    pub bucket: String,
    /// The object key (or prefix); may be empty.
    pub key: String,
    /// The object version, for versioned buckets.
    pub version_id: Option<String>,
}

impl S3Location {
    /// An object location.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> S3Location {
        S3Location {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
        }
    }

    /// Whether this names a prefix to search (empty key, or a key ending in `/`) rather than
    /// one object.
    pub fn is_prefix(&self) -> bool {
        self.key.is_empty() || self.key.ends_with('/')
    }

    /// The last path segment of the key.
    pub fn file_name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }

    /// The key up to and including its last `/` (the "folder").
    pub fn parent_prefix(&self) -> &str {
        match self.key.rfind('/') {
            Some(i) => &self.key[..=i],
            None => "",
        }
    }
}

/// Whether `bucket` is a name S3 accepts for reads: 3 to 255 characters of `A-Z a-z 0-9 . - _`
/// (today's rules plus the legacy US East names with capitals and underscores), not made of dots
/// only. Anything else (a `/`, a `..` path segment, `%`, spaces) could make the request path
/// name another bucket or key, so it is refused before any request.
pub fn is_valid_bucket(bucket: &str) -> bool {
    (3..=255).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !bucket.bytes().all(|b| b == b'.')
}

/// Why a string is not an `s3://bucket/key` location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an S3 location: {reason}; write it as s3://bucket/key or s3://bucket/prefix/"
)]
#[non_exhaustive]
pub struct ParseLocationError {
    input: String,
    reason: &'static str,
}

impl FromStr for S3Location {
    type Err = ParseLocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseLocationError {
            input: s.to_owned(),
            reason,
        };
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| err("it does not start with s3://"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(err("the bucket name is empty"));
        }
        if !is_valid_bucket(bucket) {
            return Err(err("the bucket name is not valid"));
        }
        Ok(S3Location::new(bucket, key))
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_taken_raw() {
        let l: S3Location = "s3://my-bucket/dir/a b?c#d%20é.json".parse().unwrap();
        assert_eq!(l.bucket, "my-bucket");
        assert_eq!(l.key, "dir/a b?c#d%20é.json");
        assert_eq!(l.to_string(), "s3://my-bucket/dir/a b?c#d%20é.json");
        assert_eq!(l.file_name(), "a b?c#d%20é.json");
        assert_eq!(l.parent_prefix(), "dir/");
        assert!(!l.is_prefix());
    }

    #[test]
    fn prefixes_and_errors() {
        assert!(
            "s3://bucket/out/"
                .parse::<S3Location>()
                .unwrap()
                .is_prefix()
        );
        let whole: S3Location = "s3://bucket".parse().unwrap();
        assert!(whole.is_prefix());
        assert_eq!(whole.to_string(), "s3://bucket/");
        assert!("https://bucket/k".parse::<S3Location>().is_err());
        assert!("s3:///k".parse::<S3Location>().is_err());
        assert!("s3://b#d/k".parse::<S3Location>().is_err());
        assert!("s3://.../k".parse::<S3Location>().is_err());
    }

    #[test]
    fn bucket_names() {
        for ok in [
            "abc",
            "my-bucket",
            "My_Legacy.Bucket",
            "a.b",
            &"x".repeat(255),
        ] {
            assert!(is_valid_bucket(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "...",
            "ab",
            "a/b",
            "a b",
            "a%2Eb",
            "../x",
            "b\\c",
            &"x".repeat(256),
        ] {
            assert!(!is_valid_bucket(bad), "{bad}");
        }
    }
}
