//! Kubernetes API simulator (not built yet).
