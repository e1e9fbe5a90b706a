//! Fault injection and access rules: per-request delays, 500s and 403s, broken attach sockets,
//! pods deleted mid-attach, watch streams that end early, and an API server outage (its port
//! closed and every open connection cut, while the pods run on). Tests change these at run
//! time; the rules file sets them at start.
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Notify;

use crate::error::SimError;

/// Which requests a rule applies to; `None` or `"*"` matches anything.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// get, list, watch, create, update, patch, delete (a websocket upgrade for attach or
    /// port-forward is `get`, and must be allowed `create` as well, as from Kubernetes 1.35).
    pub verb: Option<String>,
    /// `pods`, `services`, `namespaces`, or a subresource such as `pods/attach`, `pods/log`.
    pub resource: Option<String>,
    pub namespace: Option<String>,
}

fn field_matches(want: &Option<String>, got: &str) -> bool {
    want.as_deref().is_none_or(|w| w == "*" || w == got)
}

impl Matcher {
    pub fn new(verb: &str, resource: &str) -> Self {
        Matcher {
            verb: Some(verb.into()),
            resource: Some(resource.into()),
            namespace: None,
        }
    }
    pub fn matches(&self, req: &RequestInfo) -> bool {
        field_matches(&self.verb, &req.verb)
            && field_matches(&self.resource, &req.resource)
            && field_matches(&self.namespace, &req.namespace)
    }
}

/// What a request is, for authorization and faults.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub verb: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

/// The rules file: `[[deny]]` entries answered with 403 Forbidden, and the faults a run
/// starts with: `[[fail]]` (500s, `times` of them or all), `[[delay]]` (`ms` before each
/// matching request is handled) and `[[outage]]` (the API goes down `after_ms` after the first
/// matching request).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub deny: Vec<Matcher>,
    #[serde(default)]
    pub fail: Vec<FailRule>,
    #[serde(default)]
    pub delay: Vec<DelayRule>,
    #[serde(default)]
    pub outage: Vec<OutageRule>,
}

impl Rules {
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| SimError::Parse {
            what: "rules",
            path: path.display().to_string(),
            message: e.message().to_owned(),
        })
    }
}

/// `[[fail]]`: 500 InternalError for matching requests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailRule {
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    /// How many requests fail; all of them when absent.
    pub times: Option<u32>,
}

/// `[[delay]]`: matching requests wait `ms` before they are handled.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayRule {
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub ms: u64,
}

/// `[[outage]]`: the API goes down `after_ms` after the first matching request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageRule {
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub after_ms: u64,
}

fn matcher(
    verb: &Option<String>,
    resource: &Option<String>,
    namespace: &Option<String>,
) -> Matcher {
    Matcher {
        verb: verb.clone(),
        resource: resource.clone(),
        namespace: namespace.clone(),
    }
}

#[derive(Debug, Clone)]
enum Action {
    Delay(Duration),
    /// Answer 500 for the next `remaining` matching requests (`None`: always).
    Fail {
        remaining: Option<u32>,
    },
    /// Answer 429 with `retryAfterSeconds` for the next `remaining` matching requests.
    Throttle {
        remaining: u32,
        retry_after: u32,
    },
    /// Take the API down this long after the first matching request (once).
    Outage {
        after: Duration,
        armed: bool,
    },
}

#[derive(Default)]
struct State {
    rules: Vec<(Matcher, Action)>,
    deny: Vec<Matcher>,
    attach_drop_after_bytes: Option<usize>,
    attach_v4_only: bool,
    delete_pod_during_attach_after: Option<Duration>,
    watch_end_after_events: Option<usize>,
}

/// The fault switchboard shared by the server and the test.
#[derive(Default)]
pub struct Faults {
    state: Mutex<State>,
    close_watches: Notify,
    /// True while the API is down (see [`Faults::api_down`]).
    outage: Arc<tokio::sync::watch::Sender<bool>>,
}

/// What the server must do before handling a request.
pub enum Decision {
    Proceed,
    Forbidden,
    Fail,
    /// 429 with this many seconds to wait.
    Throttle(u32),
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn with_rules(rules: Rules) -> Self {
        let f = Faults::default();
        f.lock().deny = rules.deny;
        for r in rules.fail {
            f.fail(matcher(&r.verb, &r.resource, &r.namespace), r.times);
        }
        for r in rules.delay {
            let m = matcher(&r.verb, &r.resource, &r.namespace);
            f.delay(m, Duration::from_millis(r.ms));
        }
        for r in rules.outage {
            let m = matcher(&r.verb, &r.resource, &r.namespace);
            f.api_down_after(m, Duration::from_millis(r.after_ms));
        }
        f
    }

    /// Delays every matching request by `delay` (before it is handled).
    pub fn delay(&self, m: Matcher, delay: Duration) {
        self.lock().rules.push((m, Action::Delay(delay)));
    }
    /// Answers 500 InternalError to the next `times` matching requests (`None`: all of them).
    pub fn fail(&self, m: Matcher, times: Option<u32>) {
        self.lock()
            .rules
            .push((m, Action::Fail { remaining: times }));
    }
    /// Answers 429 TooManyRequests (with `details.retryAfterSeconds`) to the next `times`
    /// matching requests, as API priority and fairness does under load.
    pub fn throttle(&self, m: Matcher, times: u32, retry_after_secs: u32) {
        self.lock().rules.push((
            m,
            Action::Throttle {
                remaining: times,
                retry_after: retry_after_secs,
            },
        ));
    }
    /// Attach offers only `v4.channel.k8s.io`, like API servers before 1.30.
    pub fn attach_v4_only(&self, on: bool) {
        self.lock().attach_v4_only = on;
    }
    pub(crate) fn is_attach_v4_only(&self) -> bool {
        self.lock().attach_v4_only
    }
    /// Answers 403 Forbidden to every matching request, like a denying RBAC rule.
    pub fn deny(&self, m: Matcher) {
        self.lock().deny.push(m);
    }
    /// Attach connections are cut (no close frame) after sending this many output bytes.
    pub fn drop_attach_after_bytes(&self, n: Option<usize>) {
        self.lock().attach_drop_after_bytes = n;
    }
    /// The attached pod is deleted this long after an attach starts.
    pub fn delete_pod_during_attach(&self, after: Option<Duration>) {
        self.lock().delete_pod_during_attach_after = after;
    }
    /// Watch streams end (cleanly, like an API server timeout) after this many events.
    pub fn end_watches_after_events(&self, n: Option<usize>) {
        self.lock().watch_end_after_events = n;
    }
    /// Ends every open watch stream now.
    pub fn close_all_watches(&self) {
        self.close_watches.notify_waiters();
    }
    /// The API server goes down now, as a crashed or unreachable one: nothing listens on its
    /// port and every open connection (requests, watches, attach and port-forward streams) is
    /// cut without a close. Pods keep running; [`Faults::api_up`] brings it back on the same
    /// port with the same objects.
    pub fn api_down(&self) {
        self.outage.send_replace(true);
    }
    /// The API server listens again (after [`Faults::api_down`]).
    pub fn api_up(&self) {
        self.outage.send_replace(false);
    }
    /// The API goes down `after` the first request that `m` matches (e.g. the attach that
    /// starts a session) has arrived.
    pub fn api_down_after(&self, m: Matcher, after: Duration) {
        self.lock()
            .rules
            .push((m, Action::Outage { after, armed: true }));
    }
    /// Whether the API is down now.
    pub fn is_api_down(&self) -> bool {
        *self.outage.borrow()
    }
    /// Removes every fault and every deny, including those from the rules file (and ends an
    /// outage).
    pub fn clear(&self) {
        *self.lock() = State::default();
        self.api_up();
    }

    /// Follows the outage switch (true: down).
    pub(crate) fn outage(&self) -> tokio::sync::watch::Receiver<bool> {
        self.outage.subscribe()
    }

    pub(crate) fn watch_closed(&self) -> tokio::sync::futures::Notified<'_> {
        self.close_watches.notified()
    }
    pub(crate) fn watch_event_limit(&self) -> Option<usize> {
        self.lock().watch_end_after_events
    }
    pub(crate) fn attach_byte_limit(&self) -> Option<usize> {
        self.lock().attach_drop_after_bytes
    }
    pub(crate) fn attach_delete_after(&self) -> Option<Duration> {
        self.lock().delete_pod_during_attach_after
    }

    /// Whether a deny rule refuses `req` (no delay or failure is applied or used up).
    pub(crate) fn denies(&self, req: &RequestInfo) -> bool {
        self.lock().deny.iter().any(|m| m.matches(req))
    }

    /// Applies delays, then decides whether the request is denied or failed.
    pub(crate) async fn check(&self, req: &RequestInfo) -> Decision {
        let (delay, decision) = {
            let mut st = self.lock();
            let mut delay = Duration::ZERO;
            let mut decision = Decision::Proceed;
            if st.deny.iter().any(|m| m.matches(req)) {
                decision = Decision::Forbidden;
            }
            for (m, action) in st.rules.iter_mut() {
                if !m.matches(req) {
                    continue;
                }
                match action {
                    Action::Delay(d) => delay += *d,
                    Action::Throttle {
                        remaining,
                        retry_after,
                    } => {
                        if matches!(decision, Decision::Proceed) && *remaining > 0 {
                            decision = Decision::Throttle(*retry_after);
                            *remaining -= 1;
                        }
                    }
                    Action::Outage { after, armed } => {
                        if std::mem::take(armed) {
                            let (outage, after) = (self.outage.clone(), *after);
                            tokio::spawn(async move {
                                tokio::time::sleep(after).await;
                                outage.send_replace(true);
                            });
                        }
                    }
                    Action::Fail { remaining } => {
                        if matches!(decision, Decision::Proceed) && remaining.is_none_or(|n| n > 0)
                        {
                            decision = Decision::Fail;
                            if let Some(n) = remaining {
                                *n -= 1;
                            }
                        }
                    }
                }
            }
            (delay, decision)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        decision
    }
}

/// Waits until the outage switch reads `down` (or its sender is gone).
pub(crate) async fn until(outage: &mut tokio::sync::watch::Receiver<bool>, down: bool) {
    let _ = outage.wait_for(|now| *now == down).await;
}
