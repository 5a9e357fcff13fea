//! The Rekognition calls.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_rekognition::Client;
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

/// Asks Rekognition where validation results are, with the caller's client.
#[derive(Debug, Clone)]
pub struct Locator {
    client: Client,
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

/// The token of the next page: none when the answer has no token, an empty one (the last page
/// of Rekognition's own examples), or the token just sent (a service bug that would loop).
fn next_page(answer: Option<&str>, sent: Option<&String>) -> Option<String> {
    answer
        .filter(|t| !t.is_empty() && Some(*t) != sent.map(String::as_str))
        .map(str::to_owned)
}

impl Locator {
    /// A locator using `client` (built by the caller from its own `SdkConfig`).
    pub fn new(client: Client) -> Locator {
        Locator { client }
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
                        Some(b) => (b, None),
                        None => return None,
                    },
                };
                let page = self
                    .client
                    .describe_project_versions()
                    .project_arn(project_arn)
                    .set_version_names((!names.is_empty()).then(|| names.clone()))
                    .set_next_token(token.clone())
                    .set_max_results(filter.page_size)
                    .send()
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        st.done = true;
                        let err =
                            map_err(e, "DescribeProjectVersions", project_arn, &self.region());
                        return Some((Err(err), st));
                    }
                };
                for d in page.project_version_descriptions() {
                    if let Some(v) = version_from(d)
                        && keep(d, &v, filter)
                    {
                        st.ready.push_back(v);
                    }
                }
                if let Some(next) = next_page(page.next_token(), token.as_ref()) {
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
        loop {
            let page = self
                .client
                .describe_projects()
                .features(CustomizationFeature::CustomLabels)
                .set_project_names((!names.is_empty()).then(|| names.to_vec()))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| map_err(e, "DescribeProjects", &resource, &self.region()))?;
            out.extend(page.project_descriptions().iter().cloned());
            token = next_page(page.next_token(), token.as_ref());
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
            })
    }

    /// The current datasets of a project (`DescribeProjects` then `DescribeDataset` each).
    pub async fn datasets(&self, project: &str) -> Result<Vec<DatasetInfo>, LocateError> {
        let found = self.projects(&[project.to_owned()]).await?;
        let Some(p) = found.first() else {
            return Err(LocateError::NotFound {
                resource: format!("project {project}"),
                region: self.region(),
            });
        };
        let mut out = Vec::new();
        for meta in p.datasets() {
            let Some(arn) = meta.dataset_arn() else {
                continue;
            };
            let d = self
                .client
                .describe_dataset()
                .dataset_arn(arn)
                .send()
                .await
                .map_err(|e| map_err(e, "DescribeDataset", arn, &self.region()))?;
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
    /// each one JSON line, in the order Rekognition lists them.
    pub async fn dataset_entries_with_errors(
        &self,
        dataset_arn: &str,
    ) -> Result<Vec<String>, LocateError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_dataset_entries()
                .dataset_arn(dataset_arn)
                .has_errors(true)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| map_err(e, "ListDatasetEntries", dataset_arn, &self.region()))?;
            out.extend(page.dataset_entries().iter().cloned());
            token = next_page(page.next_token(), token.as_ref());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}
