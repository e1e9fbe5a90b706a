//! The objects a probe creates, built as plain k8s-openapi values (no I/O): the Pod, the
//! Secret behind `--secret-env`, and the Service in front of an HTTP pod. Secure by default:
//! the Pod satisfies the "restricted" Pod Security Standard, mounts no service-account token,
//! gets no service links, and keeps secret values out of its spec.

use super::names::{CREATED_AT_ANNOTATION, IMAGE_ANNOTATION, MANAGED_BY, POD_LABEL, RUN_ID_LABEL};
use super::PodSettings;
use crate::target::ImageTarget;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    LocalObjectReference, Pod, PodSecurityContext, PodSpec, Probe, ResourceRequirements,
    SeccompProfile, Secret, SecretKeySelector, SecurityContext, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// The container's name in every probe pod.
pub const CONTAINER: &str = "server";
/// Where the writable emptyDir goes (also `HOME` and `TMPDIR`).
const TMP: &str = "/tmp";

/// How the server in the pod is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodTransport {
    Stdio,
    Http { port: u16 },
}

/// Everything one Pod is built from.
pub struct PodPlan<'a> {
    pub name: &'a str,
    pub run_id: &'a str,
    pub target: &'a ImageTarget,
    pub transport: PodTransport,
    pub settings: &'a PodSettings,
    /// `activeDeadlineSeconds`: the API ends the pod even if mcp-probe is killed.
    pub deadline_secs: i64,
    /// The Secret holding `--secret-env`, when there is any.
    pub secret_name: Option<&'a str>,
    /// RFC 3339, for the creation-time annotation `gc --older-than` reads.
    pub created_at: &'a str,
}

/// The environment variables common MCP server frameworks read to choose the HTTP transport,
/// the interface and the port (documented in the README): the MCP SDK's FastMCP settings
/// (`FASTMCP_*`), the conventional `PORT`/`HOST`, and `MCP_TRANSPORT`/`MCP_PORT`/`MCP_HOST`
/// (MCP-Platform's templates and many servers).
pub fn http_env(port: u16) -> Vec<(&'static str, String)> {
    let port = port.to_string();
    vec![
        ("MCP_TRANSPORT", "streamable-http".into()),
        ("MCP_HOST", "0.0.0.0".into()),
        ("MCP_PORT", port.clone()),
        ("HOST", "0.0.0.0".into()),
        ("PORT", port.clone()),
        ("FASTMCP_TRANSPORT", "streamable-http".into()),
        ("FASTMCP_HOST", "0.0.0.0".into()),
        ("FASTMCP_PORT", port),
    ]
}

fn metadata(name: &str, run_id: &str, created_at: &str, image: &str) -> ObjectMeta {
    let labels = BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        (RUN_ID_LABEL.to_owned(), run_id.to_owned()),
    ]);
    let annotations = BTreeMap::from([
        (CREATED_AT_ANNOTATION.to_owned(), created_at.to_owned()),
        (IMAGE_ANNOTATION.to_owned(), image.to_owned()),
    ]);
    ObjectMeta {
        name: Some(name.to_owned()),
        labels: Some(labels),
        annotations: Some(annotations),
        ..ObjectMeta::default()
    }
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

/// The probe Pod.
pub fn pod(plan: &PodPlan<'_>) -> Pod {
    let s = plan.settings;
    let mut env = vec![env_var("HOME", TMP), env_var("TMPDIR", TMP)];
    let mut ports = None;
    let mut readiness = None;
    match plan.transport {
        PodTransport::Stdio => env.push(env_var("MCP_TRANSPORT", "stdio")),
        PodTransport::Http { port } => {
            env.extend(http_env(port).iter().map(|(k, v)| env_var(k, v)));
            ports = Some(vec![ContainerPort {
                container_port: i32::from(port),
                name: Some("mcp".into()),
                protocol: Some("TCP".into()),
                ..ContainerPort::default()
            }]);
            readiness = Some(Probe {
                tcp_socket: Some(TCPSocketAction {
                    port: IntOrString::Int(i32::from(port)),
                    host: None,
                }),
                period_seconds: Some(1),
                failure_threshold: Some(600),
                ..Probe::default()
            });
        }
    }
    // The operator's env wins over ours (set later in the list, as the kubelet reads it).
    env.extend(plan.target.env.iter().map(|(k, v)| env_var(k, v)));
    if let Some(secret) = plan.secret_name {
        env.extend(plan.target.secret_env.iter().map(|(key, _)| EnvVar {
            name: key.clone(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.to_owned(),
                    key: key.clone(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
        }));
    }
    let non_root = !s.allow_root;
    let user = if non_root { Some(s.run_as_user) } else { None };
    let container = Container {
        name: CONTAINER.into(),
        image: Some(plan.target.image.clone()),
        args: (!plan.target.args.is_empty()).then(|| plan.target.args.clone()),
        env: Some(env),
        ports,
        readiness_probe: readiness,
        stdin: Some(plan.transport == PodTransport::Stdio),
        stdin_once: Some(plan.transport == PodTransport::Stdio),
        tty: Some(false),
        resources: Some(ResourceRequirements {
            requests: quantities(&s.requests),
            limits: quantities(&s.limits),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            read_only_root_filesystem: Some(!s.writable_root_fs),
            run_as_non_root: Some(non_root),
            run_as_user: user,
            run_as_group: user,
            seccomp_profile: Some(runtime_default()),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: TMP.into(),
            ..VolumeMount::default()
        }]),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Container::default()
    };
    let mut meta = metadata(plan.name, plan.run_id, plan.created_at, &plan.target.image);
    if let Some(labels) = meta.labels.as_mut() {
        labels.insert(POD_LABEL.to_owned(), plan.name.to_owned());
    }
    Pod {
        metadata: meta,
        spec: Some(PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".into()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            service_account_name: s.service_account.clone(),
            image_pull_secrets: (!s.image_pull_secrets.is_empty()).then(|| {
                s.image_pull_secrets
                    .iter()
                    .map(|name| LocalObjectReference { name: name.clone() })
                    .collect()
            }),
            active_deadline_seconds: Some(plan.deadline_secs),
            node_selector: (!s.node_selector.is_empty())
                .then(|| s.node_selector.iter().cloned().collect()),
            termination_grace_period_seconds: Some(1),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(non_root),
                run_as_user: user,
                run_as_group: user,
                fs_group: user,
                seccomp_profile: Some(runtime_default()),
                ..PodSecurityContext::default()
            }),
            volumes: Some(vec![Volume {
                name: "tmp".into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: None,
                    size_limit: Some(Quantity(s.tmp_size.clone())),
                }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        }),
        status: None,
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

fn quantities(list: &[(String, String)]) -> Option<BTreeMap<String, Quantity>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|(k, v)| (k.clone(), Quantity(v.clone())))
            .collect()
    })
}

/// The Secret holding `--secret-env` (`redact` replaces the values, for `--dry-run`).
pub fn secret(
    name: &str,
    run_id: &str,
    created_at: &str,
    target: &ImageTarget,
    redact: bool,
) -> Secret {
    let string_data = target
        .secret_env
        .iter()
        .map(|(k, v)| {
            let v = if redact {
                "<redacted>".to_owned()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    Secret {
        metadata: metadata(name, run_id, created_at, &target.image),
        string_data: Some(string_data),
        type_: Some("Opaque".into()),
        immutable: Some(true),
        ..Secret::default()
    }
}

/// The ClusterIP Service in front of one HTTP pod: it selects that pod alone.
pub fn service(name: &str, run_id: &str, created_at: &str, image: &str, port: u16) -> Service {
    Service {
        metadata: metadata(name, run_id, created_at, image),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(BTreeMap::from([(POD_LABEL.to_owned(), name.to_owned())])),
            ports: Some(vec![ServicePort {
                name: Some("mcp".into()),
                port: i32::from(port),
                target_port: Some(IntOrString::Int(i32::from(port))),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// An ownerReference to the pod: the garbage collector removes the owned object with it.
pub fn owned_by(pod_name: &str, pod_uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: pod_name.to_owned(),
        uid: pod_uid.to_owned(),
        block_owner_deletion: None,
        controller: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn target() -> ImageTarget {
        ImageTarget {
            image: "ghcr.io/org/srv:1".into(),
            args: vec!["--flag".into()],
            env: vec![("PLAIN".into(), "visible".into())],
            secret_env: vec![("API_KEY".into(), "hunter2".into())],
        }
    }

    fn pod_json(transport: PodTransport, settings: &PodSettings) -> Value {
        let target = target();
        let plan = PodPlan {
            name: "mcp-probe-srv-abc",
            run_id: "run1",
            target: &target,
            transport,
            settings,
            deadline_secs: 65,
            secret_name: Some("mcp-probe-srv-abc"),
            created_at: "2026-12-01T00:00:00Z",
        };
        serde_json::to_value(pod(&plan)).unwrap()
    }

    #[test]
    fn the_pod_is_restricted_by_default() {
        let pod = pod_json(PodTransport::Stdio, &PodSettings::default());
        let spec = &pod["spec"];
        let c = &spec["containers"][0];
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["enableServiceLinks"], false);
        assert_eq!(spec["activeDeadlineSeconds"], 65);
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        assert_eq!(spec["securityContext"]["runAsUser"], 65532);
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(spec["volumes"][0]["emptyDir"]["sizeLimit"], "64Mi");
        assert_eq!(c["volumeMounts"][0]["mountPath"], "/tmp");
        assert_eq!(c["stdin"], true);
        assert_eq!(c["stdinOnce"], true);
        assert_eq!(c["tty"], false);
        assert_eq!(c["args"], json!(["--flag"]));
        assert!(c.get("command").is_none(), "the image's entrypoint is kept");
        assert_eq!(c["resources"]["limits"]["memory"], "256Mi");
        assert_eq!(
            pod["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "mcp-probe"
        );
        assert_eq!(pod["metadata"]["labels"]["mcp-probe.dev/run-id"], "run1");
        assert_eq!(
            pod["metadata"]["annotations"]["mcp-probe.dev/created-at"],
            "2026-12-01T00:00:00Z"
        );
    }

    #[test]
    fn secret_values_never_enter_the_pod_spec() {
        let pod = pod_json(PodTransport::Stdio, &PodSettings::default());
        let text = pod.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        let env = pod["spec"]["containers"][0]["env"].as_array().unwrap();
        let key = env.iter().find(|e| e["name"] == "API_KEY").unwrap();
        assert_eq!(
            key["valueFrom"]["secretKeyRef"]["name"],
            "mcp-probe-srv-abc"
        );
        assert_eq!(key["valueFrom"]["secretKeyRef"]["key"], "API_KEY");
        let plain = env.iter().find(|e| e["name"] == "PLAIN").unwrap();
        assert_eq!(plain["value"], "visible");
        let mcp = env.iter().find(|e| e["name"] == "MCP_TRANSPORT").unwrap();
        assert_eq!(mcp["value"], "stdio");
    }

    #[test]
    fn an_http_pod_declares_its_port_and_is_ready_by_tcp() {
        let pod = pod_json(PodTransport::Http { port: 9000 }, &PodSettings::default());
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["ports"][0]["containerPort"], 9000);
        assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], 9000);
        assert_eq!(c["stdin"], false);
        let env = c["env"].as_array().unwrap();
        for (k, v) in [
            ("PORT", "9000"),
            ("FASTMCP_PORT", "9000"),
            ("HOST", "0.0.0.0"),
        ] {
            assert!(env.iter().any(|e| e["name"] == k && e["value"] == v), "{k}");
        }
    }

    #[test]
    fn opt_outs_relax_only_what_they_name() {
        let settings = PodSettings {
            allow_root: true,
            writable_root_fs: true,
            service_account: Some("puller".into()),
            image_pull_secrets: vec!["regcred".into()],
            ..PodSettings::default()
        };
        let pod = pod_json(PodTransport::Stdio, &settings);
        let spec = &pod["spec"];
        let sc = &spec["containers"][0]["securityContext"];
        assert_eq!(sc["runAsNonRoot"], false);
        assert!(sc.get("runAsUser").is_none());
        assert_eq!(sc["readOnlyRootFilesystem"], false);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(spec["serviceAccountName"], "puller");
        assert_eq!(spec["automountServiceAccountToken"], false);
        assert_eq!(spec["imagePullSecrets"], json!([{"name": "regcred"}]));
    }

    #[test]
    fn the_service_selects_its_pod_alone() {
        let svc = serde_json::to_value(service("p1", "run1", "t", "img", 8000)).unwrap();
        assert_eq!(svc["spec"]["selector"], json!({"mcp-probe.dev/pod": "p1"}));
        assert_eq!(svc["spec"]["ports"][0]["port"], 8000);
        let redacted = serde_json::to_value(secret("p1", "r", "t", &target(), true)).unwrap();
        assert!(!redacted.to_string().contains("hunter2"));
    }
}
