//! runAsNonRoot against the image's user, as the kubelet checks it (verifyRunAsNonRoot): root
//! and named users are refused without a numeric runAsUser; a numeric non-root one starts both.
mod common;

use common::*;
use k8s_openapi::api::core::v1::{Pod, PodSecurityContext, SecurityContext};
use kube::Api;
use kube_sim::{Config, Image};

fn sleeper(user: Option<&str>, runs_as_root: bool) -> Image {
    Image {
        command: vec!["sleep".into(), "300".into()],
        user: user.map(str::to_owned),
        runs_as_root,
        ..Image::default()
    }
}

async fn sim() -> kube_sim::SimHandle {
    let mut images = images();
    images.insert("uid0:1", sleeper(Some("0"), false));
    images.insert("named:1", sleeper(Some("node"), false));
    images.insert("uid1000:1", sleeper(Some("1000:1000"), false));
    images.insert("legacy-root:1", sleeper(None, true));
    start_with(Config {
        images,
        ..Config::default()
    })
    .await
}

/// A pod with `runAsNonRoot: true` and the given pod- and container-level `runAsUser`.
fn non_root_pod(
    name: &str,
    image: &str,
    pod_user: Option<i64>,
    container_user: Option<i64>,
) -> Pod {
    let mut p = pod(name, image);
    let spec = p.spec.as_mut().unwrap();
    spec.security_context = Some(PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: pod_user,
        ..Default::default()
    });
    spec.containers[0].security_context = Some(SecurityContext {
        run_as_user: container_user,
        ..Default::default()
    });
    p
}

/// Waits for CreateContainerConfigError and returns its message (the pod stays Pending).
async fn config_error(pods: &Api<Pod>, name: &str) -> String {
    let p = wait_for(
        pods,
        name,
        "CreateContainerConfigError",
        |p: Option<&Pod>| waiting_reason(p).as_deref() == Some("CreateContainerConfigError"),
    )
    .await;
    assert_eq!(phase(Some(&p)).as_deref(), Some("Pending"));
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    assert!(!cs.ready && cs.image_id.is_empty(), "{cs:?}");
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    waiting.message.clone().unwrap_or_default()
}

fn pod_ref(p: &Pod) -> String {
    format!(
        "(pod: \"{}_default({})\", container: main)",
        p.metadata.name.as_deref().unwrap(),
        p.metadata.uid.as_deref().unwrap()
    )
}

#[tokio::test]
async fn root_and_named_image_users_are_refused_without_a_numeric_run_as_user() {
    let sim = sim().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    for image in ["uid0:1", "legacy-root:1"] {
        let name = image.replace(':', "-");
        let made = create(&pods, &non_root_pod(&name, image, None, None)).await;
        assert_eq!(
            config_error(&pods, &name).await,
            format!(
                "container has runAsNonRoot and image will run as root {}",
                pod_ref(&made)
            )
        );
    }
    let made = create(&pods, &non_root_pod("named", "named:1", None, None)).await;
    assert_eq!(
        config_error(&pods, "named").await,
        format!(
            "container has runAsNonRoot and image has non-numeric user (node), cannot verify \
             user is non-root {}",
            pod_ref(&made)
        )
    );
    // runAsUser 0 breaks the policy whatever the image says.
    let made = create(&pods, &non_root_pod("zero", "uid1000:1", Some(0), None)).await;
    assert_eq!(
        config_error(&pods, "zero").await,
        format!(
            "container's runAsUser breaks non-root policy {}",
            pod_ref(&made)
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_numeric_non_root_user_starts_every_image() {
    let sim = sim().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let cases = [
        ("pod-uid", "uid0:1", Some(1000), None),
        ("container-uid", "named:1", None, Some(1000)),
        // The container's runAsUser overrides the pod's.
        ("override", "root:1", Some(0), Some(65532)),
        ("legacy", "legacy-root:1", Some(65532), None),
        // The image's own numeric non-root user needs no runAsUser.
        ("image-uid", "uid1000:1", None, None),
        // No user in the table: a numeric non-root user.
        ("plain", "sleeper:1", None, None),
    ];
    for (name, image, pod_user, container_user) in cases {
        create(&pods, &non_root_pod(name, image, pod_user, container_user)).await;
    }
    for (name, ..) in cases {
        wait_for(&pods, name, "Running", is_running()).await;
    }
    // Without runAsNonRoot a root image just runs.
    create(&pods, &pod("free", "uid0:1")).await;
    wait_for(&pods, "free", "Running", is_running()).await;
    sim.shutdown().await;
}

#[test]
fn the_image_table_refuses_a_contradictory_user() {
    let bad = "[images.x]\ncommand = [\"true\"]\nruns_as_root = true\nuser = \"1000\"";
    let err = kube_sim::ImageTable::parse(bad).unwrap_err();
    assert!(err.contains("contradicts"), "{err}");
    let ok = "[images.x]\ncommand = [\"true\"]\nruns_as_root = true\nuser = \"0\"";
    assert!(kube_sim::ImageTable::parse(ok).is_ok());
    let named = "[images.x]\ncommand = [\"true\"]\nuser = \"node\"";
    let table = kube_sim::ImageTable::parse(named).unwrap();
    assert_eq!(table.resolve("x").unwrap().user.as_deref(), Some("node"));
}
