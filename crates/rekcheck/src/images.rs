//! `check --verify-images`: every image's real format, size and dimensions, read from S3 with a
//! `HeadObject` and a ranged `GetObject` of the first bytes only.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Read;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use futures::StreamExt;
use rekcheck_analyze::{
    AnalyzeOptions, BlockKind, BlockReader, ImageCheck, ImageChecks, block_lines, parse_s3_uri,
};

use crate::error::PipelineError;
use crate::inputs::{CheckSpec, Stoppable, check_inputs, open};
use crate::pipeline::Pipeline;

/// The first request reads this many bytes; enough for PNG and for most JPEG headers.
const HEAD_BYTES: u64 = 64 * 1024;
/// A JPEG whose frame header is further in (a large EXIF block) is read up to this much.
const MAX_HEAD_BYTES: u64 = 1024 * 1024;

/// Reads the manifests' `source-ref`s and verifies each distinct image once, with at most the
/// pipeline's `concurrency` S3 requests in flight.
pub(crate) async fn verify_manifests(
    pipeline: &Pipeline,
    spec: &CheckSpec,
    handle: &tokio::runtime::Handle,
) -> Result<ImageChecks, PipelineError> {
    let Some(client) = pipeline.s3.clone() else {
        return Err(PipelineError::Input(
            "--verify-images reads the images from S3 and needs AWS credentials and a region"
                .into(),
        ));
    };
    let inputs = check_inputs(&pipeline.sources, spec)?;
    let fetcher = pipeline.fetcher(Some(handle));
    let stop = pipeline.stop.clone();
    let max_line_bytes = pipeline.report.analyze.max_line_bytes;
    let uris = tokio::task::spawn_blocking(move || {
        let mut uris = BTreeSet::new();
        for (_, _, source) in &inputs {
            let reader = Stoppable {
                inner: open(&fetcher, source)?,
                stop: stop.as_ref(),
            };
            collect_source_refs(reader, max_line_bytes, &mut uris)
                .map_err(|e| PipelineError::Fetch(rekcheck_fetch::into_fetch_error(e)))?;
        }
        Ok::<_, PipelineError>(uris)
    })
    .await
    .map_err(|e| PipelineError::Task(e.to_string()))??;

    let total = uris.len() as u64;
    pipeline.reporter.images(0, total);
    let attempts = pipeline.retries.max(1);
    let timeout = pipeline.timeout;
    let mut results = futures::stream::iter(uris)
        .map(|uri| {
            let client = client.clone();
            async move {
                let check = verify(&client, &uri, attempts, timeout).await;
                (uri, check)
            }
        })
        .buffer_unordered(pipeline.concurrency.max(1));
    let mut out = ImageChecks::new();
    while let Some((uri, check)) = results.next().await {
        if (pipeline.stop)() {
            return Err(PipelineError::Stopped);
        }
        out.insert(uri, check);
        pipeline.reporter.images(out.len() as u64, total);
    }
    Ok(out)
}

/// Adds the well-formed `s3://` `source-ref`s of a manifest to `out`.
fn collect_source_refs<R: Read>(
    reader: R,
    max_line_bytes: usize,
    out: &mut BTreeSet<String>,
) -> std::io::Result<()> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(rename = "source-ref", borrow, default)]
        source_ref: Option<Cow<'a, str>>,
    }
    let options = AnalyzeOptions {
        max_line_bytes,
        ..AnalyzeOptions::default()
    };
    for block in BlockReader::new(reader, options.framer()) {
        let block = block?;
        let BlockKind::Lines(data) = block.kind() else {
            continue;
        };
        for (_, line) in block_lines(block.first_line, data) {
            if let Ok(Line {
                source_ref: Some(s),
            }) = serde_json::from_slice::<Line<'_>>(line)
                && parse_s3_uri(&s).is_ok()
                && !out.contains(s.as_ref())
            {
                out.insert(s.into_owned());
            }
        }
    }
    Ok(())
}

/// One image: `HeadObject` for its size, then its first bytes for format and dimensions. Each
/// request must answer within `timeout`, and no more than the bytes asked for are read, whatever
/// the server sends (one that ignores `Range` sends the whole image).
async fn verify(
    client: &aws_sdk_s3::Client,
    uri: &str,
    attempts: u32,
    timeout: Duration,
) -> ImageCheck {
    let Ok((bucket, key)) = parse_s3_uri(uri) else {
        return ImageCheck::Unreadable(format!("{uri} is not an s3:// URI"));
    };
    if !rekcheck_fetch::is_valid_bucket(bucket) {
        return ImageCheck::Unreadable(format!(
            "{uri}: the bucket name is not a valid S3 bucket name, so it was not requested"
        ));
    }
    let head = retry(attempts, timeout, || {
        client
            .head_object()
            .bucket(bucket)
            .key(key)
            .customize()
            .interceptor(rekcheck_fetch::DotSegmentEncoder::default())
            .send()
    })
    .await;
    let bytes = match head {
        Ok(h) => h
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        Err(e) => return ImageCheck::Unreadable(describe(uri, "HeadObject", &e)),
    };
    let mut want = HEAD_BYTES.min(bytes.max(1));
    loop {
        let range = format!("bytes=0-{}", want - 1);
        let got = retry(attempts, timeout, || {
            client
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(range.clone())
                .customize()
                .interceptor(rekcheck_fetch::DotSegmentEncoder::default())
                .send()
        })
        .await;
        let head = match got {
            Ok(o) => match first_bytes(o.body, want, timeout).await {
                Ok(b) => b,
                Err(e) => {
                    return ImageCheck::Unreadable(format!(
                        "{uri} could not be read (GetObject body: {e})"
                    ));
                }
            },
            Err(e) => return ImageCheck::Unreadable(describe(uri, "GetObject", &e)),
        };
        let format =
            imagesize::image_type(&head).map_or_else(|_| "unknown".to_owned(), format_name);
        let dimensions = imagesize::blob_size(&head)
            .ok()
            .and_then(|s| Some((u32::try_from(s.width).ok()?, u32::try_from(s.height).ok()?)));
        if dimensions.is_none() && format == "jpeg" && want < bytes.min(MAX_HEAD_BYTES) {
            want = bytes.min(MAX_HEAD_BYTES);
            continue;
        }
        return ImageCheck::Read {
            format,
            bytes,
            dimensions,
        };
    }
}

/// At most `want` bytes of `body`, then the rest is dropped unread (closing the connection).
async fn first_bytes(
    mut body: aws_sdk_s3::primitives::ByteStream,
    want: u64,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let want = usize::try_from(want).unwrap_or(usize::MAX);
    let mut out: Vec<u8> = Vec::new();
    while out.len() < want {
        match tokio::time::timeout(timeout, body.next()).await {
            Err(_) => {
                return Err(format!("no bytes for {} s", timeout.as_secs_f64().round()));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(chunk))) => {
                let take = chunk.len().min(want - out.len());
                out.extend_from_slice(&chunk[..take]);
            }
        }
    }
    Ok(out)
}

fn format_name(t: imagesize::ImageType) -> String {
    match t {
        imagesize::ImageType::Png => "png".to_owned(),
        imagesize::ImageType::Jpeg => "jpeg".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Calls `f` up to `attempts` times while the error is worth retrying (throttling, 5xx, I/O,
/// no answer within `timeout`).
async fn retry<T, E, R, F, Fut>(
    attempts: u32,
    timeout: Duration,
    mut f: F,
) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
{
    let mut attempt = 1;
    loop {
        let answer = match tokio::time::timeout(timeout, f()).await {
            Ok(answer) => answer,
            Err(elapsed) => Err(SdkError::timeout_error(elapsed)),
        };
        match answer {
            Ok(v) => return Ok(v),
            Err(e) if attempt < attempts && transient(&e) => {
                let backoff = Duration::from_millis(100 * (1 << attempt.min(6)));
                tokio::time::sleep(backoff).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn transient<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        // Not a configuration error (credentials, region, endpoint) or a refused connection.
        SdkError::DispatchFailure(d) => d
            .as_connector_error()
            .is_none_or(|c| rekcheck_fetch::SendFailure::of(c, "").retryable()),
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("");
            matches!(
                code,
                "SlowDown"
                    | "Throttling"
                    | "ThrottlingException"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "RequestTimeout"
            )
        }
        _ => false,
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    uri: &str,
    call: &str,
    e: &SdkError<E, HttpResponse>,
) -> String {
    let code = match e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("").to_owned(),
        _ => String::new(),
    };
    match (status(e), code.as_str()) {
        (Some(404), _) | (_, "NoSuchKey" | "NotFound") => {
            format!("{uri} does not exist ({call}: not found).")
        }
        (Some(403), _) | (_, "AccessDenied" | "Forbidden") => format!(
            "{uri} cannot be read ({call}: access denied); Rekognition needs s3:GetObject on the images too."
        ),
        (_, "NoSuchBucket") => format!("{uri}: the bucket does not exist ({call})."),
        _ => {
            tracing::info!(uri, call, error = %aws_sdk_s3::error::DisplayErrorContext(e), "image header not read");
            let cause = match e {
                SdkError::DispatchFailure(d) => d.as_connector_error().map_or_else(
                    || rekcheck_fetch::root_cause(e),
                    |c| rekcheck_fetch::SendFailure::of(c, "the S3 endpoint").to_string(),
                ),
                SdkError::ServiceError(s) => format!(
                    "{}: {}{}",
                    s.err().code().unwrap_or("error"),
                    s.err().message().unwrap_or(""),
                    rekcheck_fetch::RequestId::of(s.err().meta())
                ),
                _ => rekcheck_fetch::root_cause(e),
            };
            format!("{uri} could not be read ({call}: {cause})")
        }
    }
}
