use std::sync::{Arc, Mutex};

use super::*;
use crate::{Dataset, Issue, ManifestContext, ReportOptions, ReportWriter, Severity, VersionRow};

const HOSTILE: &str = r#"<script>alert(1)</script>"onerror=alert(2) x='</svg><img src=x onerror=alert(3)>javascript:alert(4)"#;

/// The markup of every tag (`<...>`), the bodies of `<script>` and `<style>` skipped: where
/// an attribute could hide.
fn tags(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..=start + len];
        out.push(tag);
        rest = &rest[start + len + 1..];
        for raw in ["script", "style"] {
            if tag.starts_with(&format!("<{raw}")) {
                let end = rest.find(&format!("</{raw}>")).unwrap();
                rest = &rest[end..];
            }
        }
    }
    out
}

/// A JSON string literal of `s`.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Runs `manifest` through a report with the collector attached; returns the page.
fn page_of(
    context: &ManifestContext,
    manifest: &str,
    max_images: usize,
) -> (String, HtmlCollector) {
    let collector = Arc::new(Mutex::new(HtmlCollector::new(max_images)));
    let mut w = ReportWriter::in_memory(ReportOptions::default()).unwrap();
    let c = Arc::clone(&collector);
    w.on_block(Box::new(move |ctx, a| c.lock().unwrap().add(ctx, a)));
    w.keep_image_geometry(true);
    w.add_manifest_issues(
        context,
        &[Issue::manifest(Severity::Error, HOSTILE, HOSTILE)],
    )
    .unwrap();
    w.add_manifest(context, manifest.as_bytes(), None, &mut |_| {})
        .unwrap();
    w.add_version(VersionRow {
        project: context.project.clone(),
        version: context.version.clone(),
        status: HOSTILE.into(),
        status_message: HOSTILE.into(),
        terminal_code: HOSTILE.into(),
        ..VersionRow::default()
    });
    let summary = w.finish().unwrap();
    let collector = collector.lock().unwrap().clone();
    let html = render_html(
        &HtmlPage::new(&summary, &collector)
            .with_sources(vec![HOSTILE.into()])
            .with_generated(HOSTILE)
            .with_verdict(HOSTILE)
            .with_pixels_note(HOSTILE),
    );
    (html, collector)
}

fn hostile_context() -> ManifestContext {
    ManifestContext {
        project: HOSTILE.into(),
        version: HOSTILE.into(),
        dataset: Dataset::Training,
        manifest: HOSTILE.into(),
    }
}

fn hostile_manifest() -> String {
    let h = js(HOSTILE);
    // The hostile text as source-ref, attribute name, class name, code and message, on a line
    // with a box in error and on a classification line.
    format!(
        r#"{{"source-ref":{h},{h}:{{"image_size":[{{"width":100,"height":50}}],"annotations":[{{"class_id":0,"left":90,"top":-10,"width":40,"height":30,"errors":[{{"code":{h},"message":{h}}}]}}]}},"{}-metadata":{{"class-map":{{"0":{h}}}}},"errors":[{{"code":{h},"message":{h}}}]}}
{{"source-ref":{h},"c":1,"c-metadata":{{"class-name":{h}}},"warnings":[{{"code":{h},"message":{h}}}]}}
"#,
        HOSTILE.replace('"', "\\\"")
    )
}

#[test]
fn hostile_values_render_as_text_everywhere() {
    let (html, collector) = page_of(&hostile_context(), &hostile_manifest(), 10);
    assert_eq!(collector.images().len(), 2);
    assert!(
        collector.images()[0].geometry.is_some(),
        "the box line is drawn"
    );
    // One script element, ours; one <svg per chart or drawing and no stray closing tag.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(!html.contains("<img"));
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("\"onerror"));
    for tag in tags(&html) {
        assert!(!tag.contains(" on"), "an event handler attribute: {tag}");
    }
    assert!(!html.contains("href=\"javascript:"));
    // The hostile text is there, escaped: as source-ref, code, message, label, project, manifest,
    // version status, sources and the verdict.
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;onerror=alert(2) x='&lt;/svg&gt;&lt;img src=x onerror=alert(3)&gt;javascript:alert(4)";
    assert!(
        html.matches(escaped).count() >= 15,
        "{}",
        html.matches(escaped).count()
    );
}

#[test]
fn the_csp_allows_only_the_pages_own_script_and_style() {
    let (html, _) = page_of(
        &ManifestContext::default(),
        "{\"source-ref\":\"s3://b/a.jpg\"}\n",
        5,
    );
    let script_hash = asset_hash(SCRIPT);
    let style_hash = asset_hash(STYLE);
    let csp = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src '{script_hash}'; style-src '{style_hash}'; img-src data:; base-uri 'none'; form-action 'none'\">"
    );
    assert!(html.contains(&csp), "{html}");
    // The hashes are of what the page holds, byte for byte.
    assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
    assert!(html.contains(&format!("<style>{STYLE}</style>")));
    // No inline event handler, no style attribute (both would need 'unsafe-inline').
    for tag in tags(&html) {
        assert!(
            !tag.contains(" on") && !tag.contains(" style="),
            "an event handler or style attribute: {tag}"
        );
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn presigned_urls_add_their_origin_only() {
    let summary = ReportWriter::in_memory(ReportOptions::default())
        .unwrap()
        .finish()
        .unwrap();
    let mut collector = HtmlCollector::new(5);
    let context = ManifestContext::default();
    let manifest = r#"{"source-ref":"s3://b/a.jpg","bb":{"image_size":[{"width":10,"height":10}],"annotations":[{"class_id":0,"left":0,"top":0,"width":5,"height":5,"errors":[{"code":"ERROR_X","message":"m"}]}]}}"#;
    crate::Analyzer::new(1)
        .unwrap()
        .analyze_reader(manifest.as_bytes(), |mut b| {
            let block =
                crate::Block::new(0, 1, crate::BlockKind::Lines(manifest.as_bytes().to_vec()));
            b.attach_geometry(&block);
            collector.add(&context, &b);
        })
        .unwrap();
    collector.images_mut()[0].pixels = Some(ImagePixels::Url(
        "https://b.s3.amazonaws.com/a.jpg?X-Amz-Signature=1&a=<\"".into(),
    ));
    let html = render_html(&HtmlPage::new(&summary, &collector));
    assert!(
        html.contains("img-src data: https://b.s3.amazonaws.com;"),
        "{html}"
    );
    assert!(
        html.contains(
            "href=\"https://b.s3.amazonaws.com/a.jpg?X-Amz-Signature=1&amp;a=&lt;&quot;\""
        )
    );
    collector.images_mut()[0].pixels = ImagePixels::embedded(b"\xFF\xD8\xFFabc".to_vec());
    let html = render_html(&HtmlPage::new(&summary, &collector));
    assert!(html.contains("href=\"data:image/jpeg;base64,/9j/YWJj\""));
    assert!(html.contains("img-src data:;"));
    assert!(ImagePixels::embedded(b"<svg>".to_vec()).is_none());
    // Missing pixels: no <image>, the reason shown as text.
    collector.images_mut()[0].pixels = Some(ImagePixels::Missing(HOSTILE.into()));
    let html = render_html(&HtmlPage::new(&summary, &collector));
    assert!(!html.contains("<image "));
    assert!(html.contains("Pixels not shown: &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!tags(&html).iter().any(|t| t.contains("onerror")));
}

#[test]
fn readable_without_javascript() {
    let manifest = r#"{"source-ref":"s3://b/a.jpg","errors":[{"code":"ERROR_INVALID_IMAGE","message":"bad"}]}
{"source-ref":"s3://b/b.jpg"}
"#;
    let (html, _) = page_of(&ManifestContext::default(), manifest, 5);
    // Everything is in the markup: the images table, the issue, the counts; only the filter box
    // (which needs the script) starts hidden.
    assert!(html.contains("<p id=\"filter-box\" hidden>"));
    assert!(html.contains("<td class=\"ref\">s3://b/a.jpg</td>"));
    assert!(html.contains("ERROR_INVALID_IMAGE"));
    assert!(
        html.contains("ok <b>1</b>") && html.contains("error <b>1</b>"),
        "{html}"
    );
    assert!(!html.contains("s3://b/b.jpg"), "ok images are not listed");
}

#[test]
fn written_under_its_final_name_only() {
    let dir = tempfile::tempdir().unwrap();
    let summary = ReportWriter::in_memory(ReportOptions::default())
        .unwrap()
        .finish()
        .unwrap();
    let c = HtmlCollector::new(1);
    let path = write_html(dir.path(), &HtmlPage::new(&summary, &c)).unwrap();
    assert_eq!(path, dir.path().join(HTML_FILE));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(HTML_FILE)]);
}

#[test]
fn base64_matches_the_rfc_vectors() {
    for (i, o) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(i.as_bytes()), o);
    }
    assert_eq!(
        origin("http://127.0.0.1:5000/b/k?x"),
        Some("http://127.0.0.1:5000".into())
    );
    assert_eq!(origin("javascript:alert(1)"), None);
    assert_eq!(origin("https://a b/"), None);
}

#[test]
fn a_line_the_dataset_rules_fail_later_is_still_drawn() {
    // Line 3 repeats line 1's source-ref: it is ok when its block is analyzed, and only the
    // dataset rules (on the writer thread, once the block's text is gone) make it an error.
    let line = |r: &str, left: u32| {
        format!(
            r#"{{"source-ref":"{r}","bb":{{"image_size":[{{"width":100,"height":80,"depth":3}}],"annotations":[{{"class_id":0,"top":10,"left":{left},"width":30,"height":30}}]}},"bb-metadata":{{"objects":[{{"confidence":1}}],"class-map":{{"0":"dot"}},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2026-11-18T09:12:44.123Z","job-name":"labeling-job/dots"}}}}"#
        )
    };
    let manifest = [
        line("s3://bucket-a/a.jpg", 0),
        line("s3://bucket-a/b.jpg", 5),
        line("s3://bucket-a/a.jpg", 20),
        line("s3://bucket-a/c.jpg", 7),
    ]
    .join("\n");
    // One block, or a line per block (the repeat in a later block than the first).
    for block_bytes in [1 << 20, 64] {
        let collector = Arc::new(Mutex::new(HtmlCollector::new(10)));
        let drawn = Arc::new(Mutex::new(Vec::new()));
        let options = ReportOptions {
            analyze: crate::AnalyzeOptions {
                block_bytes,
                ..crate::AnalyzeOptions::default()
            },
            ..ReportOptions::default()
        };
        let mut w = ReportWriter::in_memory(options).unwrap();
        let (c, d) = (Arc::clone(&collector), Arc::clone(&drawn));
        w.on_block(Box::new(move |ctx, a| {
            d.lock().unwrap().extend(a.geometry.iter().map(|g| g.line));
            c.lock().unwrap().add(ctx, a);
        }));
        w.keep_image_geometry(true);
        let check = crate::CheckOptions {
            max_line_bytes: 1 << 20,
            images: None,
        };
        let report = crate::check_manifest(
            &mut w,
            &ManifestContext::default(),
            manifest.as_bytes(),
            &check,
            &mut crate::CheckTally::new(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((report.stats.ok, report.stats.error), (3, 1));
        // Only the failing line's drawing reaches the block callback, as documented.
        assert_eq!(*drawn.lock().unwrap(), [3], "block_bytes {block_bytes}");
        let collector = collector.lock().unwrap();
        let [img] = collector.images() else {
            panic!("{:?}", collector.images())
        };
        assert_eq!(img.line, 3);
        assert_eq!(img.issues[0].code, "REKCHECK_DUPLICATE_SOURCE_REF");
        // In thousandths of a pixel.
        let g = img.geometry.as_ref().expect("the line's drawing");
        assert_eq!(
            (g.width, g.height, g.boxes.len()),
            (Some(100_000), Some(80_000), 1)
        );
        assert_eq!(g.boxes[0].left, Some(20_000));
    }
}

/// The collector fed by [`ReportWriter::collect_images`] (the fast path, failing lines read
/// again only while the collector might take them) against the collector fed every row by
/// [`ReportWriter::on_block`]: the same images, issues, drawings and failing count, over
/// manifests where codes saturate at different times, across blocks and threads.
#[test]
fn collect_images_takes_what_on_block_takes() {
    let codes = [
        "ERROR_A",
        "ERROR_B",
        "ERROR_C",
        "ERROR_D",
        "ERROR_E",
        "ERROR_F",
        "ERROR_RARE",
    ];
    for seed in 1..=6u64 {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut manifest = String::new();
        for n in 0..3000u64 {
            let box_json = r#""bb":{"image_size":[{"width":100,"height":80,"depth":3}],"annotations":[{"class_id":0,"left":1,"top":2,"width":10,"height":8}]},"bb-metadata":{"class-map":{"0":"cat"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2020-01-01T00:00:00","job-name":"j"}"#;
            let kind = next(10);
            let issue = |code: &str, level: u64| match level {
                0 => format!(r#""errors":[{{"code":"{code}","message":"m{n}"}}]"#),
                _ => format!(r#""warnings":[{{"code":"{code}","message":"w{n}"}}]"#),
            };
            let line = match kind {
                0..=5 => format!(r#"{{"source-ref":"s3://b/{n}.jpg",{box_json}}}"#),
                6 | 7 => {
                    // Skewed: the first codes are frequent, the rare one seldom.
                    let bound = next(7) + 1;
                    let c = codes[usize::try_from(next(bound)).unwrap()];
                    format!(
                        r#"{{"source-ref":"s3://b/{n}.jpg",{box_json},{}}}"#,
                        issue(c, next(2))
                    )
                }
                8 => {
                    let (a, b) = (next(7), next(7));
                    format!(
                        r#"{{"source-ref":"s3://b/{n}.jpg",{box_json},"errors":[{{"code":"{}","message":"x"}},{{"code":"{}","message":"y"}}]}}"#,
                        codes[usize::try_from(a).unwrap()],
                        codes[usize::try_from(b).unwrap()]
                    )
                }
                // The fallback: escapes, and a line that is no JSON.
                _ if next(2) == 0 => format!(
                    r#"{{"source-ref":"s3://b/\u0041{n}.jpg",{}}}"#,
                    issue(codes[usize::try_from(next(7)).unwrap()], 0)
                ),
                _ => format!("{{not json {n}"),
            };
            manifest += &line;
            manifest.push('\n');
        }
        for max_images in [0, 1, 8, 40, 200] {
            for threads in [1, 2] {
                let options = ReportOptions {
                    threads,
                    analyze: crate::AnalyzeOptions {
                        block_bytes: 8 << 10,
                        ..crate::AnalyzeOptions::default()
                    },
                    ..ReportOptions::default()
                };
                let context = ManifestContext {
                    project: "p".into(),
                    dataset: Dataset::Training,
                    manifest: "m.json".into(),
                    ..ManifestContext::default()
                };
                let every = Arc::new(Mutex::new(HtmlCollector::new(max_images)));
                let mut w = ReportWriter::in_memory(options).unwrap();
                let c = Arc::clone(&every);
                w.on_block(Box::new(move |ctx, a| c.lock().unwrap().add(ctx, a)));
                w.keep_image_geometry(true);
                w.add_manifest(&context, manifest.as_bytes(), None, &mut |_| {})
                    .unwrap();
                w.finish().unwrap();

                let selected = Arc::new(Mutex::new(HtmlCollector::new(max_images)));
                let mut w = ReportWriter::in_memory(options).unwrap();
                w.collect_images(Arc::clone(&selected));
                w.add_manifest(&context, manifest.as_bytes(), None, &mut |_| {})
                    .unwrap();
                w.finish().unwrap();

                let (every, selected) = (every.lock().unwrap(), selected.lock().unwrap());
                assert!(every.failing_images() > 500, "{}", every.failing_images());
                assert_eq!(every.failing_images(), selected.failing_images());
                assert_eq!(
                    every.images(),
                    selected.images(),
                    "seed {seed}, max_images {max_images}, threads {threads}"
                );
                if max_images >= 8 {
                    assert!(every.images().iter().any(|i| i.geometry.is_some()));
                }
                if max_images >= 40 {
                    // A code seen late still gets its examples.
                    assert!(
                        every
                            .images()
                            .iter()
                            .any(|i| i.issues.iter().any(|x| x.code == "ERROR_RARE"))
                    );
                }
            }
        }
    }
}
