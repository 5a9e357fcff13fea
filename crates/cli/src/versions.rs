//! Inputs from the Rekognition API: project and version ARNs, `--all-projects`, `--datasets`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rekcheck_analyze::{CodeKind, Dataset, code_for_message};
use rekcheck_fetch::{Fetcher, S3Location, Source};
use rekcheck_locate::{Arn, Locator, ProjectVersion, VersionFilter, parse_arn};

use crate::inputs::{Failure, Group, Input, Kind, VersionMeta, folder_kind};

/// A failed training's status message, as a manifest-level issue: the documented code whose
/// message it is, or `REKCHECK_TRAINING_FAILED` with the text as it is.
pub(crate) fn status_issue(v: &ProjectVersion) -> Option<(String, String)> {
    let failed = v.status.ends_with("FAILED");
    if !failed {
        return None;
    }
    let code = code_for_message(&v.status_message)
        .map_or(rekcheck_analyze::REKCHECK_TRAINING_FAILED, |c| c.code);
    Some((code.to_owned(), v.status_message.clone()))
}

/// Whether validation ran, so that the files should exist even if the response has no
/// locations: the training completed, or failed on something other than a manifest file error.
fn validation_ran(v: &ProjectVersion) -> bool {
    match v.status.as_str() {
        "TRAINING_COMPLETED" => true,
        "TRAINING_FAILED" => {
            !code_for_message(&v.status_message).is_some_and(|c| c.kind == CodeKind::TerminalFile)
        }
        _ => false,
    }
}

fn input(location: &S3Location, kind: Kind, dataset: Dataset) -> Input {
    Input {
        display: location.to_string(),
        source: Source::S3(location.clone()),
        kind,
        dataset,
        size: None,
    }
}

/// The group of files of one version; lists the output prefix when the response has no
/// locations although validation ran.
pub(crate) fn version_group(
    v: &ProjectVersion,
    fetcher: &Fetcher,
    runtime: &tokio::runtime::Runtime,
    notes: &mut Vec<String>,
    failures: &mut Vec<Failure>,
) -> Group {
    let mut g = Group {
        project: v.project.clone(),
        version: v.version.clone(),
        status_issue: status_issue(v),
        version_info: Some(v.clone()),
        meta: Some(VersionMeta {
            status: v.status.clone(),
            status_message: v.status_message.clone(),
            created: v.created.map(rfc3339).unwrap_or_default(),
            training_ended: v.training_ended.map(rfc3339).unwrap_or_default(),
        }),
        ..Group::default()
    };
    if let Some(s) = &v.summary {
        g.summary = Some(input(s, Kind::Summary, Dataset::Unknown));
    }
    if let Some(t) = &v.training_manifest {
        g.manifests
            .push(input(t, Kind::Manifest, Dataset::Training));
    }
    if let Some(t) = &v.testing_manifest {
        g.manifests.push(input(t, Kind::Manifest, Dataset::Testing));
    }
    if v.has_no_locations()
        && validation_ran(v)
        && let (Some(output), Some(s3)) = (&v.output, fetcher.s3())
    {
        let mut prefix = output.clone();
        if !prefix.key.is_empty() && !prefix.key.ends_with('/') {
            prefix.key.push('/');
        }
        notes.push(format!(
                "{}/{}: the response has no validation locations although validation ran; listed {prefix} instead",
                v.project, v.version
            ));
        match runtime.block_on(s3.list(&prefix)) {
            Ok(objects) => {
                for o in objects {
                    let name = o.location.file_name().to_owned();
                    // Only this version's files, directly under the prefix.
                    if o.location.parent_prefix() != prefix.key {
                        continue;
                    }
                    let Some(kind) = folder_kind(&name) else {
                        continue;
                    };
                    let mut i = input(&o.location, kind, Dataset::from_file_name(&name));
                    i.size = Some(o.size);
                    match kind {
                        Kind::Summary if g.summary.is_none() => g.summary = Some(i),
                        Kind::Summary => g.extra_summaries.push(i),
                        Kind::Manifest => g.manifests.push(i),
                    }
                }
            }
            Err(e) => failures.push(Failure {
                what: format!("{}/{} output {prefix}", v.project, v.version),
                error: e.into(),
            }),
        }
    }
    g
}

/// Every version named by `arns` (project ARNs with the filter, or version ARNs), and, with
/// `all_projects`, every Custom Labels project of the region. A failure for one project does
/// not stop the others.
pub(crate) fn locate_versions(
    locator: &Locator,
    runtime: &tokio::runtime::Runtime,
    arns: &[String],
    all_projects: bool,
    filter: &VersionFilter,
    failures: &mut Vec<Failure>,
) -> Vec<ProjectVersion> {
    let mut out = Vec::new();
    let mut project_arns: Vec<String> = Vec::new();
    for arn in arns {
        match parse_arn(arn) {
            Some(Arn::Project { .. }) => project_arns.push(arn.clone()),
            Some(Arn::Version { .. }) => match runtime.block_on(locator.version_by_arn(arn)) {
                Ok(v) => out.push(v),
                Err(e) => failures.push(Failure {
                    what: arn.clone(),
                    error: e.into(),
                }),
            },
            None => failures.push(Failure {
                what: arn.clone(),
                error: anyhow::anyhow!(
                    "not a Rekognition project or project version ARN (arn:aws:rekognition:REGION:ACCOUNT:project/NAME/TIMESTAMP)"
                ),
            }),
        }
    }
    if all_projects {
        match runtime.block_on(locator.projects(&[])) {
            Ok(projects) => {
                project_arns.extend(
                    projects
                        .iter()
                        .filter_map(|p| p.project_arn().map(str::to_owned)),
                );
            }
            Err(e) => failures.push(Failure {
                what: "--all-projects".into(),
                error: e.into(),
            }),
        }
    }
    for arn in project_arns {
        match runtime.block_on(locator.project_versions(&arn, filter)) {
            Ok(v) => out.extend(v),
            Err(e) => failures.push(Failure {
                what: arn.clone(),
                error: e.into(),
            }),
        }
    }
    out
}

/// `--since`: a duration back from now (`90s`, `30m`, `24h`, `7d`, `2w`) or a UTC date
/// (`2026-11-01`) or date and time (`2026-11-01T12:00:00Z`).
pub(crate) fn parse_since(s: &str, now: SystemTime) -> Result<SystemTime, String> {
    let bad = || {
        format!(
            "`{s}` is not a duration (7d, 24h, 30m, 90s, 2w) or a date (2026-11-01, 2026-11-01T12:00:00Z)"
        )
    };
    let s = s.trim();
    if let Some(unit) = s.chars().last().filter(char::is_ascii_alphabetic)
        && s.len() > 1
        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        let n: u64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        let secs = match unit {
            's' => n,
            'm' => n * 60,
            'h' => n * 3600,
            'd' => n * 86_400,
            'w' => n * 7 * 86_400,
            _ => return Err(bad()),
        };
        return now.checked_sub(Duration::from_secs(secs)).ok_or_else(bad);
    }
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00Z"));
    let d: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let time = time.trim_end_matches('Z');
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.split('.').next().unwrap_or("0").parse())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    if !(1..=12).contains(m) || !(1..=31).contains(day) || *hh > 23 || *mm > 59 || *ss > 60 {
        return Err(bad());
    }
    let days = days_from_civil(*y, *m, *day);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let secs = u64::try_from(secs).map_err(|_| bad())?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 UTC text of a time (seconds precision).
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = i64::try_from(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())).unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_201_600); // 2025-11-27
        assert_eq!(
            parse_since("7d", now).unwrap(),
            now - Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_since("24h", now).unwrap(),
            now - Duration::from_secs(86_400)
        );
        assert_eq!(
            parse_since("30m", now).unwrap(),
            now - Duration::from_secs(1800)
        );
        assert_eq!(
            parse_since("2026-11-01", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_793_491_200)
        );
        assert_eq!(
            parse_since("2026-11-01T12:30:00Z", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_793_491_200 + 45_000)
        );
        assert!(parse_since("yesterday", now).is_err());
        assert!(parse_since("2026-13-01", now).is_err());
        assert!(parse_since("7y", now).is_err());
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_793_491_200 + 45_000)),
            "2026-11-01T12:30:00Z"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
