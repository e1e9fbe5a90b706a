//! Reading an event stream that answers a POST, in the background: every event is queued for
//! the session; the reader ends once each request the POST carried has its response, and
//! resumes with `GET` + `Last-Event-ID` when the server drops the stream first (SEP-1699).

use super::http_body::{
    content_type, describe, error_excerpt, inbound_from_event, is_media_type, Outgoing,
    EVENT_STREAM, LAST_EVENT_ID, MAX_MESSAGE_BYTES,
};
use super::secrets::Secrets;
use super::sse_parse::SseParser;
use super::Inbound;
use crate::mcp::jsonrpc::{self, Envelope};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use reqwest::{Client, Method, Response, Url};
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long to wait before resuming a dropped stream when the server named no `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// Resumptions in a row that bring no event before we give up on a stream.
const MAX_IDLE_RESUMES: u32 = 3;

/// One event stream answering a POST, read in the background.
pub(super) struct ReplyStream {
    pub(super) client: Client,
    pub(super) url: Url,
    /// Session id and protocol version, for resuming with GET.
    pub(super) headers: HeaderMap,
    /// Bounds the wait for a resumed stream to start.
    pub(super) request_timeout: Duration,
    /// The credentials of the transport, kept out of messages.
    pub(super) secrets: Arc<Secrets>,
    pub(super) tx: UnboundedSender<Inbound>,
    /// Requests whose responses this stream owes us.
    pub(super) awaiting: HashSet<String>,
    /// It answers at least one request, so it may stop once `awaiting` is empty. A stream
    /// answering only notifications is read to its end.
    pub(super) owes_responses: bool,
    /// False in the 2026-07-28 era, whose streams cannot be resumed.
    pub(super) resumable: bool,
}

enum StreamEnd {
    /// Every awaited response arrived.
    Answered,
    /// The stream ended (or broke) first.
    Dropped(String),
}

impl ReplyStream {
    pub(super) async fn run(mut self, mut response: Response) {
        let mut parser = SseParser::new(MAX_MESSAGE_BYTES);
        let mut idle_resumes = 0;
        loop {
            let (end, got_events) = self.pump(&mut parser, response).await;
            let StreamEnd::Dropped(why) = end else { return };
            if let Some(text) = parser.unfinished() {
                let _ = self.tx.send(Inbound::Noise(text));
            }
            if self.awaiting.is_empty() {
                return;
            }
            idle_resumes = if got_events { 0 } else { idle_resumes + 1 };
            let pending = self.awaiting.iter().cloned().collect::<Vec<_>>().join(", ");
            if !self.resumable {
                return self.give_up(format!("the event stream for request {pending} {why} before the response (2026-07-28 streams cannot be resumed)"));
            }
            let Some(last_id) = parser.last_event_id().map(str::to_owned) else {
                return self.give_up(format!("the event stream for request {pending} {why} before the response, and gave no event id to resume from"));
            };
            if idle_resumes > MAX_IDLE_RESUMES {
                return self.give_up(format!("the event stream for request {pending} {why}; {MAX_IDLE_RESUMES} resumptions brought nothing"));
            }
            let delay = parser
                .retry_ms()
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_RETRY);
            tokio::time::sleep(delay).await;
            parser = parser.resumed();
            match self.resume(&last_id).await {
                Ok(next) => response = next,
                Err(reason) => {
                    return self.give_up(format!(
                    "the event stream for request {pending} {why}; resuming it failed: {reason}"
                ))
                }
            }
        }
    }

    /// Reads events until the awaited responses arrived or the stream ends.
    async fn pump(&mut self, parser: &mut SseParser, response: Response) -> (StreamEnd, bool) {
        let mut got_events = false;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    return (
                        StreamEnd::Dropped(format!("broke ({})", describe(&e))),
                        got_events,
                    )
                }
            };
            for event in parser.feed(&chunk) {
                got_events = true;
                for item in inbound_from_event(&event) {
                    if let Inbound::Message(json) = &item {
                        if let Some(id) = response_id(json) {
                            self.awaiting.remove(&id);
                        }
                    }
                    let _ = self.tx.send(item);
                }
            }
            if self.owes_responses && self.awaiting.is_empty() {
                return (StreamEnd::Answered, got_events);
            }
        }
        (StreamEnd::Dropped("ended".to_owned()), got_events)
    }

    async fn resume(&self, last_event_id: &str) -> Result<Response, String> {
        let last = HeaderValue::from_str(last_event_id)
            .map_err(|_| "the event id is not a valid header value".to_owned())?;
        let mut headers = self.headers.clone();
        headers.insert(ACCEPT, HeaderValue::from_static(EVENT_STREAM));
        headers.insert(LAST_EVENT_ID, last);
        let request = Outgoing {
            client: &self.client,
            method: Method::GET,
            headers,
            body: None,
            secrets: &self.secrets,
        };
        let response = request
            .send(&self.url, self.request_timeout)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "GET answered HTTP {status}: {}",
                error_excerpt(response, self.request_timeout).await
            ));
        }
        if !is_media_type(content_type(&response).as_deref(), EVENT_STREAM) {
            return Err("GET did not answer with an event stream".to_owned());
        }
        Ok(response)
    }

    fn give_up(&self, reason: String) {
        let _ = self.tx.send(Inbound::Closed { reason });
    }
}

/// The id of a response (a message with `result` or `error`), as JSON text written as our
/// requests' ids are (compact), whatever spacing the server used.
fn response_id(message: &RawValue) -> Option<String> {
    let m = Envelope::of(message)?;
    let is_response = m.method.is_none() && (m.result.is_some() || m.error.is_some());
    is_response
        .then(|| m.id.map(|id| jsonrpc::value_of(id).to_string()))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_ids_only_for_responses() {
        let id = |text: &str| response_id(&RawValue::from_string(text.to_owned()).unwrap());
        assert_eq!(id(r#"{"id": 1, "result": {}}"#).as_deref(), Some("1"));
        assert_eq!(id(r#"{"id": 1, "error": {}}"#).as_deref(), Some("1"));
        assert_eq!(
            id(r#"{"id": "a b", "result": null}"#).as_deref(),
            Some("\"a b\"")
        );
        assert_eq!(id(r#"{"id": 1, "method": "ping"}"#), None);
    }
}
