//! List and watch for any kind: selectors, resourceVersion resumption, bookmarks, timeouts.
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::error::ApiError;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::{json_response, Query, Resp};
use crate::store::{Event, Kind, WatchStart};
use crate::Ctx;

/// An API server ends a watch without timeoutSeconds after 30 to 60 minutes.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

pub struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    pub fn from_query(query: &Query, kind: Kind) -> Result<Self, ApiError> {
        Ok(Filter {
            labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?,
            fields: FieldSelector::parse(
                query.get("fieldSelector").map_or("", String::as_str),
                kind,
            )?,
        })
    }
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

/// The objects a list request selects (its label and field selectors applied), with the
/// resourceVersion of the snapshot; shared by the plain and the table form of a list.
pub fn selected(
    ctx: &Ctx,
    kind: Kind,
    namespace: Option<&str>,
    query: &Query,
) -> Result<(Vec<Value>, u64), ApiError> {
    let filter = Filter::from_query(query, kind)?;
    let (items, rv) = ctx.store.list(kind, namespace);
    Ok((
        items.into_iter().filter(|o| filter.matches(o)).collect(),
        rv,
    ))
}

pub fn list(
    ctx: &Ctx,
    kind: Kind,
    namespace: Option<&str>,
    query: &Query,
) -> Result<Resp, ApiError> {
    let (items, rv) = selected(ctx, kind, namespace, query)?;
    let list = json!({
        "kind": format!("{}List", kind.name()),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    });
    Ok(json_response(200, &list))
}

fn bool_param(query: &Query, name: &str) -> bool {
    query.get(name).is_some_and(|v| v == "true" || v == "1")
}

fn frame(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn bookmark(kind: Kind, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    frame(
        "BOOKMARK",
        &json!({"kind": kind.name(), "apiVersion": kind.api_version(), "metadata": meta}),
    )
}

/// What an event looks like to a watcher with a selector: objects that start or stop matching
/// appear as ADDED or DELETED, as the API server's watch cache reports them.
fn translate(filter: &Filter, ev: &Event) -> Option<&'static str> {
    let now = ev.kind != crate::store::EventType::Deleted && filter.matches(&ev.object);
    let was = match &ev.prev {
        Some(prev) => filter.matches(prev),
        None => false,
    };
    match (was, now) {
        (true, true) => Some("MODIFIED"),
        (false, true) => Some("ADDED"),
        (true, false) => Some("DELETED"),
        (false, false) => None,
    }
}

pub fn watch(
    ctx: &Arc<Ctx>,
    kind: Kind,
    namespace: Option<&str>,
    query: &Query,
) -> Result<Resp, ApiError> {
    let filter = Filter::from_query(query, kind)?;
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?,
        ),
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(DEFAULT_WATCH_TIMEOUT, Duration::from_secs);
    let bookmarks = bool_param(query, "allowWatchBookmarks");
    let initial_events = bool_param(query, "sendInitialEvents");
    let (start, rx) = match ctx.store.watch(kind, namespace, since) {
        Ok(w) => w,
        // A too-old resourceVersion is reported inside the stream, as the API server does.
        Err(err) if err.code == 410 => {
            let body = frame("ERROR", &err.status());
            return Ok(stream_response(
                futures_util::stream::once(async move { body }).boxed(),
            ));
        }
        Err(err) => return Err(err),
    };
    let (tx, out) = mpsc::channel::<Bytes>(256);
    let scope = Scope {
        kind,
        namespace: namespace.map(str::to_owned),
    };
    tokio::spawn(run_watch(
        ctx.clone(),
        scope,
        filter,
        start,
        rx,
        tx,
        timeout,
        bookmarks,
        initial_events,
    ));
    let stream =
        futures_util::stream::unfold(
            out,
            |mut out| async move { out.recv().await.map(|b| (b, out)) },
        );
    Ok(stream_response(stream.boxed()))
}

fn stream_response(stream: futures_util::stream::BoxStream<'static, Bytes>) -> Resp {
    let body = StreamBody::new(stream.map(|b| Ok::<_, std::convert::Infallible>(Frame::data(b))));
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(BodyExt::boxed_unsync(body))
        .unwrap_or_else(|_| hyper::Response::new(crate::server::full("")))
}

#[allow(clippy::too_many_arguments)]
async fn run_watch(
    ctx: Arc<Ctx>,
    scope: Scope,
    filter: Filter,
    start: WatchStart,
    mut rx: broadcast::Receiver<Event>,
    tx: mpsc::Sender<Bytes>,
    timeout: Duration,
    bookmarks: bool,
    initial_events: bool,
) {
    let kind = scope.kind;
    let limit = ctx.faults.watch_event_limit();
    let mut sent = 0usize;
    let mut last_rv = ctx.store.current_rv();
    let closed = ctx.faults.watch_closed();
    tokio::pin!(closed);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut initial: Vec<Bytes> = match start {
        WatchStart::Current(objs) => objs
            .iter()
            .filter(|o| filter.matches(o))
            .map(|o| frame("ADDED", o))
            .collect(),
        WatchStart::Since(events) => events
            .iter()
            .filter_map(|e| translate(&filter, e).map(|t| frame(t, &e.object)))
            .collect(),
    };
    if initial_events && bookmarks {
        initial.push(bookmark(kind, last_rv, true));
    }
    for b in initial {
        if tx.send(b).await.is_err() {
            return;
        }
        sent += 1;
        if limit.is_some_and(|l| sent >= l) {
            return;
        }
    }
    let mut ticker = tokio::time::interval(ctx.bookmark_interval);
    ticker.reset();
    loop {
        let ev = tokio::select! {
            _ = &mut deadline => return,
            _ = &mut closed => return,
            _ = ticker.tick(), if bookmarks => {
                let rv = ctx.store.current_rv();
                // Deliver what is already queued first, so the bookmark never skips an event.
                while let Ok(ev) = rx.try_recv() {
                    if !forward(&filter, &scope, &ev, &tx, &mut sent, &mut last_rv).await { return; }
                }
                last_rv = last_rv.max(rv);
                if tx.send(bookmark(kind, last_rv, false)).await.is_err() { return; }
                continue;
            }
            ev = rx.recv() => match ev {
                Ok(ev) => ev,
                // A watcher too slow for the fan-out is ended; the client re-lists.
                Err(_) => return,
            },
        };
        if !forward(&filter, &scope, &ev, &tx, &mut sent, &mut last_rv).await
            || limit.is_some_and(|l| sent >= l)
        {
            return;
        }
    }
}

/// Which events a watch is about.
struct Scope {
    kind: Kind,
    namespace: Option<String>,
}

async fn forward(
    filter: &Filter,
    scope: &Scope,
    ev: &Event,
    tx: &mpsc::Sender<Bytes>,
    sent: &mut usize,
    last_rv: &mut u64,
) -> bool {
    if ev.key.kind != scope.kind
        || scope
            .namespace
            .as_ref()
            .is_some_and(|ns| *ns != ev.key.namespace)
    {
        return true;
    }
    *last_rv = ev.rv;
    match translate(filter, ev) {
        Some(t) => {
            *sent += 1;
            tx.send(frame(t, &ev.object)).await.is_ok()
        }
        None => true,
    }
}
