//! batch/v1 Jobs: an Indexed Job run by kubectl (apply, get, wait, logs by completion index,
//! delete), the job controller's back-off limit, deadline and suspension, validation, deletion
//! propagation, and the whole log of a finished pod.
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::kubectl::*;
use common::*;
use http_body_util::BodyExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, PropagationPolicy};
use kube_sim::{Config, Image, SimHandle};
use serde_json::{json, Value};

/// The alphabet of generated name suffixes.
const SUFFIX_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

fn image(command: &str, env: &[(&str, &str)]) -> Image {
    Image {
        command: vec!["sh".into(), "-c".into(), command.into()],
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Image::default()
    }
}

/// A simulator with the common images, `extra`, and a short pod-failure back-off.
async fn sim_with(extra: &[(&str, Image)]) -> SimHandle {
    let mut images = images();
    for (name, img) in extra {
        images.insert(name, img.clone());
    }
    start_with(Config {
        images,
        job_pod_backoff: Duration::from_millis(200),
        ..Config::default()
    })
    .await
}

fn jobs(sim: &SimHandle) -> Api<Job> {
    Api::default_namespaced(client(sim))
}

fn job(name: &str, spec: Value) -> Job {
    serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "Job",
                                  "metadata": {"name": name}, "spec": spec}))
    .expect("a job")
}

/// A one-container template (restartPolicy Never) running `image`.
fn template(image: &str) -> Value {
    json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}})
}

fn condition(job: &Job, kind: &str) -> Option<(String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind && c.status == "True")
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

fn condition_types(job: &Job) -> Vec<String> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.type_)
        .collect()
}

/// Waits (bounded) until the Job satisfies `cond`, through kube-rs's watch machinery.
async fn wait_job(api: &Api<Job>, name: &str, what: &str, cond: fn(&Job) -> bool) -> Job {
    let check = move |j: Option<&Job>| j.is_some_and(cond);
    let fut = kube::runtime::wait::await_condition(api.clone(), name, check);
    match tokio::time::timeout(Duration::from_secs(30), fut).await {
        Ok(Ok(Some(job))) => job,
        Ok(Ok(None)) => panic!("job {name} was deleted while waiting for {what}"),
        Ok(Err(e)) => panic!("waiting for {what} on {name}: {e}"),
        Err(_) => panic!(
            "timed out waiting for {what} on {name}; status now: {:?}",
            api.get_opt(name)
                .await
                .ok()
                .flatten()
                .and_then(|j| j.status)
        ),
    }
}

async fn pods_of(sim: &SimHandle, job: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::default_namespaced(client(sim));
    let lp = ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}"));
    pods.list(&lp).await.expect("list pods").items
}

/// Waits (bounded) until the Job has no pods left.
async fn wait_no_pods(sim: &SimHandle, job: &str) {
    for _ in 0..500 {
        if pods_of(sim, job).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the pods of {job} are still there");
}

const INDEXED_JOB: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: shards
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: shard
        image: index:1
";

#[tokio::test]
async fn kubectl_runs_an_indexed_job_and_reads_each_completions_log() {
    if kubectl_missing() {
        return skip_or_fail(MISSING);
    }
    // Each container marks itself running in a shared directory, so its log tells how many
    // ran at once.
    let marks = tempfile::tempdir().unwrap();
    let counting = image(
        "touch \"$MARKS/$JOB_COMPLETION_INDEX\"; n=$(ls \"$MARKS\" | wc -l); \
         echo \"index=$JOB_COMPLETION_INDEX host=$HOSTNAME running=$((n))\"; sleep 1; \
         rm \"$MARKS/$JOB_COMPLETION_INDEX\"",
        &[("MARKS", marks.path().to_str().unwrap())],
    );
    let sim = sim_with(&[("index:1", counting)]).await;
    let kc = sim.kubeconfig_path().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("job.yaml");
    std::fs::write(&manifest, INDEXED_JOB).unwrap();
    let manifest = manifest.to_str().unwrap();

    // apply validates by default: the server says (OpenAPI v3) it checks fields itself.
    let out = kubectl(&kc, &["apply", "-f", manifest], None).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "job.batch/shards created"),
        "{}",
        out.stderr
    );
    let out = kubectl(&kc, &["get", "jobs", "shards"], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("NAME     STATUS    COMPLETIONS   DURATION   AGE\nshards   Running   0/3"),
        "{}",
        out.stdout
    );

    let out = kubectl(
        &kc,
        &[
            "wait",
            "--for=condition=complete",
            "job/shards",
            "--timeout=25s",
        ],
        None,
    )
    .await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "job.batch/shards condition met"),
        "{}",
        out.stderr
    );
    let out = kubectl(
        &kc,
        &[
            "get",
            "job",
            "shards",
            "-o",
            "jsonpath={.status.completedIndexes} {.status.succeeded} {.status.failed} {.status.active}",
        ],
        None,
    )
    .await;
    assert_eq!(out.stdout, "0-2 3  ", "{}", out.stderr);
    let out = kubectl(&kc, &["get", "jobs"], None).await;
    let row: Vec<&str> = out
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..3], ["shards", "Complete", "3/3"], "{}", out.stdout);
    // Re-applying the same manifest changes nothing.
    let out = kubectl(&kc, &["apply", "-f", manifest], None).await;
    assert_eq!(
        out.stdout.trim(),
        "job.batch/shards unchanged",
        "{}",
        out.stderr
    );

    let job = jobs(&sim).get("shards").await.unwrap();
    let uid = job.metadata.uid.clone().unwrap();
    assert_eq!(
        condition_types(&job),
        ["SuccessCriteriaMet", "Complete"],
        "{:?}",
        job.status
    );
    assert_eq!(
        condition(&job, "Complete").unwrap(),
        (
            "CompletionsReached".to_owned(),
            "Reached expected number of succeeded pods".to_owned()
        )
    );
    let status = job.status.clone().unwrap();
    assert!(status.start_time.is_some() && status.completion_time.is_some());

    let mut most_at_once = 0;
    for index in 0..3 {
        let selector = format!(
            "batch.kubernetes.io/job-name=shards,batch.kubernetes.io/job-completion-index={index}"
        );
        let out = kubectl(&kc, &["logs", "-l", &selector], None).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let line = out.stdout.trim();
        let prefix = format!("index={index} host=shards-{index} running=");
        let running: usize = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("log of index {index}: {line:?}"))
            .parse()
            .unwrap();
        assert!(running <= 2, "parallelism 2, but {running} ran at once");
        most_at_once = most_at_once.max(running);

        let pods = pods_of(&sim, "shards").await;
        let pod = pods
            .iter()
            .find(|p| {
                p.metadata.labels.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"]
                    == index.to_string()
            })
            .unwrap();
        let meta = &pod.metadata;
        let name = meta.name.clone().unwrap();
        let suffix = name
            .strip_prefix(&format!("shards-{index}-"))
            .unwrap_or_else(|| panic!("pod name {name}"));
        assert!(
            suffix.len() == 5 && suffix.chars().all(|c| SUFFIX_ALPHABET.contains(c)),
            "{name}"
        );
        let labels = meta.labels.clone().unwrap();
        for (key, want) in [
            ("batch.kubernetes.io/job-name", "shards"),
            ("job-name", "shards"),
            ("batch.kubernetes.io/controller-uid", uid.as_str()),
            ("controller-uid", uid.as_str()),
        ] {
            assert_eq!(labels[key], want, "{key} on {name}");
        }
        assert_eq!(
            meta.annotations.as_ref().unwrap()["batch.kubernetes.io/job-completion-index"],
            index.to_string()
        );
        let owner = &meta.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.name.as_str(),
                owner.uid.as_str(),
                owner.controller
            ),
            ("Job", "shards", uid.as_str(), Some(true))
        );
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(
            spec.hostname.as_deref(),
            Some(format!("shards-{index}").as_str())
        );
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        assert_eq!(phase.as_deref(), Some("Succeeded"));
    }
    assert_eq!(most_at_once, 2, "two of the three indexes ran at once");

    let out = kubectl(&kc, &["delete", "job", "shards"], None).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "job.batch \"shards\" deleted"),
        "{}",
        out.stderr
    );
    wait_no_pods(&sim, "shards").await;
    let out = kubectl(&kc, &["get", "job", "shards"], None).await;
    assert_eq!(
        (out.code, out.stderr.trim()),
        (
            1,
            "Error from server (NotFound): jobs.batch \"shards\" not found"
        )
    );
    assert_eq!(sim.object_counts().total(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_job_fails_with_backoff_limit_exceeded_after_its_retries() {
    let sim = sim_with(&[]).await;
    let api = jobs(&sim);
    let spec = json!({"backoffLimit": 1, "template": template("fail:1")});
    api.create(&PostParams::default(), &job("failing", spec))
        .await
        .unwrap();
    let failed = wait_job(&api, "failing", "Failed", |j| {
        condition(j, "Failed").is_some()
    })
    .await;
    let want = (
        "BackoffLimitExceeded".to_owned(),
        "Job has reached the specified backoff limit".to_owned(),
    );
    assert_eq!(condition(&failed, "Failed"), Some(want.clone()));
    assert_eq!(condition(&failed, "FailureTarget"), Some(want));
    assert!(condition(&failed, "Complete").is_none());
    let status = failed.status.unwrap();
    assert_eq!(
        (status.failed, status.succeeded, status.active),
        (Some(2), None, None)
    );
    assert!(status.completion_time.is_none());
    // The first pod and its one replacement, both kept (their logs readable).
    let pods = pods_of(&sim, "failing").await;
    assert_eq!(pods.len(), 2);
    for p in &pods {
        assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Failed"));
        let name = p.metadata.name.as_deref().unwrap();
        let logs: Api<Pod> = Api::default_namespaced(client(&sim));
        // stdout and stderr are separate pipes: either line may come first.
        let log = logs.logs(name, &Default::default()).await.unwrap();
        let mut lines: Vec<&str> = log.lines().collect();
        lines.sort();
        assert_eq!(lines, ["err", "out"]);
    }
    // No third pod comes.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(pods_of(&sim, "failing").await.len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_jobs_are_refused_with_the_api_servers_422() {
    let sim = sim_with(&[]).await;
    let api = jobs(&sim);
    let refuse = |spec: Value| {
        let api = api.clone();
        async move {
            api_err(
                api.create(&PostParams::default(), &job("bad", spec))
                    .await
                    .unwrap_err(),
            )
        }
    };
    let mut always = template("ok:1");
    always["spec"]["restartPolicy"] = json!("Always");
    let e = refuse(json!({"template": always})).await;
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        e.message,
        "Job.batch \"bad\" is invalid: spec.template.spec.restartPolicy: Required value: \
         valid values: \"OnFailure\", \"Never\""
    );
    let mut unset = template("ok:1");
    unset["spec"]
        .as_object_mut()
        .unwrap()
        .remove("restartPolicy");
    assert_eq!(refuse(json!({"template": unset})).await.code, 422);
    let e = refuse(
        json!({"completionMode": "Indexed", "parallelism": 2, "template": template("ok:1")}),
    )
    .await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            422,
            "Job.batch \"bad\" is invalid: spec.completions: Required value: when completion \
             mode is Indexed"
        )
    );
    let e = refuse(json!({"completionMode": "Random", "template": template("ok:1")})).await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            422,
            "Job.batch \"bad\" is invalid: spec.completionMode: Unsupported value: \"Random\": \
             supported values: \"NonIndexed\", \"Indexed\""
        )
    );
    assert!(api.get_opt("bad").await.unwrap().is_none());
    assert_eq!(sim.created_counts().pods, 0);

    if kubectl_missing() {
        return skip_or_fail(MISSING);
    }
    let kc = sim.kubeconfig_path().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("job.yaml");
    std::fs::write(
        &manifest,
        INDEXED_JOB.replace("restartPolicy: Never", "restartPolicy: Always"),
    )
    .unwrap();
    let out = kubectl(&kc, &["apply", "-f", manifest.to_str().unwrap()], None).await;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "The Job \"shards\" is invalid: spec.template.spec.restartPolicy: Required value: \
         valid values: \"OnFailure\", \"Never\""
    );
    // kubectl asks for strict field validation, which the server does.
    std::fs::write(
        &manifest,
        INDEXED_JOB.replace(
            "restartPolicy: Never",
            "restartPolicy: Never\n      restartPolicyy: Never",
        ),
    )
    .unwrap();
    let out = kubectl(&kc, &["apply", "-f", manifest.to_str().unwrap()], None).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "Job in version \"v1\" cannot be handled as a Job: strict decoding error: unknown \
             field \"spec.template.spec.restartPolicyy\""
        ),
        "{}",
        out.stderr
    );
    assert_eq!(sim.object_counts().total(), 0);
    sim.shutdown().await;
}

/// DELETE through the client's raw HTTP, answering the status and the `Warning` headers.
async fn raw_delete(sim: &SimHandle, path: &str) -> (u16, Vec<String>) {
    let req = hyper::Request::delete(path)
        .body(kube::client::Body::empty())
        .unwrap();
    let resp = client(sim).send(req).await.expect("delete sent");
    let warnings = resp
        .headers()
        .get_all("warning")
        .iter()
        .map(|w| w.to_str().unwrap().to_owned())
        .collect();
    let code = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    (code, warnings)
}

#[tokio::test]
async fn deleting_a_job_in_background_removes_its_pods_and_orphaning_keeps_them() {
    let sim = sim_with(&[]).await;
    let api = jobs(&sim);
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let spec = json!({"parallelism": 2, "completions": 4, "template": template("sleeper:1")});
    for name in ["background", "orphaned", "defaulted"] {
        api.create(&PostParams::default(), &job(name, spec.clone()))
            .await
            .unwrap();
        wait_job(&api, name, "2 ready pods", |j| {
            j.status.as_ref().and_then(|s| s.ready) == Some(2)
        })
        .await;
        assert_eq!(pods_of(&sim, name).await.len(), 2);
    }

    let background = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    api.delete("background", &background).await.unwrap();
    assert!(api.get_opt("background").await.unwrap().is_none());
    wait_no_pods(&sim, "background").await;

    let orphan = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..DeleteParams::default()
    };
    api.delete("orphaned", &orphan).await.unwrap();
    // Without a policy, batch/v1 orphans too (for compatibility), and says so.
    let (code, warnings) =
        raw_delete(&sim, "/apis/batch/v1/namespaces/default/jobs/defaulted").await;
    assert_eq!(code, 200);
    assert_eq!(
        warnings,
        [
            "299 - \"child pods are preserved by default when jobs are deleted; set \
          propagationPolicy=Background to remove them or set propagationPolicy=Orphan to \
          suppress this warning\""
        ]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    for name in ["orphaned", "defaulted"] {
        let kept = pods_of(&sim, name).await;
        assert_eq!(kept.len(), 2, "{name}");
        for p in &kept {
            assert!(p
                .metadata
                .owner_references
                .as_deref()
                .unwrap_or_default()
                .is_empty());
            assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
        }
    }
    // Nothing replaces an orphan that goes: its Job no longer exists.
    let first = pods_of(&sim, "orphaned").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    pods.delete(&first, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pods_of(&sim, "orphaned").await.len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_active_deadline_fails_the_job_and_deletes_its_running_pods() {
    let sim = sim_with(&[]).await;
    let api = jobs(&sim);
    let spec = json!({"activeDeadlineSeconds": 1, "parallelism": 2, "completions": 2,
                      "template": template("sleeper:1")});
    api.create(&PostParams::default(), &job("late", spec))
        .await
        .unwrap();
    let failed = wait_job(&api, "late", "Failed", |j| condition(j, "Failed").is_some()).await;
    assert_eq!(
        condition(&failed, "Failed"),
        Some((
            "DeadlineExceeded".to_owned(),
            "Job was active longer than specified deadline".to_owned()
        ))
    );
    let status = failed.status.unwrap();
    // The two running pods were deleted, each counted as failed.
    assert_eq!(
        (status.active, status.failed, status.terminating),
        (None, Some(2), Some(0))
    );
    wait_no_pods(&sim, "late").await;
    assert_eq!(sim.live_processes(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_suspended_job_runs_nothing_until_resumed() {
    let sim = sim_with(&[]).await;
    let api = jobs(&sim);
    let spec = json!({"suspend": true, "completionMode": "Indexed", "completions": 2,
                      "parallelism": 2, "template": template("ok:1")});
    api.create(&PostParams::default(), &job("held", spec))
        .await
        .unwrap();
    let held = wait_job(&api, "held", "Suspended", |j| {
        condition(j, "Suspended").is_some()
    })
    .await;
    assert_eq!(
        condition(&held, "Suspended"),
        Some(("JobSuspended".to_owned(), "Job suspended".to_owned()))
    );
    assert!(held.status.unwrap().start_time.is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(pods_of(&sim, "held").await.is_empty());
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    let done = wait_job(&api, "held", "Complete", |j| {
        condition(j, "Complete").is_some()
    })
    .await;
    let status = done.status.unwrap();
    assert_eq!(status.completed_indexes.as_deref(), Some("0,1"));
    let resumed = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Suspended")
        .unwrap();
    assert_eq!(
        (resumed.status.as_str(), resumed.reason.as_deref()),
        ("False", Some("JobResumed"))
    );
    // The rest of the spec stays immutable.
    let e = api_err(
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"completions": 5}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_finished_pods_whole_large_log_stays_readable() {
    // 5000 lines of 5000 characters and a line number: about 25 MB, as a shard's output.
    let big = image(
        "awk 'BEGIN { s = sprintf(\"%5000s\", \"\"); gsub(/ /, \"x\", s); \
         for (i = 0; i < 5000; i++) print i \" \" s }'",
        &[],
    );
    let sim = sim_with(&[("big:1", big)]).await;
    let api = jobs(&sim);
    let spec =
        json!({"completionMode": "Indexed", "completions": 1, "template": template("big:1")});
    api.create(&PostParams::default(), &job("big", spec))
        .await
        .unwrap();
    wait_job(&api, "big", "Complete", |j| {
        condition(j, "Complete").is_some()
    })
    .await;
    let pod = pods_of(&sim, "big").await.remove(0);
    let name = pod.metadata.name.unwrap();
    let check = |log: &str| {
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 5000);
        let tail: BTreeMap<usize, usize> = [(0, 0), (4999, 4999)].into();
        for (at, number) in tail {
            let (n, body) = lines[at].split_once(' ').unwrap();
            assert_eq!(n.parse::<usize>().unwrap(), number);
            assert_eq!(body.len(), 5000);
        }
        assert_eq!(
            log.len(),
            (0..5000)
                .map(|i: usize| i.to_string().len() + 5002)
                .sum::<usize>()
        );
    };
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    check(&pods.logs(&name, &Default::default()).await.unwrap());
    if kubectl_missing() {
        return skip_or_fail(MISSING);
    }
    let out = kubectl(sim.kubeconfig_path(), &["logs", &name], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    check(&out.stdout);
    sim.shutdown().await;
}
