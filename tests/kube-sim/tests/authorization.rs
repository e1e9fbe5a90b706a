//! Websocket upgrades are authorized as the API server authorizes them: the GET is the verb
//! `get` on the subresource, and (as from 1.35, AuthorizePodWebsocketUpgradeCreatePermission)
//! `create` must be allowed too.
mod common;

use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube_sim::Matcher;

fn status(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn upgrades_need_get_and_create_on_the_subresource() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("f", "tcp-echo:1")).await;
    wait_for(&pods, "f", "Running", is_running()).await;
    for verb in ["get", "create"] {
        sim.faults().clear();
        sim.faults().deny(Matcher::new(verb, "pods/portforward"));
        let e = status(pods.portforward("f", &[8080]).await.err().expect("refused"));
        assert_eq!(e.code, 403, "{verb}");
        assert_eq!(
            e.message,
            format!(
                "pods \"f\" is forbidden: User \"system:serviceaccount:kube-sim:tester\" cannot \
                 {verb} resource \"pods/portforward\" in API group \"\" in the namespace \"default\""
            )
        );
        // Attach is its own subresource: still allowed.
        let attached = pods
            .attach("f", &AttachParams::default().stdin(false).stderr(false))
            .await;
        assert!(attached.is_ok(), "{verb}: {:?}", attached.err());
    }
    sim.faults().clear();
    sim.faults().deny(Matcher::new("create", "pods"));
    assert!(
        pods.portforward("f", &[8080]).await.is_ok(),
        "creating pods is another permission"
    );
    sim.shutdown().await;
}
