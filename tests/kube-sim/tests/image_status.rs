//! What a started container's status says about its image, as kubelets over containerd
//! report it: `image` normalized (`docker.io/library/NAME:TAG`) and `imageID` a repository
//! digest (`docker.io/library/NAME@sha256:<64 hex>`), settable per image in the table.
mod common;

use common::*;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Api;
use kube_sim::{Config, Image};

fn sleeper(image_id: Option<String>) -> Image {
    Image {
        command: vec!["sleep".into(), "300".into()],
        image_id,
        ..Image::default()
    }
}

async fn running_status(pods: &Api<Pod>, name: &str, image: &str) -> ContainerStatus {
    create(pods, &pod(name, image)).await;
    let p = wait_for(pods, name, "Running", is_running()).await;
    p.status.unwrap().container_statuses.unwrap().remove(0)
}

#[tokio::test]
async fn image_ids_are_registry_qualified_digests() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let mut images = images();
    images.insert("pinned:1", sleeper(Some(digest.clone())));
    images.insert(
        "ghcr.io/acme/full:2",
        sleeper(Some(format!("ghcr.io/acme/full@{digest}"))),
    );
    let sim = start_with(Config {
        images,
        ..Config::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));

    let cs = running_status(&pods, "plain", "sleeper:1").await;
    assert_eq!(cs.image, "docker.io/library/sleeper:1");
    let (repo, hex) = cs.image_id.split_once("@sha256:").expect("repo@sha256:hex");
    assert_eq!(repo, "docker.io/library/sleeper");
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    // Deterministic: the same reference, in another spelling, has the same digest.
    let again = running_status(&pods, "again", "docker.io/library/sleeper:1").await;
    assert_eq!(again.image_id, cs.image_id);

    let cs = running_status(&pods, "pinned", "pinned:1").await;
    assert_eq!(cs.image_id, format!("docker.io/library/pinned@{digest}"));
    let cs = running_status(&pods, "full", "ghcr.io/acme/full:2").await;
    assert_eq!(cs.image, "ghcr.io/acme/full:2");
    assert_eq!(cs.image_id, format!("ghcr.io/acme/full@{digest}"));
    sim.shutdown().await;
}

#[tokio::test]
async fn before_the_container_exists_only_the_specs_image_is_reported() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("missing", "nope:404")).await;
    let p = wait_for(&pods, "missing", "ErrImagePull", |p: Option<&Pod>| {
        waiting_reason(p).is_some_and(|r| r.contains("ImagePull"))
    })
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!((cs.image.as_str(), cs.image_id.as_str()), ("nope:404", ""));
    // A finished container keeps its image and digest.
    create(&pods, &pod("done", "ok:1")).await;
    let p = wait_for(&pods, "done", "Succeeded", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Succeeded")
    })
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(cs.image, "docker.io/library/ok:1");
    assert!(
        cs.image_id.starts_with("docker.io/library/ok@sha256:"),
        "{cs:?}"
    );
    sim.shutdown().await;
}
