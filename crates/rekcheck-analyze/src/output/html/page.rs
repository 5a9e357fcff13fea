//! The page's template (maud: compile-time checked, every interpolation escaped).

use std::collections::{BTreeMap, BTreeSet};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::HtmlPage;
use super::collect::{ImagePixels, ShownImage};
use super::svg::{hbars, image_drawing, line_bars};
use crate::codes::code_info;
use crate::model::{Dataset, Severity};
use crate::output::report::{ManifestContext, ManifestReport};

/// Most codes in the bar chart and its table.
const TOP_CODES: usize = 25;
/// Most labels listed per version (the rest are counted).
const MAX_LABELS_SHOWN: usize = 500;

/// The content of the `<meta http-equiv="Content-Security-Policy">` tag.
pub(crate) fn csp(page: &HtmlPage<'_>) -> String {
    let mut img = String::from("data:");
    for origin in &page.image_origins {
        img.push(' ');
        img.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; img-src {img}; base-uri 'none'; form-action 'none'",
        super::asset_hash(super::SCRIPT),
        super::asset_hash(super::STYLE),
    )
}

fn version_key(c: &ManifestContext) -> (String, String) {
    (c.project.clone(), c.version.clone())
}

fn version_title(project: &str, version: &str) -> String {
    match (project.is_empty(), version.is_empty()) {
        (true, true) => "Manifests".to_owned(),
        (false, true) => project.to_owned(),
        _ => format!("{project} / {version}"),
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Error => "err",
        Severity::Warning => "warn",
    }
}

fn manifest_section(m: &ManifestReport) -> Markup {
    let s = &m.stats;
    html! {
        h3 { (m.context.dataset.as_str()) " " code { (m.context.manifest) } }
        (line_bars(s))
        table {
            tr { th { "" } th { "lines" } th { "blank" } th { "ok" } th { "warning" } th { "error" } th { "unparsable" } th { "used" } th { "verdict" } }
            tr {
                th { "rekcheck" }
                td.n { (s.lines) } td.n { (s.blank) } td.n { (s.ok) } td.n { (s.warning) }
                td.n { (s.error) } td.n { (s.unparsable) } td.n { (s.used) } td { (m.verdict) }
            }
        }
        @if let Some(r) = &m.rekognition {
            @let (total, valid, invalid, ignored) = s.rekognition_terms();
            table {
                tr { th { "" } th { "total JSON lines" } th { "valid" } th { "invalid" } th { "ignored" } }
                tr { th { "Rekognition's summary" }
                    td.n { (opt(r.total)) } td.n { (opt(r.valid)) } td.n { (opt(r.invalid)) } td.n { (opt(r.ignored)) } }
                tr { th { "rekcheck, same terms" }
                    td.n { (total) } td.n { (valid) } td.n { (invalid) } td.n { (ignored) } }
            }
            p { "Agreement with Rekognition's summary: " b { (r.agreement()) } }
        }
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

fn labels_table(page: &HtmlPage<'_>, key: &(String, String)) -> Markup {
    // label -> (training images, testing images, other images)
    let mut by_label: BTreeMap<&str, [Option<u64>; 3]> = BTreeMap::new();
    let mut sides = BTreeSet::new();
    for l in &page.summary.labels {
        if (l.project.as_str(), l.version.as_str()) != (key.0.as_str(), key.1.as_str()) {
            continue;
        }
        let i = match l.dataset {
            Dataset::Training => 0,
            Dataset::Testing => 1,
            Dataset::Unknown => 2,
        };
        sides.insert(i);
        let cell = &mut by_label.entry(&l.label).or_default()[i];
        *cell = Some(cell.unwrap_or(0) + l.images);
    }
    let both = sides.contains(&0) && sides.contains(&1);
    let hidden = by_label.len().saturating_sub(MAX_LABELS_SHOWN);
    html! {
        @if !by_label.is_empty() {
            h3 { "Labels" }
            @if both { p.note { "A label present in one dataset only is flagged: Rekognition needs every testing label in training (the overlap rule)." } }
            table {
                tr { th { "label" } th { "training images" } th { "testing images" } @if sides.contains(&2) { th { "other images" } } @if both { th { "" } } }
                @for (label, n) in by_label.iter().take(MAX_LABELS_SHOWN) {
                    tr {
                        td { (label) }
                        td.n { (opt(n[0])) } td.n { (opt(n[1])) }
                        @if sides.contains(&2) { td.n { (opt(n[2])) } }
                        @if both {
                            td { @if n[0].is_none() { span.missing { "missing from training" } } @else if n[1].is_none() { span.missing { "missing from testing" } } }
                        }
                    }
                }
            }
            @if hidden > 0 { p.note { (hidden) " more labels in labels.csv." } }
        }
    }
}

fn codes_section(page: &HtmlPage<'_>) -> Markup {
    let mut totals: BTreeMap<(Severity, &str), (u64, u64)> = BTreeMap::new();
    for c in &page.summary.codes {
        let t = totals.entry((c.severity, &c.code)).or_default();
        t.0 += c.issues;
        t.1 += c.images;
    }
    let mut rows: Vec<_> = totals.into_iter().collect();
    rows.sort_by(|a, b| (a.0.0, b.1.0).cmp(&(b.0.0, a.1.0)).then(a.0.1.cmp(b.0.1)));
    let hidden = rows.len().saturating_sub(TOP_CODES);
    rows.truncate(TOP_CODES);
    let bars: Vec<(String, u64, &'static str)> = rows
        .iter()
        .map(|((s, c), (n, _))| ((*c).to_owned(), *n, severity_class(*s)))
        .collect();
    html! {
        @if !rows.is_empty() {
            h2 #codes { "Codes" }
            (hbars(&bars))
            table {
                tr { th { "code" } th { "severity" } th { "issues" } th { "images" } th { "meaning" } th { "fix" } }
                @for ((s, c), (n, images)) in &rows {
                    @let info = code_info(c);
                    tr {
                        td { code { (c) } } td { (s.as_str()) } td.n { (n) } td.n { (images) }
                        td { (info.map_or("", |i| i.meaning)) } td { (info.map_or("", |i| i.fix)) }
                    }
                }
            }
            @if hidden > 0 { p.note { (hidden) " more codes in codes.csv." } }
        }
    }
}

fn image_card(page: &HtmlPage<'_>, n: usize, img: &ShownImage) -> Markup {
    let manifest = page.images.manifests().get(img.manifest);
    html! {
        div.card id=(format!("img{n}")) {
            @if let Some(svg) = image_drawing(img) { div { (svg) } }
            div.issues {
                @if let Some(ImagePixels::Missing(why)) = &img.pixels {
                    p.note { "Pixels not shown: " (why) "." }
                }
                p {
                    span.ref { (img.source_ref) } br;
                    @if let Some(m) = manifest { code { (m.manifest) } } " line " b { (img.line) }
                    " · " (img.status.as_str()) " · " @if img.used { "used by Rekognition" } @else { "not used by Rekognition" }
                }
                table {
                    tr { th { "severity" } th { "code" } th { "where" } th { "label" } th { "message" } }
                    @for i in &img.issues {
                        tr {
                            td { (i.severity.as_str()) } td { code { (i.code) } }
                            td { (i.level.as_str()) @if !i.attribute.is_empty() { " " code { (i.attribute) } } @if let Some(a) = i.annotation { " box " (a) } }
                            td { (i.label) } td { (i.message) }
                        }
                    }
                }
                @if img.more_issues > 0 { p.note { (img.more_issues) " more issues in issues.csv." } }
            }
        }
    }
}

fn images_section(page: &HtmlPage<'_>) -> Markup {
    let images = page.images.images();
    // code -> indices of the shown images that have it
    let mut by_code: BTreeMap<(Severity, &str), Vec<usize>> = BTreeMap::new();
    for (n, img) in images.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for i in &img.issues {
            if seen.insert((i.severity, i.code.as_str())) {
                by_code.entry((i.severity, &i.code)).or_default().push(n);
            }
        }
    }
    html! {
        h2 #images { "Failing images" }
        p.note {
            "Showing " (images.len()) " of " (page.images.failing_images())
            " images with an error or a warning (at most " (page.images.max_images())
            "; every image is in images.csv)."
            @if !page.pixels_note.is_empty() { " " (page.pixels_note) }
        }
        @if !by_code.is_empty() {
            h3 { "By code" }
            ul {
                @for ((s, c), ns) in &by_code {
                    li {
                        code { (c) } " (" (s.as_str()) "): "
                        @for (k, n) in ns.iter().enumerate() {
                            @if k > 0 { ", " }
                            a href=(format!("#img{n}")) { "line " (images[*n].line) }
                        }
                    }
                }
            }
        }
        @if !images.is_empty() {
            h3 { "Images" }
            p #filter-box hidden { label { "Filter: " input #filter type="search"; } " " span #filter-count {} }
            table #images-table {
                thead { tr { th { "#" } th { "manifest" } th.n { "line" } th { "source-ref" } th { "status" } th { "codes" } } }
                tbody {
                    @for (n, img) in images.iter().enumerate() {
                        tr {
                            td { a href=(format!("#img{n}")) { (n + 1) } }
                            td { @if let Some(m) = page.images.manifests().get(img.manifest) { (m.dataset.as_str()) " " code { (m.manifest) } } }
                            td.n { (img.line) }
                            td.ref { (img.source_ref) }
                            td { (img.status.as_str()) }
                            td { @for (k, i) in img.issues.iter().enumerate() { @if k > 0 { " " } code { (i.code) } } }
                        }
                    }
                }
            }
            @for (n, img) in images.iter().enumerate() { (image_card(page, n, img)) }
        }
    }
}

/// The whole page.
pub(crate) fn page(page: &HtmlPage<'_>) -> Markup {
    let summary = page.summary;
    let verdict_class = if summary.has_issues_at(Severity::Error) {
        "fail"
    } else if summary.has_issues_at(Severity::Warning) {
        "warn"
    } else {
        "pass"
    };
    let mut versions: Vec<(String, String)> = Vec::new();
    for m in &summary.manifests {
        let k = version_key(&m.context);
        if !versions.contains(&k) {
            versions.push(k);
        }
    }
    for (c, _) in &summary.terminal {
        let k = version_key(c);
        if !versions.contains(&k) {
            versions.push(k);
        }
    }
    let anchor = |k: &(String, String)| {
        versions
            .iter()
            .position(|v| v == k)
            .map(|i| format!("#v{i}"))
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(csp(page));
                meta name="referrer" content="no-referrer";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "rekcheck " (page.command) }
                style { (PreEscaped(super::STYLE)) }
            }
            body {
                h1 { "rekcheck " (page.command) }
                p.verdict.(verdict_class) { (page.verdict) }
                @if !page.sources.is_empty() {
                    p { "Read: " @for (i, s) in page.sources.iter().enumerate() { @if i > 0 { ", " } code { (s) } } }
                }
                @if !page.generated.is_empty() { p.note { "Written " (page.generated) " by rekcheck " (env!("CARGO_PKG_VERSION")) "." } }
                @if !summary.versions.is_empty() {
                    h2 #versions { "Versions" }
                    table {
                        tr { th { "project" } th { "version" } th { "status" } th { "terminal code" } th { "status message" } th { "lines" } th { "ok" } th { "warning" } th { "error" } }
                        @for v in &summary.versions {
                            tr {
                                td { (v.project) }
                                td { @if let Some(a) = anchor(&(v.project.clone(), v.version.clone())) { a href=(a) { (v.version) } } @else { (v.version) } }
                                td { (v.status) } td { code { (v.terminal_code) } } td { (v.status_message) }
                                td.n { (v.stats.lines) } td.n { (v.stats.ok) } td.n { (v.stats.warning) } td.n { (v.stats.error) }
                            }
                        }
                    }
                }
                @if !summary.terminal.is_empty() {
                    h2 #terminal { "Terminal errors" }
                    table {
                        tr { th { "version" } th { "dataset" } th { "code" } th { "message" } th { "fix" } }
                        @for (c, i) in &summary.terminal {
                            tr {
                                td { (version_title(&c.project, &c.version)) } td { (c.dataset.as_str()) }
                                td { code { (i.code) } } td { (i.message) }
                                td { (code_info(&i.code).map_or("", |x| x.fix)) }
                            }
                        }
                    }
                }
                @for (n, k) in versions.iter().enumerate() {
                    section id=(format!("v{n}")) {
                        h2 { (version_title(&k.0, &k.1)) }
                        @for m in summary.manifests.iter().filter(|m| &version_key(&m.context) == k) {
                            (manifest_section(m))
                        }
                        (labels_table(page, k))
                    }
                }
                (codes_section(page))
                (images_section(page))
                script { (PreEscaped(super::SCRIPT)) }
            }
        }
    }
}
