//! `--datasets`: a project's current datasets, before any training.

use rekcheck_analyze::{Dataset, Issue, ManifestContext, ReportWriter, Severity, code_for_message};
use rekcheck_locate::{Arn, DatasetInfo, Locator, parse_arn};

use crate::error::{Failure, PipelineError};

/// One dataset and its entries with errors.
pub(crate) struct DatasetInput {
    project: String,
    info: DatasetInfo,
    entries: Vec<String>,
}

/// Reads the datasets of each project ARN; a failure for one project does not stop the others.
pub(crate) fn collect(
    locator: &Locator,
    runtime: &tokio::runtime::Handle,
    projects: &[String],
    failures: &mut Vec<Failure>,
) -> Vec<DatasetInput> {
    let mut out = Vec::new();
    for arn in projects {
        let Some(Arn::Project { project, .. }) = parse_arn(arn) else {
            failures.push(Failure {
                what: arn.clone(),
                error: PipelineError::Input(
                    "--datasets takes a project ARN (arn:aws:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP)".into(),
                ),
            });
            continue;
        };
        let datasets = match runtime.block_on(locator.datasets(&project)) {
            Ok(d) => d,
            Err(e) => {
                failures.push(Failure {
                    what: arn.clone(),
                    error: PipelineError::from(e),
                });
                continue;
            }
        };
        for info in datasets {
            match runtime.block_on(locator.dataset_entries_with_errors(&info.arn)) {
                Ok(entries) => out.push(DatasetInput {
                    project: project.clone(),
                    info,
                    entries,
                }),
                Err(e) => failures.push(Failure {
                    what: info.arn.clone(),
                    error: PipelineError::from(e),
                }),
            }
        }
    }
    out
}

/// Adds a dataset to the report: its failed status (if any) as a manifest-level issue, and its
/// entries with errors analyzed like manifest lines (line N is the N-th entry listed).
pub(crate) fn add(
    writer: &mut ReportWriter,
    d: &DatasetInput,
    notes: &mut Vec<String>,
) -> Result<(), PipelineError> {
    let dataset = match d.info.dataset_type.as_str() {
        "TRAIN" => Dataset::Training,
        "TEST" => Dataset::Testing,
        _ => Dataset::Unknown,
    };
    let ctx = ManifestContext {
        project: d.project.clone(),
        version: String::new(),
        dataset,
        manifest: d.info.arn.clone(),
    };
    if d.info.status.ends_with("FAILED") {
        let code = code_for_message(&d.info.status_message)
            .map_or(rekcheck_analyze::REKCHECK_TRAINING_FAILED, |c| c.code);
        writer.add_manifest_issues(
            &ctx,
            &[Issue::manifest(
                Severity::Error,
                code,
                d.info.status_message.clone(),
            )],
        )?;
    }
    let mut text = d.entries.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    writer.add_manifest(
        &ctx,
        std::io::Cursor::new(text.into_bytes()),
        None,
        &mut |_| {},
    )?;
    notes.push(format!(
        "{} {} dataset {}: {} entries, {} labeled, {} labels, {} with errors (DescribeDataset); status {}; lines in the report are the entries with errors, in ListDatasetEntries order",
        d.project,
        d.info.dataset_type,
        d.info.arn,
        d.info.total_entries,
        d.info.labeled_entries,
        d.info.total_labels,
        d.info.error_entries,
        d.info.status
    ));
    Ok(())
}
