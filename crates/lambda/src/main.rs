//! `rekcheck-lambda`: rekcheck's report as an AWS Lambda function (`provided.al2023`, the binary
//! named `bootstrap`).
//!
//! An invocation is either a request
//! `{"sources": ["arn:…", "s3://…"], "all_projects": false, "status": ["TRAINING_FAILED"],
//! "since": "24h", "out": "s3://bucket/prefix/"}` (every field optional), or an `EventBridge`
//! scheduled event (`"detail-type": "Scheduled Event"`); what the request leaves out comes from
//! the function's environment: `REKCHECK_SOURCES` (comma-separated), `REKCHECK_ALL_PROJECTS`,
//! `REKCHECK_STATUS` (comma-separated), `REKCHECK_SINCE`, `REKCHECK_OUT`. The report is written in
//! the table layout with raw cells to `out`, which must be `s3://`: the function writes nothing
//! but its staging folder under `/tmp` (removed after the upload) and S3.
//!
//! The answer: `{"exit_code", "versions", "manifests", "failures": [{"what", "error"}], "files"}`
//! with `exit_code` as the CLI's (0, 1 issues found, 2 an input or upload failed). A run that
//! cannot start (no `out`, nothing to report, a bad `since`) is an invocation error.
//!
//! Limits: Lambda stops a function after at most 15 minutes; the run stops itself 30 s before
//! the invocation's deadline (nothing is uploaded then, and the invocation fails). `/tmp` holds
//! the staged report (512 MB by default, up to 10 GB): about the size of the CSV files.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use rekcheck::Pipeline;
use rekcheck::layout::{Layout, S3Output};
use serde_json::{Value, json};

/// How long before the invocation's deadline the run stops.
const MARGIN: Duration = Duration::from_secs(30);

/// What one invocation asks for.
#[derive(Debug, Default, PartialEq)]
struct Request {
    sources: Vec<String>,
    all_projects: bool,
    statuses: Vec<String>,
    since: Option<String>,
    out: Option<String>,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn strings(v: &Value) -> Result<Option<Vec<String>>, Error> {
    match v {
        Value::Null => Ok(None),
        Value::Array(a) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::from("expected a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err("expected a list of strings".into()),
    }
}

impl Request {
    /// The request of `event`, completed from `env` (a variable's value by name).
    fn of(event: &Value, env: impl Fn(&str) -> Option<String>) -> Result<Request, Error> {
        let scheduled = event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
        let field = |name: &str| {
            if scheduled {
                &Value::Null
            } else {
                event.get(name).unwrap_or(&Value::Null)
            }
        };
        if !scheduled && !event.is_object() {
            return Err("the event must be a JSON object or an EventBridge scheduled event".into());
        }
        let text = |v: &Value, what: &str| -> Result<Option<String>, Error> {
            match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(format!("{what} must be a string").into()),
            }
        };
        let truthy = |s: String| matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        Ok(Request {
            sources: strings(field("sources"))?.unwrap_or_else(|| {
                env("REKCHECK_SOURCES")
                    .as_deref()
                    .map(list)
                    .unwrap_or_default()
            }),
            all_projects: match field("all_projects") {
                Value::Bool(b) => *b,
                Value::Null => env("REKCHECK_ALL_PROJECTS").is_some_and(truthy),
                _ => return Err("all_projects must be true or false".into()),
            },
            statuses: strings(field("status"))?.unwrap_or_else(|| {
                env("REKCHECK_STATUS")
                    .as_deref()
                    .map(list)
                    .unwrap_or_default()
            }),
            since: text(field("since"), "since")?.or_else(|| env("REKCHECK_SINCE")),
            out: text(field("out"), "out")?.or_else(|| env("REKCHECK_OUT")),
        })
    }
}

async fn handle(event: LambdaEvent<Value>, sdk: &aws_config::SdkConfig) -> Result<Value, Error> {
    let request = Request::of(&event.payload, |name| std::env::var(name).ok())?;
    let Some(out) = request.out.as_deref() else {
        return Err("no out: give \"out\": \"s3://bucket/prefix/\" or set REKCHECK_OUT".into());
    };
    if !out.starts_with("s3://") {
        return Err(format!(
            "out must be s3://bucket/prefix/ (a Lambda function writes only to S3), not {out:?}"
        )
        .into());
    }
    let prefix: rekcheck::fetch::S3Location = out.parse()?;
    if request.sources.is_empty() && !request.all_projects {
        return Err("nothing to report: give \"sources\" or \"all_projects\": true (or REKCHECK_SOURCES, REKCHECK_ALL_PROJECTS)".into());
    }
    let since = match &request.since {
        Some(s) => Some(
            rekcheck::time::parse_since(s, SystemTime::now()).map_err(|e| format!("since: {e}"))?,
        ),
        None => None,
    };
    let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let mut builder = Pipeline::builder()
        .sdk_config(sdk)
        .s3_path_style(custom_endpoint);
    for source in &request.sources {
        // A string that names no source is a failure of the run, as on the command line.
        builder = builder.source_arg(source.clone(), None);
    }
    let pipeline = builder
        .all_projects(request.all_projects)
        .filter(rekcheck::locate::VersionFilter {
            versions: Vec::new(),
            statuses: request.statuses.clone(),
            since,
            page_size: None,
        })
        .csv_raw(true)
        .stop_when(move || SystemTime::now() + MARGIN >= deadline)
        .build()?;
    let outcome = pipeline
        .write_s3_with(prefix, &S3Output::new(Layout::Tables))
        .await?;
    let code = outcome.exit_code(Some(rekcheck::analyze::Severity::Error));
    Ok(json!({
        "exit_code": code,
        "versions": outcome.summary.versions.len(),
        "manifests": outcome.summary.manifests.len(),
        "failures": outcome.failures.iter().map(|f| json!({"what": f.what, "error": f.error.to_string()})).collect::<Vec<_>>(),
        "files": outcome.summary.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sdk = &sdk;
    lambda_runtime::run(service_fn(
        move |event| async move { handle(event, sdk).await },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_takes_its_fields_and_the_environment_fills_the_rest() {
        let env = |name: &str| match name {
            "REKCHECK_OUT" => Some("s3://env/out/".to_owned()),
            "REKCHECK_SOURCES" => {
                Some("s3://a/x/, arn:aws:rekognition:us-east-1:1:project/p/1".to_owned())
            }
            "REKCHECK_ALL_PROJECTS" => Some("true".to_owned()),
            "REKCHECK_SINCE" => Some("24h".to_owned()),
            _ => None,
        };
        let r = Request::of(&json!({"sources": ["s3://b/y/"], "since": "7d"}), env).unwrap();
        assert_eq!(
            r,
            Request {
                sources: vec!["s3://b/y/".to_owned()],
                all_projects: true,
                statuses: Vec::new(),
                since: Some("7d".to_owned()),
                out: Some("s3://env/out/".to_owned()),
            }
        );
        // A scheduled event carries no request: the environment says it all.
        let scheduled =
            json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}});
        let r = Request::of(&scheduled, env).unwrap();
        assert_eq!(r.sources.len(), 2);
        assert_eq!(r.since.as_deref(), Some("24h"));
        assert!(Request::of(&json!({"sources": "s3://x/"}), env).is_err());
        assert!(Request::of(&json!([1]), env).is_err());
    }
}
