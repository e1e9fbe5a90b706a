//! The receiving side both HTTP transports share: the queue their readers fill, and why the
//! transport closed once it did (from then on `recv` keeps saying so and `send` fails).

use super::secrets::Secrets;
use super::{Inbound, TransportError};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

pub(super) struct Inbox {
    tx: UnboundedSender<Inbound>,
    rx: UnboundedReceiver<Inbound>,
    closed: Option<String>,
}

impl Inbox {
    pub(super) fn new() -> Self {
        let (tx, rx) = unbounded_channel();
        Inbox {
            tx,
            rx,
            closed: None,
        }
    }

    /// Where a reader task queues what it reads.
    pub(super) fn sender(&self) -> UnboundedSender<Inbound> {
        self.tx.clone()
    }

    pub(super) fn push(&self, item: Inbound) {
        // The receiver lives as long as `self`: sending cannot fail.
        let _ = self.tx.send(item);
    }

    /// An error once the transport closed: nothing may be sent after that.
    pub(super) fn ensure_open(&self) -> Result<(), TransportError> {
        match &self.closed {
            Some(reason) => Err(TransportError::Protocol(format!(
                "send after the transport closed ({reason})"
            ))),
            None => Ok(()),
        }
    }

    /// The client ends the transport (unless the server already did).
    pub(super) fn close(&mut self) {
        self.closed
            .get_or_insert_with(|| "closed by the client".to_owned());
    }

    /// The next thing the server said, scrubbed of `secrets`; once closed, why, every time.
    pub(super) async fn recv(&mut self, secrets: &Secrets) -> Inbound {
        if let Some(reason) = &self.closed {
            return Inbound::Closed {
                reason: reason.clone(),
            };
        }
        // `self.tx` keeps the channel open, so `None` cannot happen; map it anyway.
        let item = self.rx.recv().await.unwrap_or(Inbound::Closed {
            reason: "the transport was dropped".to_owned(),
        });
        let item = secrets.scrub_inbound(item);
        if let Inbound::Closed { reason } = &item {
            self.closed = Some(reason.clone());
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Url;

    fn secrets() -> Secrets {
        let url = Url::parse("http://h/mcp").unwrap();
        Secrets::new(
            &[("Authorization".into(), "Bearer tok-INBOX-9999".into())],
            &url,
        )
    }

    #[tokio::test]
    async fn queued_items_come_out_scrubbed_in_order() {
        let mut inbox = Inbox::new();
        inbox.push(Inbound::Noise("first".into()));
        inbox
            .sender()
            .send(Inbound::Noise("echoed tok-INBOX-9999".into()))
            .unwrap();
        let secrets = secrets();
        assert_eq!(inbox.recv(&secrets).await, Inbound::Noise("first".into()));
        match inbox.recv(&secrets).await {
            Inbound::Noise(text) => assert!(!text.contains("tok-INBOX-9999"), "{text}"),
            other => panic!("{other:?}"),
        }
        assert!(inbox.ensure_open().is_ok());
    }

    #[tokio::test]
    async fn a_close_sticks_and_refuses_sends() {
        let secrets = secrets();
        // The server's side closed: every later recv says why, sends fail naming it.
        let mut inbox = Inbox::new();
        inbox.push(Inbound::Closed {
            reason: "the event stream ended".into(),
        });
        inbox.push(Inbound::Noise("after the end".into()));
        for _ in 0..2 {
            assert_eq!(
                inbox.recv(&secrets).await,
                Inbound::Closed {
                    reason: "the event stream ended".into()
                }
            );
        }
        let refused = inbox.ensure_open().unwrap_err().to_string();
        assert!(refused.contains("the event stream ended"), "{refused}");
        // The client closing after the server did keeps the server's reason.
        inbox.close();
        assert!(matches!(inbox.recv(&secrets).await,
            Inbound::Closed { reason } if reason == "the event stream ended"));
        // The client's own close.
        let mut inbox = Inbox::new();
        inbox.push(Inbound::Noise("unread".into()));
        inbox.close();
        assert!(matches!(inbox.recv(&secrets).await,
            Inbound::Closed { reason } if reason == "closed by the client"));
        assert!(inbox.ensure_open().is_err());
    }
}
