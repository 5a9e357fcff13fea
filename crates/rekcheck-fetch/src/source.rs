//! One way in for local files and S3 objects: a blocking reader of the object's bytes,
//! decompressed on the fly when the object is gzip.

use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::error::{FetchError, MAX_WHOLE_FILE_BYTES, into_fetch_error, read_capped};
use crate::location::S3Location;
#[cfg(feature = "s3")]
use crate::s3::S3Source;

/// A manifest or summary to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Source {
    /// A local file.
    Local(PathBuf),
    /// An S3 object.
    S3(S3Location),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Local(p) => write!(f, "{}", p.display()),
            Source::S3(l) => write!(f, "{l}"),
        }
    }
}

impl Source {
    /// The file name (last path segment).
    pub fn file_name(&self) -> String {
        match self {
            Source::Local(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Source::S3(l) => l.file_name().to_owned(),
        }
    }
}

/// Opens sources: local files directly, S3 objects through an `S3Source` (feature `s3`).
#[derive(Debug, Clone, Default)]
pub struct Fetcher {
    #[cfg(feature = "s3")]
    s3: Option<S3Source>,
}

impl Fetcher {
    /// A fetcher for local files only.
    pub fn local() -> Fetcher {
        Fetcher {
            #[cfg(feature = "s3")]
            s3: None,
        }
    }

    /// A fetcher for local files and S3 objects.
    #[cfg(feature = "s3")]
    pub fn with_s3(s3: S3Source) -> Fetcher {
        Fetcher { s3: Some(s3) }
    }

    /// The S3 source, if any.
    #[cfg(feature = "s3")]
    pub fn s3(&self) -> Option<&S3Source> {
        self.s3.as_ref()
    }

    /// Starts reading `source`: a blocking reader of its bytes, gunzipped when the object starts
    /// with the gzip magic bytes. For S3 the download starts now, in the background.
    ///
    /// # Errors
    ///
    /// [`FetchError::Io`] when a local file cannot be opened; [`FetchError::S3`] (code
    /// `NoClient`) for an S3 source when this fetcher has no `S3Source`;
    /// [`FetchError::FeatureDisabled`] for an S3 source without the `s3` feature. Errors of the
    /// download itself come from the reader, as `io::Error`s that carry the [`FetchError`]
    /// (`io::Error::downcast::<FetchError>` takes it out).
    ///
    /// # Example
    ///
    /// ```
    /// use std::io::Read as _;
    /// use rekcheck_fetch::{Fetcher, Source};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("manifest.json");
    /// std::fs::write(&path, "{\"source-ref\":\"s3://b/1.jpg\"}\n")?;
    /// let mut text = String::new();
    /// Fetcher::local().open(&Source::Local(path))?.read_to_string(&mut text)?;
    /// assert!(text.starts_with("{\"source-ref\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(&self, source: &Source) -> Result<Box<dyn Read + Send>, FetchError> {
        let raw: Box<dyn Read + Send> = match source {
            Source::Local(p) => Box::new(fs_err::File::open(p).map_err(open_hint)?),
            #[cfg(not(feature = "s3"))]
            Source::S3(l) => {
                return Err(FetchError::FeatureDisabled {
                    location: l.to_string(),
                    feature: "s3",
                });
            }
            #[cfg(feature = "s3")]
            Source::S3(l) => {
                let s3 = self.s3.as_ref().ok_or_else(|| FetchError::S3 {
                    location: l.to_string(),
                    code: "NoClient".into(),
                    message: "this fetcher has no S3 client".into(),
                    request_id: crate::RequestId::default(),
                })?;
                Box::new(s3.open(l))
            }
        };
        Ok(Box::new(GunzipIfNeeded::new(raw, source.to_string())))
    }

    /// Reads a whole (small) source into memory, gunzipped if needed: at most
    /// [`MAX_WHOLE_FILE_BYTES`] after decompression, or [`FetchError::TooLarge`].
    ///
    /// # Errors
    ///
    /// As [`Fetcher::open`], any error while reading, and [`FetchError::TooLarge`].
    pub fn read_all(&self, source: &Source) -> Result<Vec<u8>, FetchError> {
        self.read_all_limited(source, MAX_WHOLE_FILE_BYTES)
    }

    /// Like [`Fetcher::read_all`] with another cap (in bytes, after decompression).
    pub fn read_all_limited(&self, source: &Source, limit: u64) -> Result<Vec<u8>, FetchError> {
        let out = read_capped(self.open(source)?, limit).map_err(into_fetch_error)?;
        if out.len() as u64 > limit {
            return Err(FetchError::TooLarge {
                location: source.to_string(),
                limit,
            });
        }
        Ok(out)
    }
}

/// A gzip object that expands more than this many times is said on the log (warn level): a
/// small object that becomes a huge manifest is a decompression bomb or a mistake, and the
/// report will be large (`--max-lines` caps the work).
pub const EXTREME_GZIP_RATIO: u64 = 100;

/// The ratio is only judged once this many bytes have come out of the decompressor.
const RATIO_MIN_OUTPUT: u64 = 64 << 20;

/// Looks at the first two bytes: gzip magic -> decompress (all members), anything else ->
/// pass through.
struct GunzipIfNeeded {
    state: Gunzip,
    /// What is read, for the log.
    location: String,
    /// Bytes that came out of the decompressor.
    out: u64,
    /// Compressed bytes read, shared with the counting reader under the decompressor.
    compressed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    warned: bool,
}

enum Gunzip {
    Sniffing(Option<Box<dyn Read + Send>>),
    Plain(Peeked),
    Gzip(flate2::read::MultiGzDecoder<Counted>),
}

/// The sniffed first bytes, then the rest.
type Peeked = io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read + Send>>;

/// A reader that counts the bytes read through it.
struct Counted {
    inner: Peeked,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl GunzipIfNeeded {
    fn new(inner: Box<dyn Read + Send>, location: String) -> GunzipIfNeeded {
        GunzipIfNeeded {
            state: Gunzip::Sniffing(Some(inner)),
            location,
            out: 0,
            compressed: std::sync::Arc::default(),
            warned: false,
        }
    }

    /// Says once, on the log, when the output passed [`RATIO_MIN_OUTPUT`] at more than
    /// [`EXTREME_GZIP_RATIO`] times the compressed bytes read.
    fn judge(&mut self, n: usize) {
        self.out += n as u64;
        if self.warned || self.out < RATIO_MIN_OUTPUT {
            return;
        }
        let compressed = self
            .compressed
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        if self.out / compressed > EXTREME_GZIP_RATIO {
            self.warned = true;
            tracing::warn!(
                location = %self.location,
                compressed_bytes = compressed,
                decompressed_bytes = self.out,
                "a gzip object expands more than {EXTREME_GZIP_RATIO} times (a decompression bomb?): the report may be large; --max-lines caps the work"
            );
        }
    }
}

impl Read for GunzipIfNeeded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.state {
                Gunzip::Plain(r) => return r.read(buf),
                Gunzip::Gzip(r) => {
                    let n = r.read(buf)?;
                    self.judge(n);
                    return Ok(n);
                }
                Gunzip::Sniffing(inner) => {
                    let Some(mut inner) = inner.take() else {
                        return Ok(0);
                    };
                    let mut head = Vec::with_capacity(2);
                    while head.len() < 2 {
                        let mut b = [0u8; 2];
                        let n = inner.read(&mut b[..2 - head.len()])?;
                        if n == 0 {
                            break;
                        }
                        head.extend_from_slice(&b[..n]);
                    }
                    let gzip = head == [0x1f, 0x8b];
                    let chained = io::Cursor::new(head).chain(inner);
                    self.state = if gzip {
                        Gunzip::Gzip(flate2::read::MultiGzDecoder::new(Counted {
                            inner: chained,
                            count: self.compressed.clone(),
                        }))
                    } else {
                        Gunzip::Plain(chained)
                    };
                }
            }
        }
    }
}

/// A local file that cannot be opened: `fs_err`'s message (the path and the cause) and the one
/// hint that fits.
fn open_hint(e: std::io::Error) -> std::io::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::NotFound => "check the path, or name an s3:// object",
        std::io::ErrorKind::PermissionDenied => "check that you may read it",
        _ => return e,
    };
    std::io::Error::new(e.kind(), format!("{e}; {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// The buffer of a capped read never grows past the cap plus one byte (`read_to_end`
    /// doubled it to twice the cap), and gives every byte under the cap.
    #[test]
    fn a_capped_read_holds_at_most_the_cap() {
        let limit = 3 * (64 << 10) + 5;
        for len in [0, 1, limit - 1, limit, limit + 1, 4 * limit] {
            let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let out = read_capped(&data[..], limit as u64).unwrap();
            assert_eq!(out.len(), len.min(limit + 1));
            assert_eq!(out[..], data[..out.len()]);
            assert!(out.capacity() <= limit + 1, "{} for {len}", out.capacity());
        }
    }

    #[test]
    fn gzip_is_detected_and_plain_passes_through() {
        let dir = tempdir();
        let plain = dir.join("a.json");
        std::fs::write(&plain, b"{\"x\":1}\n").unwrap();
        let gz = dir.join("b.json");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"{\"x\":1}\n{\"y\":2}\n").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let one = dir.join("c.json");
        std::fs::write(&one, b"x").unwrap();
        let f = Fetcher::local();
        assert_eq!(f.read_all(&Source::Local(plain)).unwrap(), b"{\"x\":1}\n");
        assert_eq!(
            f.read_all(&Source::Local(gz)).unwrap(),
            b"{\"x\":1}\n{\"y\":2}\n"
        );
        assert_eq!(f.read_all(&Source::Local(one)).unwrap(), b"x");
        let missing = f.read_all(&Source::Local(dir.join("nope")));
        assert!(missing.unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn a_gzip_bomb_read_whole_stops_at_the_cap() {
        let dir = tempdir();
        let bomb = dir.join("manifest_summary.json");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..=(MAX_WHOLE_FILE_BYTES >> 20) {
            enc.write_all(&zeros).unwrap();
        }
        let gz = enc.finish().unwrap();
        assert!(gz.len() < 1 << 20, "a small file on disk");
        std::fs::write(&bomb, gz).unwrap();
        let err = Fetcher::local()
            .read_all(&Source::Local(bomb.clone()))
            .unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { limit, .. } if limit == MAX_WHOLE_FILE_BYTES));
        let text = err.to_string();
        assert!(
            text.contains("manifest_summary.json") && text.contains("16777216"),
            "{text}"
        );
        // Just under the cap is read.
        let ok = dir.join("ok.json");
        std::fs::write(&ok, b"{}").unwrap();
        assert!(
            Fetcher::local()
                .read_all_limited(&Source::Local(ok.clone()), 2)
                .is_ok()
        );
        assert!(
            Fetcher::local()
                .read_all_limited(&Source::Local(ok), 1)
                .is_err()
        );
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("rekcheck-fetch-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
