//! The Kubernetes target against the simulator (tests/kube-sim): real MCP servers run as pod
//! processes, reached over attach, port-forward and a Service; every failure path; cleanup on
//! every exit. After each test the simulator must hold no pod, service or secret.

#[path = "../support/mod.rs"]
mod support;
#[path = "../support/tls.rs"]
mod tls;

mod cache_clusters;
mod cleanup_faults;
mod cluster;
mod connect_errors;
mod examples;
mod failures;
mod interrupts;
mod scan;
mod secret_leaks;
mod servers;
