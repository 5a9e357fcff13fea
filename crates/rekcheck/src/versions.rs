//! Inputs from the Rekognition API: project and version ARNs, `--all-projects`, `--datasets`.

use rekcheck_analyze::{CodeKind, Dataset, code_for_message};
use rekcheck_fetch::{Fetcher, S3Location, Source};
use rekcheck_locate::{Arn, Locator, ProjectVersion, VersionFilter, parse_arn};

use crate::discover::{Group, Input, Kind, VersionMeta, folder_kind};
use crate::error::{Failure, PipelineError};
use crate::time::rfc3339;

/// A failed training's status message, as a manifest-level issue: the documented code whose
/// message it is, or `REKCHECK_TRAINING_FAILED` with the text as it is.
pub(crate) fn status_issue(v: &ProjectVersion) -> Option<(String, String)> {
    let failed = v.status.ends_with("FAILED");
    if !failed {
        return None;
    }
    let code = code_for_message(&v.status_message)
        .map_or(rekcheck_analyze::REKCHECK_TRAINING_FAILED, |c| c.code);
    Some((code.to_owned(), v.status_message.clone()))
}

/// Whether validation ran, so that the files should exist even if the response has no
/// locations: the training completed, or failed on something other than a manifest file error.
fn validation_ran(v: &ProjectVersion) -> bool {
    match v.status.as_str() {
        "TRAINING_COMPLETED" => true,
        "TRAINING_FAILED" => {
            !code_for_message(&v.status_message).is_some_and(|c| c.kind == CodeKind::TerminalFile)
        }
        _ => false,
    }
}

fn input(location: &S3Location, kind: Kind, dataset: Dataset) -> Input {
    Input {
        display: location.to_string(),
        source: Source::S3(location.clone()),
        kind,
        dataset,
        size: None,
    }
}

/// The group of files of one version; lists the output prefix when the response has no
/// locations although validation ran.
pub(crate) fn version_group(
    v: &ProjectVersion,
    fetcher: &Fetcher,
    runtime: &tokio::runtime::Handle,
    notes: &mut Vec<String>,
    failures: &mut Vec<Failure>,
) -> Group {
    let mut g = Group {
        project: v.project.clone(),
        version: v.version.clone(),
        status_issue: status_issue(v),
        version_arn: Some(v.arn.clone()),
        meta: Some(VersionMeta {
            status: v.status.clone(),
            status_message: v.status_message.clone(),
            created: v.created.map(rfc3339).unwrap_or_default(),
            training_ended: v.training_ended.map(rfc3339).unwrap_or_default(),
        }),
        ..Group::default()
    };
    if let Some(s) = &v.summary {
        g.summary = Some(input(s, Kind::Summary, Dataset::Unknown));
    }
    if let Some(t) = &v.training_manifest {
        g.manifests
            .push(input(t, Kind::Manifest, Dataset::Training));
    }
    if let Some(t) = &v.testing_manifest {
        g.manifests.push(input(t, Kind::Manifest, Dataset::Testing));
    }
    if v.has_no_locations()
        && validation_ran(v)
        && let (Some(output), Some(s3)) = (&v.output, fetcher.s3())
    {
        let mut prefix = output.clone();
        if !prefix.key.is_empty() && !prefix.key.ends_with('/') {
            prefix.key.push('/');
        }
        notes.push(format!(
                "{}/{}: the response has no validation locations although validation ran; listed {prefix} instead",
                v.project, v.version
            ));
        match runtime.block_on(s3.list(&prefix)) {
            Ok(objects) => {
                for o in objects {
                    let name = o.location.file_name().to_owned();
                    // Only this version's files, directly under the prefix.
                    if o.location.parent_prefix() != prefix.key {
                        continue;
                    }
                    let Some(kind) = folder_kind(&name) else {
                        continue;
                    };
                    let mut i = input(&o.location, kind, Dataset::from_file_name(&name));
                    i.size = Some(o.size);
                    match kind {
                        Kind::Summary if g.summary.is_none() => g.summary = Some(i),
                        Kind::Summary => g.extra_summaries.push(i),
                        Kind::Manifest => g.manifests.push(i),
                    }
                }
            }
            Err(e) => failures.push(Failure {
                what: format!("{}/{} output {prefix}", v.project, v.version),
                error: PipelineError::from(e),
            }),
        }
    }
    g
}

/// Every version named by `arns` (project ARNs with the filter, or version ARNs), and, with
/// `all_projects`, every Custom Labels project of the region. A failure for one project does not
/// stop the others: it is returned beside the versions found.
pub async fn find_versions(
    locator: &Locator,
    arns: &[String],
    all_projects: bool,
    filter: &VersionFilter,
) -> (Vec<ProjectVersion>, Vec<Failure>) {
    let mut out = Vec::new();
    let mut failures = Vec::new();
    let mut project_arns: Vec<String> = Vec::new();
    for arn in arns {
        match parse_arn(arn) {
            Some(Arn::Project { .. }) => project_arns.push(arn.clone()),
            Some(Arn::Version { .. }) => match locator.version_by_arn(arn).await {
                Ok(v) => out.push(v),
                Err(e) => failures.push(Failure {
                    what: arn.clone(),
                    error: PipelineError::from(e),
                }),
            },
            // Not an ARN, or a kind of ARN this build does not know.
            _ => failures.push(Failure {
                what: arn.clone(),
                error: PipelineError::Input(
                    "not a Rekognition project or project version ARN (arn:aws:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP)".into(),
                ),
            }),
        }
    }
    if all_projects {
        match locator.projects(&[]).await {
            Ok(projects) => {
                project_arns.extend(
                    projects
                        .iter()
                        .filter_map(|p| p.project_arn().map(str::to_owned)),
                );
            }
            Err(e) => failures.push(Failure {
                what: "--all-projects".into(),
                error: PipelineError::from(e),
            }),
        }
    }
    for arn in project_arns {
        match locator.project_versions(&arn, filter).await {
            Ok(v) => out.extend(v),
            Err(e) => failures.push(Failure {
                what: arn.clone(),
                error: PipelineError::from(e),
            }),
        }
    }
    (out, failures)
}
