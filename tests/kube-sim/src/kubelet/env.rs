//! A container's environment as the kubelet builds it (makeEnvironmentVariables): `envFrom`
//! first, then `env` in order, with `valueFrom` resolved from the pod, its Secrets and its
//! ConfigMaps. A missing source is the kubelet's CreateContainerConfigError message.
use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Container, EnvVarSource};

use super::process::expand;
use super::runtime::PodRuntime;
use crate::images::Image;
use crate::Ctx;

/// The environment `container` starts with: the image's, what the kubelet adds, then the pod's.
/// `Err` is the message a real kubelet puts in `state.waiting.message`.
pub fn environment(
    ctx: &Ctx,
    rt: &PodRuntime,
    image: &Image,
    container: &Container,
) -> Result<HashMap<String, String>, String> {
    let ns = rt.key.namespace.as_str();
    let mut env: HashMap<String, String> = image.env.clone();
    // The pod's hostname: `spec.hostname` when set (an Indexed Job's pods: JOB-INDEX), else
    // its name.
    let hostname = rt
        .spec
        .spec
        .as_ref()
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| rt.key.name.clone());
    env.insert("HOSTNAME".into(), hostname);
    env.insert("KUBERNETES_SERVICE_HOST".into(), "127.0.0.1".into());
    env.insert("KUBERNETES_SERVICE_PORT".into(), ctx.api_port.to_string());
    for (cp, local) in &rt.ports {
        env.insert(format!("KUBE_SIM_PORT_{cp}"), local.to_string());
    }
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (values, optional) = if let Some(s) = &from.secret_ref {
            (secret(ctx, ns, &s.name), s.optional == Some(true))
        } else if let Some(c) = &from.config_map_ref {
            (Err(config_map_missing(&c.name)), c.optional == Some(true))
        } else {
            continue;
        };
        match values {
            Ok(values) => {
                for (k, v) in values {
                    let name = format!("{prefix}{k}");
                    // Keys that are no valid variable names are skipped (with an event).
                    if is_env_var_name(&name) {
                        env.insert(name, v);
                    }
                }
            }
            Err(_) if optional => {}
            Err(message) => return Err(message),
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) if !v.is_empty() => expand(v, &env),
            (_, Some(from)) => match value_from(ctx, rt, from) {
                Ok(v) => v,
                Err(Skip::Optional) => continue,
                Err(Skip::Fail(message)) => return Err(message),
            },
            _ => String::new(),
        };
        env.insert(var.name.clone(), value);
    }
    Ok(env)
}

enum Skip {
    /// An optional source or key is missing: the variable is not set.
    Optional,
    Fail(String),
}

fn value_from(ctx: &Ctx, rt: &PodRuntime, from: &EnvVarSource) -> Result<String, Skip> {
    let ns = rt.key.namespace.as_str();
    let keyed = |found: Result<Vec<(String, String)>, String>,
                 key: &str,
                 optional: Option<bool>,
                 what: &str,
                 name: &str| {
        let optional = optional == Some(true);
        let values = match found {
            Ok(values) => values,
            Err(_) if optional => return Err(Skip::Optional),
            Err(message) => return Err(Skip::Fail(message)),
        };
        match values.into_iter().find(|(k, _)| k == key) {
            Some((_, v)) => Ok(v),
            None if optional => Err(Skip::Optional),
            None => Err(Skip::Fail(format!(
                "couldn't find key {key} in {what} {ns}/{name}"
            ))),
        }
    };
    if let Some(s) = &from.secret_key_ref {
        return keyed(
            secret(ctx, ns, &s.name),
            &s.key,
            s.optional,
            "Secret",
            &s.name,
        );
    }
    if let Some(c) = &from.config_map_key_ref {
        let missing = Err(config_map_missing(&c.name));
        return keyed(missing, &c.key, c.optional, "ConfigMap", &c.name);
    }
    if let Some(f) = &from.field_ref {
        return Ok(field_value(rt, &f.field_path));
    }
    // resourceFieldRef: no limits are enforced here, so there is nothing to report.
    Ok(String::new())
}

/// Every key of Secret `ns/name`, decoded.
fn secret(ctx: &Ctx, ns: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    crate::api::secrets::all_values(ctx, ns, name)
}

/// The simulator serves no ConfigMaps, so every one a pod names is missing.
fn config_map_missing(name: &str) -> String {
    format!("configmap \"{name}\" not found")
}

/// The downward API's `fieldRef` values (podFieldSelectorRuntimeValue).
fn field_value(rt: &PodRuntime, path: &str) -> String {
    let meta = &rt.spec.metadata;
    let spec = rt.spec.spec.as_ref();
    let from_map = |map: &Option<std::collections::BTreeMap<String, String>>, rest: &str| {
        let key = rest
            .strip_prefix("['")
            .and_then(|r| r.strip_suffix("']"))
            .unwrap_or_default();
        map.as_ref()
            .and_then(|m| m.get(key).cloned())
            .unwrap_or_default()
    };
    match path {
        "metadata.name" => rt.key.name.clone(),
        "metadata.namespace" => rt.key.namespace.clone(),
        "metadata.uid" => rt.uid.clone(),
        "spec.nodeName" => super::NODE_NAME.into(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.hostIP" | "status.podIPs" | "status.hostIPs" => "127.0.0.1".into(),
        p if p.starts_with("metadata.labels[") => from_map(&meta.labels, &p[15..]),
        p if p.starts_with("metadata.annotations[") => from_map(&meta.annotations, &p[20..]),
        _ => String::new(),
    }
}

/// `[-._a-zA-Z][-._a-zA-Z0-9]*`, as the kubelet checks names from `envFrom`.
fn is_env_var_name(name: &str) -> bool {
    let ok = |b: u8, first: bool| {
        b"-._".contains(&b) || b.is_ascii_alphabetic() || (!first && b.is_ascii_digit())
    };
    name.bytes().enumerate().all(|(i, b)| ok(b, i == 0)) && !name.is_empty()
}

#[cfg(test)]
mod tests {
    use super::is_env_var_name;

    #[test]
    fn env_var_names_follow_the_kubelet() {
        assert!(is_env_var_name("TOKEN_1"));
        assert!(is_env_var_name("my.key-1"));
        assert!(!is_env_var_name("1TOKEN"));
        assert!(!is_env_var_name("A B"));
        assert!(!is_env_var_name(""));
    }
}
