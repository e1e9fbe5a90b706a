//! The `kube-sim` binary: bad input fails with one line; SIGTERM kills every pod process and
//! removes the kubeconfig.
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;

const BIN: &str = env!("CARGO_BIN_EXE_kube-sim");

/// Kills the simulator if the test fails half-way, so no process outlives the test.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("images.toml");
    std::fs::write(&bad, "[images.x]\ncommand = []\n").unwrap();
    for args in [
        vec!["--images", "/nonexistent/images.toml"],
        vec!["--images", bad.to_str().unwrap()],
        vec!["--port", "x"],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        if args[0] == "--images" {
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.starts_with("kube-sim: error: "), "{stderr}");
        }
    }
}

#[tokio::test]
async fn sigterm_kills_pods_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let images = dir.path().join("images.toml");
    std::fs::write(
        &images,
        format!(
            "[images.\"pid:1\"]\ncommand = [\"sh\", \"-c\", \"echo $$ > {}; exec sleep 300\"]\n",
            pidfile.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--images", images.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = Guard(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().nth(3).unwrap().to_owned();
    eprintln!("{first}");
    let kubeconfig = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("kubeconfig: ")
        .to_owned();
    assert!(std::path::Path::new(&kubeconfig).exists());

    let mut config = kube::Config::new(url.parse().unwrap());
    config.default_namespace = "default".into();
    let pods: Api<Pod> = Api::default_namespaced(kube::Client::try_from(config).unwrap());
    common::create(&pods, &common::pod("p", "pid:1")).await;
    common::wait_for(&pods, "p", "Running", common::is_running()).await;
    let mut pid = String::new();
    for _ in 0..200 {
        pid = std::fs::read_to_string(&pidfile).unwrap_or_default();
        if !pid.trim().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid: i32 = pid
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("the pod wrote its pid, not {pid:?}: {e}"));
    // SAFETY: signalling a child we started, and probing a pid with signal 0.
    unsafe {
        assert_eq!(libc::kill(pid, 0), 0, "pod process is alive");
        libc::kill(child.0.id() as i32, libc::SIGTERM);
    }
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut gone = false;
    for _ in 0..100 {
        // SAFETY: signal 0 only probes for existence.
        if unsafe { libc::kill(pid, 0) } != 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "pod process {pid} survived the simulator");
    assert!(
        !std::path::Path::new(&kubeconfig).exists(),
        "kubeconfig removed"
    );
}
