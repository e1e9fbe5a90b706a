//! What the API server does to a new Job before storing it: the defaults (SetDefaults_Job and
//! the pod template's), the generated selector and pod labels (generateSelector), and the
//! validation of what the simulator runs (ValidateJob), with the API server's messages.
use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::{labels, INDEXED, NON_INDEXED};
use crate::error::ApiError;
use crate::store::Kind;

/// An Indexed Job may not run more pods at once (maxParallelismForIndexedJob).
const MAX_INDEXED_PARALLELISM: i32 = 100_000;

/// Defaults, selector and validation of a new Job named `name` whose uid will be `uid`.
pub fn prepare(name: &str, uid: &str, job: &mut Job) -> Result<(), ApiError> {
    apply_defaults(job);
    let spec = job.spec.get_or_insert_with(Default::default);
    if spec.manual_selector != Some(true) {
        generate_selector(name, uid, job);
    }
    // The Job carries its pods' labels when it has none of its own (as the API server
    // stores it: the generated ones included).
    let template_labels = job
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone());
    if job.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
        job.metadata.labels = template_labels;
    }
    validate(name, uid, job)
}

/// SetDefaults_Job, then SetDefaults_PodSpec on the template.
fn apply_defaults(job: &mut Job) {
    let spec = job.spec.get_or_insert_with(Default::default);
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    let backoff = match spec.backoff_limit_per_index {
        Some(_) => i32::MAX,
        None => 6,
    };
    spec.backoff_limit.get_or_insert(backoff);
    spec.completion_mode
        .get_or_insert_with(|| NON_INDEXED.into());
    spec.suspend.get_or_insert(false);
    let replacement = match spec.pod_failure_policy {
        Some(_) => "Failed",
        None => "TerminatingOrFailed",
    };
    spec.pod_replacement_policy
        .get_or_insert_with(|| replacement.into());
    spec.manual_selector.get_or_insert(false);
    let pod = spec.template.spec.get_or_insert_with(Default::default);
    crate::api::pod_defaults::apply_template_defaults(pod);
}

/// generateSelector: the job-name and controller-uid labels (both spellings) on the template
/// unless set there, and a selector on the prefixed controller-uid.
fn generate_selector(name: &str, uid: &str, job: &mut Job) {
    let spec = job.spec.get_or_insert_with(Default::default);
    let meta = spec.template.metadata.get_or_insert_with(Default::default);
    let template_labels = meta.labels.get_or_insert_with(BTreeMap::new);
    for (key, value) in [
        (labels::LEGACY_JOB_NAME, name),
        (labels::JOB_NAME, name),
        (labels::LEGACY_CONTROLLER_UID, uid),
        (labels::CONTROLLER_UID, uid),
    ] {
        template_labels
            .entry(key.to_owned())
            .or_insert_with(|| value.to_owned());
    }
    let selector = spec.selector.get_or_insert_with(LabelSelector::default);
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .entry(labels::CONTROLLER_UID.to_owned())
        .or_insert_with(|| uid.to_owned());
}

fn quoted(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// `map[string]string{"a":"b", "c":"d"}`, as Go prints the labels in a message.
fn go_map(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}:{}", quoted(k), quoted(v)))
        .collect();
    format!("map[string]string{{{}}}", items.join(", "))
}

fn non_negative(causes: &mut Vec<(String, String)>, field: &str, value: Option<i64>) {
    if let Some(v) = value.filter(|v| *v < 0) {
        causes.push((
            field.to_owned(),
            format!("Invalid value: {v}: must be greater than or equal to 0"),
        ));
    }
}

/// ValidateJob for what the simulator implements; every failing rule is one cause.
fn validate(name: &str, uid: &str, job: &Job) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    let spec = job.spec.clone().unwrap_or_default();
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    if spec.manual_selector != Some(true) {
        // validateGeneratedSelector: the generated labels are there, with this Job's values.
        for (key, want) in [
            (labels::LEGACY_CONTROLLER_UID, uid),
            (labels::LEGACY_JOB_NAME, name),
            (labels::CONTROLLER_UID, uid),
            (labels::JOB_NAME, name),
        ] {
            if template_labels.get(key).is_some_and(|got| got != want) {
                causes.push((
                    format!("spec.template.metadata.labels[{key}]"),
                    format!(
                        "Invalid value: {}: must be '{want}'",
                        go_map(&template_labels)
                    ),
                ));
            }
        }
    }
    non_negative(
        &mut causes,
        "spec.parallelism",
        spec.parallelism.map(i64::from),
    );
    non_negative(
        &mut causes,
        "spec.completions",
        spec.completions.map(i64::from),
    );
    non_negative(
        &mut causes,
        "spec.activeDeadlineSeconds",
        spec.active_deadline_seconds,
    );
    non_negative(
        &mut causes,
        "spec.backoffLimit",
        spec.backoff_limit.map(i64::from),
    );
    non_negative(
        &mut causes,
        "spec.ttlSecondsAfterFinished",
        spec.ttl_seconds_after_finished.map(i64::from),
    );
    let mode = spec.completion_mode.as_deref().unwrap_or(NON_INDEXED);
    if mode != NON_INDEXED && mode != INDEXED {
        causes.push((
            "spec.completionMode".into(),
            format!(
                "Unsupported value: {}: supported values: \"NonIndexed\", \"Indexed\"",
                quoted(mode)
            ),
        ));
    }
    if mode == INDEXED {
        if spec.completions.is_none() {
            causes.push((
                "spec.completions".into(),
                "Required value: when completion mode is Indexed".into(),
            ));
        }
        if let Some(p) = spec.parallelism.filter(|p| *p > MAX_INDEXED_PARALLELISM) {
            causes.push((
                "spec.parallelism".into(),
                format!(
                    "Invalid value: {p}: must be less than or equal to {MAX_INDEXED_PARALLELISM} \
                     when completion mode is Indexed"
                ),
            ));
        }
    }
    let pod = spec.template.spec.clone().unwrap_or_default();
    causes.extend(crate::api::pods::spec_causes(&pod, "spec.template.spec"));
    // SetDefaults_PodSpec made a missing restartPolicy Always, which a Job cannot run.
    match pod.restart_policy.as_deref().unwrap_or_default() {
        "Always" | "" => causes.push((
            "spec.template.spec.restartPolicy".into(),
            "Required value: valid values: \"OnFailure\", \"Never\"".into(),
        )),
        "OnFailure" | "Never" => {}
        other => causes.push((
            "spec.template.spec.restartPolicy".into(),
            format!(
                "Unsupported value: {}: supported values: \"OnFailure\", \"Never\"",
                quoted(other)
            ),
        )),
    }
    match &spec.selector {
        None => causes.push(("spec.selector".into(), "Required value".into())),
        Some(selector) => {
            if !crate::selectors::LabelSelector::from_spec(selector)
                .matches_labels(&template_labels)
            {
                causes.push((
                    "spec.template.metadata.labels".into(),
                    format!(
                        "Invalid value: {}: `selector` does not match template `labels`",
                        go_map(&template_labels)
                    ),
                ));
            }
        }
    }
    // The pods of an Indexed Job are named (hostname) NAME-INDEX: a DNS label for every index.
    if let (INDEXED, Some(completions)) = (mode, spec.completions.filter(|c| *c > 0)) {
        let hostname = format!("{name}-{}", completions - 1);
        if !crate::names::dns1123_label(&hostname).is_empty() {
            causes.push((
                "metadata.name".into(),
                format!(
                    "Invalid value: {}: will not able to create pod with invalid DNS label: {hostname}",
                    quoted(name)
                ),
            ));
        }
    }
    match causes.is_empty() {
        true => Ok(()),
        false => Err(ApiError::invalid(Kind::Job, name, causes)),
    }
}

/// What a PATCH may change in a Job's spec: its parallelism, and suspend (the controller
/// follows).
pub const MUTABLE_FIELDS: &[&str] = &["parallelism", "suspend"];

/// A patched Job's mutable fields keep their types and ranges.
pub fn check_patch(name: &str, job: &Value) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    let parallelism = &job["spec"]["parallelism"];
    non_negative(&mut causes, "spec.parallelism", parallelism.as_i64());
    if parallelism.as_i64().is_none() && !parallelism.is_null() {
        causes.push((
            "spec.parallelism".to_owned(),
            "Invalid value: must be an integer".to_owned(),
        ));
    }
    let suspend = &job["spec"]["suspend"];
    if !suspend.is_null() && !suspend.is_boolean() {
        causes.push((
            "spec.suspend".to_owned(),
            "Invalid value: must be a boolean".to_owned(),
        ));
    }
    match causes.is_empty() {
        true => Ok(()),
        false => Err(ApiError::invalid(Kind::Job, name, causes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(spec: Value) -> Job {
        serde_json::from_value(json!({"metadata": {"name": "j"}, "spec": spec})).unwrap()
    }

    fn template(restart: Option<&str>) -> Value {
        let mut t = json!({"spec": {"containers": [{"name": "c", "image": "x:1"}]}});
        if let Some(r) = restart {
            t["spec"]["restartPolicy"] = json!(r);
        }
        t
    }

    #[test]
    fn defaults_and_generated_selector_match_the_api_server() {
        let mut j = job(json!({"template": template(Some("Never"))}));
        prepare("j", "u-1", &mut j).unwrap();
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["spec"]["completions"], 1);
        assert_eq!(v["spec"]["parallelism"], 1);
        assert_eq!(v["spec"]["backoffLimit"], 6);
        assert_eq!(v["spec"]["completionMode"], "NonIndexed");
        assert_eq!(v["spec"]["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(
            v["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let want = json!({
            "batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "j",
            "controller-uid": "u-1", "job-name": "j",
        });
        assert_eq!(v["spec"]["template"]["metadata"]["labels"], want);
        assert_eq!(v["metadata"]["labels"], want);
        assert_eq!(v["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert_eq!(
            v["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
            30
        );
        // Admission (the token volume, tolerations) is for pods, not templates.
        assert!(v["spec"]["template"]["spec"]["volumes"].is_null());
        assert!(v["spec"]["template"]["spec"]["tolerations"].is_null());
    }

    fn causes(spec: Value) -> Vec<String> {
        let mut j = job(spec);
        let err = prepare("j", "u-1", &mut j).unwrap_err();
        assert_eq!(err.code, 422);
        err.details.unwrap()["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    c["field"].as_str().unwrap(),
                    c["message"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn validation_messages_are_the_api_servers() {
        assert_eq!(
            causes(json!({"template": template(None)})),
            ["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]
        );
        assert_eq!(
            causes(
                json!({"completionMode": "Indexed", "parallelism": 2, "template": template(Some("Never"))})
            ),
            ["spec.completions: Required value: when completion mode is Indexed"]
        );
        // Neither completions nor parallelism: both default to 1, so an Indexed Job has one.
        let mut one =
            job(json!({"completionMode": "Indexed", "template": template(Some("Never"))}));
        prepare("j", "u-1", &mut one).unwrap();
        assert_eq!(one.spec.unwrap().completions, Some(1));
        assert_eq!(
            causes(json!({"completionMode": "Ranked", "template": template(Some("OnFailure"))})),
            ["spec.completionMode: Unsupported value: \"Ranked\": supported values: \"NonIndexed\", \"Indexed\""]
        );
        assert_eq!(
            causes(json!({"parallelism": -1, "template": template(Some("Never"))})),
            ["spec.parallelism: Invalid value: -1: must be greater than or equal to 0"]
        );
        let long = json!({"completionMode": "Indexed", "completions": 10, "template": template(Some("Never"))});
        let mut j: Job =
            serde_json::from_value(json!({"metadata": {"name": "a".repeat(62)}, "spec": long}))
                .unwrap();
        let err = prepare(&"a".repeat(62), "u", &mut j).unwrap_err();
        assert!(
            err.message
                .contains("will not able to create pod with invalid DNS label"),
            "{}",
            err.message
        );
    }
}
