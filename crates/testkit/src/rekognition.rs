//! A Rekognition emulator speaking the real awsJson1.1 wire protocol over HTTP on 127.0.0.1.
//!
//! It serves `DescribeProjects`, `DescribeProjectVersions`, `DescribeDataset` and
//! `ListDatasetEntries` from a JSON fixture, with real pagination (`MaxResults`, `NextToken`,
//! `""` on the last page, `InvalidPaginationTokenException` for a bad token), checks the target
//! header and the content type, records every request, and injects faults on demand.
//!
//! The fixture: `{"projects": [{"ProjectArn": …, "Feature"?: …, "Datasets"?: [...],
//! "versions": [ProjectVersionDescription…] (newest first, timestamps as epoch seconds),
//! "datasets": {"<dataset arn>": {"description": DatasetDescription, "entries": ["<json line>", …]}}}]}`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A fault for the next request of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RekFault {
    /// 400 `ThrottlingException` (retried by the SDK).
    Throttle,
    /// 400 `AccessDeniedException`.
    AccessDenied,
    /// 500 `InternalServerError`.
    Internal,
    /// 200 with a body that is not JSON.
    Malformed,
}

/// Broken pagination for every request of an operation, from when it is set: the first page
/// of items each time, with a `NextToken` that never ends the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadPages {
    /// The same token every time.
    Repeat,
    /// Two tokens in turn: `a`, `b`, `a`, ...
    Alternate,
    /// A new token every time.
    EverNew,
}

/// One request the emulator received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The operation, from `X-Amz-Target`.
    pub operation: String,
    /// The JSON body.
    pub body: Value,
}

#[derive(Debug, Default)]
struct Shared {
    fixture: Value,
    faults: VecDeque<(String, RekFault)>,
    requests: Vec<Recorded>,
    bad_pages: Vec<(String, BadPages)>,
    bad_tokens: u64,
}

/// A running emulator; it stops with the runtime.
#[derive(Debug, Clone)]
pub struct RekognitionEmulator {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl RekognitionEmulator {
    /// Starts the emulator with `fixture` on a free loopback port. Call from a runtime.
    pub async fn start(fixture: Value) -> RekognitionEmulator {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind emulator");
        let addr = listener.local_addr().expect("emulator address");
        let shared = Arc::new(Mutex::new(Shared {
            fixture,
            ..Shared::default()
        }));
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, &s).await;
                });
            }
        });
        RekognitionEmulator { addr, shared }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a fault for the next request of `operation` (e.g. `DescribeProjectVersions`).
    pub fn fault(&self, operation: &str, fault: RekFault) {
        self.shared
            .lock()
            .expect("emulator state")
            .faults
            .push_back((operation.to_owned(), fault));
    }

    /// Breaks the pagination of `operation` (e.g. `ListDatasetEntries`) from now on.
    pub fn bad_pages(&self, operation: &str, mode: BadPages) {
        self.shared
            .lock()
            .expect("emulator state")
            .bad_pages
            .push((operation.to_owned(), mode));
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().expect("emulator state").requests.clone()
    }
}

async fn serve(mut conn: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        // Read one request: head, then Content-Length bytes.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let header = |name: &str| {
            head.split("\r\n").find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let (status, reply) = answer(
            head.starts_with("POST / "),
            header("x-amz-target").as_deref(),
            header("content-type").as_deref(),
            &body,
            shared,
        );
        let out = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\nContent-Length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Error" },
            reply.len()
        );
        conn.write_all(out.as_bytes()).await?;
        conn.write_all(&reply).await?;
    }
}

fn error(status: u16, kind: &str, message: &str) -> (u16, Vec<u8>) {
    (
        status,
        json!({"__type": kind, "Code": kind, "Logref": "emulator", "Message": message})
            .to_string()
            .into_bytes(),
    )
}

fn answer(
    is_post_root: bool,
    target: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    shared: &Mutex<Shared>,
) -> (u16, Vec<u8>) {
    let Some(op) = target
        .and_then(|t| t.strip_prefix("RekognitionService."))
        .map(str::to_owned)
    else {
        return error(
            400,
            "UnknownOperationException",
            "missing or foreign X-Amz-Target",
        );
    };
    if !is_post_root || content_type != Some("application/x-amz-json-1.1") {
        return error(
            400,
            "SerializationException",
            "expected POST / with application/x-amz-json-1.1",
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { body })
    else {
        return error(400, "SerializationException", "the body is not JSON");
    };
    let mut s = shared.lock().expect("emulator state");
    s.requests.push(Recorded {
        operation: op.clone(),
        body: req.clone(),
    });
    if let Some(i) = s.faults.iter().position(|(o, _)| *o == op) {
        let (_, fault) = s.faults.remove(i).expect("fault");
        return match fault {
            RekFault::Throttle => error(
                400,
                "ThrottlingException",
                "Slow down; sudden increase in rate of requests.",
            ),
            RekFault::AccessDenied => error(
                400,
                "AccessDeniedException",
                "User is not authorized to perform this action",
            ),
            RekFault::Internal => error(500, "InternalServerError", "Internal server error"),
            RekFault::Malformed => (200, b"{\"ProjectVersionDescriptions\": [".to_vec()),
        };
    }
    let projects: Vec<Value> = s.fixture["projects"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let bad = s.bad_pages.iter().find(|(o, _)| *o == op).map(|(_, m)| *m);
    if let Some(mode) = bad {
        let sent = req["NextToken"].as_str().unwrap_or("").to_owned();
        s.bad_tokens += 1;
        let next = match mode {
            BadPages::Repeat => "bad:same".to_owned(),
            BadPages::Alternate if sent == "bad:a" => "bad:b".to_owned(),
            BadPages::Alternate => "bad:a".to_owned(),
            BadPages::EverNew => format!("bad:{}", s.bad_tokens),
        };
        drop(s);
        let mut first = req.clone();
        if let Some(o) = first.as_object_mut() {
            o.remove("NextToken");
        }
        let (status, body) = answer_op(&op, &first, &projects);
        let Ok(mut reply) = serde_json::from_slice::<Value>(&body) else {
            return (status, body);
        };
        if status == 200 {
            reply["NextToken"] = Value::String(next);
        }
        return (status, reply.to_string().into_bytes());
    }
    drop(s);
    answer_op(&op, &req, &projects)
}

fn answer_op(op: &str, req: &Value, projects: &[Value]) -> (u16, Vec<u8>) {
    let req = req.clone();
    match op {
        "DescribeProjects" => {
            let names: Option<Vec<String>> = req["ProjectNames"].as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            });
            let features: Vec<String> = req["Features"].as_array().map_or_else(
                || vec!["CUSTOM_LABELS".to_owned()],
                |a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                },
            );
            let items: Vec<Value> = projects
                .iter()
                .filter(|p| {
                    let name = project_name(p["ProjectArn"].as_str().unwrap_or(""));
                    let feature = p["Feature"].as_str().unwrap_or("CUSTOM_LABELS");
                    names.as_ref().is_none_or(|n| n.contains(&name))
                        && features.iter().any(|f| f == feature)
                })
                .map(|p| {
                    let mut p = p.clone();
                    if let Some(o) = p.as_object_mut() {
                        o.remove("versions");
                        o.remove("datasets");
                    }
                    p
                })
                .collect();
            page(&req, "DescribeProjects", "ProjectDescriptions", &items)
        }
        "DescribeProjectVersions" => {
            let arn = req["ProjectArn"].as_str().unwrap_or("");
            let Some(p) = projects.iter().find(|p| p["ProjectArn"] == arn) else {
                return error(
                    400,
                    "ResourceNotFoundException",
                    "The resource does not exist.",
                );
            };
            let names: Option<Vec<String>> = req["VersionNames"].as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            });
            if names.as_ref().is_some_and(|n| n.is_empty() || n.len() > 10) {
                return error(
                    400,
                    "InvalidParameterException",
                    "Request has invalid parameters.",
                );
            }
            let items: Vec<Value> = p["versions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|v| {
                    let name = version_name(v["ProjectVersionArn"].as_str().unwrap_or(""));
                    names.as_ref().is_none_or(|n| n.contains(&name))
                })
                .collect();
            page(
                &req,
                "DescribeProjectVersions",
                "ProjectVersionDescriptions",
                &items,
            )
        }
        "DescribeDataset" => {
            let arn = req["DatasetArn"].as_str().unwrap_or("");
            match projects.iter().find_map(|p| p["datasets"].get(arn)) {
                Some(d) => (
                    200,
                    json!({"DatasetDescription": d["description"]})
                        .to_string()
                        .into_bytes(),
                ),
                None => error(
                    400,
                    "ResourceNotFoundException",
                    "The resource does not exist.",
                ),
            }
        }
        "ListDatasetEntries" => {
            let arn = req["DatasetArn"].as_str().unwrap_or("");
            let Some(d) = projects.iter().find_map(|p| p["datasets"].get(arn)) else {
                return error(
                    400,
                    "ResourceNotFoundException",
                    "The resource does not exist.",
                );
            };
            let has_errors = req["HasErrors"].as_bool();
            let items: Vec<Value> = d["entries"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|e| {
                    let text = e.as_str().unwrap_or("");
                    let errs = text.contains("\"errors\"") || text.contains("\"cl-errors\"");
                    has_errors.is_none_or(|h| h == errs)
                })
                .collect();
            page(&req, "ListDatasetEntries", "DatasetEntries", &items)
        }
        _ => error(400, "UnknownOperationException", "operation not emulated"),
    }
}

fn project_name(arn: &str) -> String {
    arn.split(":project/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_owned()
}

fn version_name(arn: &str) -> String {
    arn.split("/version/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_owned()
}

fn page(req: &Value, op: &str, key: &str, items: &[Value]) -> (u16, Vec<u8>) {
    let size = match req["MaxResults"].as_i64() {
        None => 100,
        Some(n @ 1..=100) => usize::try_from(n).unwrap_or(100),
        Some(_) => {
            return error(
                400,
                "InvalidParameterException",
                "Request has invalid parameters.",
            );
        }
    };
    let start = match req["NextToken"].as_str() {
        None => 0,
        Some(t) => match t
            .strip_prefix(&format!("{op}:"))
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n <= items.len() => n,
            _ => return error(400, "InvalidPaginationTokenException", "Invalid Token"),
        },
    };
    let end = (start + size).min(items.len());
    let next = if end < items.len() {
        format!("{op}:{end}")
    } else {
        String::new()
    };
    let mut out = serde_json::Map::new();
    out.insert(key.to_owned(), Value::Array(items[start..end].to_vec()));
    out.insert("NextToken".to_owned(), Value::String(next));
    (200, Value::Object(out).to_string().into_bytes())
}

/// A Rekognition client for the emulator: dummy credentials, us-east-1, standard retries with
/// `attempts` attempts and a short backoff.
pub async fn rekognition_client(endpoint: &str, attempts: u32) -> aws_sdk_rekognition::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_rekognition::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_rekognition::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "rekcheck-testkit",
        ))
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(std::time::Duration::from_millis(5)),
        )
        .load()
        .await;
    aws_sdk_rekognition::Client::new(&sdk)
}

/// The account every fixture ARN uses.
pub const ACCOUNT: &str = "111122223333";

fn s3_object(bucket: &str, key: &str) -> Value {
    json!({"GroundTruthManifest": {"S3Object": {"Bucket": bucket, "Name": key}}})
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn version_fixture(
    project: &str,
    version: &str,
    created: f64,
    status: &str,
    message: &str,
    bucket: &str,
    files: bool,
) -> Value {
    let prefix = format!("training-output/{project}/{version}");
    let mut v = json!({
        "ProjectVersionArn": format!("arn:aws:rekognition:us-east-1:{ACCOUNT}:project/{project}/version/{version}/{}", (created * 1000.0).round() as u64),
        "CreationTimestamp": created,
        "TrainingEndTimestamp": created + 2467.0,
        "Status": status,
        "StatusMessage": message,
        "Feature": "CUSTOM_LABELS",
        "OutputConfig": {"S3Bucket": bucket, "S3KeyPrefix": prefix},
        "TrainingDataResult": {"Input": {"Assets": [s3_object("rekcheck-images", &format!("manifests/{project}-train.manifest"))]}},
        "TestingDataResult": {"Input": {"Assets": [s3_object("rekcheck-images", &format!("manifests/{project}-test.manifest"))], "AutoCreate": false}},
    });
    if files {
        v["TrainingDataResult"]["Validation"] = json!({"Assets": [s3_object(bucket, &format!("{prefix}/TrainingManifestWithValidation-{project}-{version}.json"))]});
        v["TestingDataResult"]["Validation"] = json!({"Assets": [s3_object(bucket, &format!("{prefix}/TestingManifestWithValidation-{project}-{version}.json"))]});
        v["ManifestSummary"] = json!({"S3Object": {"Bucket": bucket, "Name": format!("{prefix}/ManifestSummary-{project}-{version}.json")}});
    }
    v
}

/// Two projects and four versions whose files (when they have any) live in `bucket` under
/// `training-output/<project>/<version>/` with Rekognition's file names:
///
/// * `widgets`: `widgets.2026-11-22T08.30.00` completed (the `clean-training` sample),
///   `widgets.2026-11-20T10.00.00` failed with files (`failed-object-detection`),
///   `widgets.2026-11-18T09.00.00` failed with a terminal manifest file error and no files; a
///   TRAIN dataset with three entries, two with errors, and a TEST dataset.
/// * `pets`: `pets.v3` failed after validation but without locations in the response (the
///   `failed-classification` sample must be listed under its output prefix).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn sample_fixture(bucket: &str) -> Value {
    let widgets = format!("arn:aws:rekognition:us-east-1:{ACCOUNT}:project/widgets/1762000000000");
    let pets = format!("arn:aws:rekognition:us-east-1:{ACCOUNT}:project/pets/1761000000000");
    let train_ds = format!(
        "arn:aws:rekognition:us-east-1:{ACCOUNT}:project/widgets/dataset/train/1762000000001"
    );
    let test_ds = format!(
        "arn:aws:rekognition:us-east-1:{ACCOUNT}:project/widgets/dataset/test/1762000000002"
    );
    let entry_ok = r#"{"source-ref":"s3://rekcheck-images/a.jpg","bb":{"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[{"class_id":0,"left":1,"top":1,"width":50,"height":50}]},"bb-metadata":{"objects":[{"confidence":1}],"class-map":{"0":"Echo"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-01T00:00:00Z","job-name":"j"},"cl-metadata":{"is_labeled":true}}"#;
    let entry_box = r#"{"source-ref":"s3://rekcheck-images/b.jpg","bb":{"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[{"class_id":0,"left":600,"top":1,"width":50,"height":50,"errors":[{"code":"ERROR_INVALID_BOUNDING_BOX","message":"The bounding box has off frame values."}]}]},"bb-metadata":{"objects":[{"confidence":1}],"class-map":{"0":"Echo"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-01T00:00:00Z","job-name":"j"},"cl-metadata":{"is_labeled":true}}"#;
    let entry_type = r#"{"source-ref":"s3://rekcheck-images/c.jpg","bb":{"annotations":[]},"bb-metadata":{"class-map":{},"type":"groundtruth/wrongtype","cl-errors":[{"code":"ERROR_UNSUPPORTED_USE_CASE_TYPE","message":"The use case type of the bb-metadata label attribute metadata is unsupported. Check the type field."}]},"cl-metadata":{"is_labeled":true},"cl-errors":[{"code":"ERROR_NO_VALID_LABEL_ATTRIBUTES","message":"No valid label attributes found."}]}"#;
    json!({"projects": [
        {
            "ProjectArn": widgets,
            "CreationTimestamp": 1_790_812_800.0,
            "Status": "CREATED",
            "Feature": "CUSTOM_LABELS",
            "Datasets": [
                {"DatasetArn": train_ds, "DatasetType": "TRAIN", "Status": "UPDATE_COMPLETE", "CreationTimestamp": 1_762_000_001.0},
                {"DatasetArn": test_ds, "DatasetType": "TEST", "Status": "CREATE_COMPLETE", "CreationTimestamp": 1_762_000_002.0}
            ],
            "versions": [
                version_fixture("widgets", "widgets.2026-11-22T08.30.00", 1_795_336_200.0, "TRAINING_COMPLETED", "The model is ready to run.", bucket, true),
                version_fixture("widgets", "widgets.2026-11-20T10.00.00", 1_795_168_800.0, "TRAINING_FAILED", "The manifest file contains too many invalid rows.", bucket, true),
                version_fixture("widgets", "widgets.2026-11-18T09.00.00", 1_794_992_400.0, "TRAINING_FAILED", "The manifest file extension or contents are invalid.", bucket, false),
            ],
            "datasets": {
                train_ds.clone(): {
                    "description": {"CreationTimestamp": 1_762_000_001.0, "LastUpdatedTimestamp": 1_763_000_000.0, "Status": "UPDATE_COMPLETE", "StatusMessage": "The dataset was successfully updated.", "StatusMessageCode": "SUCCESS", "DatasetStats": {"LabeledEntries": 3, "TotalEntries": 3, "TotalLabels": 1, "ErrorEntries": 2}},
                    "entries": [entry_ok, entry_box, entry_type]
                },
                test_ds.clone(): {
                    "description": {"CreationTimestamp": 1_762_000_002.0, "LastUpdatedTimestamp": 1_762_000_002.0, "Status": "CREATE_COMPLETE", "StatusMessage": "The dataset was successfully created.", "StatusMessageCode": "SUCCESS", "DatasetStats": {"LabeledEntries": 1, "TotalEntries": 1, "TotalLabels": 1, "ErrorEntries": 0}},
                    "entries": [entry_ok]
                }
            }
        },
        {
            "ProjectArn": pets,
            "CreationTimestamp": 1_788_220_800.0,
            "Status": "CREATED",
            "versions": [
                version_fixture("pets", "pets.v3", 1_793_628_311.512, "TRAINING_FAILED", "Less than 50% label overlap between the training and testing manifest files.", bucket, false),
            ]
        }
    ]})
}
