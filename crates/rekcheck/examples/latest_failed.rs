//! Checks the latest failed version of a project and prints its top error codes.
//!
//! ```text
//! cargo run -p rekcheck --example latest_failed -- arn:aws:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP
//! ```
//! Uses the standard AWS configuration (environment, profile, SSO, IMDS).

use std::collections::BTreeMap;

use rekcheck::Pipeline;
use rekcheck::analyze::{Severity, code_info};
use rekcheck::locate::{Locator, VersionFilter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(project) = std::env::args().nth(1) else {
        eprintln!("usage: latest_failed PROJECT_ARN");
        std::process::exit(2);
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let locator = Locator::new(aws_sdk_rekognition::Client::new(&config));
    let failed = VersionFilter {
        statuses: vec!["TRAINING_FAILED".into()],
        ..VersionFilter::default()
    };
    // DescribeProjectVersions lists the newest first.
    let Some(latest) = locator
        .project_versions(&project, &failed)
        .await?
        .into_iter()
        .next()
    else {
        println!("no failed version in {project}");
        return Ok(());
    };
    println!(
        "{} {}: {}",
        latest.project, latest.version, latest.status_message
    );

    let outcome = Pipeline::builder()
        .sdk_config(&config)
        .source(latest.arn.parse::<rekcheck::Source>()?)
        .build()?
        .run()
        .await?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for c in outcome
        .summary
        .codes
        .iter()
        .filter(|c| c.severity == Severity::Error)
    {
        *counts.entry(c.code.as_str()).or_default() += c.issues;
    }
    let mut top: Vec<(&str, u64)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (code, n) in top.iter().take(5) {
        let fix = code_info(code).map_or("", |i| i.fix);
        println!("{n:>7} {code}  {fix}");
    }
    for f in &outcome.failures {
        eprintln!("could not read {}: {}", f.what, f.error);
    }
    Ok(())
}
