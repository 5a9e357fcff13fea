//! rekcheck-fetch against moto's S3 server, through a proxy that resets, stalls, cuts bodies
//! short and throttles. Every test checks that the bytes delivered are the object's bytes,
//! exactly once.
#![cfg(feature = "s3")]

use std::io::Read as _;
use std::time::Duration;

use rekcheck_fetch::{
    FetchError, Fetcher, RetryPolicy, S3Location, S3Source, Source, into_fetch_error,
};
use rekcheck_testkit::generate::{GenOptions, Rng, generate};
use rekcheck_testkit::moto::{Moto, put_objects, s3_client};
use rekcheck_testkit::proxy::{Fault, FaultProxy};
use sha2::{Digest, Sha256};

struct Env {
    rt: tokio::runtime::Runtime,
    _moto: Moto,
    proxy: FaultProxy,
    direct: aws_sdk_s3::Client,
    fetcher: Fetcher,
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 6,
        base: Duration::from_millis(10),
        max: Duration::from_millis(50),
    }
}

fn env(objects: &[(&str, Vec<u8>)]) -> Option<Env> {
    let moto = Moto::start()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (proxy, direct, via_proxy) = rt.block_on(async {
        let direct = s3_client(&moto.endpoint()).await;
        put_objects(&direct, "bucket-a", objects).await;
        let proxy = FaultProxy::start(moto.addr()).await;
        let via_proxy = s3_client(&proxy.endpoint()).await;
        (proxy, direct, via_proxy)
    });
    let source = S3Source::new(via_proxy, rt.handle().clone())
        .with_retry_policy(policy())
        .with_buffer_chunks(4);
    Some(Env {
        rt,
        _moto: moto,
        proxy,
        direct,
        fetcher: Fetcher::with_s3(source),
    })
}

fn manifest(bytes: u64, seed: u64) -> Vec<u8> {
    let mut m = Vec::new();
    generate(
        &mut m,
        bytes,
        &GenOptions {
            seed,
            ..GenOptions::default()
        },
    )
    .unwrap();
    m
}

fn sha(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

fn read(env: &Env, key: &str) -> Result<Vec<u8>, FetchError> {
    env.fetcher
        .read_all(&Source::S3(S3Location::new("bucket-a", key)))
}

#[test]
fn objects_arrive_whole_through_resets_and_short_bodies_at_random_points() {
    let body = manifest(3_000_000, 1);
    let Some(env) = env(&[("out/TrainingManifestWithValidation-p-v.json", body.clone())]) else {
        return;
    };
    let key = "out/TrainingManifestWithValidation-p-v.json";
    assert_eq!(sha(&read(&env, key).unwrap()), sha(&body));
    let mut rng = Rng::new(42);
    for round in 0..6 {
        let before = env.proxy.object_requests();
        let cut = rng.below(body.len() as u64);
        let cut2 = rng.below(body.len() as u64 - cut);
        if round % 2 == 0 {
            env.proxy.push(Fault::Reset { after: cut });
            env.proxy.push(Fault::Reset { after: cut2 });
        } else {
            env.proxy.push(Fault::Truncate { after: cut });
            env.proxy.push(Fault::Truncate { after: cut2 });
        }
        let got = read(&env, key).unwrap();
        assert_eq!(
            got.len(),
            body.len(),
            "round {round}, cuts at {cut} and {cut2}"
        );
        assert_eq!(sha(&got), sha(&body), "round {round}");
        assert_eq!(
            env.proxy.object_requests() - before,
            3,
            "two resumes in round {round}"
        );
    }
}

#[test]
fn throttling_server_errors_and_stalls_are_retried() {
    let body = manifest(500_000, 2);
    let Some(env) = env(&[("k.json", body.clone())]) else {
        return;
    };
    env.proxy.push(Fault::Status {
        status: 503,
        code: "SlowDown",
    });
    env.proxy.push(Fault::Status {
        status: 500,
        code: "InternalError",
    });
    assert_eq!(sha(&read(&env, "k.json").unwrap()), sha(&body));
    env.proxy.push(Fault::Stall {
        after: 100_000,
        for_: Duration::from_secs(30),
    });
    let started = std::time::Instant::now();
    assert_eq!(sha(&read(&env, "k.json").unwrap()), sha(&body));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the stall was not noticed"
    );
}

#[test]
fn too_many_failures_give_up_with_a_clear_error() {
    let Some(env) = env(&[("k.json", manifest(10_000, 3))]) else {
        return;
    };
    for _ in 0..6 {
        env.proxy.push(Fault::Status {
            status: 503,
            code: "SlowDown",
        });
    }
    let e = read(&env, "k.json").unwrap_err();
    assert!(
        matches!(e, FetchError::RetriesExhausted { attempts: 6, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("s3://bucket-a/k.json"), "{e}");
}

#[test]
fn an_object_that_changes_during_a_resume_is_refused() {
    let body = manifest(1_000_000, 4);
    let Some(env) = env(&[("k.json", body.clone())]) else {
        return;
    };
    let (release, hold) = tokio::sync::oneshot::channel();
    env.proxy.push(Fault::Reset { after: 300_000 });
    env.proxy.push(Fault::Hold(hold));
    let fetcher = env.fetcher.clone();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        fetcher
            .open(&Source::S3(S3Location::new("bucket-a", "k.json")))
            .unwrap()
            .read_to_end(&mut out)
            .map(|_| out)
    });
    while env.proxy.object_requests() < 2 {
        std::thread::sleep(Duration::from_millis(10));
    }
    env.rt.block_on(put_objects(
        &env.direct,
        "bucket-a",
        &[("k.json", manifest(1_000_000, 5))],
    ));
    release.send(()).unwrap();
    let e = into_fetch_error(reader.join().unwrap().unwrap_err());
    assert!(matches!(e, FetchError::Changed { .. }), "{e}");
    assert!(
        e.to_string().contains("changed while it was being read"),
        "{e}"
    );
}

#[test]
fn missing_objects_and_buckets_are_named() {
    let Some(env) = env(&[("k.json", b"{}\n".to_vec())]) else {
        return;
    };
    let e = read(&env, "nope.json").unwrap_err();
    assert!(matches!(e, FetchError::NotFound { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("s3://bucket-a/nope.json does not exist"),
        "{e}"
    );
    let e = env
        .fetcher
        .read_all(&Source::S3(S3Location::new("no-such-bucket", "k.json")))
        .unwrap_err();
    assert!(matches!(e, FetchError::NoSuchBucket { .. }), "{e:?}");
}

#[test]
fn prefixes_are_listed_and_gzip_objects_are_decompressed() {
    use std::io::Write as _;
    let plain = b"{\"source-ref\":\"s3://b/a b.jpg\"}\n".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let Some(env) = env(&[
        ("out/a b?#é/ManifestSummary-p-v.json", b"{}".to_vec()),
        ("out/a b?#é/TrainingManifestWithValidation-p-v.json", gz),
        ("other/x.json", b"{}".to_vec()),
    ]) else {
        return;
    };
    let s3 = env.fetcher.s3().unwrap();
    let listed = env
        .rt
        .block_on(s3.list(&"s3://bucket-a/out/".parse().unwrap()))
        .unwrap();
    let keys: Vec<&str> = listed.iter().map(|o| o.location.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "out/a b?#é/ManifestSummary-p-v.json",
            "out/a b?#é/TrainingManifestWithValidation-p-v.json"
        ]
    );
    assert_eq!(
        read(&env, "out/a b?#é/TrainingManifestWithValidation-p-v.json").unwrap(),
        plain
    );
}

/// Runs `f` on a thread and fails (instead of hanging) when it does not end within a minute.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("hung: no answer within 60 s")
}

#[test]
fn without_etag_or_last_modified_a_broken_body_is_not_resumed_into_another_object() {
    let body = manifest(1_000_000, 6);
    let Some(env) = env(&[("k.json", body.clone())]) else {
        return;
    };
    env.proxy.strip_response_headers(&["etag", "last-modified"]);
    let (release, hold) = tokio::sync::oneshot::channel();
    env.proxy.push(Fault::Truncate { after: 300_000 });
    env.proxy.push(Fault::Hold(hold));
    let fetcher = env.fetcher.clone();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        fetcher
            .open(&Source::S3(S3Location::new("bucket-a", "k.json")))
            .unwrap()
            .read_to_end(&mut out)
            .map(|_| out)
    });
    while env.proxy.object_requests() < 2 && !reader.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
    }
    if env.proxy.object_requests() >= 2 {
        // A resume was sent: the object changes before it is answered.
        env.rt.block_on(put_objects(
            &env.direct,
            "bucket-a",
            &[("k.json", manifest(1_000_000, 7))],
        ));
    }
    drop(release);
    let e = into_fetch_error(reader.join().unwrap().unwrap_err());
    assert!(
        matches!(
            e,
            FetchError::CannotResume {
                received: 300_000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("no ETag or Last-Modified"), "{e}");
    assert_eq!(env.proxy.object_requests(), 1);
}

#[test]
fn with_last_modified_only_a_resume_is_conditional_and_whole() {
    let body = manifest(600_000, 8);
    let Some(env) = env(&[("k.json", body.clone())]) else {
        return;
    };
    env.proxy.strip_response_headers(&["etag"]);
    env.proxy.push(Fault::Reset { after: 250_000 });
    assert_eq!(sha(&read(&env, "k.json").unwrap()), sha(&body));
    assert_eq!(env.proxy.object_requests(), 2);
}

#[test]
fn a_close_delimited_body_cut_short_is_resumed_after_head_object_gives_the_length() {
    let body = manifest(1_000_000, 9);
    let Some(env) = env(&[("k.json", body.clone())]) else {
        return;
    };
    // No Content-Length: the body ends when the connection closes, cleanly even when cut.
    env.proxy.strip_response_headers(&["content-length"]);
    env.proxy.push(Fault::Truncate { after: 200_000 });
    let got = read(&env, "k.json").unwrap();
    assert_eq!(got.len(), body.len());
    assert_eq!(sha(&got), sha(&body));
    assert_eq!(env.proxy.object_requests(), 2, "one resume");
    let heads = env
        .proxy
        .request_lines()
        .iter()
        .filter(|l| l.starts_with("HEAD /bucket-a/k.json"))
        .count();
    assert_eq!(heads, 1, "the length is confirmed once, then known");
}

#[test]
fn dot_segments_are_sent_encoded_and_invalid_buckets_are_never_requested() {
    let Some(env) = env(&[]) else {
        return;
    };
    // Put with the encoder too, so that moto stores the key as written.
    let encoded = aws_sdk_s3::Client::from_conf(
        env.direct
            .config()
            .to_builder()
            .interceptor(rekcheck_fetch::DotSegmentEncoder::default())
            .build(),
    );
    let key = "a/../b/./c.json";
    env.rt.block_on(put_objects(
        &encoded,
        "bucket-a",
        &[(key, b"dots".to_vec()), ("b/c.json", b"other".to_vec())],
    ));
    assert_eq!(read(&env, key).unwrap(), b"dots");
    let lines = env.proxy.request_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /bucket-a/a/%2E%2E/b/%2E/c.json")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("/../")), "{lines:?}");

    for bucket in ["..", "...", "a/b", "x y"] {
        let before = env.proxy.request_lines().len();
        let e = env
            .fetcher
            .read_all(&Source::S3(S3Location::new(bucket, "k.json")))
            .unwrap_err();
        assert!(
            matches!(e, FetchError::InvalidBucket { .. }),
            "{bucket}: {e}"
        );
        let s3 = env.fetcher.s3().unwrap();
        let e = env
            .rt
            .block_on(s3.list(&S3Location::new(bucket, "p/")))
            .unwrap_err();
        assert!(
            matches!(e, FetchError::InvalidBucket { .. }),
            "{bucket}: {e}"
        );
        assert_eq!(env.proxy.request_lines().len(), before, "{bucket}");
    }
}

#[test]
fn a_server_that_drips_is_left_and_the_read_resumes() {
    let body = manifest(400_000, 10);
    let Some(env) = env(&[("k.json", body.clone())]) else {
        return;
    };
    let fetcher = Fetcher::with_s3(
        env.fetcher
            .s3()
            .unwrap()
            .clone()
            .with_timeout(Duration::from_secs(1)),
    );
    // 20 bytes a second for a minute, then the rest at full speed.
    env.proxy.push(Fault::Drip {
        after: 50_000,
        every: Duration::from_millis(50),
        for_: Duration::from_secs(60),
    });
    let got = bounded(move || fetcher.read_all(&Source::S3(S3Location::new("bucket-a", "k.json"))))
        .unwrap();
    assert_eq!(sha(&got), sha(&body));
    assert_eq!(env.proxy.object_requests(), 2, "left the drip and resumed");
}

#[test]
fn an_endpoint_that_never_answers_times_out_and_is_named() {
    let endpoint = rekcheck_testkit::proxy::silent_server();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(s3_client(&endpoint));
    let source = S3Source::new(client, rt.handle().clone())
        .with_retry_policy(RetryPolicy {
            attempts: 2,
            base: Duration::from_millis(10),
            max: Duration::from_millis(10),
        })
        .with_timeout(Duration::from_secs(1));
    let fetcher = Fetcher::with_s3(source.clone());
    let e = bounded(move || fetcher.read_all(&Source::S3(S3Location::new("bucket-a", "k.json"))))
        .unwrap_err();
    assert!(matches!(e, FetchError::TimedOut { attempts: 2, .. }), "{e}");
    let port = endpoint.rsplit(':').next().unwrap();
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    let listing =
        std::thread::spawn(move || rt.block_on(source.list(&S3Location::new("bucket-a", "p/"))));
    let e = bounded(move || listing.join().unwrap()).unwrap_err();
    assert!(matches!(e, FetchError::TimedOut { .. }), "{e}");
}

/// A tiny S3 server whose every `ListObjectsV2` page is truncated and gives the tokens in turn.
fn endless_lister(tokens: &'static [&'static str]) -> String {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
            }
            let token = tokens[n % tokens.len()];
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket-a</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken><Contents><Key>p/{n}.json</Key><Size>2</Size></Contents></ListBucketResult>"
            );
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn listings_whose_tokens_repeat_or_alternate_stop_with_an_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for tokens in [&["same"][..], &["a", "b"][..]] {
        let endpoint = endless_lister(tokens);
        let client = rt.block_on(s3_client(&endpoint));
        let source = S3Source::new(client, rt.handle().clone());
        let prefix = S3Location::new("bucket-a", "p/");
        let e = rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(60), source.list(&prefix)).await
            })
            .expect("the listing never ended")
            .unwrap_err();
        assert!(matches!(e, FetchError::EndlessListing { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("continuation token that an earlier page gave"),
            "{e}"
        );
    }
    // Ever-new tokens: the page cap.
    let endpoint = endless_lister(&["t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
    let client = rt.block_on(s3_client(&endpoint));
    let source = S3Source::new(client, rt.handle().clone()).with_list_limits(5, 1000);
    let e = rt
        .block_on(source.list(&S3Location::new("bucket-a", "p/")))
        .unwrap_err();
    assert!(e.to_string().contains("more than 5 pages"), "{e}");
    let source = S3Source::new(
        rt.block_on(s3_client(&endless_lister(&["u1", "u2", "u3", "u4", "u5"]))),
        rt.handle().clone(),
    )
    .with_list_limits(100, 3);
    let e = rt
        .block_on(source.list(&S3Location::new("bucket-a", "p/")))
        .unwrap_err();
    assert!(e.to_string().contains("more than 3 keys"), "{e}");
}
