//! What the API server fills into a new Pod: the defaulting functions (SetDefaults_Pod,
//! SetDefaults_PodSpec, SetDefaults_Container, probes, ports) and the admission plugins every
//! cluster runs (ServiceAccount, DefaultTolerationSeconds, Priority), plus the QoS class.
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, PodSecurityContext, PodSpec, Probe, ResourceRequirements, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde_json::json;

/// Where the ServiceAccount admission plugin mounts the token volume.
pub const TOKEN_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The defaulting functions alone (SetDefaults_PodSpec, SetDefaults_Container, probes, ports,
/// field selectors): what a pod template (a Job's) gets, which no admission plugin sees.
pub fn apply_template_defaults(spec: &mut PodSpec) {
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.scheduler_name
        .get_or_insert_with(|| "default-scheduler".into());
    spec.security_context
        .get_or_insert_with(PodSecurityContext::default);
    for c in spec.containers.iter_mut() {
        container(c);
    }
}

/// Everything a new Pod gets: the defaults, SetDefaults_Pod and the admission plugins.
pub fn apply(spec: &mut PodSpec) {
    apply_template_defaults(spec);
    spec.enable_service_links.get_or_insert(true);
    let account = spec
        .service_account_name
        .get_or_insert_with(|| "default".into())
        .clone();
    spec.service_account.get_or_insert(account);
    spec.priority.get_or_insert(0);
    spec.preemption_policy
        .get_or_insert_with(|| "PreemptLowerPriority".into());
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerations.iter().any(|t| t.key.as_deref() == Some(key)) {
            tolerations.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(300),
                value: None,
            });
        }
    }
    let token = spec.automount_service_account_token != Some(false);
    if token {
        let volume = token_volume();
        spec.volumes.get_or_insert_with(Vec::new).push(volume);
    }
    let volume_name = spec
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name.starts_with("kube-api-access-"))
        .map(|v| v.name.clone());
    for c in spec.containers.iter_mut() {
        requests_from_limits(c);
        if let (true, Some(name)) = (token, &volume_name) {
            c.volume_mounts
                .get_or_insert_with(Vec::new)
                .push(VolumeMount {
                    name: name.clone(),
                    mount_path: TOKEN_MOUNT.into(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                });
        }
    }
}

/// The projected token volume (`kube-api-access-xxxxx`) the ServiceAccount plugin adds.
fn token_volume() -> Volume {
    let name = crate::names::generate("kube-api-access-");
    serde_json::from_value(json!({
        "name": name,
        "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace",
                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]},
    }))
    .expect("a valid volume")
}

fn container(c: &mut Container) {
    let image = c.image.clone().unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    let latest = !last.contains(':') || image.ends_with(":latest");
    c.image_pull_policy
        .get_or_insert_with(|| if latest { "Always" } else { "IfNotPresent" }.into());
    c.termination_message_path
        .get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy
        .get_or_insert_with(|| "File".into());
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
    }
    for var in c.env.iter_mut().flatten() {
        if let Some(f) = var.value_from.as_mut().and_then(|f| f.field_ref.as_mut()) {
            f.api_version.get_or_insert_with(|| "v1".into());
        }
    }
    c.resources
        .get_or_insert_with(ResourceRequirements::default);
    for probe in [
        &mut c.readiness_probe,
        &mut c.liveness_probe,
        &mut c.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        probe_defaults(probe);
    }
}

/// SetDefaults_Pod: requests default to the limits set (a pod's, not a template's).
fn requests_from_limits(c: &mut Container) {
    let resources = c
        .resources
        .get_or_insert_with(ResourceRequirements::default);
    if let Some(limits) = &resources.limits {
        let requests = resources.requests.get_or_insert_with(BTreeMap::new);
        for (k, v) in limits {
            requests.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

fn probe_defaults(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(http) = p.http_get.as_mut() {
        http.path.get_or_insert_with(|| "/".into());
        http.scheme.get_or_insert_with(|| "HTTP".into());
    }
}

/// A quantity's value (`500m`, `1.5`, `128Mi`, `1G`), for comparing requests with limits.
fn value(q: &Quantity) -> Option<f64> {
    let s = q.0.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// GetPodQOS: Guaranteed when every container limits cpu and memory and requests as much,
/// BestEffort when none requests or limits anything, Burstable otherwise.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for c in &spec.containers {
        let r = c.resources.clone().unwrap_or_default();
        let (requests, limits) = (r.requests.unwrap_or_default(), r.limits.unwrap_or_default());
        any |= !requests.is_empty() || !limits.is_empty();
        for resource in ["cpu", "memory"] {
            let limit = limits.get(resource).and_then(value);
            let request = requests.get(resource).and_then(value);
            if limit.is_none() || request != limit {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resources: serde_json::Value) -> PodSpec {
        let mut s: PodSpec = serde_json::from_value(
            json!({"containers": [{"name": "c", "image": "x", "resources": resources}]}),
        )
        .unwrap();
        apply(&mut s);
        s
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&spec(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&spec(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        assert_eq!(
            qos_class(&spec(json!({"limits": {"cpu": "0.5", "memory": "128Mi"}}))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&spec(json!({"limits": {"cpu": "500m", "memory": "128Mi"},
                                   "requests": {"cpu": "0.5", "memory": "134217728"}}))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&spec(json!({"limits": {"cpu": "1", "memory": "1Gi"},
                                   "requests": {"cpu": "0.5"}}))),
            "Burstable"
        );
    }
}
