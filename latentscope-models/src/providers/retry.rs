//! The one retry policy of every API provider (`../shared/PROVIDERS.md` §2,
//! after the OpenAI SDK's rules): which answers are worth another try, how
//! long to wait before it, and when to stop at once.
//!
//! - Retried: 408, 409, 429 (a rate limit), 5xx, and a connection that
//!   dropped or timed out — unless `x-should-retry: false` says otherwise
//!   (`true` retries anything).
//! - Not retried: 400, 401/403, 404, and a 429 that says the quota is spent
//!   (`insufficient_quota`, or a code ending in `_spend_limit_exceeded` /
//!   `credit_balance_exhausted`): waiting will not help.
//! - The wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP
//!   date, when it is between 0 and [`RetryPolicy::max_retry_after`] (a longer
//!   one is not retried); else exponential backoff `base · 2^n`, capped, less
//!   up to a quarter of random jitter.
//!
//! Pure logic: the HTTP layer feeds it statuses, headers and bodies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to do after an answer (or a failed connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after this long.
    Retry(Duration),
    /// Stop: another try cannot succeed (or the server asked to wait too long).
    Stop(StopReason),
}

/// Why a request is not tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// 2xx: nothing to retry.
    Succeeded,
    /// The request is wrong (400, 404, 422, …): fix it, don't repeat it.
    Rejected(u16),
    /// 401 or 403: the key is missing, wrong or not allowed.
    Unauthorized(u16),
    /// A 429 saying the account's quota or credit is used up.
    QuotaExhausted,
    /// The server asked to wait longer than the policy allows.
    WaitTooLong(Duration),
    /// The tries allowed are used up.
    OutOfTries,
    /// The server said `x-should-retry: false`.
    ServerSaidNo,
}

/// How many tries, and how long between them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first try (the OpenAI SDK's default is 2; ours is
    /// higher because a batch job should outlast a rate-limit window).
    pub max_retries: u32,
    /// The first backoff.
    pub base: Duration,
    /// The longest backoff.
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a longer one stops.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// A response's headers, looked up case-insensitively by the caller.
pub trait Headers {
    /// The value of header `name` (lower case), if present.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Headers for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Whether a 429's body says the quota (not the rate) is exhausted.
pub fn is_quota_exhausted(body: &str) -> bool {
    body.contains("insufficient_quota")
        || body.contains("_spend_limit_exceeded")
        || body.contains("credit_balance_exhausted")
}

/// The wait a server asked for: `retry-after-ms`, else `retry-after` as
/// seconds or as an HTTP date (relative to `now`).
pub fn retry_after(headers: &dyn Headers, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers.get("retry-after-ms")
        && let Ok(ms) = ms.trim().parse::<f64>()
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get("retry-after")?;
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an HTTP date in its preferred form (IMF-fixdate, RFC 9110 §5.6.7):
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(text: &str) -> Option<SystemTime> {
    let mut parts = text.split_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    if !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    // Days from 1970-01-01 to the date (the civil-from-days inverse).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo as i64 + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

impl RetryPolicy {
    /// The backoff before retry number `attempt` (0 for the first retry),
    /// `jitter` in [0, 1) taking off up to a quarter.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let factor = 2f64.powi(attempt.min(30) as i32);
        let wait = (self.base.as_secs_f64() * factor).min(self.cap.as_secs_f64());
        Duration::from_secs_f64(wait * (1.0 - 0.25 * jitter.clamp(0.0, 1.0)))
    }

    /// What to do after an HTTP answer with `status`, `headers` and `body`,
    /// on retry number `attempt` (0 after the first try).
    pub fn after_response(
        &self,
        attempt: u32,
        status: u16,
        headers: &dyn Headers,
        body: &str,
        now: SystemTime,
        jitter: f64,
    ) -> Verdict {
        if (200..300).contains(&status) {
            return Verdict::Stop(StopReason::Succeeded);
        }
        if status == 429 && is_quota_exhausted(body) {
            return Verdict::Stop(StopReason::QuotaExhausted);
        }
        let should = headers
            .get("x-should-retry")
            .map(|v| v.trim().to_ascii_lowercase());
        let retryable = match should.as_deref() {
            Some("true") => true,
            Some("false") => return Verdict::Stop(StopReason::ServerSaidNo),
            _ => matches!(status, 408 | 409 | 429) || status >= 500,
        };
        if !retryable {
            return Verdict::Stop(match status {
                401 | 403 => StopReason::Unauthorized(status),
                _ => StopReason::Rejected(status),
            });
        }
        if attempt >= self.max_retries {
            return Verdict::Stop(StopReason::OutOfTries);
        }
        match retry_after(headers, now) {
            Some(wait) if wait > self.max_retry_after => {
                Verdict::Stop(StopReason::WaitTooLong(wait))
            }
            Some(wait) => Verdict::Retry(wait),
            None => Verdict::Retry(self.backoff(attempt, jitter)),
        }
    }

    /// What to do after a connection that dropped, was refused or timed out.
    pub fn after_connection_error(&self, attempt: u32, jitter: f64) -> Verdict {
        if attempt >= self.max_retries {
            Verdict::Stop(StopReason::OutOfTries)
        } else {
            Verdict::Retry(self.backoff(attempt, jitter))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &'static [(&'static str, &'static str)]) -> impl Headers {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn at(text: &str) -> SystemTime {
        http_date(text).unwrap()
    }

    #[test]
    fn http_dates_parse_to_the_right_second() {
        // `date -u -d 'Sun, 06 Nov 1994 08:49:37 GMT' +%s` = 784111777
        assert_eq!(
            at("Sun, 06 Nov 1994 08:49:37 GMT"),
            UNIX_EPOCH + Duration::from_secs(784_111_777)
        );
        // A leap day: 2024-02-29T23:59:59Z = 1709251199.
        assert_eq!(
            at("Thu, 29 Feb 2024 23:59:59 GMT"),
            UNIX_EPOCH + Duration::from_secs(1_709_251_199)
        );
        for bad in [
            "",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_reads_milliseconds_then_seconds_then_a_date() {
        let now = at("Sun, 06 Nov 1994 08:49:37 GMT");
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(1500)));
        let h = headers(&[("retry-after", " 2 ")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        let h = headers(&[("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        let h = headers(&[("retry-after", "Sun, 06 Nov 1994 08:40:00 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO), "a date past");
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-3")]), now), None);
        assert_eq!(retry_after(&headers(&[]), now), None);
    }

    #[test]
    fn each_kind_of_answer_gets_its_verdict() {
        let p = RetryPolicy::default();
        let now = SystemTime::now();
        let none = headers(&[]);
        let v = |status: u16, h: &dyn Headers, body: &str| {
            p.after_response(0, status, h, body, now, 0.0)
        };
        assert_eq!(v(200, &none, ""), Verdict::Stop(StopReason::Succeeded));
        assert_eq!(v(400, &none, ""), Verdict::Stop(StopReason::Rejected(400)));
        assert_eq!(v(404, &none, ""), Verdict::Stop(StopReason::Rejected(404)));
        assert_eq!(
            v(401, &none, ""),
            Verdict::Stop(StopReason::Unauthorized(401))
        );
        assert_eq!(
            v(403, &none, ""),
            Verdict::Stop(StopReason::Unauthorized(403))
        );
        let quota = r#"{"error":{"type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(
            v(429, &none, quota),
            Verdict::Stop(StopReason::QuotaExhausted)
        );
        for status in [408, 409, 429, 500, 502, 503] {
            assert_eq!(v(status, &none, ""), Verdict::Retry(p.base), "{status}");
        }
        let h = headers(&[("retry-after", "3")]);
        assert_eq!(v(429, &h, ""), Verdict::Retry(Duration::from_secs(3)));
        let h = headers(&[("retry-after", "600")]);
        assert_eq!(
            v(429, &h, ""),
            Verdict::Stop(StopReason::WaitTooLong(Duration::from_secs(600)))
        );
        let h = headers(&[("x-should-retry", "false")]);
        assert_eq!(v(503, &h, ""), Verdict::Stop(StopReason::ServerSaidNo));
        let h = headers(&[("x-should-retry", "true")]);
        assert_eq!(v(400, &h, ""), Verdict::Retry(p.base));
        assert_eq!(
            p.after_response(p.max_retries, 503, &none, "", now, 0.0),
            Verdict::Stop(StopReason::OutOfTries)
        );
        assert_eq!(p.after_connection_error(0, 0.0), Verdict::Retry(p.base));
        assert_eq!(
            p.after_connection_error(p.max_retries, 0.0),
            Verdict::Stop(StopReason::OutOfTries)
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap_less_up_to_a_quarter() {
        let p = RetryPolicy::default();
        let waits: Vec<f64> = (0..6).map(|n| p.backoff(n, 0.0).as_secs_f64()).collect();
        assert_eq!(waits, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]);
        assert_eq!(p.backoff(2, 1.0), Duration::from_millis(1500));
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(1750));
        assert_eq!(p.backoff(u32::MAX, 0.0), p.cap);
    }
}
