//! Capability: the simulator starts quickly and carries 200 concurrently running pods, and its
//! shutdown leaves no process behind. (Timings are printed here; ratios live in the bench.)
mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

const PODS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_pods_run_concurrently_and_shutdown_kills_them_all() {
    let t = Instant::now();
    let sim = start().await;
    eprintln!(
        "kube-sim start: {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let t = Instant::now();
    let results = join_all((0..PODS).map(|i| {
        let pods = pods.clone();
        async move {
            pods.create(&Default::default(), &pod(&format!("load-{i}"), "sleeper:1"))
                .await
        }
    }))
    .await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    eprintln!(
        "{PODS} pods created in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let running = ListParams::default()
        .labels("suite=kube-sim")
        .fields("status.phase=Running");
    let all_running = async {
        // Cheap polling first; the API's answer is what the assertion checks.
        while sim.live_processes() < PODS {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        while pods.list(&running).await.unwrap().items.len() < PODS {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all_running)
        .await
        .expect("all 200 pods reach Running");
    eprintln!(
        "{PODS} pods created and Running in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(sim.live_processes(), PODS);
    let pgids = sim.live_pgids();
    assert_eq!(pgids.len(), PODS);
    sim.shutdown().await;
    // SAFETY: kill(2) with signal 0 only checks for existence.
    let alive = pgids
        .iter()
        .filter(|pg| unsafe { libc::kill(-**pg, 0) } == 0)
        .count();
    assert_eq!(alive, 0, "no pod process survives shutdown");
}
