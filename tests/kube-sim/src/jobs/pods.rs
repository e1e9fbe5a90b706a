//! The pods the job controller makes from a Job's template (GetPodFromTemplate plus what an
//! Indexed Job adds): the template's labels, annotations and spec, a controller reference to
//! the Job, and for an index its label, annotation, hostname `JOB-INDEX` and the
//! `JOB_COMPLETION_INDEX` variable, read through the downward API from the annotation; and
//! the states the controller tells its pods apart by.
use serde_json::{json, Value};

use super::labels::COMPLETION_INDEX;

/// Generated names keep 5 random characters of the 63 a name may have.
const MAX_GENERATED_PREFIX: usize = 58;

const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// podGenerateNameWithIndex: `JOB-INDEX-`, the Job's name cut so the suffix survives.
pub fn generate_name_with_index(job: &str, index: u32) -> String {
    let suffix = format!("-{index}-");
    let prefix = format!("{job}{suffix}");
    if prefix.len() <= MAX_GENERATED_PREFIX {
        return prefix;
    }
    let keep = MAX_GENERATED_PREFIX.saturating_sub(suffix.len());
    format!("{}{suffix}", &job[..keep.min(job.len())])
}

/// The completion index of a pod (its annotation), if it has a valid one.
pub fn completion_index(pod: &Value) -> Option<u32> {
    pod["metadata"]["annotations"][COMPLETION_INDEX]
        .as_str()
        .and_then(|i| i.parse().ok())
}

/// The pod for completion `index` of an Indexed Job (`None`: a NonIndexed Job's pod).
pub fn manifest(job: &Value, index: Option<u32>) -> Value {
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    let template = &job["spec"]["template"];
    let mut metadata = json!({
        "generateName": format!("{name}-"),
        "labels": template["metadata"]["labels"].clone(),
        "ownerReferences": [{
            "apiVersion": "batch/v1", "kind": "Job", "name": name,
            "uid": job["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
        }],
    });
    for field in ["annotations", "finalizers"] {
        if !template["metadata"][field].is_null() {
            metadata[field] = template["metadata"][field].clone();
        }
    }
    let mut spec = template["spec"].clone();
    if let Some(index) = index {
        let value = json!(index.to_string());
        metadata["generateName"] = json!(generate_name_with_index(name, index));
        if !metadata["labels"].is_object() {
            metadata["labels"] = json!({});
        }
        metadata["labels"][COMPLETION_INDEX] = value.clone();
        if !metadata["annotations"].is_object() {
            metadata["annotations"] = json!({});
        }
        metadata["annotations"][COMPLETION_INDEX] = value;
        spec["hostname"] = json!(format!("{name}-{index}"));
        for list in ["initContainers", "containers"] {
            for c in spec[list].as_array_mut().into_iter().flatten() {
                add_index_env(c);
            }
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

/// addCompletionIndexEnvVariable: appended unless the container sets the variable itself.
fn add_index_env(container: &mut Value) {
    if !container["env"].is_array() {
        container["env"] = json!([]);
    }
    let Some(env) = container["env"].as_array_mut() else {
        return;
    };
    if env.iter().any(|e| e["name"] == INDEX_ENV) {
        return;
    }
    env.push(json!({
        "name": INDEX_ENV,
        "valueFrom": {"fieldRef": {
            "fieldPath": format!("metadata.annotations['{COMPLETION_INDEX}']"),
        }},
    }));
}
/// Whether the Job with uid `uid` controls `pod` (its controller reference).
pub(super) fn controlled_by(pod: &Value, uid: &str) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == uid && r["controller"] == true)
}

/// The pod's phase (Pending until the kubelet reports one).
pub(super) fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("Pending")
}

/// Succeeded or Failed: the pod will not run again.
pub(super) fn ended(pod: &Value) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Being deleted and not ended yet (CountTerminatingPods).
pub(super) fn terminating(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_string() && !ended(pod)
}

/// Neither ended nor being deleted (FilterActivePods).
pub(super) fn active(pod: &Value) -> bool {
    !ended(pod) && pod["metadata"]["deletionTimestamp"].is_null()
}

/// Its Ready condition is True.
pub(super) fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

pub(super) fn uid_of(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_keep_their_suffix() {
        assert_eq!(generate_name_with_index("shard", 3), "shard-3-");
        let long = "j".repeat(70);
        let name = generate_name_with_index(&long, 12);
        assert_eq!(name.len(), 58);
        assert!(name.ends_with("j-12-"));
    }

    #[test]
    fn indexed_pods_carry_their_index() {
        let job = json!({
            "metadata": {"name": "scan", "uid": "u"},
            "spec": {"template": {
                "metadata": {"labels": {"job-name": "scan"}},
                "spec": {"containers": [{"name": "a"}, {"name": "b", "env": [{"name": "JOB_COMPLETION_INDEX", "value": "mine"}]}]},
            }},
        });
        let pod = manifest(&job, Some(4));
        assert_eq!(pod["metadata"]["generateName"], "scan-4-");
        assert_eq!(pod["metadata"]["labels"][COMPLETION_INDEX], "4");
        assert_eq!(pod["metadata"]["labels"]["job-name"], "scan");
        assert_eq!(pod["metadata"]["annotations"][COMPLETION_INDEX], "4");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["hostname"], "scan-4");
        let env = &pod["spec"]["containers"][0]["env"][0];
        assert_eq!(
            env["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"
        );
        assert_eq!(
            pod["spec"]["containers"][1]["env"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(completion_index(&pod), Some(4));
        let plain = manifest(&job, None);
        assert_eq!(plain["metadata"]["generateName"], "scan-");
        assert!(plain["spec"]["hostname"].is_null());
    }
}
