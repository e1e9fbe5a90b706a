//! Object names validated per kind with the API server's messages (Pods and Secrets: DNS-1123
//! subdomains; Services: DNS-1035 labels; Namespaces: DNS-1123 labels), generateName, and
//! creates in a namespace that cannot exist.
mod common;

use common::*;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{Api, PostParams};
use serde_json::json;

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
    characters, '-' or '.', and must start and end with an alphanumeric character (e.g. \
    'example.com', regex used for validation is \
    '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or \
    '-', start with an alphabetic character, and end with an alphanumeric character (e.g. \
    'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn service(name: &str) -> Service {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}}))
        .unwrap()
}

fn secret(meta: serde_json::Value) -> Secret {
    serde_json::from_value(json!({"metadata": meta})).unwrap()
}

#[tokio::test]
async fn pods_and_secrets_take_subdomains_with_the_servers_message() {
    let sim = start().await;
    let c = client(&sim);
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let secrets: Api<Secret> = Api::default_namespaced(c);
    let e = api_err(
        pods.create(&PostParams::default(), &pod("Web.X", "sleeper:1"))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        e.message,
        format!("Pod \"Web.X\" is invalid: metadata.name: Invalid value: \"Web.X\": {SUBDOMAIN}")
    );
    let details = e.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("Web.X", "Pod")
    );
    let cause = &details.causes[0];
    assert_eq!(
        (cause.reason.as_str(), cause.field.as_str()),
        ("FieldValueInvalid", "metadata.name")
    );
    assert_eq!(
        cause.message,
        format!("Invalid value: \"Web.X\": {SUBDOMAIN}")
    );

    // Too long and badly formed: two causes, bracketed in the message.
    let long_bad = format!("{}-", "a".repeat(253));
    let e = api_err(
        secrets
            .create(&PostParams::default(), &secret(json!({"name": long_bad})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.details.unwrap().causes.len(), 2);
    assert!(
        e.message.starts_with(&format!(
            "Secret \"{long_bad}\" is invalid: [metadata.name: Invalid value: \"{long_bad}\": \
             must be no more than 253 characters, metadata.name: "
        )),
        "{}",
        e.message
    );
    for good in ["a.b.c", "x-1.example.com", &"s".repeat(253)] {
        secrets
            .create(&PostParams::default(), &secret(json!({"name": good})))
            .await
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    let e = api_err(
        secrets
            .create(&PostParams::default(), &secret(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        e.message,
        "Secret \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    assert_eq!(e.details.unwrap().causes[0].reason, "FieldValueRequired");
    sim.shutdown().await;
}

#[tokio::test]
async fn services_take_dns_1035_labels() {
    let sim = start().await;
    let svcs: Api<Service> = Api::default_namespaced(client(&sim));
    for bad in ["1svc", "a.b", "svc-", &"s".repeat(64)] {
        let e = api_err(
            svcs.create(&PostParams::default(), &service(bad))
                .await
                .unwrap_err(),
        );
        assert_eq!(e.code, 422, "{bad}");
    }
    let e = api_err(
        svcs.create(&PostParams::default(), &service("9lives"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        e.message,
        format!(
            "Service \"9lives\" is invalid: metadata.name: Invalid value: \"9lives\": {DNS1035}"
        )
    );
    for good in ["s", "svc-1", &"s".repeat(63)] {
        svcs.create(&PostParams::default(), &service(good))
            .await
            .unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn generate_name_appends_five_server_chosen_characters() {
    let sim = start().await;
    let c = client(&sim);
    let secrets: Api<Secret> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c);
    let made = secrets
        .create(
            &PostParams::default(),
            &secret(json!({"generateName": "probe-"})),
        )
        .await
        .unwrap();
    let name = made.metadata.name.unwrap();
    assert_eq!(made.metadata.generate_name.as_deref(), Some("probe-"));
    let suffix = name.strip_prefix("probe-").expect("the prefix is kept");
    assert_eq!(suffix.len(), 5);
    assert!(
        suffix
            .bytes()
            .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)),
        "{name}"
    );
    let mut p = pod("", "sleeper:1");
    p.metadata.name = None;
    p.metadata.generate_name = Some(format!("{}-", "p".repeat(70)));
    let made = pods.create(&PostParams::default(), &p).await.unwrap();
    let name = made.metadata.name.unwrap();
    assert_eq!(name.len(), 63, "58 characters of the prefix, then 5");
    wait_for(&pods, &name, "Running", is_running()).await;
    // An invalid prefix is reported on generateName (and on the name made from it).
    let e = api_err(
        secrets
            .create(
                &PostParams::default(),
                &secret(json!({"generateName": "Bad-"})),
            )
            .await
            .unwrap_err(),
    );
    let fields: Vec<String> = e
        .details
        .unwrap()
        .causes
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(fields, ["metadata.generateName", "metadata.name"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_create_in_a_namespace_that_cannot_exist_is_not_found() {
    let sim = start().await;
    let secrets: Api<Secret> = Api::namespaced(client(&sim), "Bad_NS");
    let e = api_err(
        secrets
            .create(&PostParams::default(), &secret(json!({"name": "s"})))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "namespaces \"Bad_NS\" not found");
    let details = e.details.unwrap();
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("Bad_NS", "namespaces")
    );
    sim.shutdown().await;
}
