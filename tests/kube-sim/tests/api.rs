//! API semantics through kube-rs: Status errors, selectors, watch resumption and bookmarks,
//! deletion propagation and garbage collection, Services, faults and deny rules.
mod common;

use std::time::Duration;

use common::*;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use kube_sim::{Config, Matcher, Rules};
use serde_json::json;

#[tokio::test]
async fn errors_are_real_status_bodies() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let e = api_err(pods.get("missing").await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, "pods \"missing\" not found");

    create(&pods, &pod("dup", "sleeper:1")).await;
    let e = api_err(
        pods.create(&PostParams::default(), &pod("dup", "sleeper:1"))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));

    // Pod names are DNS-1123 subdomains: dots allowed, up to 253 characters.
    for bad in ["Upper-Case", "trailing-", "a..b", &"x".repeat(254)] {
        let e = api_err(
            pods.create(&PostParams::default(), &pod(bad, "sleeper:1"))
                .await
                .unwrap_err(),
        );
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"), "{bad}");
        let causes = e.details.unwrap().causes;
        assert_eq!(causes[0].field, "metadata.name");
    }
    for good in [&"x".repeat(63), &"y".repeat(200), "example.test-1.a"] {
        assert!(pods
            .create(&PostParams::default(), &pod(good, "sleeper:1"))
            .await
            .is_ok());
    }
    let no_containers: Pod =
        serde_json::from_value(json!({"metadata": {"name": "empty"}, "spec": {"containers": []}}))
            .unwrap();
    let e = api_err(
        pods.create(&PostParams::default(), &no_containers)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);

    let ns: Api<Namespace> = Api::all(client(&sim));
    assert_eq!(
        ns.get("anything")
            .await
            .unwrap()
            .status
            .unwrap()
            .phase
            .as_deref(),
        Some("Active")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let sim = start().await;
    let c = client(&sim);
    let default: Api<Pod> = Api::default_namespaced(c.clone());
    let other: Api<Pod> = Api::namespaced(c.clone(), "other");
    create(&default, &pod("a", "sleeper:1")).await;
    create(&default, &pod("b", "nope:1")).await;
    create(&other, &pod("a", "sleeper:1")).await;
    let names = |l: kube::core::ObjectList<Pod>| {
        let mut v: Vec<String> = l
            .items
            .into_iter()
            .map(|p| p.metadata.name.unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(default.list(&ListParams::default()).await.unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        names(
            default
                .list(&ListParams::default().labels("app=b"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            default
                .list(&ListParams::default().labels("app in (a,c),suite"))
                .await
                .unwrap()
        ),
        ["a"]
    );
    assert_eq!(
        names(
            default
                .list(&ListParams::default().fields("metadata.name!=a"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    let all: Api<Pod> = Api::all(c.clone());
    assert_eq!(
        all.list(&ListParams::default().fields("metadata.name=a"))
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    wait_for(&default, "a", "Running", is_running()).await;
    assert_eq!(
        names(
            default
                .list(&ListParams::default().fields("status.phase=Running"))
                .await
                .unwrap()
        ),
        ["a"]
    );
    let e = api_err(
        default
            .list(&ListParams::default().fields("spec.image=x"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version_and_sends_bookmarks() {
    let sim = start_with(Config {
        images: images(),
        bookmark_interval: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let list = pods.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    create(&pods, &pod("w1", "nope:1")).await;
    // Events after `rv` are replayed, and bookmarks carry the latest resourceVersion.
    let wp = WatchParams {
        bookmarks: true,
        ..WatchParams::default()
    }
    .timeout(3);
    let mut stream = pods.watch(&wp, &rv).await.unwrap().boxed();
    let mut added = false;
    let mut bookmark_rv = None;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
    {
        match ev.unwrap() {
            WatchEvent::Added(p) => added |= p.metadata.name.as_deref() == Some("w1"),
            WatchEvent::Bookmark(b) => {
                bookmark_rv = Some(b.metadata.resource_version);
                break;
            }
            _ => {}
        }
    }
    assert!(added);
    let bookmark_rv: u64 = bookmark_rv.expect("a bookmark").parse().unwrap();
    assert!(bookmark_rv > rv.parse::<u64>().unwrap());

    // timeoutSeconds ends the stream.
    let started = std::time::Instant::now();
    let mut short = pods
        .watch(&WatchParams::default().timeout(1), &bookmark_rv.to_string())
        .await
        .unwrap()
        .boxed();
    while short.try_next().await.unwrap().is_some() {}
    assert!(started.elapsed() < Duration::from_secs(4));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_label_watch_sees_objects_leave_the_selection() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("lbl", "sleeper:1")).await;
    let wp = WatchParams::default().labels("app=lbl");
    let mut stream = pods.watch(&wp, "0").await.unwrap().boxed();
    let relabel = kube::api::Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}}));
    let patched = pods
        .patch_metadata("lbl", &kube::api::PatchParams::default(), &relabel)
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.unwrap()["app"], "other");
    let spec_change = kube::api::Patch::Merge(json!({"spec": {"restartPolicy": "Always"}}));
    let e = api_err(
        pods.patch("lbl", &kube::api::PatchParams::default(), &spec_change)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    let mut kinds = Vec::new();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
    {
        let k = match ev.unwrap() {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            _ => continue,
        };
        kinds.push(k);
        if k == "DELETED" {
            break;
        }
    }
    // Leaving the selection reads as DELETED, though the pod still exists.
    assert_eq!(kinds.first(), Some(&"ADDED"));
    assert_eq!(kinds.last(), Some(&"DELETED"));
    assert!(pods.get_opt("lbl").await.unwrap().is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_and_deny_rules() {
    let rules: Rules =
        toml::from_str("[[deny]]\nverb = \"delete\"\nresource = \"pods\"\n").unwrap();
    let sim = start_with(Config {
        images: images(),
        rules,
        ..Config::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("f", "sleeper:1")).await;
    let e = api_err(
        pods.delete("f", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert!(
        e.message.contains("cannot delete resource \"pods\""),
        "{}",
        e.message
    );

    sim.faults().fail(Matcher::new("get", "pods"), Some(1));
    assert_eq!(api_err(pods.get("f").await.unwrap_err()).code, 500);
    assert!(pods.get("f").await.is_ok(), "only one failure was injected");

    sim.faults()
        .delay(Matcher::new("list", "pods"), Duration::from_millis(300));
    let t = std::time::Instant::now();
    pods.list(&ListParams::default()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));

    sim.faults().deny(Matcher::new("create", "pods/attach"));
    let e = api_err(
        pods.attach("f", &kube::api::AttachParams::default())
            .await
            .err()
            .unwrap(),
    );
    assert_eq!(e.code, 403);

    sim.faults().end_watches_after_events(Some(1));
    let mut w = pods
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let mut n = 0;
    while tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .unwrap()
        .is_some()
    {
        n += 1;
    }
    assert_eq!(n, 1, "the stream ended after one event");
    sim.faults().clear();
    sim.shutdown().await;
}

#[tokio::test]
async fn close_all_watches_ends_open_streams() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut w = pods
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let waiter = tokio::spawn(async move { while w.next().await.is_some() {} });
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.faults().close_all_watches();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("stream ended")
        .unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn status_subresource_get_and_replace() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("st", "nope:1")).await;
    let got = pods.get_status("st").await.unwrap();
    let mut changed = got.clone();
    changed.status.as_mut().unwrap().message = Some("set by a test".into());
    let replaced = pods
        .replace_status("st", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(
        replaced.status.unwrap().message.as_deref(),
        Some("set by a test")
    );
    // A stale resourceVersion conflicts.
    let e = api_err(
        pods.replace_status("st", &PostParams::default(), &got)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_too_old_resource_version_gets_410_expired_in_the_stream() {
    let sim = start_with(Config {
        images: images(),
        watch_history: 3,
        ..Config::default()
    })
    .await;
    let svcs: Api<Service> = Api::default_namespaced(client(&sim));
    let first = svcs
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    for i in 0..6 {
        let svc: Service = serde_json::from_value(
            json!({"metadata": {"name": format!("s{i}")}, "spec": {"ports": [{"port": 80}]}}),
        )
        .unwrap();
        svcs.create(&PostParams::default(), &svc).await.unwrap();
    }
    let mut stream = svcs
        .watch(&WatchParams::default(), &first)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
    {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    sim.shutdown().await;
}

/// An outage closes the port and cuts every open connection (a watch and an attach too) while
/// the pods run on; back up, the same port serves the same objects.
#[tokio::test]
async fn an_api_outage_cuts_everything_and_the_api_comes_back() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("o", "sleeper:1")).await;
    wait_for(&pods, "o", "Running", is_running()).await;
    let mut watch = pods
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let attach_params = kube::api::AttachParams::default()
        .stdin(true)
        .stdout(true)
        .stderr(false);
    let mut attached = pods.attach("o", &attach_params).await.unwrap();
    sim.faults().api_down();
    assert!(sim.faults().is_api_down());
    // The watch ends (cut, no clean end required) and the attach's stdout too.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = watch.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the watch was cut");
    // kube-rs ends the attach's status without a Status frame when the socket dies.
    let status = attached.take_status().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), status).await;
    assert!(
        matches!(status, Ok(None)),
        "the attach was cut without a Status: {status:?}"
    );
    // Nothing listens: a new connection is refused, not answered.
    let refused = tokio::net::TcpStream::connect(sim.addr()).await;
    assert!(refused.is_err(), "the port is closed during the outage");
    assert_eq!(sim.live_processes(), 1, "the pod runs on");
    sim.faults().api_up();
    let mut back = None;
    for _ in 0..100 {
        if let Ok(pod) = pods.get("o").await {
            back = Some(pod);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        phase(back.as_ref()).as_deref(),
        Some("Running"),
        "same objects"
    );
    sim.shutdown().await;
}

/// `api_down_after`: the first matching request arms it, once.
#[tokio::test]
async fn an_outage_follows_the_first_matching_request() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    sim.faults()
        .api_down_after(Matcher::new("list", "pods"), Duration::from_millis(200));
    pods.list(&ListParams::default()).await.unwrap();
    assert!(!sim.faults().is_api_down(), "not before the delay");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(sim.faults().is_api_down());
    assert!(pods.list(&ListParams::default()).await.is_err());
    sim.faults().api_up();
    tokio::time::sleep(Duration::from_millis(100)).await;
    pods.list(&ListParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!sim.faults().is_api_down(), "armed once");
    sim.shutdown().await;
}

/// The rules file sets faults from the start: `[[fail]]`, `[[delay]]` and `[[outage]]`.
#[tokio::test]
async fn the_rules_file_sets_failures_delays_and_outages() {
    let rules: Rules = toml::from_str(
        "[[fail]]\nverb = \"delete\"\nresource = \"pods\"\ntimes = 1\n\
         [[delay]]\nverb = \"get\"\nresource = \"pods\"\nms = 300\n\
         [[outage]]\nverb = \"list\"\nresource = \"services\"\nafter_ms = 0\n",
    )
    .unwrap();
    let sim = start_with(Config {
        images: images(),
        rules,
        ..Config::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("r", "sleeper:1")).await;
    let started = std::time::Instant::now();
    pods.get("r").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "delayed");
    let e = api_err(
        pods.delete("r", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 500);
    pods.delete("r", &DeleteParams::default()).await.unwrap();
    let services: Api<Service> = Api::default_namespaced(client(&sim));
    let _ = services.list(&ListParams::default()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sim.faults().is_api_down());
    for bad in [
        "[[fail]]\nverb = \"delete\"\nbogus = 1\n",
        "[[delay]]\nverb = \"get\"\n",
    ] {
        assert!(toml::from_str::<Rules>(bad).is_err(), "{bad}");
    }
    sim.shutdown().await;
}
