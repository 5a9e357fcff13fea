//! Times as RFC 3339 text, without a date-time dependency.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
pub fn rfc3339(t: SystemTime) -> String {
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

/// Whether `y` is a leap year of the proleptic Gregorian calendar.
fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The number of days of month `m` (1-12) of year `y`.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The earliest year `--since` accepts as a date.
const MIN_YEAR: i64 = 1970;
/// The latest year `--since` accepts as a date (four digits).
const MAX_YEAR: i64 = 9999;

/// `--since`: a duration back from now (`90s`, `30m`, `24h`, `7d`, `2w`) or a UTC date
/// (`2026-11-01`) or date and time (`2026-11-01T12:00:00Z`).
///
/// Errors (the text says what is wrong and what is accepted) on anything else: an unknown
/// unit, a duration that overflows or reaches back before 1970-01-01, a date that is not on
/// the calendar (`2026-02-31`, `2026-02-29`; leap years are honoured), a year outside
/// 1970-9999, an hour over 23, a minute over 59 or a second over 60.
pub fn parse_since(s: &str, now: SystemTime) -> Result<SystemTime, String> {
    let bad = |why: &str| {
        format!(
            "`{s}` {why}: write a duration (7d, 24h, 30m, 90s, 2w) or a UTC date (2026-11-01, 2026-11-01T12:00:00Z)"
        )
    };
    let s = s.trim();
    if let Some(unit) = s.chars().last().filter(char::is_ascii_alphabetic)
        && s.len() > 1
        && s[..s.len() - 1].bytes().all(|b| b.is_ascii_digit())
    {
        let too_long = || bad("reaches back before 1970-01-01");
        let n: u64 = s[..s.len() - 1].parse().map_err(|_| too_long())?;
        let unit_secs: u64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad("has an unknown unit")),
        };
        let secs = n.checked_mul(unit_secs).ok_or_else(too_long)?;
        return now
            .checked_sub(Duration::from_secs(secs))
            .filter(|t| *t >= UNIX_EPOCH)
            .ok_or_else(too_long);
    }
    let not_a_date = || bad("is not a duration or a date");
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00Z"));
    let number = |p: &str| -> Result<i64, String> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_date());
        }
        p.parse().map_err(|_| not_a_date())
    };
    let d: Vec<i64> = date.split('-').map(number).collect::<Result<_, _>>()?;
    let time = time.strip_suffix('Z').unwrap_or(time);
    let t: Vec<i64> = time
        .split(':')
        .enumerate()
        .map(|(i, p)| {
            // Fractions of the second are ignored.
            let p = if i == 2 {
                p.split_once('.').map_or(p, |(whole, _)| whole)
            } else {
                p
            };
            number(p)
        })
        .collect::<Result<_, _>>()?;
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return Err(not_a_date());
    };
    let (y, m, day) = (*y, *m, *day);
    if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
        return Err(bad(&format!("has a year outside {MIN_YEAR}-{MAX_YEAR}")));
    }
    if !(1..=12).contains(&m) {
        return Err(bad("has no month 1-12"));
    }
    if !(1..=days_in_month(y, m)).contains(&day) {
        return Err(bad(&format!(
            "is not a day of the calendar ({y:04}-{m:02} has {} days)",
            days_in_month(y, m)
        )));
    }
    if *hh > 23 || *mm > 59 || *ss > 60 {
        return Err(bad("is not a time of day (00:00:00 to 23:59:60)"));
    }
    let days = days_from_civil(y, m, day);
    // In range: the year is at most 9999.
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let secs = u64::try_from(secs).map_err(|_| not_a_date())?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
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
    fn since_refuses_durations_that_overflow_or_reach_before_1970() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_201_600);
        // 213503982334721 days are 2^64 seconds and a bit: the multiplication overflows.
        let e = parse_since("213503982334721d", now).unwrap_err();
        assert!(e.contains("before 1970"), "{e}");
        assert!(parse_since("99999999999999999999999s", now).is_err());
        assert!(parse_since("30500000000000w", now).is_err());
        assert!(parse_since("20420d", now).is_err());
        assert_eq!(
            parse_since("20419d", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_764_201_600 - 20_419 * 86_400)
        );
    }

    #[test]
    fn since_refuses_dates_not_on_the_calendar() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_201_600);
        for bad in [
            "2026-02-31",
            "2026-02-29",
            "2100-02-29",
            "2026-04-31",
            "2026-00-10",
            "2026-01-00",
            "2026-01-32",
            "1969-12-31",
            "2026-11-01T24:00:00Z",
            "2026-11-01T12:60:00Z",
            "+2026-11-01",
            "2026-+1-01",
            "20260-11-01",
            "2026-11",
            "2026-11-01T12:00Z",
        ] {
            let e = parse_since(bad, now).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert!(
            parse_since("2026-02-31", now)
                .unwrap_err()
                .contains("28 days")
        );
        // Leap days exist in leap years.
        assert_eq!(
            parse_since("2024-02-29", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_709_164_800)
        );
        assert!(parse_since("2000-02-29", now).is_ok());
        assert_eq!(
            parse_since("2026-11-01T12:30:00.250Z", now).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_793_491_200 + 45_000)
        );
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_793_491_200 + 45_000)),
            "2026-11-01T12:30:00Z"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(days_from_civil(2026, 11, 1), 20_758);
    }
}
