//! What the binary prints on stderr: the progress bar and the readable summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rekcheck::Reporter;
use rekcheck::analyze::{Dataset, ReportSummary, Severity, code_info};

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
        bar.set_message(name.rsplit('/').next().unwrap_or(name).to_owned());
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
        format!("{project}/{version} ")
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
            "{}{} of {} testing labels are missing from training: {}",
            who(project, version),
            missing.len(),
            test.len(),
            missing
                .iter()
                .map(|m| format!("\"{m}\""))
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

/// The readable summary printed on stderr after a report.
pub(crate) fn summary(summary: &ReportSummary, notes: &[String], elapsed: Duration) -> String {
    let mut s = String::new();
    let lines: u64 = summary.manifests.iter().map(|m| m.stats.lines).sum();
    let _ = writeln!(
        s,
        "rekcheck: {} manifest(s), {lines} lines in {:.1} s",
        summary.manifests.len(),
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
            c.manifest
        );
        let _ = writeln!(
            s,
            "  {} lines: {} ok, {} warning, {} error, {} unparsable, {} blank",
            st.lines, st.ok, st.warning, st.error, st.unparsable, st.blank
        );
        if let Some(r) = &m.rekognition {
            let n = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
            let verdict = if r.agrees {
                "agrees with rekcheck".to_owned()
            } else {
                let mut why = Vec::new();
                if r.total != Some(st.lines) {
                    why.push(format!(
                        "it counts {} lines, rekcheck {}",
                        n(r.total),
                        st.lines
                    ));
                }
                if r.indexed_without_errors > 0 {
                    why.push(format!(
                        "{} listed lines carry no error",
                        r.indexed_without_errors
                    ));
                }
                if r.errors_not_indexed > 0 {
                    why.push(format!(
                        "{} lines with errors are not listed",
                        r.errors_not_indexed
                    ));
                }
                format!("differs: {}", why.join("; "))
            };
            let base = match r.index_base {
                Some(b) => format!(", error indices are {b}-based"),
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "  Rekognition's summary: {} lines, {} valid, {} invalid, {} ignored{base}; {verdict}",
                n(r.total),
                n(r.valid),
                n(r.invalid),
                n(r.ignored)
            );
        }
    }

    if !summary.terminal.is_empty() {
        let _ = writeln!(s, "\nTerminal errors (training stopped on these):");
        for (c, i) in &summary.terminal {
            let side = if c.dataset == Dataset::Unknown {
                "both datasets".to_owned()
            } else {
                c.dataset.as_str().to_owned()
            };
            let _ = writeln!(
                s,
                "  {}[{side}] {}: {}",
                who(&c.project, &c.version),
                i.code,
                i.message
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
            let _ = writeln!(s, "  {issues:>7} {severity:<7} {code} ({images} images)");
            if let Some(info) = code_info(code) {
                let _ = writeln!(s, "          {} Fix: {}", info.meaning, info.fix);
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
            let _ = writeln!(s, "  {n}");
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
    let _ = writeln!(s, "\nNext step: {}", next_step(summary));
    if summary.files.first().is_some_and(|f| f.starts_with("s3:")) {
        let index = summary
            .files
            .last()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "Report uploaded: {} objects; the run's index is {index}",
            summary.files.len()
        );
    } else if let Some(first) = summary.files.first()
        && let Some(dir) = first.parent()
    {
        let _ = writeln!(
            s,
            "Report: {}/{{issues,images,summary,codes,labels,versions}}.csv",
            dir.display()
        );
    }
    s
}

/// The machine-readable summary printed by `--json`.
pub(crate) fn json_summary(
    summary: &ReportSummary,
    failures: &[rekcheck::Failure],
    exit_code: u8,
) -> serde_json::Value {
    use serde_json::json;
    let versions: Vec<_> = summary
        .versions
        .iter()
        .map(|v| {
            json!({
                "project": v.project, "version": v.version, "status": v.status,
                "status_message": v.status_message, "terminal_code": v.terminal_code,
                "created": v.created, "training_ended": v.training_ended,
                "lines": v.stats.lines, "ok": v.stats.ok, "warning": v.stats.warning,
                "error": v.stats.error, "unparsable": v.stats.unparsable, "report": v.report,
            })
        })
        .collect();
    let manifests: Vec<_> = summary
        .manifests
        .iter()
        .map(|m| {
            let c = &m.context;
            let s = &m.stats;
            json!({
                "project": c.project, "version": c.version, "dataset": c.dataset.as_str(),
                "manifest": c.manifest, "lines": s.lines, "blank": s.blank,
                "unparsable": s.unparsable, "ok": s.ok, "warning": s.warning, "error": s.error,
                "error_issues": s.error_issues, "warning_issues": s.warning_issues,
                "rekognition_agrees": m.rekognition.as_ref().map(|r| r.agrees),
            })
        })
        .collect();
    let codes: Vec<_> = summary
        .codes
        .iter()
        .map(|c| {
            json!({
                "project": c.project, "version": c.version, "dataset": c.dataset.as_str(),
                "severity": c.severity.as_str(), "code": c.code, "issues": c.issues,
                "images": c.images, "first_line": c.first_line,
            })
        })
        .collect();
    let failures: Vec<_> = failures
        .iter()
        .map(|f| json!({"what": f.what, "error": f.error.to_string()}))
        .collect();
    let files: Vec<String> = summary
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    json!({
        "exit_code": exit_code,
        "versions": versions,
        "manifests": manifests,
        "codes": codes,
        "failures": failures,
        "files": files,
    })
}

/// The one thing to do next, from the most important issue of the report.
pub(crate) fn next_step(summary: &ReportSummary) -> String {
    if let Some((c, i)) = summary.terminal.first() {
        let fix = code_info(&i.code).map_or("read the message in issues.csv", |info| info.fix);
        return format!("{}{}: {fix}", who(&c.project, &c.version), i.code);
    }
    let mut errors: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for c in summary
        .codes
        .iter()
        .filter(|c| c.severity == Severity::Error)
    {
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
            format!("{images} images have {code}: {fix}")
        }
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
                "Verdict: PASS, with {errors} lines Rekognition will not use (see issues.csv); `rekcheck fix` writes a manifest without them."
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
            issue.code,
            issue.message
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
        "{}: {} lines kept ({} with boxes removed), {} lines dropped, {} boxes removed, {} blank lines skipped",
        out_path.display(),
        outcome.kept,
        outcome.edited,
        outcome.dropped,
        outcome.boxes_removed,
        outcome.blank,
    );
    let _ = writeln!(
        out,
        "{}: one row per line or box removed, with its code",
        removed_path.display()
    );
    out
}
