//! The API permissions a probe uses, exactly: `examples/rbac.yaml` grants these and no more
//! (a test holds the two together).

/// (resource, verbs) in the core API group.
pub const PERMISSIONS: &[(&str, &[&str])] = &[
    // create the pod, watch it (list + watch), read its state, delete it; gc lists.
    ("pods", &["create", "get", "list", "watch", "delete"]),
    // websocket upgrades are authorized as `create` (1.35+), `get` before that.
    ("pods/attach", &["get", "create"]),
    ("pods/portforward", &["get", "create"]),
    ("pods/log", &["get"]),
    // the in-cluster HTTP path; gc lists.
    ("services", &["create", "list", "delete"]),
    // --secret-env: created, then owned by the pod (patch); gc lists.
    ("secrets", &["create", "patch", "list", "delete"]),
];
