//! Secrets through kube-rs as the real API server serves them: `stringData` folded into
//! `data` on create, PATCH and PUT; Status errors; selectors; immutability.
mod common;

use std::collections::BTreeMap;

use common::*;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn secret(name: &str, body: serde_json::Value) -> Secret {
    let mut v = body;
    v["metadata"]["name"] = json!(name);
    serde_json::from_value(v).unwrap()
}

fn data(s: &Secret) -> BTreeMap<String, String> {
    s.data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect()
}

#[tokio::test]
async fn create_get_list_delete_and_their_errors() {
    let sim = start().await;
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    let mut s = secret(
        "creds",
        json!({"metadata": {"labels": {"app": "x"}}, "stringData": {"B": "from-string", "C": "c"}}),
    );
    s.data = Some(BTreeMap::from([
        ("A".to_owned(), ByteString(b"a".to_vec())),
        ("B".to_owned(), ByteString(b"from-data".to_vec())),
    ]));
    let made = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert!(made.string_data.is_none());
    assert_eq!(
        data(&made),
        BTreeMap::from([
            ("A".into(), "a".into()),
            ("B".into(), "from-string".into()),
            ("C".into(), "c".into())
        ])
    );
    assert_eq!(made.type_.as_deref(), Some("Opaque"));
    assert!(made.metadata.uid.is_some() && made.metadata.resource_version.is_some());
    assert_eq!(data(&secrets.get("creds").await.unwrap()), data(&made));

    let e = api_err(
        secrets
            .create(&PostParams::default(), &s)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, "secrets \"creds\" already exists");
    let e = api_err(secrets.get("nope").await.unwrap_err());
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "secrets \"nope\" not found")
    );

    let typed = secret(
        "tls",
        json!({"type": "kubernetes.io/tls", "stringData": {"k": "v"}}),
    );
    secrets
        .create(&PostParams::default(), &typed)
        .await
        .unwrap();
    let names = |lp: ListParams| {
        let secrets = secrets.clone();
        async move {
            let mut v: Vec<String> = secrets
                .list(&lp)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|s| s.metadata.name.unwrap())
                .collect();
            v.sort();
            v
        }
    };
    assert_eq!(names(ListParams::default()).await, ["creds", "tls"]);
    assert_eq!(
        names(ListParams::default().labels("app=x")).await,
        ["creds"]
    );
    assert_eq!(
        names(ListParams::default().fields("type=Opaque")).await,
        ["creds"]
    );
    assert_eq!(
        names(ListParams::default().fields("metadata.name!=creds")).await,
        ["tls"]
    );
    let e = api_err(
        secrets
            .list(&ListParams::default().fields("data.A=a"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);

    // Keys must be config keys; the whole of data at most 1 MiB.
    let bad = secret("bad", json!({"stringData": {"no spaces": "v", "..x": "v"}}));
    let e = api_err(
        secrets
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    let causes = e.details.unwrap().causes;
    let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["data[..x]", "data[no spaces]"]);
    assert!(e.message.starts_with("Secret \"bad\" is invalid: [data[..x]: Invalid value: \"..x\": must not start with '..', "), "{}", e.message);
    let big = secret("big", json!({"stringData": {"k": "x".repeat(1024 * 1024)}}));
    let e = api_err(
        secrets
            .create(&PostParams::default(), &big)
            .await
            .unwrap_err(),
    );
    let cause = &e.details.unwrap().causes[0];
    assert_eq!(
        (cause.field.as_str(), cause.reason.as_str()),
        ("data", "FieldValueTooLong")
    );

    let gone = secrets
        .delete("creds", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        gone.left().is_some(),
        "a Secret is deleted at once and answered with itself"
    );
    assert!(secrets.get_opt("creds").await.unwrap().is_none());
    let e = api_err(
        secrets
            .delete("creds", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn updates_fold_string_data_and_keep_immutable_secrets() {
    let sim = start().await;
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    let made = secrets
        .create(
            &PostParams::default(),
            &secret("s", json!({"stringData": {"A": "1"}})),
        )
        .await
        .unwrap();
    let merge = |v: serde_json::Value| Patch::Merge(v);
    let pp = PatchParams::default();
    let patched = secrets
        .patch(
            "s",
            &pp,
            &merge(json!({"stringData": {"B": "2"}, "metadata": {"labels": {"l": "v"}}})),
        )
        .await
        .unwrap();
    assert!(patched.string_data.is_none());
    assert_eq!(
        data(&patched),
        BTreeMap::from([("A".into(), "1".into()), ("B".into(), "2".into())])
    );
    assert_eq!(patched.metadata.labels.unwrap()["l"], "v");
    assert_eq!(patched.metadata.uid, made.metadata.uid);
    // A stale resourceVersion in the patch is a conflict.
    let stale = merge(
        json!({"metadata": {"resourceVersion": made.metadata.resource_version}, "stringData": {"C": "3"}}),
    );
    let e = api_err(secrets.patch("s", &pp, &stale).await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    let e = api_err(
        secrets
            .patch("s", &pp, &merge(json!({"type": "kubernetes.io/tls"})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert_eq!(e.details.unwrap().causes[0].field, "type");

    // PUT replaces the whole object; stale resourceVersions conflict.
    let mut replacement = secrets.get("s").await.unwrap();
    replacement.data = None;
    replacement.string_data = Some(BTreeMap::from([("Z".into(), "26".into())]));
    let replaced = secrets
        .replace("s", &PostParams::default(), &replacement)
        .await
        .unwrap();
    assert_eq!(data(&replaced), BTreeMap::from([("Z".into(), "26".into())]));
    assert_eq!(replaced.metadata.uid, made.metadata.uid);
    let e = api_err(
        secrets
            .replace("s", &PostParams::default(), &replacement)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);

    // immutable: data and the flag are fixed, metadata is not.
    let frozen = secret(
        "frozen",
        json!({"immutable": true, "stringData": {"A": "1"}}),
    );
    secrets
        .create(&PostParams::default(), &frozen)
        .await
        .unwrap();
    let e = api_err(
        secrets
            .patch("frozen", &pp, &merge(json!({"stringData": {"A": "2"}})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "Secret \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
    );
    let e = api_err(
        secrets
            .patch("frozen", &pp, &merge(json!({"immutable": false})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.details.unwrap().causes[0].reason, "FieldValueForbidden");
    secrets
        .patch(
            "frozen",
            &pp,
            &merge(json!({"metadata": {"labels": {"ok": "yes"}}})),
        )
        .await
        .expect("metadata of an immutable Secret can change");
    sim.shutdown().await;
}

#[tokio::test]
async fn unencoded_data_is_refused_without_echoing_it() {
    let sim = start().await;
    let c = client(&sim);
    let body = json!({"metadata": {"name": "raw"}, "data": {"TOKEN": "s3cr3t value!"}});
    let req = hyper::Request::post("/api/v1/namespaces/default/secrets")
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap();
    let e = api_err(c.request::<Secret>(req).await.unwrap_err());
    assert_eq!(e.code, 400);
    assert_eq!(
        e.message,
        "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 6"
    );
    assert_eq!(sim.object_counts().secrets, 0);
    sim.shutdown().await;
}
