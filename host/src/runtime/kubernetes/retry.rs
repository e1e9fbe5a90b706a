//! Which API failures are worth another try, and how long to wait: connection errors, 5xx and
//! 429 (after the server's `retryAfterSeconds` when it gives one), with exponential backoff
//! and jitter. Never 403, 404, 409 or 422: they would answer the same again.

use std::future::Future;
use std::time::Duration;

const FIRST_WAIT: Duration = Duration::from_millis(200);
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// True for failures another identical request may not meet.
pub fn is_retryable(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        // A certificate or a plain-HTTP server answers the same on every try.
        kube::Error::HyperError(_) | kube::Error::Service(_) => !super::error::is_tls_failure(err),
        _ => false,
    }
}

/// How long to wait before try number `attempt` (1-based) after `err`.
pub fn backoff(attempt: u32, err: &kube::Error) -> Duration {
    if let kube::Error::Api(status) = err {
        let hinted = status.details.as_ref().map_or(0, |d| d.retry_after_seconds);
        if status.code == 429 && hinted > 0 {
            return Duration::from_secs(u64::from(hinted)).min(LONGEST_WAIT * 2);
        }
    }
    let base = FIRST_WAIT.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let base = base.min(LONGEST_WAIT);
    // Full jitter in [base/2, base]: probes started together do not retry together.
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    base / 2 + base.mul_f64(f64::from(byte[0]) / 255.0 / 2.0)
}

/// Runs `op` until it succeeds, fails for good, or `retries` more tries are used up.
pub async fn with_retries<T, F, Fut>(retries: u32, what: &str, mut op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(err) if attempt < retries && is_retryable(&err) => {
                attempt += 1;
                let wait = backoff(attempt, &err);
                tracing::debug!("{what} failed ({err}); try {attempt} of {retries} in {wait:?}");
                tokio::time::sleep(wait).await;
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status {
            code,
            ..Status::default()
        }))
    }

    #[test]
    fn only_transient_failures_are_retried() {
        for code in [500, 502, 503, 504, 429] {
            assert!(is_retryable(&api(code)), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert!(!is_retryable(&api(code)), "{code}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let err = api(500);
        for attempt in 1..12 {
            let base = FIRST_WAIT
                .saturating_mul(1 << (attempt - 1).min(10))
                .min(LONGEST_WAIT);
            let wait = backoff(attempt, &err);
            assert!(wait >= base / 2 && wait <= base, "{attempt}: {wait:?}");
        }
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit_and_at_a_final_error() {
        let mut calls = 0;
        let result: Result<(), _> = with_retries(2, "t", || {
            calls += 1;
            async { Err(api(503)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 3);
        let mut calls = 0;
        let _ = with_retries(5, "t", || {
            calls += 1;
            async { Err::<(), _>(api(403)) }
        })
        .await;
        assert_eq!(calls, 1);
    }
}
