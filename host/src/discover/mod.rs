//! `discover` as a library call: target → runtime → transport → session → pipeline → report.
//!
//! Every path ends with the server torn down (the child's process group killed and reaped, the
//! HTTP session deleted) before this returns, whether discovery worked, failed, timed out or was
//! interrupted. A failed session's transcript goes to the pipeline's parser stages before the
//! failure is reported.

use crate::mcp::session::dropped_hint;
use crate::mcp::{Discovery, Session, SessionError, SessionOptions};
use crate::model::{Finding, Severity, Transcript};
use crate::plugins::{DiscoveryContext, Pipeline, PluginError};
use crate::report::{Capabilities, Report};
use crate::runtime::local::{LocalCommand, LocalServer};
use crate::runtime::url::{self, HttpOptions, UrlError};
use crate::runtime::RuntimeError;
use crate::target::Target;
use crate::transport::stdio::StdioTransport;
use crate::transport::Transport;

mod endpoints;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Everything `discover` needs besides the pipeline.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    pub target: Target,
    pub session: SessionOptions,
    /// Bounds the whole discovery (start, handshake, every list).
    pub timeout: Duration,
    /// The stdio line bound.
    pub max_line_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The session failed and no parser recovered tools from its output.
    #[error("{message}")]
    Failed { message: String },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("interrupted")]
    Interrupted,
}

impl DiscoverError {
    /// True for errors in what the operator gave (a command that does not exist, a bad URL).
    pub fn is_bad_input(&self) -> bool {
        match self {
            DiscoverError::Runtime(err) => err.is_bad_input(),
            DiscoverError::Url(_) => true,
            _ => false,
        }
    }
}

/// Why one session attempt stopped.
enum Stop {
    Session(SessionError),
    /// The whole-discovery deadline passed; the text says what was pending.
    Deadline(String),
    /// No URL endpoint answered as MCP; the text lists what each one said.
    Unreachable(String),
    Interrupted,
}

type Interrupt<'a> = Pin<&'a mut (dyn Future<Output = ()> + Send)>;

/// Runs a discovery. `interrupt` completing (Ctrl-C) stops it, cleans up, and returns
/// [`DiscoverError::Interrupted`].
pub async fn discover(
    options: &DiscoverOptions,
    pipeline: &Pipeline,
    interrupt: impl Future<Output = ()> + Send,
) -> Result<Report, DiscoverError> {
    let started = Instant::now();
    let timestamp = unix_now();
    let deadline = started + options.timeout;
    let mut interrupt = std::pin::pin!(interrupt);
    let interrupt: Interrupt<'_> = interrupt.as_mut();
    let found = match &options.target {
        Target::Command { program, args, env } => {
            let cmd = LocalCommand {
                program: program.clone(),
                args: args.clone(),
                env: env.clone(),
            };
            discover_local(&cmd, options, deadline, interrupt).await?
        }
        Target::Url { url, headers } => {
            let endpoints = url::endpoints_to_try(url)?;
            let http = HttpOptions {
                headers: headers.clone(),
                request_timeout: options.session.request_timeout,
            };
            let open = move |endpoint: url::Endpoint| {
                let http = http.clone();
                async move { url::open(&endpoint, &http).await }
            };
            let ctx = endpoints::Bounds {
                options,
                deadline,
                interrupt,
            };
            endpoints::try_endpoints(url, endpoints, open, ctx).await?
        }
    };
    let mut report = found.into_report(options, pipeline)?;
    report.timestamp = timestamp;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Unix seconds now, for the report's `timestamp`.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// Discovery over a transport opened elsewhere (a Kubernetes attach stream, a socket): the same
/// session, deadlines, fallback parsers and report as [`discover`], with `options.target`
/// unused. The caller owns the server and tears it down after this returns.
pub async fn discover_over(
    transport: Box<dyn Transport>,
    discovery_method: &'static str,
    source: String,
    options: &DiscoverOptions,
    pipeline: &Pipeline,
    interrupt: impl Future<Output = ()> + Send,
) -> Result<Report, DiscoverError> {
    let started = Instant::now();
    let timestamp = unix_now();
    let mut interrupt = std::pin::pin!(interrupt);
    let mut session = Session::new(transport, options.session.clone());
    let bounds = (started + options.timeout, options.timeout);
    let result = run_bounded(&mut session, bounds, interrupt.as_mut()).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), session.close()).await;
    let found = Attempt {
        result,
        transcript: session.take_transcript(),
        hello: session.hello().cloned(),
        method: discovery_method,
        endpoint: None,
        source,
        server_exit: None,
    };
    let mut report = found.into_report(options, pipeline)?;
    report.timestamp = timestamp;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// One finished attempt: how it ended, what was said, and where.
struct Attempt {
    result: Result<Discovery, Stop>,
    transcript: Transcript,
    /// The handshake's result, kept when a later step failed.
    hello: Option<crate::mcp::ServerHello>,
    method: &'static str,
    endpoint: Option<String>,
    source: String,
    /// How a local server ended when it ended by itself, e.g. `the server exited (exit status: 1)`.
    server_exit: Option<String>,
}

async fn discover_local(
    cmd: &LocalCommand,
    options: &DiscoverOptions,
    deadline: Instant,
    interrupt: Interrupt<'_>,
) -> Result<Attempt, DiscoverError> {
    let (server, stdin, stdout) = LocalServer::spawn(cmd)?;
    let transport = StdioTransport::new(stdout, stdin, options.max_line_bytes);
    let mut session = Session::new(Box::new(transport), options.session.clone());
    let result = run_bounded(&mut session, (deadline, options.timeout), interrupt).await;
    let _ = session.close().await;
    let mut transcript = session.take_transcript();
    let hello = session.hello().cloned();
    drop(session);
    let stopped = server.shutdown().await;
    transcript.stderr_tail = stopped.stderr_tail;
    let server_exit = stopped
        .exited_on_its_own
        .map(|s| format!("the server exited ({s})"));
    Ok(Attempt {
        result,
        transcript,
        hello,
        method: "local_mcp_stdio",
        endpoint: None,
        source: options.target.describe(),
        server_exit,
    })
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
    let mut discovery = match outcome {
        Ok(result) => result.map_err(Stop::Session)?,
        Err(_) => {
            let hint = dropped_hint(session.dropped_lines());
            return Err(Stop::Deadline(match session.in_flight() {
                Some(method) => format!("waiting for the reply to {method}{hint}"),
                None => format!("before discovery finished{hint}"),
            }));
        }
    };
    let optional = tokio::select! {
        outcome = tokio::time::timeout_at(deadline, session.list_optional(&mut discovery)) => outcome,
        () = interrupt => return Err(Stop::Interrupted),
    };
    if optional.is_err() {
        let method = session.in_flight().unwrap_or("an optional list").to_owned();
        let failure = SessionError::Timeout {
            method,
            after: timeout,
            dropped_lines: session.dropped_lines(),
        };
        discovery.optional_failures.push(failure);
    }
    Ok(discovery)
}

impl Attempt {
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
        let discovery = match result {
            Ok(discovery) => discovery,
            Err(Stop::Interrupted) => return Err(DiscoverError::Interrupted),
            Err(stop) => {
                let recoverable = !matches!(&stop, Stop::Session(err) if err.is_definite_answer());
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
        let processed = pipeline.process(discovery.tools, &ctx)?;
        let mut findings = processed.findings;
        findings.extend(host_findings(
            discovery.malformed_tools,
            &discovery.optional_failures,
        ));
        let mut report = self.report(processed.tools, findings, client_caps, None);
        report.tools_supported = discovery.tools_supported;
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
        }
    }
}

/// What the host itself noticed: dropped tool entries, optional lists that failed.
fn host_findings(malformed_tools: usize, optional_failures: &[SessionError]) -> Vec<Finding> {
    let mut findings = Vec::new();
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
    for failure in optional_failures {
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

/// Appends how the server ended and its last stderr line: they usually say why it died.
fn with_hints(mut message: String, attempt: &Attempt) -> String {
    if let Some(exit) = &attempt.server_exit {
        message = format!("{message}; {exit}");
    }
    let stderr = attempt.transcript.stderr_tail.lines().rev().map(str::trim);
    if let Some(line) = stderr.into_iter().find(|l| !l.is_empty()) {
        let line: String = line.chars().take(300).collect();
        message = format!("{message}; server stderr: {line}");
    }
    message
}
