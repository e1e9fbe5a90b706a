//! The manifests in examples/ are what the code needs: the Role grants exactly the verbs the
//! probe uses, and the Job runs the probe under that account.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use mcp_probe::runtime::kubernetes::rbac::PERMISSIONS;
use std::collections::BTreeSet;

fn documents(file: &str) -> Vec<serde_json::Value> {
    let path = crate::support::repo_root().join("examples").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn of_kind(docs: &[serde_json::Value], kind: &str) -> serde_json::Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
        .clone()
}

#[test]
fn the_rbac_example_grants_exactly_what_the_probe_uses() {
    let docs = documents("rbac.yaml");
    let role: Role = serde_json::from_value(of_kind(&docs, "Role")).unwrap();
    let mut granted = BTreeSet::new();
    for rule in role.rules.unwrap() {
        assert_eq!(rule.api_groups.as_deref(), Some(&[String::new()][..]));
        for resource in rule.resources.unwrap() {
            for verb in &rule.verbs {
                granted.insert((resource.clone(), verb.clone()));
            }
        }
    }
    let used: BTreeSet<(String, String)> = PERMISSIONS
        .iter()
        .flat_map(|(r, verbs)| verbs.iter().map(move |v| (r.to_string(), v.to_string())))
        .collect();
    assert_eq!(granted, used);
    let binding: RoleBinding = serde_json::from_value(of_kind(&docs, "RoleBinding")).unwrap();
    assert_eq!(binding.role_ref.name, "mcp-probe");
    let account = of_kind(&docs, "ServiceAccount");
    assert_eq!(
        binding.subjects.unwrap()[0].name,
        account["metadata"]["name"].as_str().unwrap()
    );
}

#[test]
fn the_job_example_runs_discover_as_the_rbac_account() {
    let job: Job = serde_json::from_value(of_kind(&documents("job.yaml"), "Job")).unwrap();
    let pod = job.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("mcp-probe"));
    let args = pod.containers[0].args.clone().unwrap();
    assert_eq!(args[0], "discover");
    assert!(args.iter().any(|a| a.starts_with("--image=")));
    assert_eq!(job.metadata.namespace.as_deref(), Some("mcp-probe"));
}

#[test]
fn the_scan_job_example_shards_a_catalog_as_the_rbac_account() {
    let docs = documents("scan-job.yaml");
    let job: Job = serde_json::from_value(of_kind(&docs, "Job")).unwrap();
    let spec = job.spec.unwrap();
    assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
    let completions = spec.completions.unwrap();
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("mcp-probe"));
    let container = &pod.containers[0];
    let args = container.args.clone().unwrap();
    assert_eq!(args[..2], ["scan", "/catalog/catalog.yaml"]);
    let shards = container
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "MCP_PROBE_SHARDS");
    assert_eq!(
        shards.and_then(|e| e.value.clone()),
        Some(completions.to_string())
    );
    // The catalog it mounts is one mcp-probe reads.
    let map = of_kind(&docs, "ConfigMap");
    let text = map["data"]["catalog.yaml"].as_str().unwrap();
    let catalog = mcp_probe::scan::Catalog::parse(text, false).unwrap();
    assert_eq!(catalog.targets.len(), 4);
}
