//! What the binary prints on stderr: the progress bar and the readable summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rekcheck::Reporter;
use rekcheck::analyze::{Dataset, ReportSummary, Severity, code_info};

// Every name, code, label, message and location printed here comes from data: escaped.
use crate::terminal::escape_for_terminal as esc;

/// Progress on stderr: one bar per object being read, and a total; hidden when stderr is not
/// a terminal, with `--quiet` or `--no-progress`.
pub(crate) struct Progress {
    multi: Option<MultiProgress>,
    total: ProgressBar,
    current: Mutex<Option<ProgressBar>>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress {
    pub(crate) fn new(show: bool) -> Progress {
        let (multi, total) = if show {
            let multi = MultiProgress::new();
            let total = multi.add(ProgressBar::new(0));
            total.set_style(style(
                "total [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            ));
            (Some(multi), total)
        } else {
            (None, ProgressBar::hidden())
        };
        Progress {
            multi,
            total,
            current: Mutex::new(None),
        }
    }
}

impl Reporter for Progress {
    fn started(&self, total_bytes: u64) {
        self.total.set_length(total_bytes);
    }

    fn object_started(&self, name: &str, size: Option<u64>) {
        let Some(m) = &self.multi else {
            return;
        };
        let bar = m.insert_before(&self.total, ProgressBar::new(size.unwrap_or(0)));
        if size.is_some() {
            bar.set_style(style(
                "{msg:40!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            ));
        } else {
            bar.set_style(style("{msg:40!} {spinner} {bytes} {bytes_per_sec}"));
        }
        bar.set_message(esc(name.rsplit('/').next().unwrap_or(name)).into_owned());
        if let Ok(mut c) = self.current.lock() {
            *c = Some(bar);
        }
    }

    fn bytes(&self, _name: &str, bytes: u64) {
        self.total.inc(bytes);
        if let Ok(c) = self.current.lock()
            && let Some(bar) = c.as_ref()
        {
            bar.inc(bytes);
        }
    }

    fn object_finished(&self, _name: &str) {
        if let Ok(mut c) = self.current.lock()
            && let Some(bar) = c.take()
        {
            bar.finish_and_clear();
        }
    }

    fn images(&self, done: u64, total: u64) {
        let Some(m) = &self.multi else {
            return;
        };
        let Ok(mut c) = self.current.lock() else {
            return;
        };
        let bar = c.get_or_insert_with(|| {
            let bar = m.insert_before(&self.total, ProgressBar::new(total));
            bar.set_style(style(
                "images verified {bar:30} {pos}/{len} {per_sec} ETA {eta}",
            ));
            bar
        });
        bar.set_position(done);
        if done >= total {
            bar.finish_and_clear();
            *c = None;
        }
    }

    fn finished(&self) {
        self.total.finish_and_clear();
    }
}

/// `n` and the noun for it: "1 line", "2 lines".
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first sentence of `text` (up to the first ". "): the one line printed on screen, the
/// rest is in codes.csv.
fn first_sentence(text: &str) -> &str {
    text.find(". ").map_or(text, |at| &text[..=at])
}

fn dataset_name(d: Dataset) -> &'static str {
    match d {
        Dataset::Unknown => "dataset?",
        d => d.as_str(),
    }
}

fn who(project: &str, version: &str) -> String {
    if project.is_empty() && version.is_empty() {
        String::new()
    } else {
        format!("{}/{} ", esc(project), esc(version))
    }
}

/// The label overlap between testing and training, per training, when it needs a look.
pub(crate) fn label_flags(summary: &ReportSummary) -> Vec<String> {
    type LabelSets<'a> = (BTreeSet<&'a str>, BTreeSet<&'a str>);
    let mut sets: BTreeMap<(&str, &str), LabelSets<'_>> = BTreeMap::new();
    for l in &summary.labels {
        let e = sets.entry((&l.project, &l.version)).or_default();
        match l.dataset {
            Dataset::Training => {
                e.0.insert(&l.label);
            }
            Dataset::Testing => {
                e.1.insert(&l.label);
            }
            Dataset::Unknown => {}
        }
    }
    let mut out = Vec::new();
    for ((project, version), (train, test)) in sets {
        if test.is_empty() || train.is_empty() {
            continue;
        }
        let missing: Vec<&str> = test.difference(&train).copied().collect();
        let shared = test.len() - missing.len();
        #[allow(clippy::cast_precision_loss)]
        let pct = shared as f64 * 100.0 / test.len() as f64;
        if missing.is_empty() {
            continue;
        }
        let mut line = format!(
            "{}{} of {} {} missing from training: {}",
            who(project, version),
            missing.len(),
            count(test.len() as u64, "testing label", "testing labels"),
            if missing.len() == 1 { "is" } else { "are" },
            missing
                .iter()
                .map(|m| format!("\"{}\"", esc(m)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if pct < 50.0 {
            let _ = write!(
                line,
                "; overlap is {pct:.0} %, under the 50 % Rekognition needs (ERROR_INSUFFICIENT_LABEL_OVERLAP)"
            );
        } else {
            let _ = write!(line, "; overlap is {pct:.0} %");
        }
        out.push(line);
    }
    out
}

/// What went wrong in a run besides the issues in the report.
#[derive(Debug, Default)]
pub(crate) struct Problems<'a> {
    /// Inputs that could not be read (listed after the summary as errors).
    pub(crate) failed: usize,
    /// Manifests without validation results.
    pub(crate) not_validated: &'a [String],
}

/// Whether a manifest-level issue stopped the training (rather than a manifest that rekcheck
/// could not read).
fn stopped_training(i: &rekcheck::analyze::Issue) -> bool {
    i.code != rekcheck::analyze::REKCHECK_READ_FAILED
}

/// The readable summary printed on stderr after a report.
pub(crate) fn summary(
    summary: &ReportSummary,
    notes: &[String],
    problems: &Problems<'_>,
    elapsed: Duration,
) -> String {
    let mut s = String::new();
    let lines: u64 = summary.manifests.iter().map(|m| m.stats.lines).sum();
    let _ = writeln!(
        s,
        "rekcheck: {}, {} in {:.1} s",
        count(summary.manifests.len() as u64, "manifest", "manifests"),
        count(lines, "line", "lines"),
        elapsed.as_secs_f64()
    );
    for m in &summary.manifests {
        let c = &m.context;
        let st = &m.stats;
        let _ = writeln!(
            s,
            "\n{}{} {}",
            who(&c.project, &c.version),
            dataset_name(c.dataset),
            esc(&c.manifest)
        );
        let _ = writeln!(
            s,
            "  {}: {} ok, {} warning, {} error, {} unparsable, {} blank",
            count(st.lines, "line", "lines"),
            st.ok,
            st.warning,
            st.error,
            st.unparsable,
            st.blank
        );
        if let Some(r) = &m.rekognition {
            let n = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
            if r.not_given {
                let _ = writeln!(
                    s,
                    "  not given: Rekognition's summary describes it ({} lines, {} valid, {} invalid, {} ignored); name it to compare",
                    n(r.total),
                    n(r.valid),
                    n(r.invalid),
                    n(r.ignored)
                );
                continue;
            }
            let (total, valid, invalid, ignored) = st.rekognition_terms();
            let _ = writeln!(
                s,
                "  in Rekognition's terms: {total} lines, {valid} valid ({} in error but used: only boxes or an unsupported attribute dropped), {invalid} invalid ({} blank), {ignored} ignored",
                st.error_used, st.blank
            );
            let verdict = if r.agrees {
                "agrees with rekcheck".to_owned()
            } else {
                r.agreement().replacen("no: ", "differs: ", 1)
            };
            let base = match r.index_base {
                Some(b) => format!(", error indices are {b}-based"),
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "  Rekognition's summary: {} {}, {} valid, {} invalid, {} ignored{base}; {verdict}",
                n(r.total),
                if r.total == Some(1) { "line" } else { "lines" },
                n(r.valid),
                n(r.invalid),
                n(r.ignored)
            );
        }
    }

    let not_read: Vec<_> = summary
        .terminal
        .iter()
        .filter(|(_, i)| !stopped_training(i))
        .collect();
    if !not_read.is_empty() {
        let _ = writeln!(
            s,
            "\nNot read (REKCHECK_READ_FAILED; see the errors below):"
        );
        for (c, _) in &not_read {
            let _ = writeln!(s, "  {}{}", who(&c.project, &c.version), esc(&c.manifest));
        }
    }
    if !problems.not_validated.is_empty() {
        let _ = writeln!(
            s,
            "\nNo validation results (no errors or warnings on any line, no manifest summary): these look like input manifests: run `rekcheck check`:"
        );
        for m in problems.not_validated {
            let _ = writeln!(s, "  {}", esc(m));
        }
    }
    if summary.terminal.iter().any(|(_, i)| stopped_training(i)) {
        let _ = writeln!(s, "\nTerminal errors (training stopped on these):");
        for (c, i) in summary.terminal.iter().filter(|(_, i)| stopped_training(i)) {
            let side = if c.dataset == Dataset::Unknown {
                "both datasets".to_owned()
            } else {
                c.dataset.as_str().to_owned()
            };
            let _ = writeln!(
                s,
                "  {}[{side}] {}: {}",
                who(&c.project, &c.version),
                esc(&i.code),
                esc(&i.message)
            );
            if let Some(info) = code_info(&i.code) {
                let _ = writeln!(s, "      fix: {}", info.fix);
            }
        }
    }

    // Top codes across the report.
    let mut totals: BTreeMap<(Severity, &str), (u64, u64)> = BTreeMap::new();
    for c in &summary.codes {
        let e = totals.entry((c.severity, &c.code)).or_default();
        e.0 += c.issues;
        e.1 += c.images;
    }
    let mut top: Vec<_> = totals.into_iter().collect();
    top.sort_by(|a, b| {
        a.0.0
            .cmp(&b.0.0)
            .then(b.1.0.cmp(&a.1.0))
            .then(a.0.1.cmp(b.0.1))
    });
    if !top.is_empty() {
        let _ = writeln!(s, "\nTop codes:");
        for ((severity, code), (issues, images)) in top.iter().take(8) {
            let _ = writeln!(
                s,
                "  {issues:>7} {severity:<7} {} ({})",
                esc(code),
                count(*images, "image", "images")
            );
            if let Some(info) = code_info(code) {
                let _ = writeln!(
                    s,
                    "          {} Fix: {}",
                    first_sentence(info.meaning),
                    info.fix
                );
            }
        }
        if top.len() > 8 {
            let _ = writeln!(s, "  ... {} more codes in codes.csv", top.len() - 8);
        }
    }

    let flags = label_flags(summary);
    if !flags.is_empty() {
        let _ = writeln!(s, "\nLabels:");
        for f in flags {
            let _ = writeln!(s, "  {f}");
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(s, "\nNotes:");
        for n in notes {
            let _ = writeln!(s, "  {}", esc(n));
        }
    }
    // The tables that reached their row limit (numbers only: nothing from the data).
    if summary.labels_overflow > 0 {
        let _ = writeln!(
            s,
            "\nlabels.csv keeps {} labels: {} images of further labels are added up in its (other) rows",
            rekcheck::analyze::MAX_LABEL_ROWS,
            summary.labels_overflow
        );
    }
    if summary.codes_overflow > 0 {
        let _ = writeln!(
            s,
            "\ncodes.csv keeps {} codes: {} issues of further codes are added up in its (other) rows",
            rekcheck::analyze::MAX_CODE_ROWS,
            summary.codes_overflow
        );
    }
    let _ = writeln!(s, "\nNext step: {}", next_step(summary, problems));
    if summary.files.first().is_some_and(|f| f.starts_with("s3:")) {
        let index = summary
            .files
            .last()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "Report uploaded: {}; the run's index is {}",
            count(summary.files.len() as u64, "object", "objects"),
            esc(&index)
        );
    } else if let Some(first) = summary.files.first()
        && let Some(dir) = first.parent()
    {
        let html = summary
            .files
            .iter()
            .any(|f| f.file_name() == Some(std::ffi::OsStr::new(rekcheck::analyze::HTML_FILE)));
        let dir = dir.display().to_string();
        let dir = esc(&dir);
        let page = if html {
            format!(" and {dir}/{}", rekcheck::analyze::HTML_FILE)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "Report: {dir}/{{issues,images,summary,codes,labels,versions}}.csv{page}"
        );
    }
    s
}

/// The version of the `--json` document's schema; raised when a key changes meaning or goes
/// away (added keys do not raise it).
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The `--json` document (schema version 1): the facade's outcome types, serialized, in the
/// documented shape. Keys come out sorted (a `serde_json::Value`), as they always have.
#[derive(serde::Serialize)]
struct JsonDoc<'a> {
    schema_version: u32,
    command: &'static str,
    exit_code: u8,
    versions: Vec<JsonVersion<'a>>,
    manifests: Vec<JsonManifest<'a>>,
    codes: &'a [rekcheck::analyze::CodeRow],
    failures: &'a [rekcheck::Failure],
    files: Vec<String>,
    check: Option<()>,
    fix: Option<()>,
}

/// A version of `versions.csv` with the line counts of its stats beside it.
#[derive(serde::Serialize)]
struct JsonVersion<'a> {
    project: &'a str,
    version: &'a str,
    status: &'a str,
    status_message: &'a str,
    terminal_code: &'a str,
    created: &'a str,
    training_ended: &'a str,
    lines: u64,
    ok: u64,
    warning: u64,
    error: u64,
    unparsable: u64,
    report: &'a str,
}

impl<'a> From<&'a rekcheck::analyze::VersionRow> for JsonVersion<'a> {
    fn from(v: &'a rekcheck::analyze::VersionRow) -> Self {
        JsonVersion {
            project: &v.project,
            version: &v.version,
            status: &v.status,
            status_message: &v.status_message,
            terminal_code: &v.terminal_code,
            created: &v.created,
            training_ended: &v.training_ended,
            lines: v.stats.lines,
            ok: v.stats.ok,
            warning: v.stats.warning,
            error: v.stats.error,
            unparsable: v.stats.unparsable,
            report: &v.report,
        }
    }
}

/// A manifest of `summary.csv`: its context, its counts and Rekognition's agreement.
#[derive(serde::Serialize)]
struct JsonManifest<'a> {
    #[serde(flatten)]
    context: &'a rekcheck::analyze::ManifestContext,
    lines: u64,
    blank: u64,
    unparsable: u64,
    ok: u64,
    warning: u64,
    error: u64,
    error_issues: u64,
    warning_issues: u64,
    rekognition_agrees: Option<bool>,
    rekognition_agreement: Option<String>,
    verdict: &'a str,
}

impl<'a> From<&'a rekcheck::analyze::ManifestReport> for JsonManifest<'a> {
    fn from(m: &'a rekcheck::analyze::ManifestReport) -> Self {
        let s = &m.stats;
        JsonManifest {
            context: &m.context,
            lines: s.lines,
            blank: s.blank,
            unparsable: s.unparsable,
            ok: s.ok,
            warning: s.warning,
            error: s.error,
            error_issues: s.error_issues,
            warning_issues: s.warning_issues,
            rekognition_agrees: m.rekognition.as_ref().map(|r| r.agrees),
            rekognition_agreement: m
                .rekognition
                .as_ref()
                .map(rekcheck::analyze::RekognitionCounts::agreement),
            verdict: &m.verdict,
        }
    }
}

/// The machine-readable summary printed by `report --json` (and the base of `check`'s).
pub(crate) fn json_summary(
    summary: &ReportSummary,
    failures: &[rekcheck::Failure],
    exit_code: u8,
) -> serde_json::Value {
    let doc = JsonDoc {
        schema_version: SCHEMA_VERSION,
        command: "report",
        exit_code,
        versions: summary.versions.iter().map(JsonVersion::from).collect(),
        manifests: summary.manifests.iter().map(JsonManifest::from).collect(),
        codes: &summary.codes,
        failures,
        files: summary
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        check: None,
        fix: None,
    };
    // Plain data (strings, numbers, options): serializing it cannot fail.
    serde_json::to_value(doc).unwrap_or_default()
}

/// The `--json` document of `check`: the report's, with the verdict under `check`.
pub(crate) fn json_check(
    outcome: &rekcheck::CheckOutcome,
    cross_dataset_rules: bool,
    exit_code: u8,
) -> serde_json::Value {
    use serde_json::json;
    let mut doc = json_summary(&outcome.summary, &[], exit_code);
    let terminal: Vec<_> = outcome
        .terminal
        .iter()
        .map(|(d, i)| json!({"dataset": d.as_str(), "code": i.code, "message": i.message}))
        .collect();
    doc["command"] = json!("check");
    doc["check"] = json!({
        "verdict": if outcome.passes() { "pass" } else { "fail" },
        "terminal": terminal,
        "images_verified": outcome.images_verified,
        "cross_dataset_rules": cross_dataset_rules,
    });
    doc
}

/// The `--json` document of `fix`: what was kept and removed, and the verdict predicted for
/// the fixed manifest (`verdict`: `pass` or `fail`; `terminal`: the errors that would stop a
/// training on it), under `fix`.
pub(crate) fn json_fix(
    outcome: &rekcheck::FixOutcome,
    out_path: &std::path::Path,
    removed_path: &std::path::Path,
    exit_code: u8,
) -> serde_json::Value {
    use serde_json::json;
    let (out, removed) = (
        out_path.display().to_string(),
        removed_path.display().to_string(),
    );
    let terminal: Vec<_> = outcome
        .terminal()
        .map(|i| json!({"code": i.code, "message": i.message}))
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "command": "fix",
        "exit_code": exit_code,
        "versions": [],
        "manifests": [],
        "codes": [],
        "failures": [],
        "files": [out, removed],
        "check": null,
        "fix": {
            "out": out, "removed": removed, "lines": outcome.lines, "blank": outcome.blank,
            "kept": outcome.kept, "edited": outcome.edited, "dropped": outcome.dropped,
            "boxes_removed": outcome.boxes_removed,
            "verdict": if outcome.passes() { "pass" } else { "fail" },
            "terminal": terminal,
        },
    })
}

/// The `--json` document of `locate`: the versions found, with where their files are.
pub(crate) fn json_locate(
    found: &[rekcheck::locate::ProjectVersion],
    failures: &[rekcheck::Failure],
    exit_code: u8,
) -> serde_json::Value {
    use serde_json::json;
    let loc = |l: &Option<rekcheck::fetch::S3Location>| l.as_ref().map(ToString::to_string);
    let versions: Vec<_> = found
        .iter()
        .map(|v| {
            json!({
                "project": v.project, "version": v.version, "status": v.status,
                "status_message": v.status_message,
                "created": v.created.map(rekcheck::time::rfc3339),
                "training_manifest": loc(&v.training_manifest),
                "testing_manifest": loc(&v.testing_manifest),
                "manifest_summary": loc(&v.summary),
            })
        })
        .collect();
    // `{"what", "error"}`, the error as its message (the facade's `serde` feature).
    let failures = serde_json::to_value(failures).unwrap_or_default();
    json!({
        "schema_version": SCHEMA_VERSION,
        "command": "locate",
        "exit_code": exit_code,
        "versions": versions,
        "manifests": [],
        "codes": [],
        "failures": failures,
        "files": [],
        "check": null,
        "fix": null,
    })
}

/// The note of a check without --testing or --auto-split.
pub(crate) const NO_CROSS_DATASET_RULES: &str = "No --testing or --auto-split: the rules across training and testing (testing labels found in training, enough images per label for the 80/20 split) were not checked; pass --testing FILE or --auto-split as the training will.";

/// Why `check` exits 1 although the verdict is PASS: an issue reached `--fail-on`.
pub(crate) fn exit_reason(
    outcome: &rekcheck::CheckOutcome,
    fail_on: Option<Severity>,
    exit_code: u8,
) -> String {
    let Some(level) = fail_on.filter(|_| exit_code == 1 && outcome.passes()) else {
        return String::new();
    };
    let (mut errors, mut warnings) = (0, 0);
    for c in &outcome.summary.codes {
        match c.severity {
            Severity::Error => errors += c.issues,
            Severity::Warning => warnings += c.issues,
        }
    }
    let found = match level {
        Severity::Error => count(errors, "error", "errors"),
        Severity::Warning => format!(
            "{} and {}",
            count(errors, "error", "errors"),
            count(warnings, "warning", "warnings")
        ),
    };
    format!(
        "Exit code 1: the manifests have {found} (see issues.csv) and --fail-on is {}; --fail-on never exits 0 when the verdict is PASS.\n",
        level.as_str()
    )
}

/// The one thing to do next, from the most important issue of the report; never "nothing to
/// fix" when something could not be read or had no validation results.
pub(crate) fn next_step(summary: &ReportSummary, problems: &Problems<'_>) -> String {
    if let Some((c, i)) = summary.terminal.iter().find(|(_, i)| stopped_training(i)) {
        let fix = code_info(&i.code).map_or("read the message in issues.csv", |info| info.fix);
        return format!("{}{}: {fix}", who(&c.project, &c.version), esc(&i.code));
    }
    let mut errors: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for c in summary.codes.iter().filter(|c| {
        c.severity == Severity::Error && c.code != rekcheck::analyze::REKCHECK_READ_FAILED
    }) {
        let e = errors.entry(&c.code).or_default();
        e.0 += c.issues;
        e.1 += c.images;
    }
    match errors
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.0.cmp(a.0)))
    {
        Some((code, (_, images))) => {
            let fix = code_info(code).map_or("see its rows in issues.csv", |info| info.fix);
            format!(
                "{} {} {}: {fix}",
                count(images, "image", "images"),
                if images == 1 { "has" } else { "have" },
                esc(code)
            )
        }
        None if !problems.not_validated.is_empty() => format!(
            "these look like input manifests: run `rekcheck check {}` to predict Rekognition's validation",
            esc(&problems.not_validated[0])
        ),
        None if problems.failed > 0 => format!(
            "{} could not be read (errors below): fix {} and run again",
            count(problems.failed as u64, "input", "inputs"),
            if problems.failed == 1 { "it" } else { "them" }
        ),
        None => "nothing to fix: no errors".to_owned(),
    }
}

/// The verdict of `check`: would Rekognition's validation let the training through?
pub(crate) fn verdict(outcome: &rekcheck::CheckOutcome) -> String {
    let mut out = String::new();
    if outcome.images_verified > 0 {
        let _ = writeln!(out, "Images verified in S3: {}", outcome.images_verified);
    }
    if outcome.passes() {
        let errors: u64 = outcome
            .summary
            .manifests
            .iter()
            .map(|m| m.stats.error + m.stats.unparsable)
            .sum();
        if errors == 0 {
            let _ = writeln!(
                out,
                "Verdict: PASS. Rekognition's validation should accept these manifests."
            );
        } else {
            let _ = writeln!(
                out,
                "Verdict: PASS, with {} Rekognition will not use (see issues.csv); `rekcheck fix` writes a manifest without {}.",
                count(errors, "line", "lines"),
                if errors == 1 { "it" } else { "them" }
            );
        }
        return out;
    }
    let _ = writeln!(out, "Verdict: FAIL. The training would stop on:");
    for (dataset, issue) in &outcome.terminal {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            dataset_name(*dataset),
            esc(&issue.code),
            esc(&issue.message)
        );
        if let Some(info) = code_info(&issue.code) {
            let _ = writeln!(out, "    fix: {}", info.fix);
        }
    }
    out
}

/// What `fix` wrote.
pub(crate) fn fix_summary(
    outcome: &rekcheck::FixOutcome,
    out_path: &std::path::Path,
    removed_path: &std::path::Path,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} kept ({} with boxes removed), {} dropped, {} removed, {} skipped",
        esc(&out_path.display().to_string()),
        count(outcome.kept, "line", "lines"),
        outcome.edited,
        count(outcome.dropped, "line", "lines"),
        count(outcome.boxes_removed, "box", "boxes"),
        count(outcome.blank, "blank line", "blank lines"),
    );
    let _ = writeln!(
        out,
        "{}: one row per line or box removed, with its code",
        esc(&removed_path.display().to_string())
    );
    out
}

/// The verdict predicted for the manifest `fix` wrote: `check`'s dataset-level rules applied to
/// it.
pub(crate) fn fix_verdict(outcome: &rekcheck::FixOutcome) -> String {
    let mut out = String::new();
    if outcome.passes() {
        let _ = writeln!(
            out,
            "Verdict of the fixed manifest: PASS. Ready to retrain (the rules across training and testing need `rekcheck check --testing` or `--auto-split`)."
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Verdict of the fixed manifest: FAIL. Do not retrain on it as it is: the training would stop on:"
    );
    for issue in outcome.terminal() {
        let _ = writeln!(out, "  {}: {}", esc(&issue.code), esc(&issue.message));
        if let Some(info) = code_info(&issue.code) {
            let _ = writeln!(out, "    fix: {}", info.fix);
        }
    }
    if outcome.kept == 0 {
        let _ = writeln!(
            out,
            "Every line was dropped: removed.csv gives each line's code."
        );
    }
    let _ = writeln!(out, "Exit code 1: the fixed manifest would still fail.");
    out
}
