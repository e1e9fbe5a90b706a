//! One grammar for every duration flag (`--timeout`, `--connect-timeout`, `--pod-ready-timeout`,
//! `gc --older-than`, `scan --cache-ttl`): a number of seconds (`30`, `0.5`) or a duration with
//! units (`90s`, `30m`, `1h30m`, `1.5h`, `2d`, `1w`, ISO 8601 `PT1H30M`), a day being 24 hours.
//! Months and years are refused (their length depends on a date), as are negative durations and
//! anything above a year.
use std::time::Duration;

/// The longest duration a flag takes.
const MAX: Duration = Duration::from_secs(365 * 86_400);

/// A duration above zero: a timeout.
pub fn positive(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        Duration::ZERO => Err(format!("`{text}` must be above zero")),
        duration => Ok(duration),
    }
}

/// A duration of zero or more: an age or a time to live.
pub fn non_negative(text: &str) -> Result<Duration, String> {
    parse(text)
}

fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let duration = match trimmed.parse::<f64>() {
        // `inf`, `NaN` and `1e400` parse as floats but are no number of seconds.
        Ok(secs) if !secs.is_finite() => return Err(not_a_duration(text)),
        Ok(secs) if secs < 0.0 => return Err(format!("`{text}` is negative")),
        Ok(secs) if secs > MAX.as_secs_f64() => return Err(too_long(text)),
        Ok(secs) => Duration::from_secs_f64(secs),
        Err(_) => with_units(trimmed).ok_or_else(|| not_a_duration(text))??,
    };
    match duration > MAX {
        true => Err(too_long(text)),
        false => Ok(duration),
    }
}

/// `None` when `text` is no duration with units; an error when it is one out of range.
fn with_units(text: &str) -> Option<Result<Duration, String>> {
    let span: jiff::Span = text.parse().ok()?;
    let relative = jiff::SpanRelativeTo::days_are_24_hours();
    let signed = span.to_duration(relative).ok()?;
    Some(Duration::try_from(signed).map_err(|_| format!("`{text}` is negative")))
}

fn not_a_duration(text: &str) -> String {
    format!("`{text}` is not a duration (seconds, or e.g. 90s, 30m, 1h30m, 2d)")
}

fn too_long(text: &str) -> String {
    format!("`{text}` is longer than a year")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_units_read_alike() {
        let cases = [
            ("30", 30.0),
            ("0.5", 0.5),
            (" 15 ", 15.0),
            ("90s", 90.0),
            ("30m", 1800.0),
            ("1h30m", 5400.0),
            ("1.5h", 5400.0),
            ("2d", 172_800.0),
            ("1w", 604_800.0),
            ("PT1H30M", 5400.0),
            ("1 hour 30 minutes", 5400.0),
            ("365d", 31_536_000.0),
        ];
        for (text, secs) in cases {
            assert_eq!(
                non_negative(text),
                Ok(Duration::from_secs_f64(secs)),
                "{text}"
            );
            assert_eq!(positive(text), Ok(Duration::from_secs_f64(secs)), "{text}");
        }
    }

    #[test]
    fn zero_is_an_age_but_no_timeout() {
        for text in ["0", "0s", "0m", "PT0S"] {
            assert_eq!(non_negative(text), Ok(Duration::ZERO), "{text}");
            assert!(positive(text).unwrap_err().contains("above zero"), "{text}");
        }
    }

    #[test]
    fn what_is_no_duration_is_refused_by_name() {
        for text in [
            "", "soon", "1x", "inf", "NaN", "1e400", "1mo", "1y", "1h 1h", "--5",
        ] {
            let err = non_negative(text).unwrap_err();
            assert!(err.contains("is not a duration"), "{text}: {err}");
        }
        for text in ["-1", "-5m", "-PT1S"] {
            assert!(
                non_negative(text).unwrap_err().contains("negative"),
                "{text}"
            );
        }
        for text in ["366d", "31536001", "53w", "100000h"] {
            let err = non_negative(text).unwrap_err();
            assert!(err.contains("longer than a year"), "{text}: {err}");
        }
    }
}
