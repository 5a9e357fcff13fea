//! `report.html` beside the CSV files: the collector wired to the report writer, the images'
//! pixels (presigned URLs or embedded bytes) fetched from S3, and the page written.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[cfg(feature = "s3")]
use futures::StreamExt as _;
use rekcheck_analyze::{
    DEFAULT_HTML_MAX_IMAGES, HtmlCollector, HtmlPage, ImagePixels, ReportSummary, ReportWriter,
    parse_s3_uri, write_html,
};

use crate::error::PipelineError;

/// Default of [`HtmlImages::Presign`]'s expiry (`--presign-expiry`): 12 hours.
pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(12 * 3600);
/// The longest expiry S3 accepts for a presigned URL (SigV4): 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);
/// Largest image embedded (`--html-images embed`); larger ones are drawn without pixels. No
/// thumbnail is made (an image decoder would be a heavy dependency): the original bytes are
/// embedded.
pub const MAX_EMBED_BYTES: u64 = 1 << 20;
/// Most bytes embedded in one page, all images together.
pub const MAX_EMBED_TOTAL_BYTES: u64 = 64 << 20;
/// Images downloaded at once for embedding.
pub const EMBED_CONCURRENCY: usize = 8;

/// The pixels under the drawn boxes of `report.html` (`--html-images`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HtmlImages {
    /// No pixels: the page makes no request and holds no URL that grants access.
    #[default]
    None,
    /// S3 presigned GET URLs valid for this long (printed on the page).
    Presign(Duration),
    /// Each shown image downloaded once and embedded (at most [`MAX_EMBED_BYTES`] each,
    /// [`MAX_EMBED_TOTAL_BYTES`] in all, [`EMBED_CONCURRENCY`] at a time).
    Embed,
}

/// How `report.html` is written (see [`PipelineBuilder::html`](crate::PipelineBuilder::html)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOptions {
    /// Most failing images shown.
    pub max_images: usize,
    /// The pixels under the boxes.
    pub images: HtmlImages,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            max_images: DEFAULT_HTML_MAX_IMAGES,
            images: HtmlImages::None,
        }
    }
}

/// The images collected for one page, and how the page is to be written.
#[derive(Debug)]
pub(crate) struct Attached {
    collector: Arc<Mutex<HtmlCollector>>,
    options: HtmlOptions,
}

/// Hands every block of `writer` to a new collector.
pub(crate) fn attach(writer: &mut ReportWriter, options: &HtmlOptions) -> Attached {
    let collector = Arc::new(Mutex::new(HtmlCollector::new(options.max_images)));
    writer.collect_images(Arc::clone(&collector));
    Attached {
        collector,
        options: options.clone(),
    }
}

#[cfg(feature = "s3")]
/// The `(bucket, key)` of an image's `source-ref`, when it is a whole `s3://` URI.
fn s3_object(source_ref: &str) -> Option<(String, String)> {
    let (bucket, key) = parse_s3_uri(source_ref).ok()?;
    Some((bucket.to_owned(), key.to_owned()))
}

#[cfg(feature = "s3")]
/// Attaches the images' pixels as `options` asks; returns the note the page prints about them.
pub(crate) async fn fetch_pixels(
    client: Option<&aws_sdk_s3::Client>,
    collector: &mut HtmlCollector,
    options: &HtmlOptions,
) -> String {
    let Some(client) = client else {
        return match options.images {
            HtmlImages::None => String::new(),
            _ => "Image pixels were asked for but no S3 client was configured: boxes are drawn on empty frames.".to_owned(),
        };
    };
    match options.images {
        HtmlImages::None => String::new(),
        HtmlImages::Presign(expiry) => {
            let expiry = expiry.min(MAX_PRESIGN_EXPIRY).max(Duration::from_secs(1));
            let Ok(config) = aws_sdk_s3::presigning::PresigningConfig::expires_in(expiry) else {
                return String::new();
            };
            let mut n = 0usize;
            for img in collector.images_mut() {
                let Some((bucket, key)) = s3_object(&img.source_ref) else {
                    img.pixels = Some(ImagePixels::Missing(NOT_S3.to_owned()));
                    continue;
                };
                img.pixels = Some(
                    match client
                        .get_object()
                        .bucket(bucket)
                        .key(key)
                        .presigned(config.clone())
                        .await
                    {
                        Ok(req) => {
                            n += 1;
                            ImagePixels::Url(req.uri().to_owned())
                        }
                        Err(_) => ImagePixels::Missing("no presigned URL could be made".to_owned()),
                    },
                );
            }
            let until = crate::time::rfc3339(std::time::SystemTime::now() + expiry);
            format!(
                "{n} images are drawn from S3 presigned URLs that grant read access to them until {until} (anyone with this page can fetch them until then)."
            )
        }
        HtmlImages::Embed => {
            let mut wanted: Vec<(usize, String, String)> = Vec::new();
            for (i, img) in collector.images_mut().iter_mut().enumerate() {
                match s3_object(&img.source_ref) {
                    Some((b, k)) => wanted.push((i, b, k)),
                    None => img.pixels = Some(ImagePixels::Missing(NOT_S3.to_owned())),
                }
            }
            let mut fetched: Vec<(usize, Result<Vec<u8>, String>)> = futures::stream::iter(wanted)
                .map(|(i, bucket, key)| async move { (i, download(client, bucket, key).await) })
                .buffer_unordered(EMBED_CONCURRENCY)
                .collect()
                .await;
            fetched.sort_by_key(|(i, _)| *i);
            let (mut total, mut n) = (0u64, 0usize);
            for (i, bytes) in fetched {
                let len = bytes.as_ref().map_or(0, |b| b.len() as u64);
                let pixels = match bytes {
                    Err(why) => ImagePixels::Missing(why),
                    Ok(_) if total + len > MAX_EMBED_TOTAL_BYTES => ImagePixels::Missing(format!(
                        "not embedded: the page already holds {} MiB of images, its limit",
                        MAX_EMBED_TOTAL_BYTES >> 20
                    )),
                    Ok(bytes) => ImagePixels::embedded(bytes).unwrap_or_else(|| {
                        ImagePixels::Missing("not embedded: not a JPEG or PNG image".to_owned())
                    }),
                };
                if let ImagePixels::Embedded { .. } = pixels {
                    total += len;
                    n += 1;
                }
                if let Some(img) = collector.images_mut().get_mut(i) {
                    img.pixels = Some(pixels);
                }
            }
            let missing = collector
                .images()
                .iter()
                .filter(|i| matches!(i.pixels, Some(ImagePixels::Missing(_))))
                .count();
            let not = if missing > 0 {
                format!(" {missing} are not (each says why under its drawing).")
            } else {
                String::new()
            };
            format!(
                "{n} images are embedded (JPEG or PNG of at most {} KiB each, {} MiB in all).{not}",
                MAX_EMBED_BYTES >> 10,
                MAX_EMBED_TOTAL_BYTES >> 20
            )
        }
    }
}

/// Why an image whose `source-ref` is no `s3://` URI has no pixels.
#[cfg(feature = "s3")]
const NOT_S3: &str = "its source-ref is not an s3://bucket/key URI";

#[cfg(feature = "s3")]
/// The bytes of an object of at most [`MAX_EMBED_BYTES`], or why it is not embedded (larger,
/// or not readable): the page says it under the image.
async fn download(
    client: &aws_sdk_s3::Client,
    bucket: String,
    key: String,
) -> Result<Vec<u8>, String> {
    use aws_sdk_s3::error::ProvideErrorMetadata as _;
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .range(format!("bytes=0-{MAX_EMBED_BYTES}"))
        .send()
        .await
        .map_err(|e| {
            format!(
                "not embedded: it could not be read from S3 ({})",
                e.code().unwrap_or("no response")
            )
        })?;
    // `bytes 0-1048576/<size>`: the whole size, when the object is larger than the range.
    let size = out
        .content_range()
        .and_then(|r| r.rsplit_once('/'))
        .and_then(|(_, n)| n.parse::<u64>().ok());
    let body = out
        .body
        .collect()
        .await
        .map_err(|_| "not embedded: its download broke off".to_owned())?
        .into_bytes();
    let len = size.unwrap_or(body.len() as u64).max(body.len() as u64);
    if len > MAX_EMBED_BYTES {
        return Err(format!(
            "not embedded: {len} bytes, over the {} KiB limit per image",
            MAX_EMBED_BYTES >> 10
        ));
    }
    Ok(body.to_vec())
}

/// Renders and writes `dir/report.html`; the shown images' pixels, when the options ask for
/// them, are fetched with `s3` on the runtime of `handle`.
pub(crate) fn write(
    attached: &Attached,
    s3: Option<&crate::rt::S3Client>,
    handle: Option<&crate::rt::Handle>,
    dir: &Path,
    summary: &ReportSummary,
    command: &str,
    sources: &[String],
) -> Result<PathBuf, PipelineError> {
    let options = &attached.options;
    let mut collector = attached
        .collector
        .lock()
        .map_or_else(|p| p.into_inner().clone(), |c| c.clone());
    let note = pixels(s3, handle, &mut collector, options);
    let page = HtmlPage::new(summary, &collector)
        .with_command(command)
        .with_sources(sources.to_vec())
        .with_generated(crate::time::rfc3339(std::time::SystemTime::now()))
        .with_pixels_note(note);
    Ok(write_html(dir, &page)?)
}

/// Fetches the shown images' pixels when the options ask for them: a note for the page.
#[cfg(feature = "s3")]
fn pixels(
    s3: Option<&crate::rt::S3Client>,
    handle: Option<&crate::rt::Handle>,
    collector: &mut HtmlCollector,
    options: &HtmlOptions,
) -> String {
    match handle {
        Some(handle) => handle.block_on(fetch_pixels(s3, collector, options)),
        None if options.images == HtmlImages::None => String::new(),
        None => "Image pixels were asked for but this run has no S3 client: boxes are drawn on empty frames.".to_owned(),
    }
}

/// Without the `s3` feature no image is fetched.
#[cfg(not(feature = "s3"))]
fn pixels(
    _s3: Option<&crate::rt::S3Client>,
    _handle: Option<&crate::rt::Handle>,
    _collector: &mut HtmlCollector,
    options: &HtmlOptions,
) -> String {
    if options.images == HtmlImages::None {
        String::new()
    } else {
        "Image pixels were asked for but rekcheck was built without its `s3` feature: boxes are drawn on empty frames.".to_owned()
    }
}
