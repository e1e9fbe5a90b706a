//! The attach wire format byte by byte with a raw websocket client, and attach faults.
mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

async fn raw_attach(
    sim: &kube_sim::SimHandle,
    pod: &str,
    protocols: &str,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    String,
) {
    let url = format!(
        "ws://{}/api/v1/namespaces/default/pods/{pod}/attach?container=main&stdin=true&stdout=true&stderr=true",
        sim.addr()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket upgrade");
    let chosen = resp.headers()["sec-websocket-protocol"]
        .to_str()
        .unwrap()
        .to_owned();
    (ws, chosen)
}

#[tokio::test]
async fn v5_attach_frames_match_the_api_server() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("wire", "echo:1")).await;
    wait_for(&pods, "wire", "Running", is_running()).await;
    let (mut ws, chosen) = raw_attach(&sim, "wire", "v5.channel.k8s.io, v4.channel.k8s.io").await;
    assert_eq!(chosen, "v5.channel.k8s.io");
    // First frame: empty, on the lowest output channel.
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(vec![1u8])
    );
    ws.send(Message::binary(b"\x00abc\n".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(b"\x01abc\n".to_vec())
    );
    ws.send(Message::binary(vec![255u8, 0])).await.unwrap();
    let status = ws.next().await.unwrap().unwrap().into_data();
    assert_eq!(status[0], 3);
    let status: serde_json::Value = serde_json::from_slice(&status[1..]).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"metadata": {}, "status": "Success"})
    );
    match ws.next().await.unwrap().unwrap() {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected close 1000, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn v4_is_chosen_when_offered_alone_and_socket_close_ends_stdin_once() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("v4", "echo:1")).await;
    wait_for(&pods, "v4", "Running", is_running()).await;
    let (mut ws, chosen) = raw_attach(&sim, "v4", "v4.channel.k8s.io").await;
    assert_eq!(chosen, "v4.channel.k8s.io");
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(vec![1u8])
    );
    ws.send(Message::binary(b"\x00x\n".to_vec())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(b"\x01x\n".to_vec())
    );
    // v4 has no channel close: closing the socket detaches, and stdinOnce gives the process EOF.
    ws.close(None).await.unwrap();
    wait_for(&pods, "v4", "Succeeded", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Succeeded")
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn unsupported_subprotocol_is_refused_with_a_status() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("np", "echo:1")).await;
    wait_for(&pods, "np", "Running", is_running()).await;
    let url = format!(
        "ws://{}/api/v1/namespaces/default/pods/np/attach?stdout=true",
        sim.addr()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "channel.k8s.io".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("expected 400, got {:?}", other.map(|r| r.1)),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn attach_socket_dropped_after_n_bytes() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("drop", "echo:1")).await;
    wait_for(&pods, "drop", "Running", is_running()).await;
    sim.faults().drop_attach_after_bytes(Some(5));
    let mut at = pods
        .attach(
            "drop",
            &AttachParams::default()
                .stdin(true)
                .stdout(true)
                .stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = at.stdin().unwrap();
    let mut stdout = at.stdout().unwrap();
    let status = at.take_status().unwrap();
    stdin.write_all(b"hello world\n").await.unwrap();
    let mut out = [0u8; 5];
    tokio::time::timeout(Duration::from_secs(5), stdout.read_exact(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&out, b"hello");
    // kube-rs ends its message loop with an error (no close frame), so the status never comes.
    let joined = tokio::time::timeout(Duration::from_secs(5), at.join())
        .await
        .expect("loop ends");
    assert!(
        joined.is_err(),
        "the client sees an abnormal end: {joined:?}"
    );
    assert!(status.await.is_none(), "no status after a dropped socket");
    sim.shutdown().await;
}

#[tokio::test]
async fn pod_deleted_during_attach_ends_the_session() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let created = create(&pods, &pod("victim", "echo:1")).await;
    wait_for(&pods, "victim", "Running", is_running()).await;
    sim.faults()
        .delete_pod_during_attach(Some(Duration::from_millis(200)));
    let mut at = pods
        .attach(
            "victim",
            &AttachParams::default()
                .stdin(true)
                .stdout(true)
                .stderr(false),
        )
        .await
        .unwrap();
    let _stdin = at.stdin().unwrap();
    let mut stdout = at.stdout().unwrap();
    let status = at.take_status().unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stdout.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.await.and_then(|s| s.status).as_deref(),
        Some("Success")
    );
    wait_deleted(&pods, "victim", created.metadata.uid.as_deref().unwrap()).await;
    sim.shutdown().await;
}
