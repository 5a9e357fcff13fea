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
/// Largest image downloaded for embedding (`--html-images embed`): Rekognition takes images of
/// up to 15 MB. Larger ones are drawn without pixels.
pub const MAX_EMBED_BYTES: u64 = 16 << 20;
/// Widest and tallest image decoded for a thumbnail, as its header says; larger ones are drawn
/// without pixels (Rekognition takes sides of up to 4096 px).
pub const MAX_DECODE_SIDE: u32 = 4096;
/// Longest side of an embedded thumbnail, in pixels: each image is decoded, scaled down to fit
/// `THUMBNAIL_SIDE` x `THUMBNAIL_SIDE` (never up) and embedded as a JPEG.
pub const THUMBNAIL_SIDE: u32 = 320;
/// Most bytes of thumbnails embedded in one page, all images together.
pub const MAX_EMBED_TOTAL_BYTES: u64 = 8 << 20;
/// Images downloaded at once for embedding.
pub const EMBED_CONCURRENCY: usize = 8;
/// Images decoded at once (each decode holds at most `MAX_DECODE_SIDE`² x 4 bytes).
#[cfg(feature = "s3")]
const DECODE_CONCURRENCY: usize = 2;
/// The thumbnails' JPEG quality.
#[cfg(feature = "s3")]
const THUMBNAIL_QUALITY: u8 = 80;

/// The pixels under the drawn boxes of `report.html` (`--html-images`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HtmlImages {
    /// No pixels: the page makes no request and holds no URL that grants access.
    #[default]
    None,
    /// S3 presigned GET URLs valid for this long (printed on the page).
    Presign(Duration),
    /// Each shown image downloaded once (at most [`MAX_EMBED_BYTES`], [`EMBED_CONCURRENCY`]
    /// at a time), scaled to a JPEG thumbnail of at most [`THUMBNAIL_SIDE`] px and embedded
    /// ([`MAX_EMBED_TOTAL_BYTES`] of thumbnails in all).
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
            let decoding = tokio::sync::Semaphore::new(DECODE_CONCURRENCY);
            let decoding = &decoding;
            let mut fetched: Vec<(usize, Result<Vec<u8>, String>)> = futures::stream::iter(wanted)
                .map(|(i, bucket, key)| async move {
                    let thumb = match download(client, bucket, key).await {
                        Ok(bytes) => {
                            let _permit = decoding.acquire().await;
                            tokio::task::spawn_blocking(move || thumbnail(&bytes))
                                .await
                                .unwrap_or_else(|_| {
                                    Err("not embedded: its decoding stopped".to_owned())
                                })
                        }
                        Err(why) => Err(why),
                    };
                    (i, thumb)
                })
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
                        ImagePixels::Missing("not embedded: its thumbnail is no JPEG".to_owned())
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
                "{n} images are embedded as thumbnails of at most {THUMBNAIL_SIDE} px (from JPEG or PNG images of at most {} MiB and {MAX_DECODE_SIDE} x {MAX_DECODE_SIDE} px; {} MiB of thumbnails in all).{not}",
                MAX_EMBED_BYTES >> 20,
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
            "not embedded: {len} bytes, over the {} MiB limit per image",
            MAX_EMBED_BYTES >> 20
        ));
    }
    Ok(body.to_vec())
}

/// A JPEG or PNG image scaled down to fit [`THUMBNAIL_SIDE`] x [`THUMBNAIL_SIDE`] (never up),
/// as a JPEG; or why not. The header's size is read before anything is decoded: an image wider
/// or taller than [`MAX_DECODE_SIDE`] is refused, and the decoder is held to the same sides and
/// to the memory of such an image.
#[cfg(feature = "s3")]
fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use image::{ImageFormat, ImageReader, Limits};
    use std::io::Cursor;
    /// A reader of `bytes`, held to `MAX_DECODE_SIDE` when `sides` (the header is read
    /// without it, to say the size).
    fn reader(bytes: &[u8], sides: bool) -> Result<ImageReader<Cursor<&[u8]>>, String> {
        let mut r = ImageReader::new(Cursor::new(bytes));
        r.set_format(match bytes {
            [0xFF, 0xD8, 0xFF, ..] => ImageFormat::Jpeg,
            [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..] => ImageFormat::Png,
            _ => return Err("not embedded: not a JPEG or PNG image".to_owned()),
        });
        let mut limits = Limits::default();
        if sides {
            limits.max_image_width = Some(MAX_DECODE_SIDE);
            limits.max_image_height = Some(MAX_DECODE_SIDE);
        }
        limits.max_alloc = Some(u64::from(MAX_DECODE_SIDE).pow(2) * 4 + (1 << 20));
        r.limits(limits);
        Ok(r)
    }
    let undecodable = |e: image::ImageError| format!("not embedded: it could not be decoded ({e})");
    let (w, h) = reader(bytes, false)?
        .into_dimensions()
        .map_err(undecodable)?;
    if w > MAX_DECODE_SIDE || h > MAX_DECODE_SIDE {
        return Err(format!(
            "not embedded: {w} x {h} px, over the {MAX_DECODE_SIDE} x {MAX_DECODE_SIDE} px decoded"
        ));
    }
    let mut img = reader(bytes, true)?.decode().map_err(undecodable)?;
    if w.max(h) > THUMBNAIL_SIDE {
        img = img.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY)
        .encode_image(&img.into_rgb8())
        .map_err(|e| format!("not embedded: its thumbnail could not be made ({e})"))?;
    Ok(out)
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

#[cfg(all(test, feature = "s3"))]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([x.to_le_bytes()[0], y.to_le_bytes()[0], 128])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// The CRC-32 of a PNG chunk (type and data).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
        assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
            .map(|i| (i.width(), i.height()))
            .unwrap()
    }

    #[test]
    fn a_large_image_becomes_a_jpeg_thumbnail_of_its_proportions() {
        assert_eq!(jpeg_size(&thumbnail(&png(1000, 500)).unwrap()), (320, 160));
        assert_eq!(jpeg_size(&thumbnail(&png(300, 900)).unwrap()), (107, 320));
    }

    #[test]
    fn a_small_image_is_not_scaled_up() {
        assert_eq!(jpeg_size(&thumbnail(&png(2, 2)).unwrap()), (2, 2));
        assert_eq!(jpeg_size(&thumbnail(&png(320, 10)).unwrap()), (320, 10));
    }

    #[test]
    fn an_image_whose_header_is_over_the_limit_is_not_decoded() {
        // A PNG whose header says 4097 x 1 px, with no pixel data: refused by its header.
        let mut big = png(1, 1);
        big[16..20].copy_from_slice(&(MAX_DECODE_SIDE + 1).to_be_bytes());
        let crc = crc32(&big[12..29]);
        big[29..33].copy_from_slice(&crc.to_be_bytes());
        let why = thumbnail(&big).unwrap_err();
        assert!(
            why.contains("4097 x 1 px, over the 4096 x 4096 px"),
            "{why}"
        );
        // At the limit it decodes.
        assert_eq!(
            jpeg_size(&thumbnail(&png(MAX_DECODE_SIDE, 1)).unwrap()),
            (320, 1)
        );
    }

    #[test]
    fn what_is_no_jpeg_or_png_is_not_embedded() {
        for bytes in [&b"GIF89a"[..], b"", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0]] {
            let why = thumbnail(bytes).unwrap_err();
            assert!(why.starts_with("not embedded: "), "{why}");
        }
        assert_eq!(
            thumbnail(b"<svg/>").unwrap_err(),
            "not embedded: not a JPEG or PNG image"
        );
    }
}
