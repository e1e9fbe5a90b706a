//! Where the server runs and how it is torn down: local child process, a URL (nothing to start), Kubernetes (later).

pub mod url;
