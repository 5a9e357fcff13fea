//! rekcheck-fetch against moto's S3 server, through a proxy that resets, stalls, cuts bodies
//! short and throttles. Every test checks that the bytes delivered are the object's bytes,
//! exactly once.

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
