//! rekcheck-locate with the real aws-sdk-rekognition client against the testkit emulator.

use std::time::{Duration, UNIX_EPOCH};

use futures::TryStreamExt as _;
use rekcheck_locate::{LocateError, Locator, VersionFilter};
use rekcheck_testkit::rekognition::{
    RekFault, RekognitionEmulator, rekognition_client, sample_fixture,
};

const WIDGETS: &str = "arn:aws:rekognition:us-east-1:111122223333:project/widgets/1762000000000";

async fn setup(attempts: u32) -> (RekognitionEmulator, Locator) {
    let emu = RekognitionEmulator::start(sample_fixture("rekcheck-out")).await;
    let client = rekognition_client(&emu.endpoint(), attempts).await;
    (emu, Locator::new(client))
}

#[tokio::test]
async fn versions_are_read_page_by_page_with_their_locations() {
    let (emu, locator) = setup(1).await;
    let filter = VersionFilter {
        page_size: Some(1),
        ..VersionFilter::default()
    };
    let versions = locator.project_versions(WIDGETS, &filter).await.unwrap();
    let names: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(
        names,
        [
            "widgets.2026-11-22T08.30.00",
            "widgets.2026-11-20T10.00.00",
            "widgets.2026-11-18T09.00.00"
        ]
    );
    let failed = &versions[1];
    assert_eq!(failed.project, "widgets");
    assert_eq!(failed.status, "TRAINING_FAILED");
    assert_eq!(
        failed.status_message,
        "The manifest file contains too many invalid rows."
    );
    assert_eq!(
        failed.training_manifest.as_ref().unwrap().to_string(),
        "s3://rekcheck-out/training-output/widgets/widgets.2026-11-20T10.00.00/TrainingManifestWithValidation-widgets-widgets.2026-11-20T10.00.00.json"
    );
    assert!(failed.testing_manifest.is_some() && failed.summary.is_some());
    assert_eq!(
        failed.created,
        Some(UNIX_EPOCH + Duration::from_secs(1_795_168_800))
    );
    assert!(versions[2].has_no_locations());
    // Three pages: the SDK sent the emulator's tokens back.
    let tokens: Vec<Option<String>> = emu
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeProjectVersions")
        .map(|r| r.body["NextToken"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        tokens,
        [
            None,
            Some("DescribeProjectVersions:1".into()),
            Some("DescribeProjectVersions:2".into())
        ]
    );

    // The stream gives the same versions.
    let streamed: Vec<_> = locator
        .project_versions_stream(WIDGETS, &filter)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, versions);
}

#[tokio::test]
async fn filters_by_status_date_and_names_in_batches_of_ten() {
    let (emu, locator) = setup(1).await;
    let failed = VersionFilter {
        statuses: vec!["TRAINING_FAILED".into()],
        since: Some(UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
        ..VersionFilter::default()
    };
    let v = locator.project_versions(WIDGETS, &failed).await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].version, "widgets.2026-11-20T10.00.00");

    let mut names: Vec<String> = (0..11).map(|i| format!("missing-{i}")).collect();
    names.push("widgets.2026-11-18T09.00.00".into());
    let by_name = VersionFilter {
        versions: names,
        ..VersionFilter::default()
    };
    let v = locator.project_versions(WIDGETS, &by_name).await.unwrap();
    assert_eq!(v.len(), 1);
    let batches: Vec<usize> = emu
        .requests()
        .iter()
        .filter(|r| {
            r.operation == "DescribeProjectVersions" && r.body.get("VersionNames").is_some()
        })
        .map(|r| r.body["VersionNames"].as_array().unwrap().len())
        .collect();
    assert_eq!(batches, [10, 2]);
}

#[tokio::test]
async fn throttling_is_retried_and_errors_name_the_action() {
    let (emu, locator) = setup(3).await;
    emu.fault("DescribeProjectVersions", RekFault::Throttle);
    emu.fault("DescribeProjectVersions", RekFault::Throttle);
    let v = locator
        .project_versions(WIDGETS, &VersionFilter::default())
        .await
        .unwrap();
    assert_eq!(v.len(), 3);

    for _ in 0..3 {
        emu.fault("DescribeProjectVersions", RekFault::Throttle);
    }
    let e = locator
        .project_versions(WIDGETS, &VersionFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LocateError::Throttled { .. }), "{e}");

    emu.fault("DescribeProjectVersions", RekFault::AccessDenied);
    let e = locator
        .project_versions(WIDGETS, &VersionFilter::default())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("rekognition:DescribeProjectVersions"),
        "{e}"
    );

    for _ in 0..3 {
        emu.fault("DescribeProjectVersions", RekFault::Internal);
    }
    let e = locator
        .project_versions(WIDGETS, &VersionFilter::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("InternalServerError"), "{e}");

    emu.fault("DescribeProjectVersions", RekFault::Malformed);
    let e = locator
        .project_versions(WIDGETS, &VersionFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LocateError::Request { .. }), "{e}");

    let e = locator
        .project_versions(
            "arn:aws:rekognition:us-east-1:111122223333:project/nope/1",
            &VersionFilter::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("was not found in region us-east-1"),
        "{e}"
    );
}

#[tokio::test]
async fn projects_versions_by_arn_and_datasets() {
    let (_emu, locator) = setup(1).await;
    let projects = locator.projects(&[]).await.unwrap();
    assert_eq!(projects.len(), 2);
    let v = locator
        .version_by_arn(
            "arn:aws:rekognition:us-east-1:111122223333:project/pets/version/pets.v3/1793628311512",
        )
        .await
        .unwrap();
    assert_eq!(v.project, "pets");
    assert!(v.has_no_locations());
    assert_eq!(
        v.output.as_ref().unwrap().to_string(),
        "s3://rekcheck-out/training-output/pets/pets.v3"
    );

    let datasets = locator.datasets("widgets").await.unwrap();
    assert_eq!(datasets.len(), 2);
    assert_eq!(
        (datasets[0].dataset_type.as_str(), datasets[0].error_entries),
        ("TRAIN", 2)
    );
    let entries = locator
        .dataset_entries_with_errors(&datasets[0].arn)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.contains("errors")));
}

const TRAIN_DS: &str =
    "arn:aws:rekognition:us-east-1:111122223333:project/widgets/dataset/train/1762000000001";

#[tokio::test]
async fn pages_whose_tokens_repeat_alternate_or_never_end_stop_with_an_error() {
    use rekcheck_testkit::rekognition::BadPages;
    for mode in [BadPages::Repeat, BadPages::Alternate, BadPages::EverNew] {
        let (emu, locator) = setup(1).await;
        let locator = locator.with_max_pages(50);
        for op in [
            "DescribeProjectVersions",
            "DescribeProjects",
            "ListDatasetEntries",
        ] {
            emu.bad_pages(op, mode);
        }
        let e = tokio::time::timeout(
            Duration::from_secs(60),
            locator.project_versions(WIDGETS, &VersionFilter::default()),
        )
        .await
        .expect("DescribeProjectVersions never ended")
        .unwrap_err();
        assert!(
            matches!(
                e,
                LocateError::EndlessPagination {
                    action: "DescribeProjectVersions",
                    ..
                }
            ),
            "{mode:?}: {e}"
        );
        let e = tokio::time::timeout(Duration::from_secs(60), locator.projects(&[]))
            .await
            .expect("DescribeProjects never ended")
            .unwrap_err();
        assert!(
            matches!(
                e,
                LocateError::EndlessPagination {
                    action: "DescribeProjects",
                    ..
                }
            ),
            "{mode:?}: {e}"
        );
        let e = tokio::time::timeout(
            Duration::from_secs(60),
            locator.dataset_entries_with_errors(TRAIN_DS),
        )
        .await
        .expect("ListDatasetEntries never ended")
        .unwrap_err();
        assert!(
            matches!(
                e,
                LocateError::EndlessPagination {
                    action: "ListDatasetEntries",
                    ..
                }
            ),
            "{mode:?}: {e}"
        );
        let text = e.to_string();
        if mode == BadPages::EverNew {
            assert!(text.contains("more than 50 pages"), "{text}");
        } else {
            assert!(
                text.contains("NextToken that an earlier page gave"),
                "{text}"
            );
        }
        let pages = emu
            .requests()
            .iter()
            .filter(|r| r.operation == "ListDatasetEntries")
            .count();
        assert!(pages <= 50, "{mode:?}: {pages} pages");
    }
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out_and_is_named() {
    let endpoint = rekcheck_testkit::proxy::silent_server();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_sdk_rekognition::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_rekognition::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(1))
                .build(),
        )
        .load()
        .await;
    let port = endpoint.rsplit(':').next().unwrap().to_owned();
    // The client's own attempt timeout, retried once.
    let locator = Locator::new(aws_sdk_rekognition::Client::new(&sdk));
    let e = tokio::time::timeout(Duration::from_secs(60), locator.projects(&[]))
        .await
        .expect("hung")
        .unwrap_err();
    assert!(matches!(e, LocateError::TimedOut { .. }), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    // A client without timeouts: the locator's own bound.
    let plain = aws_sdk_rekognition::Client::from_conf(
        aws_sdk_rekognition::config::Builder::from(&sdk)
            .timeout_config(aws_config::timeout::TimeoutConfig::disabled())
            .build(),
    );
    let locator = Locator::new(plain).with_timeout(Duration::from_secs(1));
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        locator.project_versions(WIDGETS, &VersionFilter::default()),
    )
    .await
    .expect("hung")
    .unwrap_err();
    assert!(
        matches!(
            e,
            LocateError::TimedOut {
                action: "DescribeProjectVersions",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}
