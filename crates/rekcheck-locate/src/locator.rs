//! The Rekognition calls.

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_rekognition::Client;
use aws_sdk_rekognition::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_rekognition::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_rekognition::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_rekognition::primitives::DateTime;
use aws_sdk_rekognition::types::{
    CustomizationFeature, DatasetStats, GroundTruthManifest, ProjectDescription,
    ProjectVersionDescription,
};
use futures::{Stream, TryStreamExt as _};
use rekcheck_fetch::S3Location;
use tracing::debug;

use crate::arn::{Arn, parse_arn};
use crate::error::{LocateError, map_err};

/// Which versions of a project to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionFilter {
    /// Version names (sent as `VersionNames`, 10 per request); empty means all.
    pub versions: Vec<String>,
    /// Statuses such as `TRAINING_FAILED`; empty means all.
    pub statuses: Vec<String>,
    /// Only versions created at or after this time.
    pub since: Option<SystemTime>,
    /// Page size (`MaxResults`, 1-100); `None` lets Rekognition choose.
    pub page_size: Option<i32>,
}

/// One project version and where its validation files are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectVersion {
    /// The version ARN.
    pub arn: String,
    /// The project name, from the ARN.
    pub project: String,
    /// The version name, from the ARN.
    pub version: String,
    /// `TRAINING_FAILED`, `TRAINING_COMPLETED`, ...
    pub status: String,
    /// The status message: for a failed training, the error's message text.
    pub status_message: String,
    /// When training started.
    pub created: Option<SystemTime>,
    /// When training ended.
    pub training_ended: Option<SystemTime>,
    /// `OutputConfig`: the bucket and key prefix the training wrote to.
    pub output: Option<S3Location>,
    /// The KMS key the training used, if any (reading its files needs kms:Decrypt on it).
    pub kms_key_id: Option<String>,
    /// The training validation manifest.
    pub training_manifest: Option<S3Location>,
    /// The testing validation manifest.
    pub testing_manifest: Option<S3Location>,
    /// The manifest summary.
    pub summary: Option<S3Location>,
}

impl ProjectVersion {
    /// Whether the response carries no validation location at all.
    pub fn has_no_locations(&self) -> bool {
        self.training_manifest.is_none()
            && self.testing_manifest.is_none()
            && self.summary.is_none()
    }
}

/// A project's dataset, as `DescribeDataset` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatasetInfo {
    /// The dataset ARN.
    pub arn: String,
    /// `TRAIN` or `TEST`.
    pub dataset_type: String,
    /// `CREATE_COMPLETE`, `UPDATE_FAILED`, ...
    pub status: String,
    /// The status message.
    pub status_message: String,
    /// `SUCCESS`, `CLIENT_ERROR` or `SERVICE_ERROR`.
    pub status_message_code: String,
    /// `DatasetStats.TotalEntries`.
    pub total_entries: i32,
    /// `DatasetStats.LabeledEntries`.
    pub labeled_entries: i32,
    /// `DatasetStats.TotalLabels`.
    pub total_labels: i32,
    /// `DatasetStats.ErrorEntries`: entries with at least one error.
    pub error_entries: i32,
}

/// The most pages one call sequence reads (one `DescribeProjectVersions` listing, one
/// `DescribeProjects` listing, one `ListDatasetEntries` listing): 10,000. A page token that
/// comes back a second time ends the sequence too, with [`LocateError::EndlessPagination`].
pub const MAX_PAGES: usize = 10_000;

/// The most bytes of entries [`Locator::dataset_entries_with_errors`] returns: 64 MiB.
pub const MAX_DATASET_ENTRY_BYTES: usize = 64 << 20;

/// How long one call (with the client's own retries) may take unless set with
/// [`Locator::with_timeout`]: 5 minutes. It only guards against a client without timeouts; the
/// client's own `TimeoutConfig` (connect, read, operation attempt) should be shorter.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Asks Rekognition where validation results are, with the caller's client.
///
/// Every call is bounded whatever the client's configuration: it must end within the call
/// timeout ([`DEFAULT_CALL_TIMEOUT`], [`Locator::with_timeout`]), and a listing stops with an
/// error at a repeated page token or [`MAX_PAGES`] pages ([`Locator::with_max_pages`]).
#[derive(Debug, Clone)]
pub struct Locator {
    client: Client,
    call_timeout: Duration,
    max_pages: usize,
}

/// Records the `scheme://host:port` each request goes to, to name it in errors.
#[derive(Debug, Clone, Default)]
struct EndpointRecorder(Arc<Mutex<Option<String>>>);

impl Intercept for EndpointRecorder {
    fn name(&self) -> &'static str {
        "EndpointRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        let after_scheme = uri.find("://").map_or(0, |i| i + 3);
        let end = uri[after_scheme..]
            .find(['/', '?'])
            .map_or(uri.len(), |i| after_scheme + i);
        if let Ok(mut e) = self.0.lock() {
            *e = Some(uri[..end].to_owned());
        }
        Ok(())
    }
}

fn is_timeout<E, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(d) => d.is_timeout(),
        _ => false,
    }
}

/// Page tokens seen in one call sequence, and how many pages were read.
struct Pages {
    seen: HashSet<u64>,
    count: usize,
    max: usize,
}

impl Pages {
    fn new(max: usize) -> Pages {
        Pages {
            seen: HashSet::new(),
            count: 0,
            max,
        }
    }

    /// The token of the next page after one more page was read: none when the answer has no
    /// token or an empty one (the last page of Rekognition's own examples); an error for a token
    /// seen before or past the page cap.
    fn next(
        &mut self,
        answer: Option<&str>,
        action: &'static str,
        resource: &str,
    ) -> Result<Option<String>, LocateError> {
        self.count += 1;
        let Some(token) = answer.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let endless = |reason: String| LocateError::EndlessPagination {
            action,
            resource: resource.to_owned(),
            reason,
        };
        if !self.seen.insert(hash(token)) {
            return Err(endless(format!(
                "page {} gave a NextToken that an earlier page gave",
                self.count
            )));
        }
        if self.count >= self.max {
            return Err(endless(format!(
                "it had more than {} pages (the cap)",
                self.max
            )));
        }
        Ok(Some(token.to_owned()))
    }
}

fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn to_system_time(d: Option<&DateTime>) -> Option<SystemTime> {
    let d = d?;
    let secs = d.as_secs_f64();
    if secs >= 0.0 {
        Some(UNIX_EPOCH + Duration::from_secs_f64(secs))
    } else {
        None
    }
}

fn asset_location(m: Option<&GroundTruthManifest>) -> Option<S3Location> {
    let o = m?.s3_object()?;
    let mut l = S3Location::new(o.bucket()?, o.name()?);
    l.version_id = o.version().map(str::to_owned);
    Some(l)
}

fn version_from(d: &ProjectVersionDescription) -> Option<ProjectVersion> {
    let arn = d.project_version_arn()?.to_owned();
    let Some(Arn::Version {
        project, version, ..
    }) = parse_arn(&arn)
    else {
        return None;
    };
    let validation = |v: Option<&aws_sdk_rekognition::types::ValidationData>| {
        v.and_then(|v| v.assets().first())
            .and_then(|a| asset_location(a.ground_truth_manifest()))
    };
    Some(ProjectVersion {
        project,
        version,
        status: d
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        status_message: d.status_message().unwrap_or("").to_owned(),
        created: to_system_time(d.creation_timestamp()),
        training_ended: to_system_time(d.training_end_timestamp()),
        output: d.output_config().and_then(|o| {
            Some(S3Location::new(
                o.s3_bucket()?,
                o.s3_key_prefix().unwrap_or(""),
            ))
        }),
        kms_key_id: d.kms_key_id().map(str::to_owned),
        training_manifest: validation(d.training_data_result().and_then(|t| t.validation())),
        testing_manifest: validation(d.testing_data_result().and_then(|t| t.validation())),
        summary: asset_location(d.manifest_summary()),
        arn,
    })
}

fn keep(d: &ProjectVersionDescription, v: &ProjectVersion, filter: &VersionFilter) -> bool {
    let custom_labels = d
        .feature()
        .is_none_or(|f| *f == CustomizationFeature::CustomLabels);
    let status = filter.statuses.is_empty() || filter.statuses.contains(&v.status);
    let since = match (filter.since, v.created) {
        (Some(since), Some(created)) => created >= since,
        (Some(_), None) => false,
        (None, _) => true,
    };
    custom_labels && status && since
}

impl Locator {
    /// A locator using `client` (built by the caller from its own `SdkConfig`).
    ///
    /// # Example
    ///
    /// ```no_run
    /// use rekcheck_locate::Locator;
    ///
    /// # async fn run() {
    /// let config = aws_config::load_from_env().await;
    /// let locator = Locator::new(aws_sdk_rekognition::Client::new(&config));
    /// # }
    /// ```
    pub fn new(client: Client) -> Locator {
        Locator {
            client,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_pages: MAX_PAGES,
        }
    }

    /// Sets how long one call, with the client's own retries, may take (default
    /// [`DEFAULT_CALL_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Locator {
        self.call_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Sets the most pages one call sequence reads (default [`MAX_PAGES`]).
    #[must_use]
    pub fn with_max_pages(mut self, max_pages: usize) -> Locator {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Awaits one call within the call timeout; names the endpoint when it times out.
    async fn call<T, E, F>(
        &self,
        action: &'static str,
        resource: &str,
        recorder: &EndpointRecorder,
        request: F,
    ) -> Result<T, LocateError>
    where
        F: Future<Output = Result<T, SdkError<E, aws_sdk_rekognition::config::http::HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let endpoint = || {
            recorder
                .0
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_else(|| format!("the Rekognition endpoint of region {}", self.region()))
        };
        let timed_out = || LocateError::TimedOut {
            action,
            resource: resource.to_owned(),
            endpoint: endpoint(),
        };
        match tokio::time::timeout(self.call_timeout, request).await {
            Err(_) => Err(timed_out()),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if is_timeout(&e) => Err(timed_out()),
            Ok(Err(e)) => Err(map_err(e, action, resource, &self.region(), &endpoint())),
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map_or_else(|| "(no region set)".to_owned(), ToString::to_string)
    }

    /// The versions of a project that match `filter`, newest first, every page read.
    ///
    /// # Errors
    ///
    /// A [`LocateError`] for the first call that failed after the client's retries (access
    /// denied, project not found, throttling, a timeout, too many pages...).
    ///
    /// # Example
    ///
    /// ```no_run
    /// use rekcheck_locate::{Locator, VersionFilter};
    ///
    /// # async fn run(locator: Locator) -> Result<(), rekcheck_locate::LocateError> {
    /// let failed = VersionFilter {
    ///     statuses: vec!["TRAINING_FAILED".into()],
    ///     ..VersionFilter::default()
    /// };
    /// let arn = "arn:aws:rekognition:us-east-1:111122223333:project/my-project/1690474772815";
    /// for v in locator.project_versions(arn, &failed).await? {
    ///     println!("{}: {} ({:?})", v.version, v.status_message, v.training_manifest);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn project_versions(
        &self,
        project_arn: &str,
        filter: &VersionFilter,
    ) -> Result<Vec<ProjectVersion>, LocateError> {
        let out: Vec<ProjectVersion> = self
            .project_versions_stream(project_arn, filter)
            .try_collect()
            .await?;
        debug!(project_arn, versions = out.len(), "project versions found");
        Ok(out)
    }

    /// Like [`Locator::project_versions`], as a stream that yields versions page by page.
    pub fn project_versions_stream<'a>(
        &'a self,
        project_arn: &'a str,
        filter: &'a VersionFilter,
    ) -> impl Stream<Item = Result<ProjectVersion, LocateError>> + 'a {
        struct State {
            batches: VecDeque<Vec<String>>,
            current: Option<(Vec<String>, Option<String>)>,
            ready: VecDeque<ProjectVersion>,
            done: bool,
            pages: Pages,
            arns: HashSet<u64>,
        }
        let batches: VecDeque<Vec<String>> = if filter.versions.is_empty() {
            VecDeque::from([Vec::new()])
        } else {
            filter.versions.chunks(10).map(<[String]>::to_vec).collect()
        };
        let state = State {
            batches,
            current: None,
            ready: VecDeque::new(),
            done: false,
            pages: Pages::new(self.max_pages),
            arns: HashSet::new(),
        };
        futures::stream::unfold(state, move |mut st| async move {
            loop {
                if let Some(v) = st.ready.pop_front() {
                    return Some((Ok(v), st));
                }
                if st.done {
                    return None;
                }
                let (names, token) = match st.current.take() {
                    Some(c) => c,
                    None => match st.batches.pop_front() {
                        Some(b) => {
                            st.pages = Pages::new(self.max_pages);
                            (b, None)
                        }
                        None => return None,
                    },
                };
                let recorder = EndpointRecorder::default();
                let request = self
                    .client
                    .describe_project_versions()
                    .project_arn(project_arn)
                    .set_version_names((!names.is_empty()).then(|| names.clone()))
                    .set_next_token(token.clone())
                    .set_max_results(filter.page_size)
                    .customize()
                    .interceptor(recorder.clone())
                    .send();
                let action = "DescribeProjectVersions";
                let page = self
                    .call(action, project_arn, &recorder, request)
                    .await
                    .and_then(|page| {
                        let next = st.pages.next(page.next_token(), action, project_arn)?;
                        Ok((page, next))
                    });
                let (page, next) = match page {
                    Ok(p) => p,
                    Err(err) => {
                        st.done = true;
                        return Some((Err(err), st));
                    }
                };
                for d in page.project_version_descriptions() {
                    if let Some(v) = version_from(d)
                        && keep(d, &v, filter)
                        // A version listed twice (pages that shift while read) is kept once.
                        && st.arns.insert(hash(&v.arn))
                    {
                        st.ready.push_back(v);
                    }
                }
                if let Some(next) = next {
                    st.current = Some((names, Some(next)));
                }
            }
        })
    }

    /// Every Custom Labels project of the region (`DescribeProjects`), or only those named.
    pub async fn projects(&self, names: &[String]) -> Result<Vec<ProjectDescription>, LocateError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let resource = if names.is_empty() {
            format!("the projects of region {}", self.region())
        } else {
            format!("project {}", names.join(", "))
        };
        let mut pages = Pages::new(self.max_pages);
        let mut arns: HashSet<u64> = HashSet::new();
        loop {
            let recorder = EndpointRecorder::default();
            let request = self
                .client
                .describe_projects()
                .features(CustomizationFeature::CustomLabels)
                .set_project_names((!names.is_empty()).then(|| names.to_vec()))
                .set_next_token(token.clone())
                .customize()
                .interceptor(recorder.clone())
                .send();
            let page = self
                .call("DescribeProjects", &resource, &recorder, request)
                .await?;
            out.extend(
                page.project_descriptions()
                    .iter()
                    .filter(|p| arns.insert(hash(p.project_arn().unwrap_or(""))))
                    .cloned(),
            );
            token = pages.next(page.next_token(), "DescribeProjects", &resource)?;
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// The project ARN of a project name.
    pub async fn project_arn(&self, project: &str) -> Result<String, LocateError> {
        let found = self.projects(&[project.to_owned()]).await?;
        found
            .iter()
            .filter_map(ProjectDescription::project_arn)
            .find(|arn| matches!(parse_arn(arn), Some(Arn::Project { project: ref p, .. }) if p == project))
            .map(str::to_owned)
            .ok_or_else(|| LocateError::NotFound {
                resource: format!("project {project}"),
                region: self.region(),
                request_id: rekcheck_fetch::RequestId::default(),
            })
    }

    /// The version a version ARN names.
    pub async fn version_by_arn(&self, version_arn: &str) -> Result<ProjectVersion, LocateError> {
        let Some(Arn::Version {
            project, version, ..
        }) = parse_arn(version_arn)
        else {
            return Err(LocateError::InvalidParameter {
                action: "DescribeProjectVersions",
                resource: version_arn.to_owned(),
                message: "not a project version ARN (arn:aws:rekognition:REGION:ACCOUNT:project/NAME/version/VERSION/TIMESTAMP)".into(),
                request_id: rekcheck_fetch::RequestId::default(),
            });
        };
        let project_arn = self.project_arn(&project).await?;
        let filter = VersionFilter {
            versions: vec![version],
            ..VersionFilter::default()
        };
        self.project_versions(&project_arn, &filter)
            .await?
            .into_iter()
            .find(|v| v.arn == version_arn)
            .ok_or_else(|| LocateError::NotFound {
                resource: version_arn.to_owned(),
                region: self.region(),
                request_id: rekcheck_fetch::RequestId::default(),
            })
    }

    /// The current datasets of a project (`DescribeProjects` then `DescribeDataset` each).
    pub async fn datasets(&self, project: &str) -> Result<Vec<DatasetInfo>, LocateError> {
        let found = self.projects(&[project.to_owned()]).await?;
        let Some(p) = found.first() else {
            return Err(LocateError::NotFound {
                resource: format!("project {project}"),
                region: self.region(),
                request_id: rekcheck_fetch::RequestId::default(),
            });
        };
        let mut out = Vec::new();
        for meta in p.datasets() {
            let Some(arn) = meta.dataset_arn() else {
                continue;
            };
            let recorder = EndpointRecorder::default();
            let request = self
                .client
                .describe_dataset()
                .dataset_arn(arn)
                .customize()
                .interceptor(recorder.clone())
                .send();
            let d = self
                .call("DescribeDataset", arn, &recorder, request)
                .await?;
            let Some(desc) = d.dataset_description() else {
                continue;
            };
            let stats = desc.dataset_stats();
            out.push(DatasetInfo {
                arn: arn.to_owned(),
                dataset_type: meta
                    .dataset_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                status: desc
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                status_message: desc.status_message().unwrap_or("").to_owned(),
                status_message_code: desc
                    .status_message_code()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                total_entries: stats.and_then(DatasetStats::total_entries).unwrap_or(0),
                labeled_entries: stats.and_then(DatasetStats::labeled_entries).unwrap_or(0),
                total_labels: stats.and_then(DatasetStats::total_labels).unwrap_or(0),
                error_entries: stats.and_then(DatasetStats::error_entries).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// The entries of a dataset that have errors (`ListDatasetEntries` with `HasErrors=true`):
    /// each one JSON line, in the order Rekognition lists them; at most
    /// [`MAX_DATASET_ENTRY_BYTES`] in all.
    pub async fn dataset_entries_with_errors(
        &self,
        dataset_arn: &str,
    ) -> Result<Vec<String>, LocateError> {
        let action = "ListDatasetEntries";
        let mut out: Vec<String> = Vec::new();
        let mut bytes = 0usize;
        let mut token: Option<String> = None;
        let mut pages = Pages::new(self.max_pages);
        loop {
            let recorder = EndpointRecorder::default();
            let request = self
                .client
                .list_dataset_entries()
                .dataset_arn(dataset_arn)
                .has_errors(true)
                .set_next_token(token.clone())
                .customize()
                .interceptor(recorder.clone())
                .send();
            let page = self.call(action, dataset_arn, &recorder, request).await?;
            for entry in page.dataset_entries() {
                bytes = bytes.saturating_add(entry.len());
                if bytes > MAX_DATASET_ENTRY_BYTES {
                    return Err(LocateError::EndlessPagination {
                        action,
                        resource: dataset_arn.to_owned(),
                        reason: format!(
                            "the entries with errors passed {MAX_DATASET_ENTRY_BYTES} bytes (the cap)"
                        ),
                    });
                }
                out.push(entry.clone());
            }
            token = pages.next(page.next_token(), action, dataset_arn)?;
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}
