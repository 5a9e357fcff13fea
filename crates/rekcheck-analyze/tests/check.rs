//! `check`'s rules, one test per rule, and `fix`'s rewriting.

use rekcheck_analyze::{
    CheckOptions, CheckTally, Dataset, FixOptions, ImageCheck, ImageChecks, ImageRow, ImageStatus,
    Issue, Level, LineOutcome, ManifestContext, ReportOptions, ReportWriter, Severity, Stats,
    check_line, code_info, fix_line, fix_manifest,
};

const OD: &str = r#"{"source-ref":"s3://bkt/a.jpg","bb":{"image_size":[{"width":640,"height":480,"depth":3}],"annotations":[{"class_id":0,"top":10,"left":10,"width":100,"height":100}]},"bb-metadata":{"objects":[{"confidence":1}],"class-map":{"0":"cat"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}"#;
const CLS: &str = r#"{"source-ref":"s3://bkt/a.jpg","c":1,"c-metadata":{"class-name":"cat","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}"#;

fn opts() -> CheckOptions<'static> {
    CheckOptions {
        max_line_bytes: 1 << 24,
        images: None,
    }
}

fn check_with(line: &str, options: &CheckOptions<'_>) -> (ImageRow, Vec<Issue>) {
    match check_line(3, line.as_bytes(), options).0 {
        LineOutcome::Image { row, issues } => (row, issues),
        LineOutcome::Blank => panic!("blank"),
    }
}

fn check(line: &str) -> (ImageRow, Vec<Issue>) {
    check_with(line, &opts())
}

/// (level, attribute, annotation, code) of each issue.
fn codes(issues: &[Issue]) -> Vec<(Level, String, Option<u32>, String)> {
    issues
        .iter()
        .map(|i| (i.level, i.attribute.clone(), i.annotation, i.code.clone()))
        .collect()
}

fn only(line: &str) -> Vec<String> {
    check(line).1.into_iter().map(|i| i.code).collect()
}

fn line_issue(code: &str) -> (Level, String, Option<u32>, String) {
    (Level::Line, String::new(), None, code.to_owned())
}

fn od_with(find: &str, replace: &str) -> String {
    assert!(OD.contains(find), "{find}");
    OD.replacen(find, replace, 1)
}

#[test]
fn valid_lines_have_no_issue_and_give_their_labels() {
    let (row, issues) = check(OD);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(row.status, ImageStatus::Ok);
    assert_eq!(row.labels, ["cat"]);
    assert_eq!(row.boxes, 1);
    let (row, issues) = check(CLS);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(row.labels, ["cat"]);
}

#[test]
fn messages_are_rekognitions_own_then_the_detail() {
    let (_, issues) = check(r#"{"source-ref":"https://x/a.jpg","c":1}"#);
    let info = code_info("ERROR_INVALID_SOURCE_REF_FORMAT").unwrap();
    assert!(
        issues[0].message.starts_with(info.message),
        "{}",
        issues[0].message
    );
    assert!(issues[0].message.contains("https://x/a.jpg"));
    assert_eq!(issues[0].source_ref, "https://x/a.jpg");
}

#[test]
fn source_ref_missing_or_malformed() {
    assert_eq!(only(r#"{"c":1}"#), ["ERROR_MISSING_SOURCE_REF"]);
    for bad in [
        r#""https://bkt/a.jpg""#,
        r#""images/a.jpg""#,
        r#""s3://lab#-rawdata/a.jpg""#,
        r#""s3://$BUCKET/a.jpg""#,
        r#""s3://bkt/""#,
        r#""s3://bkt""#,
        "7",
    ] {
        let line = format!(r#"{{"source-ref":{bad},"c":1}}"#);
        assert_eq!(only(&line), ["ERROR_INVALID_SOURCE_REF_FORMAT"], "{bad}");
    }
    // Spaces, parentheses and non-ASCII keys are valid keys.
    let ok = CLS.replace("s3://bkt/a.jpg", "s3://bkt/images (1)/사과 a\u{200b}.jpg");
    assert!(only(&ok).is_empty());
}

#[test]
fn a_line_with_only_a_source_ref_is_unannotated_and_unpaired_keys_are_no_label_attributes() {
    let (row, issues) = check(r#"{"source-ref":"s3://bkt/a.jpg"}"#);
    assert_eq!(codes(&issues), [line_issue("WARNING_UNANNOTATED_RECORD")]);
    assert_eq!(row.status, ImageStatus::Warning);
    let (_, issues) = check(
        r#"{"source-ref":"s3://bkt/a.jpg","normal":1,"auto-label-metadata":{"class-name":"x"}}"#,
    );
    assert_eq!(codes(&issues), [line_issue("ERROR_NO_LABEL_ATTRIBUTES")]);
    assert!(
        issues[0]
            .message
            .contains("`normal` has no `normal-metadata`")
    );
    assert!(
        issues[0]
            .message
            .contains("`auto-label-metadata` has no `auto-label`")
    );
}

#[test]
fn attribute_and_metadata_formats() {
    let (_, issues) = check(&CLS.replace(r#""c":1"#, r#""c":"1""#));
    assert_eq!(
        codes(&issues),
        [(
            Level::Attribute,
            "c".into(),
            None,
            "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT".into()
        )]
    );
    assert!(
        issues[0]
            .message
            .starts_with("The format of the label attribute c is invalid.")
    );
    let (_, issues) = check(&CLS.replace(r#""confidence":1,"#, ""));
    assert_eq!(
        codes(&issues),
        [(
            Level::Metadata,
            "c".into(),
            None,
            "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT".into()
        )]
    );
    assert!(issues[0].message.contains("confidence"));
    let (_, issues) =
        check(&CLS.replace(r#""human-annotated":"yes""#, r#""human-annotated":"maybe""#));
    assert_eq!(
        issues[0].code,
        "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT"
    );
    // Bounding boxes: image_size must hold exactly one size; each box needs numbers.
    assert_eq!(
        only(&od_with(
            r#""image_size":[{"width":640,"height":480,"depth":3}]"#,
            r#""image_size":[]"#
        )),
        ["ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"]
    );
    assert_eq!(
        only(&od_with(r#""class_id":0"#, r#""class_id":"0""#)),
        ["ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"]
    );
    assert_eq!(
        only(&od_with(r#""class-map":{"0":"cat"},"#, "")),
        ["ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT"]
    );
}

#[test]
fn unsupported_type_as_in_the_documentation_example() {
    let (row, issues) =
        check(&CLS.replace("groundtruth/image-classification", "groundtruth/wrongtype"));
    assert_eq!(
        codes(&issues),
        [
            (
                Level::Metadata,
                "c".into(),
                None,
                "ERROR_UNSUPPORTED_USE_CASE_TYPE".into()
            ),
            line_issue("ERROR_NO_VALID_LABEL_ATTRIBUTES"),
        ]
    );
    assert!(issues[0].message.starts_with(
        "The use case type of the c-metadata label attribute metadata is unsupported."
    ));
    assert_eq!(row.status, ImageStatus::Error);
    // A supported attribute beside it keeps the line valid.
    let both = CLS.replace(
        r#""c":1,"#,
        r#""c":1,"v":1,"v-metadata":{"type":"groundtruth/video-object-tracking"},"#,
    );
    assert_eq!(only(&both), ["ERROR_UNSUPPORTED_USE_CASE_TYPE"]);
}

#[test]
fn class_ids_must_be_in_the_class_map_and_objects_must_pair_with_annotations() {
    let (_, issues) = check(&od_with(r#""class_id":0"#, r#""class_id":4"#));
    assert_eq!(
        codes(&issues),
        [(
            Level::Annotation,
            "bb".into(),
            Some(0),
            "ERROR_MISSING_CLASS_MAP_ID".into()
        )]
    );
    let (_, issues) = check(&od_with(
        r#""objects":[{"confidence":1}]"#,
        r#""objects":[]"#,
    ));
    assert_eq!(
        codes(&issues),
        [(
            Level::Metadata,
            "bb".into(),
            None,
            "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE".into()
        )]
    );
    let (_, issues) = check(&od_with(
        r#""objects":[{"confidence":1}]"#,
        r#""objects":[{}]"#,
    ));
    assert_eq!(issues[0].code, "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE");
}

#[test]
fn the_first_checks_stop_the_later_ones() {
    // A class id missing from the class map on an oversized image with an off-frame box: only
    // the class map error, as Rekognition stops there.
    let line = od_with(r#""class_id":0"#, r#""class_id":4"#)
        .replace(
            r#""width":640,"height":480"#,
            r#""width":9000,"height":480"#,
        )
        .replace(r#""left":10"#, r#""left":-5"#);
    assert_eq!(only(&line), ["ERROR_MISSING_CLASS_MAP_ID"]);
}

#[test]
fn more_than_fifty_boxes() {
    let boxes = vec![r#"{"class_id":0,"top":10,"left":10,"width":100,"height":100}"#; 51].join(",");
    let objects = vec![r#"{"confidence":1}"#; 51].join(",");
    let line = od_with(
        r#""annotations":[{"class_id":0,"top":10,"left":10,"width":100,"height":100}]"#,
        &format!(r#""annotations":[{boxes}]"#),
    )
    .replace(
        r#""objects":[{"confidence":1}]"#,
        &format!(r#""objects":[{objects}]"#),
    );
    let (row, issues) = check(&line);
    assert_eq!(
        codes(&issues),
        [(
            Level::Attribute,
            "bb".into(),
            None,
            "ERROR_TOO_MANY_BOUNDING_BOXES".into()
        )]
    );
    assert_eq!(row.boxes, 51);
    assert_eq!(row.label_boxes, [51]);
    // Fifty is allowed.
    let fifty = line
        .replacen(
            r#"{"class_id":0,"top":10,"left":10,"width":100,"height":100},"#,
            "",
            1,
        )
        .replacen(r#"{"confidence":1},"#, "", 1);
    assert!(only(&fifty).is_empty());
}

#[test]
fn boxes_off_the_frame_or_negative() {
    for (find, replace) in [
        (r#""left":10"#, r#""left":-1"#),
        (r#""top":10"#, r#""top":-0.5"#),
        (r#""left":10"#, r#""left":541"#),
        (r#""top":10"#, r#""top":381"#),
    ] {
        let (_, issues) = check(&od_with(find, replace));
        assert_eq!(
            codes(&issues),
            [
                (
                    Level::Annotation,
                    "bb".into(),
                    Some(0),
                    "ERROR_INVALID_BOUNDING_BOX".into()
                ),
                (
                    Level::Attribute,
                    "bb".into(),
                    None,
                    "ERROR_NO_VALID_ANNOTATIONS".into()
                ),
            ],
            "{replace}"
        );
        assert_eq!(issues[0].label, "cat");
    }
    // Touching the right and bottom edges is inside.
    assert!(only(&od_with(r#""left":10"#, r#""left":540"#)).is_empty());
}

#[test]
fn boxes_too_small_once_scaled_to_1280() {
    // The documentation's example: a 1x1 box on a 3000x3000 image.
    let line = od_with(
        r#""width":640,"height":480"#,
        r#""width":3000,"height":3000"#,
    )
    .replace(r#""width":100,"height":100"#, r#""width":1,"height":1"#);
    assert_eq!(
        only(&line),
        ["ERROR_BOUNDING_BOX_TOO_SMALL", "ERROR_NO_VALID_ANNOTATIONS"]
    );
    // 3 px on a 3000 px image is 1.28 px once scaled: large enough.
    let line = od_with(
        r#""width":640,"height":480"#,
        r#""width":3000,"height":3000"#,
    )
    .replace(r#""width":100,"height":100"#, r#""width":3,"height":3"#);
    assert!(only(&line).is_empty());
    // No scaling under 1280 px: 2x2 is fine, 1x5 is not.
    assert!(
        only(&od_with(
            r#""width":100,"height":100"#,
            r#""width":2,"height":2"#
        ))
        .is_empty()
    );
    assert_eq!(
        only(&od_with(
            r#""width":100,"height":100"#,
            r#""width":1,"height":5"#
        ))[0],
        "ERROR_BOUNDING_BOX_TOO_SMALL"
    );
}

#[test]
fn image_dimensions_and_aspect_ratio() {
    for (w, h) in [(7168, 4562), (63, 480), (640, 4097), (2100, 100)] {
        let line = od_with(
            r#""width":640,"height":480"#,
            &format!(r#""width":{w},"height":{h}"#),
        )
        .replace(r#""width":100,"height":100"#, r#""width":10,"height":10"#);
        let (_, issues) = check(&line);
        assert!(
            codes(&issues).contains(&line_issue("ERROR_INVALID_IMAGE_DIMENSION")),
            "{w}x{h}: {issues:?}"
        );
    }
    for (w, h) in [(64, 64), (4096, 4096), (2000, 100)] {
        let line = od_with(
            r#""width":640,"height":480"#,
            &format!(r#""width":{w},"height":{h}"#),
        )
        .replace(r#""width":100,"height":100"#, r#""width":10,"height":10"#);
        assert!(only(&line).is_empty(), "{w}x{h}");
    }
}

#[test]
fn label_names_longer_than_256_characters() {
    let name = "é".repeat(257);
    let (_, issues) = check(&CLS.replace(
        r#""class-name":"cat""#,
        &format!(r#""class-name":"{name}""#),
    ));
    assert_eq!(
        codes(&issues),
        [(
            Level::Metadata,
            "c".into(),
            None,
            "ERROR_INVALID_LABEL_NAME_LENGTH".into()
        )]
    );
    let name = "é".repeat(256);
    assert!(
        only(&CLS.replace(
            r#""class-name":"cat""#,
            &format!(r#""class-name":"{name}""#)
        ))
        .is_empty()
    );
    let (_, issues) = check(&od_with(
        r#""0":"cat""#,
        &format!(r#""0":"{}""#, "x".repeat(300)),
    ));
    assert_eq!(issues[0].code, "ERROR_INVALID_LABEL_NAME_LENGTH");
}

#[test]
fn lines_over_100000_characters() {
    let pad = format!(r#","job-name":"{}""#, "ü".repeat(60_000));
    let long = CLS.replace(r#","creation-date""#, &format!(r#"{pad},"creation-date""#));
    // 60,000 two-byte characters: over 100,000 bytes, under 100,000 characters.
    assert!(long.len() > 100_000);
    assert!(only(&long).is_empty());
    let pad = format!(r#","job-name":"{}""#, "u".repeat(100_000));
    let longer = CLS.replace(r#","creation-date""#, &format!(r#"{pad},"creation-date""#));
    let (row, issues) = check(&longer);
    assert_eq!(codes(&issues), [line_issue("REKCHECK_LINE_TOO_LONG")]);
    assert_eq!(row.labels, ["cat"]);
}

#[test]
fn lines_that_are_not_json_objects() {
    for bad in [
        r#"{"source-ref":"s3://b/a.jpg""#,
        "[1,2]",
        "\"x\"",
        "{\"a\":\u{1}}",
    ] {
        let (row, issues) = check(bad);
        assert_eq!(
            codes(&issues),
            [line_issue("ERROR_INVALID_JSON_LINE")],
            "{bad}"
        );
        assert_eq!(row.status, ImageStatus::Unparsable);
    }
    assert!(matches!(
        check_line(1, b"  \r", &opts()).0,
        LineOutcome::Blank
    ));
}

#[test]
fn empty_annotations_are_warnings() {
    let line = od_with(
        r#""annotations":[{"class_id":0,"top":10,"left":10,"width":100,"height":100}]"#,
        r#""annotations":[]"#,
    )
    .replace(r#""objects":[{"confidence":1}]"#, r#""objects":[]"#);
    let (row, issues) = check(&line);
    assert_eq!(
        codes(&issues),
        [
            (
                Level::Attribute,
                "bb".into(),
                None,
                "WARNING_NO_ATTRIBUTE_ANNOTATIONS".into()
            ),
            line_issue("WARNING_NO_ANNOTATIONS"),
        ]
    );
    assert_eq!(row.status, ImageStatus::Warning);
}

#[test]
fn verified_images_apply_the_image_rules_to_the_real_values() {
    let mut images = ImageChecks::new();
    let read = |format: &str, bytes: u64, w: u32, h: u32| ImageCheck::Read {
        format: format.into(),
        bytes,
        dimensions: Some((w, h)),
    };
    let cases = [
        (
            ImageCheck::Unreadable("s3://bkt/a.jpg does not exist".into()),
            vec!["ERROR_INVALID_IMAGE"],
        ),
        (read("gif", 10, 640, 480), vec!["ERROR_INVALID_IMAGE"]),
        (
            read("jpeg", 16 * 1024 * 1024, 640, 480),
            vec!["ERROR_INVALID_IMAGE"],
        ),
        (
            read("png", 10, 5000, 480),
            vec!["ERROR_INVALID_IMAGE", "REKCHECK_IMAGE_SIZE_MISMATCH"],
        ),
        (
            read("jpeg", 10, 1280, 960),
            vec!["REKCHECK_IMAGE_SIZE_MISMATCH"],
        ),
        (read("jpeg", 10, 640, 480), vec![]),
    ];
    for (image, expected) in cases {
        images.insert("s3://bkt/a.jpg".into(), image.clone());
        let options = CheckOptions {
            max_line_bytes: 1 << 24,
            images: Some(&images),
        };
        let got: Vec<String> = check_with(OD, &options)
            .1
            .into_iter()
            .map(|i| i.code)
            .collect();
        assert_eq!(got, expected, "{image:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Dataset rules.

fn checked(manifest: &str) -> (Stats, u64, CheckTally, Vec<Issue>, Vec<ImageRow>) {
    let mut w = ReportWriter::in_memory(ReportOptions {
        threads: 2,
        ..ReportOptions::default()
    })
    .unwrap();
    let rows = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), Vec::new())));
    let sink = rows.clone();
    w.on_block(Box::new(move |_, a| {
        let mut s = sink.lock().unwrap();
        s.0.extend(a.issues.iter().cloned());
        s.1.extend(a.rows.iter().cloned());
    }));
    let mut tally = CheckTally::new();
    let context = ManifestContext {
        dataset: Dataset::Training,
        ..ManifestContext::default()
    };
    let r = w
        .check_manifest(
            &context,
            manifest.as_bytes(),
            &opts(),
            &mut tally,
            &mut |_| {},
        )
        .unwrap()
        .clone();
    drop(w);
    let (issues, images) = std::mem::take(&mut *rows.lock().unwrap());
    (r.stats, r.bytes, tally, issues, images)
}

fn cls(uri: &str, label: &str) -> String {
    CLS.replace("s3://bkt/a.jpg", uri).replace(
        r#""class-name":"cat""#,
        &format!(r#""class-name":"{label}""#),
    )
}

fn dataset_codes(manifest: &str) -> Vec<String> {
    let (stats, bytes, tally, _, _) = checked(manifest);
    tally
        .dataset_issues(&stats, bytes)
        .into_iter()
        .map(|i| i.code)
        .collect()
}

#[test]
fn duplicate_source_refs_are_errors_after_the_first() {
    let m = format!(
        "{}\n{}\n{}\n{}\n",
        cls("s3://bkt/1.jpg", "cat"),
        cls("s3://bkt/2.jpg", "dog"),
        cls("s3://bkt/1.jpg", "dog"),
        r#"{"source-ref":"s3://bkt/1.jpg","broken":1}"#
    );
    let (stats, _, _, issues, rows) = checked(&m);
    let dups: Vec<(Option<u64>, &str)> = issues
        .iter()
        .filter(|i| i.code == "REKCHECK_DUPLICATE_SOURCE_REF")
        .map(|i| (i.line, i.message.as_str()))
        .collect();
    assert_eq!(dups.len(), 2);
    assert_eq!(dups[0].0, Some(3));
    assert!(dups[0].1.contains("line 1"));
    // Issues stay in line order: line 4's own error comes before its duplicate issue.
    let line4: Vec<&str> = issues
        .iter()
        .filter(|i| i.line == Some(4))
        .map(|i| i.code.as_str())
        .collect();
    assert_eq!(
        line4,
        ["ERROR_NO_LABEL_ATTRIBUTES", "REKCHECK_DUPLICATE_SOURCE_REF"]
    );
    assert_eq!(rows[2].status, ImageStatus::Error);
    assert_eq!(rows[2].errors, 1);
    assert_eq!((stats.ok, stats.error, stats.error_issues), (2, 2, 3));
    // A duplicate's labels do not count: "b" is only on a repeated line here.
    let m = format!(
        "{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/1.jpg", "b")
    );
    assert!(dataset_codes(&m).contains(&"ERROR_MANIFEST_TOO_FEW_LABELS".to_owned()));
    let m = format!(
        "{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b")
    );
    assert!(dataset_codes(&m).is_empty());
    assert_eq!(
        stats.lines,
        stats.blank + stats.unparsable + stats.ok + stats.warning + stats.error
    );
}

#[test]
fn duplicates_are_found_across_blocks_whatever_the_thread_count() {
    let mut m = String::new();
    for i in 0..30_000 {
        m.push_str(&cls(
            &format!("s3://bkt/{}.jpg", i % 20_000),
            if i % 2 == 0 { "a" } else { "b" },
        ));
        m.push('\n');
    }
    let (stats, _, _, issues, _) = checked(&m);
    assert_eq!(
        issues
            .iter()
            .filter(|i| i.code == "REKCHECK_DUPLICATE_SOURCE_REF")
            .count(),
        10_000
    );
    assert_eq!(stats.error, 10_000);
    assert!(issues.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn too_many_invalid_rows_counts_blank_and_invalid_lines_over_20_percent() {
    let good = |n: usize| {
        (0..n)
            .map(|i| {
                cls(
                    &format!("s3://bkt/{i}.jpg"),
                    if i % 2 == 0 { "a" } else { "b" },
                ) + "\n"
            })
            .collect::<String>()
    };
    // 8 good, 1 blank, 1 invalid: exactly 20 %, allowed.
    let m = format!("{}\n{{bad\n", good(8));
    assert!(!dataset_codes(&m).contains(&"ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST".to_owned()));
    // 7 good, 2 blank, 1 error: 30 %.
    let m = format!("{}\n\n{}\n", good(7), r#"{"c":1}"#);
    let codes = dataset_codes(&m);
    assert_eq!(codes, ["ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"]);
    // Warnings are not invalid.
    let m = format!(
        "{}{}\n{}\n{}\n",
        good(4),
        r#"{"source-ref":"s3://bkt/x.jpg"}"#,
        r#"{"source-ref":"s3://bkt/y.jpg"}"#,
        r#"{"source-ref":"s3://bkt/z.jpg"}"#
    );
    assert!(dataset_codes(&m).is_empty());
}

#[test]
fn images_in_more_than_one_bucket() {
    let m = format!(
        "{}\n{}\n{}\n",
        cls("s3://one/1.jpg", "a"),
        cls("s3://one/2.jpg", "b"),
        cls("s3://two/3.jpg", "a")
    );
    let (stats, bytes, tally, _, _) = checked(&m);
    let issues = tally.dataset_issues(&stats, bytes);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].code, "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS");
    assert!(
        issues[0].message.contains("one (2 images), two (1 images)"),
        "{}",
        issues[0].message
    );
    assert_eq!(issues[0].level, Level::Manifest);
}

#[test]
fn label_counts_per_use_case() {
    // Classification needs two labels, detection one.
    assert_eq!(
        dataset_codes(&(cls("s3://bkt/1.jpg", "a") + "\n")),
        ["ERROR_MANIFEST_TOO_FEW_LABELS"]
    );
    assert!(
        dataset_codes(&format!(
            "{}\n{}\n",
            cls("s3://bkt/1.jpg", "a"),
            cls("s3://bkt/2.jpg", "b")
        ))
        .is_empty()
    );
    assert!(dataset_codes(&(OD.to_owned() + "\n")).is_empty());
    // 251 labels.
    let m: String = (0..251)
        .map(|i| cls(&format!("s3://bkt/{i}.jpg"), &format!("l{i}")) + "\n")
        .collect();
    assert_eq!(dataset_codes(&m), ["ERROR_MANIFEST_TOO_MANY_LABELS"]);
    let m: String = (0..250)
        .map(|i| cls(&format!("s3://bkt/{i}.jpg"), &format!("l{i}")) + "\n")
        .collect();
    assert!(dataset_codes(&m).is_empty());
    // Errors do not count: the second label is only on a line in error.
    let m = format!(
        "{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b").replace(r#""c":1"#, r#""c":"x""#)
    );
    assert!(dataset_codes(&m).contains(&"ERROR_MANIFEST_TOO_FEW_LABELS".to_owned()));
    // Empty manifests.
    assert_eq!(dataset_codes(""), ["ERROR_EMPTY_MANIFEST"]);
    assert_eq!(dataset_codes("\n \n"), ["ERROR_EMPTY_MANIFEST"]);
}

#[test]
fn mixed_use_cases_keep_the_larger_and_count_its_labels_only() {
    // Three classification lines with one label, two detection lines with other labels: the
    // classification use case wins and has one usable label of two needed.
    let m = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "a"),
        cls("s3://bkt/3.jpg", "a"),
        OD.replace("a.jpg", "4.jpg"),
        OD.replace("a.jpg", "5.jpg")
            .replace(r#""0":"cat""#, r#""0":"dog""#),
    );
    let (stats, bytes, tally, _, _) = checked(&m);
    let issues = tally.dataset_issues(&stats, bytes);
    let codes: Vec<(&str, Severity)> = issues
        .iter()
        .map(|i| (i.code.as_str(), i.severity))
        .collect();
    assert_eq!(
        codes,
        [
            ("REKCHECK_OTHER_USE_CASE", Severity::Warning),
            ("ERROR_MANIFEST_TOO_FEW_USABLE_LABELS", Severity::Error)
        ]
    );
}

#[test]
fn testing_labels_must_overlap_training_by_half() {
    let train = format!(
        "{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b")
    );
    let test = |labels: &[&str]| {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| cls(&format!("s3://bkt/t{i}.jpg"), l) + "\n")
            .collect::<String>()
    };
    let (_, _, training, _, _) = checked(&train);
    let (_, _, t1, _, _) = checked(&test(&["a", "c", "d"]));
    let issues = CheckTally::overlap_issues(&training, &t1);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].code, "ERROR_INSUFFICIENT_LABEL_OVERLAP");
    assert!(
        issues[0].message.starts_with("Less than 50% label overlap"),
        "{}",
        issues[0].message
    );
    assert!(issues[0].message.contains("not in training: c, d"));
    let (_, _, t2, _, _) = checked(&test(&["a", "c"]));
    assert!(CheckTally::overlap_issues(&training, &t2).is_empty());
}

#[test]
fn auto_split_needs_five_images_per_label() {
    let m: String = (0..9)
        .map(|i| {
            cls(
                &format!("s3://bkt/{i}.jpg"),
                if i < 5 { "five" } else { "four" },
            ) + "\n"
        })
        .collect();
    let (_, _, tally, _, _) = checked(&m);
    let issues = tally.autosplit_issues();
    assert_eq!(issues.len(), 1);
    assert_eq!(
        issues[0].code,
        "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_AUTOSPLIT"
    );
    assert!(issues[0].message.contains("four (4)"));
    assert!(!issues[0].message.contains("five"));
}

// ---------------------------------------------------------------------------------------------
// fix.

fn fix_opts(drop_warnings: bool) -> FixOptions {
    FixOptions {
        drop_warnings,
        max_line_bytes: 1 << 24,
        threads: 2,
        csv_raw: false,
    }
}

fn fixed(line: &str, drop_warnings: bool) -> Option<String> {
    fix_line(1, line.as_bytes(), &fix_opts(drop_warnings))
        .output
        .map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn fix_removes_issue_keys_and_keeps_every_other_byte() {
    let line = r#"{ "source-ref" : "s3://bkt/a.jpg",  "bb": {"image_size": [{"width": 640, "height": 480, "depth": 3}], "warnings":[{"code":"W","message":"m"}] ,"annotations": [{"class_id": 0, "top": 1.50, "left": 10, "width": 100, "height": 100e0}]}, "bb-metadata": {"cl-warnings": [], "objects": [{"confidence": 1}], "class-map": {"0": "c\u00e4t"}, "type": "groundtruth/object-detection", "human-annotated": "yes", "creation-date": "2020"}, "warnings": [{"code": "WARNING_X", "message": "x"}] }"#;
    let out = fixed(line, false).unwrap();
    let expected = r#"{ "source-ref" : "s3://bkt/a.jpg",  "bb": {"image_size": [{"width": 640, "height": 480, "depth": 3}] ,"annotations": [{"class_id": 0, "top": 1.50, "left": 10, "width": 100, "height": 100e0}]}, "bb-metadata": {"objects": [{"confidence": 1}], "class-map": {"0": "c\u00e4t"}, "type": "groundtruth/object-detection", "human-annotated": "yes", "creation-date": "2020"} }"#;
    assert_eq!(out, expected);
    // --drop-warnings drops it instead.
    assert_eq!(fixed(line, true), None);
    // A clean line is written byte for byte.
    assert_eq!(fixed(OD, false).as_deref(), Some(OD));
}

#[test]
fn fix_removes_a_bad_box_with_its_objects_entry() {
    let line = r#"{"source-ref":"s3://bkt/a.jpg","bb":{"image_size":[{"width":3000,"height":3000,"depth":3}],"annotations":[{"class_id":1,"top":0,"left":0,"width":1,"height":1,"errors":[{"code":"ERROR_BOUNDING_BOX_TOO_SMALL","message":"m"}]}, {"class_id":0,"top":65,"left":86,"width":220,"height":334}, {"class_id":0,"top":5,"left":5,"width":200,"height":-3}]},"bb-metadata":{"objects":[{"confidence":1}, {"confidence":0.5}, {"confidence":0.25}],"class-map":{"0":"Echo","1":"Echo Dot"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2019"}}"#;
    let f = fix_line(9, line.as_bytes(), &fix_opts(false));
    let out = String::from_utf8(f.output.unwrap()).unwrap();
    assert_eq!(
        out,
        r#"{"source-ref":"s3://bkt/a.jpg","bb":{"image_size":[{"width":3000,"height":3000,"depth":3}],"annotations":[{"class_id":0,"top":65,"left":86,"width":220,"height":334}]},"bb-metadata":{"objects":[{"confidence":0.5}],"class-map":{"0":"Echo","1":"Echo Dot"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2019"}}"#
    );
    assert_eq!(f.boxes_removed, 2);
    let what: Vec<(&str, &str)> = f
        .removed
        .iter()
        .map(|r| (r.what.as_str(), r.code.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            ("box bb[0]", "ERROR_BOUNDING_BOX_TOO_SMALL"),
            ("box bb[2]", "ERROR_INVALID_BOUNDING_BOX")
        ]
    );
    // The fixed line passes the check.
    assert!(only(&out).is_empty());
    // When every box is bad, the line goes.
    let all_bad = od_with(r#""left":10"#, r#""left":-10"#);
    let f = fix_line(2, all_bad.as_bytes(), &fix_opts(false));
    assert!(f.output.is_none());
    assert_eq!(f.removed[0].what, "line");
}

#[test]
fn fix_checks_again_what_a_removed_box_hid() {
    // A class id missing from the class-map stops Rekognition's later checks, so the image size
    // is only checked once that box is gone: the line is then dropped, not written.
    let line = r#"{"source-ref":"s3://bkt/a.jpg","bb":{"image_size":[{"width":5000,"height":480,"depth":3}],"annotations":[{"class_id":0,"top":10,"left":10,"width":100,"height":100},{"class_id":7,"top":10,"left":10,"width":100,"height":100}]},"bb-metadata":{"objects":[{"confidence":1},{"confidence":1}],"class-map":{"0":"cat"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2020"}}"#;
    assert_eq!(only(line), ["ERROR_MISSING_CLASS_MAP_ID"]);
    let f = fix_line(4, line.as_bytes(), &fix_opts(false));
    assert!(f.output.is_none());
    let what: Vec<(&str, &str)> = f
        .removed
        .iter()
        .map(|r| (r.what.as_str(), r.code.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            ("line", "ERROR_MISSING_CLASS_MAP_ID"),
            ("line", "ERROR_INVALID_IMAGE_DIMENSION")
        ]
    );
    // With a valid size, the box goes and the line stays.
    let ok = line.replace(r#""width":5000"#, r#""width":640"#);
    let f = fix_line(4, ok.as_bytes(), &fix_opts(false));
    assert_eq!(f.boxes_removed, 1);
    assert!(only(std::str::from_utf8(&f.output.unwrap()).unwrap()).is_empty());
}

#[test]
fn fix_drops_lines_in_error_and_later_duplicates_and_lists_them() {
    let m = format!(
        "{}\n\n{}\n{}\n{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        r#"{"source-ref":"s3://bkt/2.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"m"}],"c":1,"c-metadata":{}}"#,
        cls("s3://bkt/1.jpg", "b"),
        "not json",
        cls("s3://bkt/3.jpg", "b"),
    );
    let mut out = Vec::new();
    let mut removed = Vec::new();
    let o = fix_manifest(m.as_bytes(), &mut out, &mut removed, &fix_opts(false)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "{}\n{}\n",
            cls("s3://bkt/1.jpg", "a"),
            cls("s3://bkt/3.jpg", "b")
        )
    );
    assert_eq!((o.lines, o.blank, o.kept, o.dropped), (6, 1, 2, 3));
    let removed = String::from_utf8(removed).unwrap();
    assert_eq!(
        removed,
        "line,source_ref,what,code\r\n\
         2,,blank line,\r\n\
         3,s3://bkt/2.jpg,line,ERROR_INVALID_IMAGE\r\n\
         3,s3://bkt/2.jpg,line,ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT\r\n\
         4,s3://bkt/1.jpg,line,REKCHECK_DUPLICATE_SOURCE_REF\r\n\
         5,,line,REKCHECK_UNPARSABLE_LINE\r\n"
    );
}

/// `fix_manifest` on a string: the output, removed.csv and the outcome.
fn fix_all(m: &[u8]) -> (Vec<u8>, String, rekcheck_analyze::FixOutcome) {
    let mut out = Vec::new();
    let mut removed = Vec::new();
    let o = fix_manifest(m, &mut out, &mut removed, &fix_opts(false)).unwrap();
    (out, String::from_utf8(removed).unwrap(), o)
}

#[test]
fn fix_predicts_the_verdict_of_what_it_writes() {
    // Every line dropped: an empty manifest, which Rekognition refuses.
    let (out, _, o) = fix_all(b"not json\n{\"c\":1}\n");
    assert!(out.is_empty());
    assert_eq!(o.kept, 0);
    assert!(!o.passes());
    assert_eq!(o.verdict(), "fail: ERROR_EMPTY_MANIFEST");
    assert_eq!(o.unparsable, 1);

    // Clean lines with one label: image-level classification needs two.
    let m = format!(
        "{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "a")
    );
    let (out, _, o) = fix_all(m.as_bytes());
    assert_eq!(o.kept, 2);
    assert_eq!(o.verdict(), "fail: ERROR_MANIFEST_TOO_FEW_LABELS");
    let terminal: Vec<&str> = o.terminal().map(|i| i.code.as_str()).collect();
    assert_eq!(terminal, ["ERROR_MANIFEST_TOO_FEW_LABELS"]);
    assert_eq!(o.bytes, out.len() as u64);

    // Duplicates fix drops are not in the output, so they are not invalid rows of it (2 of 5
    // lines in error would be over the 20 % limit).
    let m = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b"),
        cls("s3://bkt/2.jpg", "a"),
        cls("s3://bkt/3.jpg", "b"),
    );
    let (out, _, o) = fix_all(m.as_bytes());
    assert_eq!((o.kept, o.dropped), (3, 2));
    assert!(o.passes(), "{:?}", o.dataset_issues);
    assert_eq!(o.verdict(), "pass");
    // The prediction is what check says of the written manifest.
    let written = String::from_utf8(out).unwrap();
    assert!(dataset_codes(&written).is_empty());
    let (_, _, o) = fix_all(format!("{}\n", cls("s3://bkt/1.jpg", "a")).as_bytes());
    assert_eq!(
        o.dataset_issues
            .iter()
            .map(|i| i.code.clone())
            .collect::<Vec<_>>(),
        dataset_codes(&format!("{}\n", cls("s3://bkt/1.jpg", "a")))
    );
}

#[test]
fn fix_keeps_kept_lines_byte_for_byte_with_their_terminators() {
    let with_warning = cls("s3://bkt/4.jpg", "b").replacen(
        r#""c":1,"#,
        r#""c":1,"warnings":[{"code":"WARNING_X","message":"m"}],"#,
        1,
    );
    let clean = cls("s3://bkt/4.jpg", "b");
    let m = format!(
        "\u{feff}  {} \r\nbad\r\n{}\t\r\n\n{}\r\n{}",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b"),
        with_warning,
        cls("s3://bkt/3.jpg", "a"),
    );
    let (out, _, o) = fix_all(m.as_bytes());
    // The byte order mark, the whitespace around each object, CRLF and the missing newline at
    // the end are all kept; only the issue key goes.
    let expected = format!(
        "\u{feff}  {} \r\n{}\t\r\n{clean}\r\n{}",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b"),
        cls("s3://bkt/3.jpg", "a"),
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    assert_eq!((o.kept, o.blank, o.dropped), (4, 1, 1));
    assert_eq!(o.bytes, expected.len() as u64);
    assert!(o.passes(), "{:?}", o.dataset_issues);

    // A byte order mark goes with line 1 when line 1 is dropped; the last line keeps its `\n`.
    let m = format!("\u{feff}bad\n{}\n", cls("s3://bkt/1.jpg", "a"));
    let (out, _, _) = fix_all(m.as_bytes());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n", cls("s3://bkt/1.jpg", "a"))
    );

    // fix_line keeps the whitespace and the `\r` of the line it is given.
    let line = format!(" {} \r", cls("s3://bkt/1.jpg", "a"));
    assert_eq!(fixed(&line, false).as_deref(), Some(line.as_str()));
}
