//! Fault injection and access rules: per-request delays, 500s and 403s, broken attach sockets,
//! pods deleted mid-attach and watch streams that end early. Tests change these at run time.
use std::path::Path;
use std::sync::Mutex;
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

/// The rules file: `[[deny]]` entries answered with 403 Forbidden.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub deny: Vec<Matcher>,
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
    /// Removes every fault and every deny, including those from the rules file.
    pub fn clear(&self) {
        *self.lock() = State::default();
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
