//! How a session opens: which era the server speaks, then `initialize` (legacy) or
//! `server/discover` (modern), by revision 2026-07-28's backward-compatibility rules
//! (basic/transports/stdio.mdx and streamable-http.mdx): `server/discover` first; a
//! DiscoverResult or a modern error means modern (on `-32022`, retry with a version the server
//! lists); any other error, or no reply in time, means legacy. Never keyed to one error code.
//!
//! "In time" stays short without misjudging slow servers: after the probe grace, `initialize`
//! follows `server/discover` on the same stream and the first meaningful answer decides. A
//! silent legacy server costs only the grace; a slow-starting one (npx fetching a package)
//! reads both requests in order, so its answers decide, not their timing; a server that fixes
//! its era at its first request (the Python SDK) sees `server/discover` first.

use super::capabilities::{MODERN_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS};
use super::era::{self, Era, ProtocolEra, Versions, UNSUPPORTED_PROTOCOL_VERSION};
use super::jsonrpc::{self, RpcError};
use super::session::{result_value, ServerHello, Session, SessionError};
use crate::transport::{TransportError, TransportKind};
use serde_json::{json, Value};
use tokio::time::Instant;

const DISCOVER: &str = "server/discover";
/// How long the answer to an `initialize` that followed an answered probe is waited for.
const FOLLOWER_ANSWER_BOUND: std::time::Duration = std::time::Duration::from_secs(2);
const INITIALIZE: &str = "initialize";

/// Where the `initialize` that follows an unanswered probe stands.
#[derive(Clone, Copy, PartialEq)]
enum Follower {
    NotSent,
    Pending(u64),
    /// Refused with a modern error: the server fixed its era on the probe; wait for that.
    Refused,
}

impl Session {
    /// Opens the session in the era `--protocol-era` asks for, deciding it when `auto`.
    pub async fn open(&mut self) -> Result<ServerHello, SessionError> {
        let versions = self.options.versions.clone();
        match self.options.era {
            ProtocolEra::Legacy => {
                self.initialize(&versions.legacy, "--protocol-era legacy".into())
                    .await
            }
            // The deprecated HTTP+SSE transport predates the modern era.
            _ if self.transport.kind() == TransportKind::Sse => {
                let by = "the legacy HTTP+SSE transport has no modern era".to_owned();
                self.initialize(&versions.legacy, by).await
            }
            ProtocolEra::Modern => {
                self.discover_modern(&versions.modern, "--protocol-era modern".into())
                    .await
            }
            ProtocolEra::Auto => self.probe(&versions).await,
        }
    }

    /// `initialize`, its checks, then `notifications/initialized`.
    async fn initialize(&mut self, version: &str, by: String) -> Result<ServerHello, SessionError> {
        self.modern_meta = None;
        let result = self
            .request_value(INITIALIZE, Some(self.initialize_params(version)))
            .await?;
        self.accept_initialize(result, by).await
    }

    fn initialize_params(&self, version: &str) -> Value {
        json!({
            "protocolVersion": version,
            "capabilities": self.options.capabilities.to_json(),
            "clientInfo": {"name": "mcp-probe", "version": env!("CARGO_PKG_VERSION")},
        })
    }

    async fn accept_initialize(
        &mut self,
        result: Value,
        era_decided_by: String,
    ) -> Result<ServerHello, SessionError> {
        let invalid = |detail: &str| SessionError::InvalidReply {
            method: INITIALIZE.into(),
            detail: detail.into(),
        };
        if !result.is_object() {
            return Err(invalid("the reply's result is not an object"));
        }
        let protocol_version = match result.get("protocolVersion") {
            Some(Value::String(v)) => v.clone(),
            _ => return Err(invalid("the reply has no protocolVersion")),
        };
        if !SUPPORTED_PROTOCOL_VERSIONS.contains(&protocol_version.as_str()) {
            return Err(SessionError::UnsupportedVersion {
                got: protocol_version,
            });
        }
        self.modern_meta = None;
        self.transport.set_protocol_version(&protocol_version);
        let hello = ServerHello {
            era: Era::Legacy,
            dual_era: false,
            era_decided_by,
            protocol_version,
            server_info: result.get("serverInfo").filter(|v| !v.is_null()).cloned(),
            capabilities: capabilities_of(&result),
            instructions: instructions_of(&result),
        };
        self.hello = Some(hello.clone());
        let initialized = jsonrpc::notification("notifications/initialized");
        self.send("notifications/initialized", initialized).await?;
        Ok(hello)
    }

    /// `server/discover` in the modern era; one retry after `-32022` with a version the
    /// server lists.
    async fn discover_modern(
        &mut self,
        version: &str,
        by: String,
    ) -> Result<ServerHello, SessionError> {
        self.speak_modern(version);
        match self.request_value(DISCOVER, None).await {
            Ok(result) => self.accept_discover(result, version, by),
            Err(SessionError::Rpc { error, .. }) if error.code == UNSUPPORTED_PROTOCOL_VERSION => {
                match era::mutual_version(error.data.as_ref().and_then(|d| d.get("supported"))) {
                    Some((Era::Modern, retry)) if retry != version => {
                        self.speak_modern(&retry);
                        let by = format!("{by}; -32022 to {version}, retried with {retry}");
                        let result = self.request_value(DISCOVER, None).await?;
                        self.accept_discover(result, &retry, by)
                    }
                    Some((Era::Legacy, retry)) if self.options.era == ProtocolEra::Auto => {
                        let by = format!("{by}; -32022: the server lists only {retry} of ours");
                        self.initialize(&retry, by).await
                    }
                    _ => Err(no_mutual_version(&error, version)),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// `--protocol-era auto`: `server/discover`, then `initialize` after the grace or after a
    /// legacy answer, and the first meaningful answer decides.
    async fn probe(&mut self, versions: &Versions) -> Result<ServerHello, SessionError> {
        let started = Instant::now();
        let stdio = self.transport.kind() == TransportKind::Stdio;
        let grace = self.options.probe_grace;
        let overall = started + self.options.request_timeout;
        self.speak_modern(&versions.modern);
        // Set when the probe got a legacy answer: why the era is legacy.
        let mut legacy_because: Option<String> = None;
        let discover = match self.send_request(DISCOVER, None).await {
            Ok(id) => Some(id),
            Err(SessionError::Transport {
                source: TransportError::BadRequest(why),
                ..
            }) => {
                legacy_because = Some(format!("server/discover answered {why}"));
                None
            }
            Err(err) => return Err(exited_on_probe(err, stdio)),
        };
        self.modern_meta = None;
        let mut starting = Starting::new(self.activity.clone(), started, grace);
        let mut waiting_for_discover = discover.is_some();
        let mut follower = Follower::NotSent;
        if discover.is_none() {
            follower = self.follow_with_initialize(versions).await?;
        }
        loop {
            let mut ids = Vec::new();
            if let Some(id) = discover.filter(|_| waiting_for_discover) {
                ids.push(id);
            }
            if let Follower::Pending(id) = follower {
                ids.push(id);
            }
            let (label, deadline) = match follower {
                Follower::NotSent => (DISCOVER, starting.until.min(overall)),
                _ => (INITIALIZE, overall),
            };
            let reply = match self.await_first(&ids, label, deadline).await {
                // Both replies are small: read whole.
                Ok((id, reply)) => {
                    let answered = if Some(id) == discover {
                        DISCOVER
                    } else {
                        INITIALIZE
                    };
                    (id, reply.and_then(|raw| result_value(answered, &raw)))
                }
                Err(super::session::ReplyError::Timeout) if follower == Follower::NotSent => {
                    if !starting.still_busy(overall) {
                        follower = self.follow_with_initialize(versions).await?;
                    }
                    continue;
                }
                Err(err) => {
                    let after = self.options.request_timeout;
                    let err = err.in_context(label, after, self.dropped_lines());
                    return Err(exited_on_probe(err, stdio));
                }
            };
            match reply {
                // A legacy server that answers every method (the conformance suite's does):
                // a result that is no DiscoverResult is a legacy answer.
                (id, Ok(result)) if Some(id) == discover && !is_discover_result(&result) => {
                    legacy_because = Some(
                        "server/discover answered with a result that is no DiscoverResult \
                         (no supportedVersions)"
                            .to_owned(),
                    );
                    waiting_for_discover = false;
                    if follower == Follower::NotSent {
                        follower = self.follow_with_initialize(versions).await?;
                    }
                    if follower == Follower::Refused {
                        return self.accept_discover(result, &versions.modern, String::new());
                    }
                }
                (id, Ok(result)) if Some(id) == discover => {
                    let took = started.elapsed().as_millis();
                    let by = match follower {
                        Follower::NotSent => "server/discover answered".to_owned(),
                        Follower::Pending(initialize) if stdio => {
                            // What the server made of the `initialize` that followed decides
                            // whether this connection can go on in the modern era.
                            // On stdio its answer comes right after the probe's; a server
                            // that ignores it must not cost a whole request timeout.
                            let bound = overall.min(Instant::now() + FOLLOWER_ANSWER_BOUND);
                            if let Some(accepted) =
                                self.accepted_initialize(initialize, bound).await?
                            {
                                // A dual-era server that fixes its era at the first request
                                // after the probe (the TypeScript SDK v2): the initialize put
                                // this connection in the legacy era, which it goes on in (no
                                // second start).
                                let by = format!(
                                    "server/discover answered after {took} ms, and so did the initialize that followed it after {} ms: the server speaks both eras, and this connection is in the legacy era since that initialize",
                                    grace.as_millis()
                                );
                                let mut hello = self.accept_initialize(accepted, by).await?;
                                hello.dual_era = true;
                                self.hello = Some(hello.clone());
                                return Ok(hello);
                            }
                            format!("server/discover answered after {took} ms (the initialize that followed it was not accepted)")
                        }
                        _ => format!(
                            "server/discover answered after {took} ms (initialize had followed it)"
                        ),
                    };
                    self.speak_modern(&versions.modern);
                    return self.accept_discover(result, &versions.modern, by);
                }
                (id, Err(SessionError::Rpc { error, .. })) if Some(id) == discover => {
                    if error.code == UNSUPPORTED_PROTOCOL_VERSION {
                        let by = "server/discover answered -32022".to_owned();
                        let supported = error.data.as_ref().and_then(|d| d.get("supported"));
                        return match era::mutual_version(supported) {
                            Some((Era::Modern, retry)) => self.discover_modern(&retry, by).await,
                            Some((Era::Legacy, retry)) => self.initialize(&retry, by).await,
                            None => Err(no_mutual_version(&error, &versions.modern)),
                        };
                    }
                    if era::is_modern_error(error.code) {
                        return Err(SessionError::Rpc {
                            method: DISCOVER.into(),
                            error,
                        });
                    }
                    legacy_because = Some(format!("server/discover answered {error}"));
                    waiting_for_discover = false;
                    if follower == Follower::NotSent {
                        follower = self.follow_with_initialize(versions).await?;
                    }
                    if follower == Follower::Refused {
                        return Err(SessionError::Rpc {
                            method: DISCOVER.into(),
                            error,
                        });
                    }
                }
                (_, Err(err)) if waiting_for_discover && refused_as_modern(&err) => {
                    // The server took the probe as modern and refuses `initialize`: its
                    // answer to the probe is on its way.
                    follower = Follower::Refused;
                }
                (_, Ok(result)) => {
                    let by = legacy_because.unwrap_or_else(|| {
                        format!(
                            "no reply to server/discover within {} ms; initialize answered",
                            grace.as_millis()
                        )
                    });
                    return self.accept_initialize(result, by).await;
                }
                (_, Err(err)) => return Err(exited_on_probe(err, stdio)),
            }
        }
    }

    /// Waits for the reply to the `initialize` that followed the probe (on stdio it comes
    /// right after the probe's): its result when the server accepted it.
    async fn accepted_initialize(
        &mut self,
        initialize: u64,
        deadline: Instant,
    ) -> Result<Option<Value>, SessionError> {
        match self.await_first(&[initialize], INITIALIZE, deadline).await {
            Ok((_, reply)) => Ok(reply
                .and_then(|raw| result_value(INITIALIZE, &raw))
                .ok()
                .filter(Value::is_object)),
            // Never answered: nothing was fixed by it.
            Err(super::session::ReplyError::Timeout) => Ok(None),
            Err(super::session::ReplyError::Session(err)) => Err(err),
        }
    }

    async fn follow_with_initialize(
        &mut self,
        versions: &Versions,
    ) -> Result<Follower, SessionError> {
        let stdio = self.transport.kind() == TransportKind::Stdio;
        self.modern_meta = None;
        let params = self.initialize_params(&versions.legacy);
        match self.send_request(INITIALIZE, Some(params)).await {
            Ok(id) => Ok(Follower::Pending(id)),
            Err(err) => Err(exited_on_probe(err, stdio)),
        }
    }

    fn speak_modern(&mut self, version: &str) {
        let meta = era::request_meta(version, &self.options.capabilities);
        self.modern_meta = Some(meta);
    }

    /// A DiscoverResult: the server's identity and capabilities, and a version both speak.
    fn accept_discover(
        &mut self,
        result: Value,
        requested: &str,
        era_decided_by: String,
    ) -> Result<ServerHello, SessionError> {
        let invalid = |detail: String| SessionError::InvalidReply {
            method: DISCOVER.into(),
            detail,
        };
        if !result.is_object() {
            return Err(invalid("the reply's result is not an object".into()));
        }
        if let Some(sent) = super::discovery::incomplete_result_type(&result) {
            return Err(invalid(super::session::not_complete_why(&sent)));
        }
        let listed: Vec<&str> = match result.get("supportedVersions") {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => return Err(invalid("the reply has no supportedVersions array".into())),
        };
        let version = match listed.contains(&requested) {
            true => requested.to_owned(),
            false => match MODERN_PROTOCOL_VERSIONS.iter().find(|v| listed.contains(v)) {
                Some(v) => v.to_string(),
                None => {
                    let why = format!(
                        "the server's DiscoverResult lists MCP {}, none of them a modern version \
                         mcp-probe speaks ({})",
                        crate::excerpt::list(listed.iter().copied()),
                        MODERN_PROTOCOL_VERSIONS.join(", ")
                    );
                    return Err(SessionError::NoMutualVersion {
                        method: DISCOVER.into(),
                        why,
                    });
                }
            },
        };
        self.speak_modern(&version);
        self.record_cache_hints(DISCOVER, &result);
        let server_info = result
            .get("_meta")
            .and_then(|m| m.get(era::META_SERVER_INFO))
            .filter(|v| !v.is_null())
            .cloned();
        let hello = ServerHello {
            era: Era::Modern,
            dual_era: false,
            era_decided_by,
            protocol_version: version,
            server_info,
            capabilities: capabilities_of(&result),
            instructions: instructions_of(&result),
        };
        self.hello = Some(hello.clone());
        Ok(hello)
    }
}

/// How long the probe goes on waiting for a server that is busy starting, at most.
const MAX_BUSY_START: std::time::Duration = std::time::Duration::from_secs(10);

/// The probe's grace, stretched while the server is visibly busy starting: a server still
/// using CPU at the end of a grace (node loading its modules, Python importing) gets another
/// grace before `initialize` follows, so a slow dual-era server answers the probe alone. A
/// silent legacy server is idle once it has started and costs one grace more than that; a
/// runtime that cannot see the server's processes (a pod) leaves the plain grace.
struct Starting {
    activity: Option<crate::model::ServerActivity>,
    /// CPU ticks at the last look.
    seen: Option<u64>,
    grace: std::time::Duration,
    /// When the current grace ends.
    until: Instant,
    /// No grace is added past this.
    limit: Instant,
}

impl Starting {
    fn new(
        activity: Option<crate::model::ServerActivity>,
        started: Instant,
        grace: std::time::Duration,
    ) -> Starting {
        let seen = activity.as_ref().and_then(|ticks| ticks());
        Starting {
            activity,
            seen,
            grace,
            until: started + grace,
            limit: started + MAX_BUSY_START,
        }
    }

    /// At the end of a grace: true (and another grace begun) when the server used CPU during
    /// it and there is time left for one more before `overall`.
    fn still_busy(&mut self, overall: Instant) -> bool {
        let now = Instant::now();
        let ticks = self.activity.as_ref().and_then(|ticks| ticks());
        let busy = matches!((self.seen, ticks), (Some(before), Some(now)) if now > before);
        self.seen = ticks;
        let next = now + self.grace;
        if busy && next < overall && next < self.limit {
            tracing::debug!(
                "server/discover: the server is still busy starting; waiting one more grace"
            );
            self.until = next;
            return true;
        }
        false
    }
}

/// A DiscoverResult names the versions the server speaks; nothing else does.
fn is_discover_result(result: &Value) -> bool {
    result.get("supportedVersions").is_some_and(Value::is_array)
}

/// The server's `capabilities`: an object, or `Null` when it sent none.
fn capabilities_of(result: &Value) -> Value {
    match result.get("capabilities") {
        Some(caps @ Value::Object(_)) => caps.clone(),
        _ => Value::Null,
    }
}

fn instructions_of(result: &Value) -> Option<String> {
    result
        .get("instructions")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `-32022` to `requested` that leaves nothing to retry with: what the server lists holds
/// none of our versions, only the one it refused, or only legacy ones the era rules out.
fn no_mutual_version(error: &RpcError, requested: &str) -> SessionError {
    let listed: Vec<&str> = error
        .data
        .as_ref()
        .and_then(|d| d.get("supported"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let refused = format!("the server refused MCP {requested} (-32022)");
    let shown = crate::excerpt::list(listed.iter().copied());
    let why = match era::mutual_version(error.data.as_ref().and_then(|d| d.get("supported"))) {
        _ if listed.is_empty() => format!("{refused} and listed no version it speaks"),
        Some((Era::Modern, v)) if v == requested => {
            format!("{refused}, yet lists it among those it supports ({shown})")
        }
        Some((Era::Legacy, v)) => format!(
            "{refused} and lists {shown}; of those mcp-probe speaks only {v}, a legacy \
             version, which --protocol-era modern rules out"
        ),
        _ => {
            let ours = MODERN_PROTOCOL_VERSIONS
                .iter()
                .chain(SUPPORTED_PROTOCOL_VERSIONS);
            let ours: Vec<&str> = ours.copied().collect();
            format!(
                "{refused} and lists {shown}; mcp-probe speaks {}, none of them listed",
                ours.join(", ")
            )
        }
    };
    SessionError::NoMutualVersion {
        method: DISCOVER.into(),
        why,
    }
}

/// `initialize` refused with a modern error: the server took the probe as modern.
fn refused_as_modern(err: &SessionError) -> bool {
    matches!(err, SessionError::Rpc { error, .. } if era::is_modern_error(error.code))
}

/// A stdio connection that closed before the era was known: the server may have exited on
/// the probe, and the caller starts it again in the legacy era. (Over HTTP every request
/// stands alone: nothing is restarted.)
fn exited_on_probe(err: SessionError, stdio: bool) -> SessionError {
    match err {
        SessionError::Closed { method, reason } if stdio => {
            SessionError::ExitedOnProbe { method, reason }
        }
        other => other,
    }
}
