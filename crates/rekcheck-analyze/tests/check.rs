//! `check`'s rules, one test per rule, and `fix`'s rewriting.

use rekcheck_analyze::{
    CheckOptions, CheckTally, Dataset, FixOptions, ImageCheck, ImageChecks, ImageRow, ImageStatus,
    Issue, Level, LineOutcome, ManifestContext, ReportOptions, ReportWriter, Severity, Stats,
    check_line, check_manifest, code_info, fix_line, fix_manifest,
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
        .map(|i| {
            (
                i.level,
                i.attribute.to_string(),
                i.annotation,
                i.code.clone(),
            )
        })
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
    assert_eq!(&*issues[0].source_ref, "https://x/a.jpg");
}

#[test]
fn source_ref_missing_or_malformed() {
    assert_eq!(only(r#"{"c":1}"#), ["ERROR_MISSING_SOURCE_REF"]);
    for bad in [
        r#""https://bkt/a.jpg""#,
        r#""images/a.jpg""#,
        r#""s3://bkt/""#,
        r#""s3://bkt""#,
        r#""s3:///a.jpg""#,
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
    assert!(!row.used);
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
        assert_eq!(&*issues[0].label, "cat");
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
    for (w, h) in [(7168, 4562), (63, 480), (640, 4097)] {
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

/// Issue 13, item 3: an aspect ratio over 20:1 read from `image_size` is `ERROR_INVALID_IMAGE`
/// (the non-terminal errors page lists it there), not `ERROR_INVALID_IMAGE_DIMENSION`, and the
/// line is not used.
#[test]
fn an_aspect_ratio_over_20_to_1_is_an_invalid_image() {
    for (w, h) in [(2100, 100), (100, 2100)] {
        let line = od_with(
            r#""width":640,"height":480"#,
            &format!(r#""width":{w},"height":{h}"#),
        )
        .replace(r#""width":100,"height":100"#, r#""width":10,"height":10"#);
        let (row, issues) = check(&line);
        assert_eq!(
            codes(&issues),
            [line_issue("ERROR_INVALID_IMAGE")],
            "{w}x{h}"
        );
        assert!(issues[0].message.contains("aspect ratio over 20:1"));
        assert!(!row.used);
    }
    // Both rules broken: both codes.
    let line = od_with(
        r#""width":640,"height":480"#,
        r#""width":5000,"height":200"#,
    )
    .replace(r#""width":100,"height":100"#, r#""width":10,"height":10"#);
    assert_eq!(
        only(&line),
        ["ERROR_INVALID_IMAGE_DIMENSION", "ERROR_INVALID_IMAGE"]
    );
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
    let r = check_manifest(
        &mut w,
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
    // One bounding-box label passes as the limits page reads it; the other pages' minimum of
    // two stays visible as a warning. The classification error names the page that asks for 1.
    assert_eq!(
        dataset_codes(&(OD.to_owned() + "\n")),
        ["REKCHECK_LABEL_MINIMUM_READING"]
    );
    let (stats, bytes, tally, _, _) = checked(&(OD.to_owned() + "\n"));
    let issues = tally.dataset_issues(&stats, bytes);
    assert_eq!(issues[0].severity, Severity::Warning);
    assert!(
        issues[0]
            .message
            .contains("md-create-manifest-file-validation-rules"),
        "{}",
        issues[0].message
    );
    let (stats, bytes, tally, _, _) = checked(&(cls("s3://bkt/1.jpg", "a") + "\n"));
    let issues = tally.dataset_issues(&stats, bytes);
    assert!(
        issues[0]
            .message
            .contains("tm-debugging-aggregate-errors asks for 1 only"),
        "{}",
        issues[0].message
    );
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
    // Training {a, b}, testing {x, y}: no label is shared, under either reading.
    let (_, _, t0, _, _) = checked(&test(&["x", "y"]));
    let issues = CheckTally::overlap_issues(&training, &t0);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].code, "ERROR_INSUFFICIENT_LABEL_OVERLAP");
    assert_eq!(issues[0].severity, Severity::Error);
    assert!(
        issues[0].message.starts_with("Less than 50% label overlap"),
        "{}",
        issues[0].message
    );
    assert!(issues[0].message.contains("The other reading fails too"));
    assert!(issues[0].message.contains("not in testing: a, b"));
    let (_, _, t2, _, _) = checked(&test(&["a", "c"]));
    assert!(CheckTally::overlap_issues(&training, &t2).is_empty());
}

/// Issue 13, item 7: the overlap is common labels / training labels (the validation-rules
/// page); where the other reading (common / testing labels) disagrees, it stays visible.
#[test]
fn label_overlap_follows_the_validation_rules_page_and_names_the_other_reading() {
    let labelled = |prefix: &str, labels: &[&str]| {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| cls(&format!("s3://bkt/{prefix}{i}.jpg"), l) + "\n")
            .collect::<String>()
    };
    // Training {a, b, c, d}, testing {a}: 1/4 of training (fails here), 1/1 of testing (the
    // old rule passed it).
    let (_, _, training, _, _) = checked(&labelled("r", &["a", "b", "c", "d"]));
    let (_, _, testing, _, _) = checked(&labelled("t", &["a", "a"]));
    let issues = CheckTally::overlap_issues(&training, &testing);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].code, "ERROR_INSUFFICIENT_LABEL_OVERLAP");
    let m = &issues[0].message;
    assert!(m.contains("1 of the 4 training labels (25 %)"), "{m}");
    assert!(
        m.contains("md-create-manifest-file-validation-rules"),
        "{m}"
    );
    assert!(m.contains("The other reading passes"), "{m}");
    assert!(m.contains("tm-debugging-aggregate-errors"), "{m}");
    // Training {a, b}, testing {a, c, d}: 1/2 of training passes, 1/3 of testing does not: a
    // warning names the error the other reading predicts.
    let (_, _, training, _, _) = checked(&labelled("r", &["a", "b"]));
    let (_, _, testing, _, _) = checked(&labelled("t", &["a", "c", "d"]));
    let issues = CheckTally::overlap_issues(&training, &testing);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].code, "REKCHECK_LABEL_OVERLAP_READING");
    assert_eq!(issues[0].severity, Severity::Warning);
    assert!(
        issues[0]
            .message
            .contains("ERROR_INSUFFICIENT_LABEL_OVERLAP")
    );
    assert!(issues[0].message.contains("not in training: c, d"));
    assert!(code_info("REKCHECK_LABEL_OVERLAP_READING").is_some());
}

/// Issue 13, item 7: `ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP`, on the labels of each dataset's
/// chosen use case, when all labels together overlap enough.
#[test]
fn usable_label_overlap_counts_the_chosen_use_case_only() {
    let od = |uri: &str, label: &str| {
        OD.replace("s3://bkt/a.jpg", uri)
            .replace(r#""0":"cat""#, &format!(r#""0":"{label}""#))
    };
    // Training: four image-level lines (chosen) and two bounding-box lines. Testing: two of
    // each (a tie: bounding boxes are chosen).
    let train = [
        cls("s3://bkt/1.jpg", "d"),
        cls("s3://bkt/2.jpg", "e"),
        cls("s3://bkt/3.jpg", "f"),
        cls("s3://bkt/4.jpg", "g"),
        od("s3://bkt/5.jpg", "a"),
        od("s3://bkt/6.jpg", "b"),
    ]
    .join("\n");
    let test = [
        od("s3://bkt/t1.jpg", "a"),
        od("s3://bkt/t2.jpg", "b"),
        cls("s3://bkt/t3.jpg", "d"),
        cls("s3://bkt/t4.jpg", "e"),
    ]
    .join("\n");
    let (_, _, training, _, _) = checked(&(train + "\n"));
    let (_, _, testing, _, _) = checked(&(test + "\n"));
    // All labels: training {a,b,d,e,f,g}, testing {a,b,d,e}: 4/6 pass. Usable: training chose
    // image-level {d,e,f,g}, testing chose boxes {a,b}: 0/4.
    let issues = CheckTally::overlap_issues(&training, &testing);
    let found: Vec<&str> = issues.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(
        found,
        ["ERROR_INSUFFICIENT_USABLE_LABEL_OVERLAP"],
        "{issues:?}"
    );
    assert!(
        issues[0]
            .message
            .starts_with("Less than 50% usable label overlap")
    );
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
// Which lines Rekognition uses (issue 13).

/// A bounding-box line with two boxes: `cat` (0) and `dog` (1); `bad` replaces the first box's
/// size (a 1x1 box on a 3000x3000 image is too small, as in the documentation's example).
fn two_boxes(uri: &str, first: &str) -> String {
    format!(
        r#"{{"source-ref":"{uri}","bb":{{"image_size":[{{"width":3000,"height":3000,"depth":3}}],"annotations":[{{"class_id":1,"top":0,"left":0,{first}}},{{"class_id":0,"top":65,"left":86,"width":220,"height":334}}]}},"bb-metadata":{{"objects":[{{"confidence":1}},{{"confidence":1}}],"class-map":{{"0":"Echo","1":"Echo Dot"}},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2019-11-20T02:57:28.288286"}}}}"#
    )
}

/// Issue 13, item 1: a line whose only errors are on boxes is still used (the model "is still
/// trained using the other valid bounding boxes", tm-debugging-scope-json-line): 3 such lines
/// in 10 do not make the manifest fail, and their other labels count.
#[test]
fn lines_with_only_box_errors_are_used_by_the_dataset_rules() {
    let bad = two_boxes("s3://bkt/x.jpg", r#""width":1,"height":1"#);
    let (row, issues) = check(&bad);
    assert_eq!(
        codes(&issues),
        [(
            Level::Annotation,
            "bb".into(),
            Some(0),
            "ERROR_BOUNDING_BOX_TOO_SMALL".into()
        )]
    );
    assert_eq!(row.status, ImageStatus::Error);
    assert!(row.used, "only the box is dropped");
    let mut m = String::new();
    for i in 0..7 {
        m.push_str(&two_boxes(
            &format!("s3://bkt/{i}.jpg"),
            r#""width":100,"height":100"#,
        ));
        m.push('\n');
    }
    for i in 7..10 {
        m.push_str(&two_boxes(
            &format!("s3://bkt/{i}.jpg"),
            r#""width":1,"height":1"#,
        ));
        m.push('\n');
    }
    let (stats, bytes, tally, _, rows) = checked(&m);
    assert_eq!((stats.error, stats.error_used, stats.used), (3, 3, 10));
    assert!(rows.iter().all(|r| r.used));
    assert!(
        tally.dataset_issues(&stats, bytes).is_empty(),
        "{:?}",
        tally.dataset_issues(&stats, bytes)
    );
    // Only lines whose boxes are all bad, or bad at line level, are invalid rows: 3 lines with
    // a bad line-level error in 10 still fail.
    let m = m.replace(r#""width":1,"height":1"#, r#""width":1,"height":1,"x":1"#);
    let m3: String = m
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i >= 7 {
                l.replace("3000,\"height\":3000", "3000,\"height\":30") + "\n"
            } else {
                l.to_owned() + "\n"
            }
        })
        .collect();
    let (stats, bytes, tally, _, _) = checked(&m3);
    assert_eq!(stats.used, 7);
    assert!(
        tally
            .dataset_issues(&stats, bytes)
            .iter()
            .any(|i| i.code == "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST")
    );
}

/// Issue 13, item 1: a used line gives the labels of its valid boxes only; a label whose every
/// box is dropped is not counted.
#[test]
fn labels_whose_boxes_are_all_dropped_do_not_count() {
    // One line: `Echo` on a valid box, `Echo Dot` only on a box too small.
    let line = two_boxes("s3://bkt/1.jpg", r#""width":1,"height":1"#) + "\n";
    let (stats, _, tally, _, rows) = checked(&line);
    assert!(rows[0].used);
    assert_eq!(rows[0].labels, ["Echo Dot", "Echo"]);
    assert_eq!(stats.used, 1);
    let labels: Vec<&String> = tally.usable_labels().keys().collect();
    assert_eq!(labels, ["Echo"]);
    // A duplicate of a used line takes back exactly what it added.
    let twice = line.clone() + &line;
    let (stats, _, tally, _, rows) = checked(&twice);
    assert!(rows[0].used && !rows[1].used);
    assert_eq!((stats.used, stats.error_used), (1, 1));
    assert_eq!(tally.usable_labels().get("Echo"), Some(&1));
}

/// Issue 13, item 2: the row says whether Rekognition uses the line, for report and check
/// alike, from one rule.
#[test]
fn used_follows_the_levels_of_the_errors() {
    let (row, _) = check(OD);
    assert!(row.used);
    // Warnings only: ignored.
    let (row, _) = check(r#"{"source-ref":"s3://bkt/a.jpg"}"#);
    assert_eq!(row.status, ImageStatus::Warning);
    assert!(!row.used);
    // Metadata-level error: dropped.
    let (row, _) = check(&od_with(r#""class-map":{"0":"cat"},"#, ""));
    assert!(!row.used);
    // A class id missing from the class-map sits on the box but stops the line's checks.
    let (row, _) = check(&od_with(r#""class_id":0"#, r#""class_id":4"#));
    assert!(!row.used);
    // Validation results read by `report`: the same rule.
    let recorded = |line: &str| match rekcheck_analyze::analyze_line(1, line.as_bytes(), 1 << 20) {
        LineOutcome::Image { row, .. } => row,
        LineOutcome::Blank => panic!("blank"),
    };
    let boxed = r#"{"source-ref":"s3://b/a.jpg","bb":{"annotations":[{"class_id":0,"errors":[{"code":"ERROR_BOUNDING_BOX_TOO_SMALL","message":"m"}]},{"class_id":0}]},"bb-metadata":{"class-map":{"0":"cat"}}}"#;
    assert!(recorded(boxed).used);
    let line_level = r#"{"source-ref":"s3://b/a.jpg","c":1,"c-metadata":{"class-name":"x"},"errors":[{"code":"ERROR_INVALID_IMAGE","message":"m"}]}"#;
    assert!(!recorded(line_level).used);
    let ignored = r#"{"source-ref":"s3://b/a.jpg","warnings":[{"code":"WARNING_UNANNOTATED_RECORD","message":"m"}]}"#;
    assert!(!recorded(ignored).used);
    // An unsupported type drops its attribute: the line is used only with another, valid one.
    let unsupported = r#""u":1,"u-metadata":{"class-name":"bird","type":"x","errors":[{"code":"ERROR_UNSUPPORTED_USE_CASE_TYPE","message":"m"}]}"#;
    let alone = format!(r#"{{"source-ref":"s3://b/a.jpg",{unsupported}}}"#);
    assert!(!recorded(&alone).used);
    let beside = format!(
        r#"{{"source-ref":"s3://b/a.jpg",{unsupported},"c":1,"c-metadata":{{"class-name":"cat"}}}}"#
    );
    assert!(recorded(&beside).used);
}

/// Issue 13, item 4: legacy bucket names (upper case, `_`) are accepted with a warning-level
/// note; only a missing scheme, bucket or key is `ERROR_INVALID_SOURCE_REF_FORMAT`.
#[test]
fn legacy_bucket_names_are_a_note_not_an_error() {
    let legacy = CLS.replace("s3://bkt/a.jpg", "s3://My_Legacy.Bucket/images/a.jpg");
    let (row, issues) = check(&legacy);
    assert_eq!(
        codes(&issues),
        [line_issue("REKCHECK_BUCKET_NAME")],
        "{issues:?}"
    );
    assert_eq!(issues[0].severity, Severity::Warning);
    assert!(issues[0].message.contains("legacy bucket"));
    assert!(row.used);
    assert_eq!(row.labels, ["cat"]);
    // A name no bucket can have is noted more strongly, still not an error.
    for odd in ["s3://lab#-rawdata/a.jpg", "s3://$BUCKET/a.jpg"] {
        let (row, issues) = check(&CLS.replace("s3://bkt/a.jpg", odd));
        assert_eq!(
            codes(&issues),
            [line_issue("REKCHECK_BUCKET_NAME")],
            "{odd}"
        );
        assert!(issues[0].message.contains("no S3 bucket name can have"));
        assert!(row.used);
    }
    // A manifest of legacy-bucket lines passes (every line failed before).
    let m = format!(
        "{}\n{}\n",
        cls("s3://Legacy_Bucket/1.jpg", "a"),
        cls("s3://Legacy_Bucket/2.jpg", "b")
    );
    assert!(dataset_codes(&m).is_empty(), "{:?}", dataset_codes(&m));
    assert!(code_info("REKCHECK_BUCKET_NAME").is_some_and(|c| c.severity == Severity::Warning));
}

/// Issue 13, item 5: a valid label attribute beside one of a type Custom Labels does not use (a
/// segmentation attribute, as in a Lookout for Vision manifest; a chained verification job)
/// keeps the line used; the other is reported on its metadata.
#[test]
fn an_unused_attribute_type_beside_a_valid_one_keeps_the_line() {
    let seg = CLS.replace(
        r#""c":1,"#,
        r#""c":1,"m-ref":"s3://bkt/mask.png","m-ref-metadata":{"job-name":"j","human-annotated":"yes","creation-date":"2022-08-22T20:52:51.851Z","type":"groundtruth/semantic-segmentation"},"#,
    );
    let (row, issues) = check(&seg);
    assert_eq!(
        codes(&issues),
        [(
            Level::Metadata,
            "m-ref".into(),
            None,
            "ERROR_UNSUPPORTED_USE_CASE_TYPE".into()
        )]
    );
    assert!(row.used);
    assert_eq!(row.labels, ["cat"]);
    let verify = od_with(
        r#""type":"groundtruth/object-detection","#,
        r#""type":"groundtruth/object-detection","#,
    )
    .replace(
        r#""source-ref":"s3://bkt/a.jpg","#,
        r#""source-ref":"s3://bkt/a.jpg","v":"1","v-metadata":{"class-name":"bad","confidence":0.93,"type":"groundtruth/label-verification","human-annotated":"yes","creation-date":"2018-11-20T22:18:13.527256"},"#,
    );
    let (row, issues) = check(&verify);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(row.used);
    // The dataset rules count such lines: 2 image-level labels on lines with a segmentation
    // attribute pass.
    let m = format!(
        "{}\n{}\n",
        seg.replace("a.jpg", "1.jpg"),
        seg.replace("a.jpg", "2.jpg")
            .replace(r#""class-name":"cat""#, r#""class-name":"dog""#)
    );
    assert!(dataset_codes(&m).is_empty(), "{:?}", dataset_codes(&m));
}

/// Issue 13, item 6: Rekognition's own snapshot attributes (`rekognition-custom-labels-*` with
/// a `-metadata`) are label attributes; alone they are skipped.
#[test]
fn rekognition_snapshot_attributes_are_label_attributes() {
    let snapshot = r#"{"source-ref":"s3://test-bucket/dataset/beckham.jpeg","rekognition-custom-labels-training-0":1,"rekognition-custom-labels-training-0-metadata":{"confidence":1.0,"job-name":"rekognition-custom-labels-training-job","class-name":"Football","human-annotated":"yes","creation-date":"2019-09-06T00:07:25.488243","type":"groundtruth/image-classification"},"rekognition-custom-labels-object-id":7}"#;
    let (row, issues) = check(snapshot);
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(row.labels, ["Football"]);
    assert!(row.used);
    // Alone, the snapshot keys are not label attributes: the line is unannotated.
    let alone = r#"{"source-ref":"s3://bkt/a.jpg","rekognition-custom-labels-object-id":7}"#;
    assert_eq!(only(alone), ["WARNING_UNANNOTATED_RECORD"]);
}

/// Issue 13, item 7: at most 50 labels per image (limits page).
#[test]
fn more_than_fifty_labels_on_one_image() {
    let attrs = |n: usize| {
        (0..n)
            .map(|i| {
                format!(
                    r#""l{i}":1,"l{i}-metadata":{{"class-name":"label{i}","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}}"#
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let line = |n: usize| format!(r#"{{"source-ref":"s3://bkt/a.jpg",{}}}"#, attrs(n));
    assert!(only(&line(50)).is_empty());
    let (row, issues) = check(&line(51));
    assert_eq!(
        codes(&issues),
        [line_issue("REKCHECK_TOO_MANY_LABELS_PER_IMAGE")]
    );
    assert!(issues[0].message.contains("51 distinct labels"));
    assert!(!row.used);
}

/// Issue 13, item 7: blank lines count toward the 250,000-line limit ("Blank/invalid lines are
/// also counted as dataset objects", the validation-rules page); the other reading is named.
#[test]
fn blank_lines_count_toward_the_line_limit() {
    let stats = Stats {
        lines: 250_001,
        blank: 2,
        ok: 249_999,
        used: 249_999,
        ..Stats::default()
    };
    let issues = CheckTally::new().dataset_issues(&stats, 1000);
    let rows = issues
        .iter()
        .find(|i| i.code == "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM")
        .expect("250,001 lines with 2 blank are over the limit");
    assert!(
        rows.message.contains("250001 lines (2 blank)"),
        "{}",
        rows.message
    );
    assert!(rows.message.contains("would pass"), "{}", rows.message);
    let stats = Stats {
        lines: 250_000,
        blank: 2,
        ok: 249_998,
        used: 249_998,
        ..Stats::default()
    };
    assert!(
        !CheckTally::new()
            .dataset_issues(&stats, 1000)
            .iter()
            .any(|i| i.code == "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM")
    );
}

/// Issue 13, item 7: no image in both training and testing (the validation-rules page names
/// no error for it: a warning on each testing line).
#[test]
fn images_in_both_training_and_testing_are_flagged_on_the_testing_lines() {
    let (_, _, mut training, _, _) = checked(&format!(
        "{}\n{}\n",
        cls("s3://bkt/1.jpg", "a"),
        cls("s3://bkt/2.jpg", "b")
    ));
    let mut w = ReportWriter::in_memory(ReportOptions::default()).unwrap();
    let rows = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), Vec::new())));
    let sink = rows.clone();
    w.on_block(Box::new(move |_, a| {
        let mut s = sink.lock().unwrap();
        s.0.extend(a.issues.iter().cloned());
        s.1.extend(a.rows.iter().cloned());
    }));
    let mut testing = CheckTally::new();
    testing.compare_with_training(&mut training);
    let m = format!(
        "{}\n{}\n",
        cls("s3://bkt/3.jpg", "a"),
        cls("s3://bkt/2.jpg", "b")
    );
    let context = ManifestContext {
        dataset: Dataset::Testing,
        ..ManifestContext::default()
    };
    let r = check_manifest(
        &mut w,
        &context,
        m.as_bytes(),
        &opts(),
        &mut testing,
        &mut |_| {},
    )
    .unwrap()
    .clone();
    drop(w);
    let (issues, images) = std::mem::take(&mut *rows.lock().unwrap());
    assert_eq!(
        codes(&issues),
        [line_issue("REKCHECK_IMAGE_IN_TRAINING_AND_TESTING")]
    );
    assert_eq!(issues[0].line, Some(2));
    assert_eq!(issues[0].severity, Severity::Warning);
    assert!(
        issues[0]
            .message
            .contains("line 2 of the training manifest")
    );
    assert_eq!(images[1].status, ImageStatus::Warning);
    assert!(images[1].used);
    assert_eq!((r.stats.ok, r.stats.warning, r.stats.used), (1, 1, 2));
}

/// Issue 13, item 7: `groundtruth/image-classification-multilabel`, as AWS's conversion script
/// writes it, is read as an image-level label with a warning (no page documents it as
/// supported); a raw multi-label job output still fails.
#[test]
fn the_multilabel_type_of_the_conversion_script_is_a_warning() {
    let converted = CLS.replace(
        "groundtruth/image-classification",
        "groundtruth/image-classification-multilabel",
    );
    let (row, issues) = check(&converted);
    assert_eq!(
        codes(&issues),
        [(
            Level::Metadata,
            "c".into(),
            None,
            "REKCHECK_MULTILABEL_TYPE".into()
        )]
    );
    assert_eq!(issues[0].severity, Severity::Warning);
    assert!(issues[0].message.contains("md-gt-cl-transform"));
    assert!(row.used);
    assert_eq!(row.labels, ["cat"]);
    let raw = r#"{"source-ref":"s3://bkt/a.jpg","m":[1,0],"m-metadata":{"job-name":"j","class-map":{"1":"bicycle","0":"person"},"human-annotated":"yes","creation-date":"2020-02-27T21:36:25.000201","confidence-map":{"1":0.95,"0":0.77},"type":"groundtruth/image-classification-multilabel"}}"#;
    let (row, issues) = check(raw);
    assert_eq!(
        issues.iter().map(|i| i.code.as_str()).collect::<Vec<_>>(),
        [
            "ERROR_UNSUPPORTED_USE_CASE_TYPE",
            "ERROR_NO_VALID_LABEL_ATTRIBUTES"
        ]
    );
    assert!(issues[0].message.contains("md-gt-cl-transform"));
    assert!(!row.used);
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

#[test]
fn fix_removes_an_unsupported_attribute_beside_a_valid_one_and_keeps_the_line() {
    // A segmentation attribute (with the error Rekognition records on its metadata) beside a
    // valid classification attribute: `check` counts the line as used, so `fix` keeps it and
    // removes only the segmentation attribute and its metadata, every other byte as written.
    let seg = r#""seg": {"annotations": []} , "seg-metadata":{"type":"groundtruth/semantic-segmentation","human-annotated":"yes","creation-date":"2020-01-01T00:00:00","cl-errors":[{"code":"ERROR_UNSUPPORTED_USE_CASE_TYPE","message":"m"}]}, "#;
    let line = CLS.replacen(r#""c":1,"#, &format!(r#""c":1, {seg}"#), 1);
    let (row, issues) = check(&line);
    assert!(row.used);
    assert!(
        issues
            .iter()
            .all(|i| i.attribute.as_ref() == "seg" && i.code == "ERROR_UNSUPPORTED_USE_CASE_TYPE"),
        "{issues:?}"
    );
    let only_seg = CLS
        .replacen(r#""c":1,"#, seg, 1)
        .replacen(r#""c-metadata":{"class-name":"cat","confidence":1,"type":"groundtruth/image-classification","human-annotated":"yes","creation-date":"2020-01-01T00:00:00"}"#, r#""x":0"#, 1);
    let m = format!("{line}\n{only_seg}\n");
    let (out, removed, o) = fix_all(m.as_bytes());
    let out = String::from_utf8(out).unwrap();
    let kept = CLS.replacen(r#""c":1,"#, r#""c":1, "#, 1);
    assert_eq!(out, format!("{kept}\n"));
    assert_eq!((o.kept, o.dropped), (1, 1));
    assert!(removed.starts_with(
        "line,source_ref,what,code\r\n\
         1,s3://bkt/a.jpg,attribute seg,ERROR_UNSUPPORTED_USE_CASE_TYPE\r\n\
         2,s3://bkt/a.jpg,line,"
    ));
    assert!(!removed.contains("2,s3://bkt/a.jpg,attribute"), "{removed}");
    // `check` finds nothing on the fixed line.
    let (row, issues) = check(&kept);
    assert!(issues.is_empty(), "{issues:?}");
    assert!(row.used);
    // A line whose every attribute is in error is dropped, as before.
    let f = fix_line(2, only_seg.as_bytes(), &fix_opts(false));
    assert!(f.output.is_none());
    assert!(f.removed.iter().all(|r| r.what == "line"));
    // Another error on the segmentation attribute drops the line too (`check`: not used).
    let worse = line.replacen(
        r#""seg-metadata":{"type""#,
        r#""seg-metadata":{"errors":[{"code":"ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT","message":"m"}],"type""#,
        1,
    );
    assert!(!analyze_used(&worse));
    let f = fix_line(1, worse.as_bytes(), &fix_opts(false));
    assert!(f.output.is_none());
}

/// Whether `report` (the line as Rekognition recorded it) counts the line as used.
fn analyze_used(line: &str) -> bool {
    match rekcheck_analyze::analyze_line(1, line.as_bytes(), 1 << 24) {
        LineOutcome::Image { row, .. } => row.used,
        LineOutcome::Blank => false,
    }
}

#[test]
fn removed_csv_cells_are_cut_raw_or_not() {
    // A dropped line whose source-ref is 200 KB: its removed.csv cells are cut at 64 KiB with
    // the report's marker, with and without the spreadsheet defusing.
    let long = format!("s3://bkt/{}.jpg", "k".repeat(200_000));
    let m = format!(
        "{}\n{{\"source-ref\":\"{long}\",\"errors\":[{{\"code\":\"ERROR_INVALID_IMAGE\",\"message\":\"m\"}}]}}\n",
        cls("s3://bkt/1.jpg", "a"),
    );
    for raw in [false, true] {
        let mut out = Vec::new();
        let mut removed = Vec::new();
        let options = FixOptions {
            csv_raw: raw,
            ..fix_opts(false)
        };
        fix_manifest(m.as_bytes(), &mut out, &mut removed, &options).unwrap();
        let removed = String::from_utf8(removed).unwrap();
        let kept = &long[..rekcheck_analyze::DEFAULT_MAX_CELL_BYTES];
        let cut = long.len() - kept.len();
        assert!(
            removed.contains(&format!("{kept}…[truncated {cut} bytes]")),
            "{raw}"
        );
        assert!(
            removed
                .lines()
                .all(|l| l.len() < rekcheck_analyze::DEFAULT_MAX_CELL_BYTES + 200),
            "{raw}"
        );
    }
}
