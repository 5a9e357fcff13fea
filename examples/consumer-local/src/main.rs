//! Reports a local folder of Rekognition validation results with the facade built without its
//! `s3` and `rekognition` features: prints each manifest's counts and exits with the run's code.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from("sample-manifests/failed-object-detection"),
        PathBuf::from,
    );
    let outcome = rekcheck::Pipeline::builder()
        .source(folder.as_path())
        .build()?
        .run_blocking()?;
    for m in &outcome.summary.manifests {
        println!(
            "{}: {} lines, {} errors",
            m.context.manifest, m.stats.lines, m.stats.error
        );
    }
    // An S3 source is refused, naming the feature.
    let s3: rekcheck::Source = "s3://my-bucket/output/".parse()?;
    match rekcheck::Pipeline::builder().source(s3).build() {
        Err(rekcheck::PipelineError::FeatureDisabled { feature, .. }) => {
            println!("s3 needs `{feature}`")
        }
        other => return Err(format!("expected FeatureDisabled, got {other:?}").into()),
    }
    std::process::exit(i32::from(
        outcome.exit_code(Some(rekcheck::analyze::Severity::Error)),
    ));
}
