//! `discover` as a library call: target → runtime → transport → session → pipeline → report.
//!
//! Every target goes the same way: the runtime starts it ([`Started`]: a connection and a
//! server handle), the session runs over the connection (stdio, or the endpoint search for a
//! base URL), the server is shut down ([`Stopped`]: exit state, stderr or log tail), and the
//! pipeline turns the tools (or, when the session failed, what the server printed) into the
//! report. Every path ends with the server torn down before this returns, whether discovery
//! worked, failed, timed out or was interrupted.

use crate::mcp::session::dropped_hint;
use crate::mcp::{Discovery, Era, ProtocolEra, Session, SessionError, SessionOptions};
use crate::model::{Finding, Severity, Transcript};
use crate::plugins::{DiscoveryContext, Pipeline, PluginError};
use crate::report::{Capabilities, Report};
use crate::runtime::kubernetes::KubernetesOptions;
use crate::runtime::local::{LocalCommand, LocalServer};
use crate::runtime::url::{self, HttpOptions, UrlError};
use crate::runtime::{
    Connection, ErrorKind, LogKind, NothingStarted, RuntimeError, Started, Stopped,
};
use crate::target::Target;
use crate::transport::secrets::Secrets;
use crate::transport::stdio::StdioTransport;
use std::sync::Arc;

mod endpoints;
mod image;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Everything `discover` needs besides the pipeline.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    pub target: Target,
    pub session: SessionOptions,
    /// Bounds the whole discovery (start, handshake, every list).
    pub timeout: Duration,
    /// The stdio line bound.
    pub max_line_bytes: usize,
    /// How image targets run (cluster, namespace, pod settings); unused by other targets.
    pub kubernetes: KubernetesOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The session failed and no parser recovered tools from its output.
    #[error("{message}")]
    Failed {
        message: String,
        kind: FailureKind,
        /// The end of what the server said on stderr (a pod: its log).
        log_tail: String,
    },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("interrupted")]
    Interrupted,
}

/// What kind of failure a [`DiscoverError::Failed`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A deadline passed (`--timeout`, `--request-timeout`).
    Timeout,
    /// Nothing served MCP: the server ended before speaking it, or no endpoint answered.
    NotServing,
    /// The server spoke, and wrongly.
    Protocol,
}

impl FailureKind {
    fn of(stop: &Stop, spoke: bool) -> FailureKind {
        match stop {
            Stop::Deadline(_) | Stop::Session(SessionError::Timeout { .. }) => FailureKind::Timeout,
            Stop::Unreachable(_) => FailureKind::NotServing,
            Stop::Session(err) if !spoke && err.is_transport_level() => FailureKind::NotServing,
            _ => FailureKind::Protocol,
        }
    }
}

impl DiscoverError {
    /// Bad input (exit 2), a failure (exit 1) or an interrupt (exit 130).
    pub fn kind(&self) -> ErrorKind {
        match self {
            DiscoverError::Runtime(err) => err.kind(),
            DiscoverError::Url(_) => ErrorKind::BadInput,
            DiscoverError::Interrupted | DiscoverError::Plugin(PluginError::Interrupted) => {
                ErrorKind::Interrupted
            }
            _ => ErrorKind::Failure,
        }
    }
}

/// Why one session attempt stopped.
pub(crate) enum Stop {
    Session(SessionError),
    /// The whole-discovery deadline passed; the text says what was pending.
    Deadline(String),
    /// No URL endpoint answered as MCP; the text lists what each one said.
    Unreachable(String),
    Interrupted,
}

type Interrupt<'a> = Pin<&'a mut (dyn Future<Output = ()> + Send)>;

/// The limits every step runs under: the whole-discovery deadline and the interrupt.
#[derive(Clone)]
pub(crate) struct Limits {
    pub deadline: Instant,
    pub cancel: CancellationToken,
}

/// Runs a discovery. `interrupt` completing (Ctrl-C) stops it, cleans up, and returns
/// [`DiscoverError::Interrupted`].
pub async fn discover(
    options: &DiscoverOptions,
    pipeline: &Pipeline,
    interrupt: impl Future<Output = ()> + Send,
) -> Result<Report, DiscoverError> {
    let started = Instant::now();
    // Where the deadline starts (tests measure the run's end from this line).
    tracing::debug!(
        "discovery starts; it ends by --timeout {:?}",
        options.timeout
    );
    let timestamp = unix_now();
    let limits = Limits {
        deadline: started + options.timeout,
        cancel: CancellationToken::new(),
    };
    // The interrupt only cancels: every step then cleans up and returns on its own.
    let work = run(options, pipeline, &limits);
    let mut work = std::pin::pin!(work);
    let mut interrupt = std::pin::pin!(interrupt);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            () = &mut interrupt, if !limits.cancel.is_cancelled() => limits.cancel.cancel(),
        }
    };
    let mut report = result?;
    report.timestamp = timestamp;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn run(
    options: &DiscoverOptions,
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<Report, DiscoverError> {
    let source = options.target.describe();
    let (attempt, kubernetes) = match &options.target {
        Target::Command { program, args, env } => {
            let cmd = LocalCommand {
                program: program.clone(),
                args: args.clone(),
                env: env.clone(),
            };
            let started = LocalServer::start(&cmd)?;
            let method = "local_mcp_stdio";
            let (attempt, _) =
                run_started(started, method, source.clone(), options, limits).await?;
            let attempt = match start_again(&attempt) {
                // The era probe ended the server (the Rust SDK exits on a request before
                // `initialize`), or left its connection in the wrong era: start it again and
                // speak the era it showed from the start.
                Some((era, why)) => {
                    let in_era = options.in_era(era);
                    let started = LocalServer::start(&cmd)?;
                    let (mut attempt, _) =
                        run_started(started, method, source, &in_era, limits).await?;
                    attempt.restarted_after(why, era);
                    attempt
                }
                None => attempt,
            };
            (attempt, None)
        }
        Target::Url { url, headers } => {
            url::endpoints_to_try(url)?;
            let started = Started {
                connection: Connection::Http {
                    base_url: url.clone(),
                    headers: headers.clone(),
                },
                server: Box::new(NothingStarted),
            };
            let (attempt, _) = run_started(started, "url", source, options, limits).await?;
            (attempt, None)
        }
        Target::Image(image) => {
            let (attempt, info) = image::probe(image, options, limits).await?;
            (attempt, Some(info))
        }
    };
    if limits.cancel.is_cancelled() {
        return Err(DiscoverError::Interrupted);
    }
    let mut report = attempt.into_report(options, pipeline)?;
    report.kubernetes = kubernetes;
    Ok(report)
}

impl DiscoverOptions {
    /// These options, speaking only `era` (after the era probe ended a server or spoiled its
    /// connection).
    pub(crate) fn in_era(&self, era: Era) -> DiscoverOptions {
        let mut options = self.clone();
        options.session.era = match era {
            Era::Modern => ProtocolEra::Modern,
            Era::Legacy => ProtocolEra::Legacy,
        };
        options
    }
}

/// The era to start the server again in, and why: it closed the connection before its era was
/// known (the Rust SDK exits on `server/discover`), so it is started again in the legacy era.
/// (A server that answered both the probe and the `initialize` after it goes on in the era
/// its connection is in: it is never started twice.)
pub(crate) fn start_again(attempt: &Attempt) -> Option<(Era, String)> {
    match &attempt.result {
        Err(Stop::Session(SessionError::ExitedOnProbe { method, reason })) => Some((
            Era::Legacy,
            format!("the server closed the connection on {method} ({reason})"),
        )),
        _ => None,
    }
}

/// Unix seconds now, for the report's `timestamp`.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Runs the session over a started server's connection, then shuts the server down and joins
/// what it left (exit state, log tail) to the attempt. `method` names a stdio connection's
/// discovery method; a base URL's is the endpoint's kind.
async fn run_started(
    started: Started,
    method: &'static str,
    source: String,
    options: &DiscoverOptions,
    limits: &Limits,
) -> Result<(Attempt, Stopped), DiscoverError> {
    let Started { connection, server } = started;
    // What the server says goes through the transport; its secrets stop there.
    let secrets = Arc::new(Secrets::of_target(&options.target));
    let cancelled = limits.cancel.cancelled();
    let mut cancelled = std::pin::pin!(cancelled);
    let interrupt: Interrupt<'_> = cancelled.as_mut();
    let attempt = match connection {
        Connection::Stdio { reader, writer } => {
            let transport =
                StdioTransport::new(reader, writer, options.max_line_bytes).scrubbing(secrets);
            let mut session = Session::new(Box::new(transport), options.session.clone());
            session.set_activity(server.activity());
            let bounds = (limits.deadline, options.timeout);
            let result = run_bounded(&mut session, bounds, interrupt).await;
            let _ = tokio::time::timeout(CLOSE_BOUND, session.close()).await;
            Ok(Attempt {
                result,
                transcript: session.take_transcript(),
                hello: session.hello().cloned(),
                method,
                endpoint: None,
                source,
                server_exit: None,
                log_kind: LogKind::default(),
            })
        }
        Connection::Http { base_url, headers } => {
            let http = HttpOptions {
                headers,
                request_timeout: options.session.request_timeout,
            };
            let open = move |endpoint: url::Endpoint| {
                let (http, secrets) = (http.clone(), Arc::clone(&secrets));
                async move { url::open_scrubbing(&endpoint, &http, &secrets).await }
            };
            let bounds = endpoints::Bounds {
                options,
                deadline: limits.deadline,
                interrupt,
            };
            match url::endpoints_to_try(&base_url) {
                Ok(list) => endpoints::try_endpoints(&source, list, open, bounds).await,
                Err(err) => Err(DiscoverError::Url(err)),
            }
        }
    };
    // What a cleanup left is a warning (logged, and in an image's report): the session's own
    // result and its cause stand.
    let stopped = server.shutdown(limits.deadline).await;
    let mut attempt = match attempt {
        Ok(attempt) => attempt,
        Err(DiscoverError::Failed { message, kind, .. }) => {
            return Err(DiscoverError::Failed {
                message: with_stopped_hints(message, &stopped),
                kind,
                log_tail: stopped.log_tail.clone(),
            })
        }
        Err(err) => return Err(err),
    };
    if !stopped.log_tail.is_empty() {
        attempt.transcript.stderr_tail = without_stdout(&stopped.log_tail, &attempt.transcript);
    }
    attempt.server_exit = stopped.exit.clone();
    attempt.log_kind = stopped.log_kind;
    Ok((attempt, stopped))
}

/// A pod's log interleaves stdout with stderr; the transcript has stdout already, so only
/// the other lines stay (what the server said about itself).
fn without_stdout(log_tail: &str, transcript: &Transcript) -> String {
    let seen: std::collections::HashSet<&str> = transcript.stdout.lines().collect();
    let mut kept = String::new();
    for line in log_tail.lines().filter(|l| !seen.contains(l)) {
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// How long closing (stdin EOF, HTTP DELETE) may take: a dead server must not hold us.
const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// One finished attempt: how it ended, what was said, and where.
pub(crate) struct Attempt {
    result: Result<Discovery, Stop>,
    transcript: Transcript,
    /// The handshake's result, kept when a later step failed.
    hello: Option<crate::mcp::ServerHello>,
    method: &'static str,
    endpoint: Option<String>,
    source: String,
    /// How a local server ended when it ended by itself, e.g. `the server exited (exit status: 1)`.
    server_exit: Option<String>,
    /// What `transcript.stderr_tail` came from (a pod's log, or stderr).
    log_kind: LogKind,
}

/// Runs the session's discovery under the whole-discovery deadline and the interrupt. Once the
/// tools are in, the deadline only cuts the optional lists short (recorded as a failure).
async fn run_bounded(
    session: &mut Session,
    (deadline, timeout): (Instant, Duration),
    mut interrupt: Interrupt<'_>,
) -> Result<Discovery, Stop> {
    let outcome = tokio::select! {
        outcome = tokio::time::timeout_at(deadline, session.discover_tools()) => outcome,
        () = interrupt.as_mut() => return Err(Stop::Interrupted),
    };
    // A request's own timeout that ends at (or after) the whole-discovery deadline is that
    // deadline: say so, with what was pending (both timers may fire in one poll).
    let past_deadline = |r: &Result<Discovery, SessionError>| {
        matches!(r, Err(SessionError::Timeout { .. })) && Instant::now() >= deadline
    };
    let mut discovery = match outcome {
        Ok(result) if !past_deadline(&result) => result.map_err(Stop::Session)?,
        _ => {
            let hint = dropped_hint(session.dropped_lines());
            let flood = session
                .transcript_dropped()
                .map(|note| format!("; {note}"))
                .unwrap_or_default();
            let pending = match &outcome {
                Ok(Err(SessionError::Timeout { method, .. })) => Some(method.clone()),
                _ => session.in_flight().map(str::to_owned),
            };
            return Err(Stop::Deadline(match pending {
                Some(method) => format!("waiting for the reply to {method}{hint}{flood}"),
                None => format!("before discovery finished{hint}{flood}"),
            }));
        }
    };
    let optional = tokio::select! {
        outcome = tokio::time::timeout_at(deadline, session.list_optional(&mut discovery)) => outcome,
        () = interrupt => return Err(Stop::Interrupted),
    };
    match optional {
        Ok(listed) => listed.map_err(Stop::Session)?,
        Err(_) => {
            let method = session.in_flight().unwrap_or("an optional list").to_owned();
            let failure = SessionError::Timeout {
                method,
                after: timeout,
                dropped_lines: session.dropped_lines(),
            };
            discovery.optional_failures.push(failure);
        }
    }
    Ok(discovery)
}

impl Attempt {
    /// Says in the report that this is the second start, in the legacy era, and why.
    pub(crate) fn restarted_after(&mut self, why: String, era: Era) {
        if let Some(hello) = self.hello.as_mut() {
            hello.era_decided_by = format!("{why}; started again in the {era} era");
        }
    }

    fn context(&self) -> DiscoveryContext {
        DiscoveryContext {
            source: self.source.clone(),
            discovery_method: self.method.to_owned(),
            server_info: self.hello.as_ref().and_then(|h| h.server_info.clone()),
        }
    }

    /// The report, or the failure once the parser stages found nothing either.
    fn into_report(
        mut self,
        options: &DiscoverOptions,
        pipeline: &Pipeline,
    ) -> Result<Report, DiscoverError> {
        let client_caps = options.session.capabilities.to_json();
        let ctx = self.context();
        let result = std::mem::replace(&mut self.result, Err(Stop::Interrupted));
        let mut discovery = match result {
            Ok(discovery) => discovery,
            Err(Stop::Interrupted) => return Err(DiscoverError::Interrupted),
            Err(stop) => {
                // A definite answer, or a stream that broke after the server spoke MCP (what it
                // sent is cut short), would only give the parsers a partial list to find.
                let cut_short = self.hello.is_some()
                    && matches!(&stop, Stop::Session(SessionError::Closed { .. }));
                // A transcript cut to its bounds (a flood) likewise holds only part of it.
                let recoverable = !cut_short
                    && !self.transcript.truncated
                    && !matches!(&stop, Stop::Session(err) if err.is_definite_answer());
                let kind = FailureKind::of(&stop, self.hello.is_some());
                let message = match stop {
                    Stop::Session(err) => err.to_string(),
                    Stop::Unreachable(message) => message,
                    Stop::Deadline(what) => format!(
                        "discovery timed out after {:?} (--timeout) {what}",
                        options.timeout
                    ),
                    Stop::Interrupted => unreachable!("handled above"),
                };
                self.transcript.error = message.clone();
                let recovered = match recoverable {
                    true => pipeline.recover(&self.transcript)?,
                    false => None,
                };
                let Some(recovered) = recovered else {
                    return Err(DiscoverError::Failed {
                        message: with_hints(message, &self),
                        kind,
                        log_tail: self.transcript.stderr_tail.clone(),
                    });
                };
                let processed = pipeline.process(recovered.tools, &ctx)?;
                return Ok(self.report(
                    processed.tools,
                    processed.findings,
                    client_caps,
                    Some(recovered.plugin),
                ));
            }
        };
        let tools = std::mem::take(&mut discovery.tools);
        let processed = pipeline.process(tools, &ctx)?;
        let mut findings = processed.findings;
        findings.extend(host_findings(&discovery));
        let mut report = self.report(processed.tools, findings, client_caps, None);
        report.tools_supported = discovery.tools_supported;
        report.cache_hints = discovery.cache_hints;
        report.prompts = discovery.prompts;
        report.resources = discovery.resources;
        report.resource_templates = discovery.resource_templates;
        Ok(report)
    }

    fn report(
        &self,
        tools: Vec<crate::model::Tool>,
        findings: Vec<Finding>,
        client: serde_json::Value,
        recovered_by: Option<String>,
    ) -> Report {
        let hello = self.hello.as_ref();
        Report {
            tools,
            prompts: None,
            resources: None,
            resource_templates: None,
            server_info: hello.and_then(|h| h.server_info.clone()),
            protocol_version: hello.map(|h| h.protocol_version.clone()),
            protocol_era: hello.map(|h| h.era.to_string()),
            era_decided_by: hello.map(|h| h.era_decided_by.clone()),
            eras_spoken: match hello.is_some_and(|h| h.dual_era) {
                true => vec![Era::Modern.to_string(), Era::Legacy.to_string()],
                false => Vec::new(),
            },
            cache_hints: Default::default(),
            capabilities: Capabilities {
                server: hello.map_or(serde_json::Value::Null, |h| h.capabilities.clone()),
                client,
            },
            discovery_method: self.method.to_owned(),
            endpoint: self.endpoint.clone(),
            tools_supported: true,
            recovered_by,
            findings,
            timestamp: 0.0,
            duration_ms: 0,
            kubernetes: None,
        }
    }
}

/// What the host itself noticed: dropped tool entries, tools left out for their `x-mcp-header`
/// annotations, optional lists that failed.
fn host_findings(discovery: &Discovery) -> Vec<Finding> {
    let mut findings = Vec::new();
    let malformed_tools = discovery.malformed_tools;
    if malformed_tools > 0 {
        findings.push(Finding {
            tool: None,
            rule: "tool-not-an-object".into(),
            severity: Severity::Warning,
            message: format!(
                "{malformed_tools} tools/list entries were not JSON objects and were dropped"
            ),
            source: "host".into(),
        });
    }
    for (tool, why) in &discovery.rejected_tools {
        findings.push(Finding {
            tool: Some(tool.clone()),
            rule: "x-mcp-header-invalid".into(),
            severity: Severity::Warning,
            message: format!("left out of the list, as the spec requires of HTTP clients: {why}"),
            source: "host".into(),
        });
    }
    for failure in &discovery.optional_failures {
        findings.push(Finding {
            tool: None,
            rule: "optional-list-failed".into(),
            severity: Severity::Warning,
            message: failure.to_string(),
            source: "host".into(),
        });
    }
    findings
}

/// Appends how the server ended and the stderr line that says why it died (not always the
/// last: [`crate::runtime::cause`]).
fn with_hints(message: String, attempt: &Attempt) -> String {
    hints(
        message,
        attempt.server_exit.as_deref(),
        &attempt.transcript.stderr_tail,
        attempt.log_kind,
    )
}

fn with_stopped_hints(message: String, stopped: &Stopped) -> String {
    hints(
        message,
        stopped.exit.as_deref(),
        &stopped.log_tail,
        stopped.log_kind,
    )
}

fn hints(mut message: String, exit: Option<&str>, log_tail: &str, kind: LogKind) -> String {
    if let Some(exit) = exit {
        message = format!("{message}; {exit}");
    }
    if let Some(cause) = crate::runtime::cause::cause_line(log_tail) {
        let cause = crate::excerpt::one_line(&cause);
        message = format!("{message}; {}: {cause}", kind.label());
        if let Some(hint) = crate::runtime::cause::setup_hint(&cause) {
            message = format!("{message} ({hint})");
        }
    }
    message
}
