//! The operator's files, hostile or odd: every input flag refuses `/dev/zero`, a FIFO, a
//! directory and an oversize file at once (exit 2, one line naming the file, little memory)
//! and follows a symlink to a regular file; `--output-file` (discover, scan, `scan merge`,
//! `lock -o`) writes where a shell's `>` would and replaces nothing that is not a regular file;
//! `--write-locks` takes any catalog name, and `--baseline DIR` finds each again.

use crate::support;

use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a run ended, its stderr, how long it took and its peak RSS.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

/// Runs `command` to its end, killed after 60 s (a hang is a failure, not a stuck test),
/// its own peak RSS taken from wait4.
fn run_bounded(mut command: Command) -> Ran {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mcp-probe starts");
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(60)).is_err() {
            // SAFETY: kill(2) on the child's pid, which is not reaped before this thread ends.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter for wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; status and usage are valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    done.send(()).ok();
    let killed = watchdog.join().unwrap();
    std::mem::forget(child);
    let status = std::process::ExitStatus::from_raw(status);
    assert!(!killed, "{command:?} hung");
    Ran {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: started.elapsed(),
        max_rss_kib: usage.ru_maxrss,
    }
}

fn probe(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(support::probe_bin());
    command
        .args(args)
        .current_dir(dir)
        .env("MCP_PROBE_CACHE_DIR", dir.join("cache"))
        .env_remove("KUBECONFIG");
    command
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

/// A sparse file of `len` bytes: its size is there, not its bytes.
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

const MIB: u64 = 1024 * 1024;

/// One input flag: the command line with the file in `{}`, and the kind's size limit.
struct Input {
    args: &'static [&'static str],
    limit_mib: u64,
}

const INPUTS: &[Input] = &[
    Input {
        args: &["validate", "{}"],
        limit_mib: 256,
    },
    Input {
        args: &["validate", "tools.json", "--policy", "{}"],
        limit_mib: 16,
    },
    Input {
        args: &["validate", "tools.json", "--lock", "{}"],
        limit_mib: 256,
    },
    Input {
        args: &["validate", "tools.json", "--pipeline", "{}"],
        limit_mib: 16,
    },
    Input {
        args: &["validate", "tools.json", "--plugin", "{}"],
        limit_mib: 64,
    },
    Input {
        args: &["lock", "{}", "-o", "out.lock.json"],
        limit_mib: 256,
    },
    Input {
        args: &["plugins", "check", "{}"],
        limit_mib: 64,
    },
    Input {
        args: &["scan", "--no-cache", "{}"],
        limit_mib: 64,
    },
    Input {
        args: &["scan", "--no-cache", "catalog.yaml", "--baseline", "{}"],
        limit_mib: 256,
    },
    Input {
        args: &["scan", "merge", "{}"],
        limit_mib: 4096,
    },
    Input {
        args: &["discover", "--kubeconfig", "{}", "--image", "busybox"],
        limit_mib: 16,
    },
];

/// Valid files of each kind, so that a symlink to one is read through.
fn valid_inputs(dir: &Path) -> Vec<PathBuf> {
    let tools = r#"{"tools":[{"name":"t","description":"d","inputSchema":{"type":"object"}}]}"#;
    std::fs::write(dir.join("tools.json"), tools).unwrap();
    std::fs::write(dir.join("policy.json"), "{}").unwrap();
    std::fs::write(
        dir.join("pipeline.toml"),
        "[[stage]]\nplugin = \"builtin:normalize\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("catalog.yaml"),
        "targets:\n  - {name: gone, command: [/nonexistent/server]}\n",
    )
    .unwrap();
    let shard = r#"{"index":0,"total":1,"name":"gone","outcome":"start_failed","error":"x","log_tail":[],"duration_ms":1,"cached":false}"#;
    std::fs::write(dir.join("shard.jsonl"), format!("{shard}\n")).unwrap();
    std::fs::write(
        dir.join("kubeconfig"),
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n\
         current-context: x\n",
    )
    .unwrap();
    let lock = run_bounded(probe(dir, &["lock", "tools.json", "-o", "lock.json"]));
    assert_eq!(lock.code, Some(0), "{}", lock.stderr);
    let plugin = support::repo_root().join("plugins/dist/normalize.wasm");
    [
        dir.join("tools.json"),
        dir.join("policy.json"),
        dir.join("lock.json"),
        dir.join("pipeline.toml"),
        plugin.clone(),
        dir.join("tools.json"),
        plugin,
        dir.join("catalog.yaml"),
        dir.join("shard.jsonl"),
        dir.join("shard.jsonl"),
        dir.join("kubeconfig"),
    ]
    .into()
}

fn with_file(args: &[&str], file: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match *a {
            "{}" => file.display().to_string(),
            other => other.to_owned(),
        })
        .collect()
}

/// The one error line: exit 2, naming `file`, saying `why`, quickly and in little memory.
fn assert_refused(dir: &Path, args: &[String], file: &Path, why: &str) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran = run_bounded(probe(dir, &args));
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
    assert_eq!(lines.len(), 1, "{args:?}: {}", ran.stderr);
    assert!(lines[0].starts_with("mcp-probe: error: "), "{}", lines[0]);
    assert!(
        lines[0].contains(&file.display().to_string()),
        "{args:?}: {}",
        lines[0]
    );
    assert!(lines[0].contains(why), "{args:?}: {}", lines[0]);
    assert!(
        ran.elapsed < Duration::from_secs(20),
        "{args:?}: {:?}",
        ran.elapsed
    );
    assert!(
        ran.max_rss_kib < 200 * 1024,
        "{args:?}: {} KiB",
        ran.max_rss_kib
    );
}

#[test]
fn every_input_flag_refuses_what_is_not_a_bounded_regular_file() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let valid = valid_inputs(dir);
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let subdir = dir.join("subdir");
    std::fs::create_dir(&subdir).unwrap();
    let zero_link = dir.join("zero-link");
    symlink("/dev/zero", &zero_link).unwrap();
    for (input, valid) in INPUTS.iter().zip(&valid) {
        for (file, why) in [
            (
                Path::new("/dev/zero"),
                "it is a character device, not a regular file",
            ),
            (
                zero_link.as_path(),
                "it is a character device, not a regular file",
            ),
            (fifo.as_path(), "it is a FIFO, not a regular file"),
            (subdir.as_path(), "it is a directory, not a regular file"),
        ] {
            // A directory is a lock directory there (its entries are checked below).
            if file == subdir && input.args.contains(&"--baseline") {
                continue;
            }
            assert_refused(dir, &with_file(input.args, file), file, why);
        }
        let big = dir.join(format!("big-{}", input.limit_mib));
        sparse(&big, input.limit_mib * MIB + 1);
        let why = format!("it is larger than {} MiB, the limit for", input.limit_mib);
        assert_refused(dir, &with_file(input.args, &big), &big, &why);
        // Exactly at the limit is not refused for its size.
        sparse(&big, input.limit_mib * MIB);
        let args = with_file(input.args, &big);
        let ran = run_bounded(probe(
            dir,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        assert!(
            !ran.stderr.contains("the limit for"),
            "{args:?}: {}",
            ran.stderr
        );
        std::fs::remove_file(&big).unwrap();
        // A symlink to a regular file is read through.
        let link = dir.join("link");
        std::fs::remove_file(&link).ok();
        symlink(valid, &link).unwrap();
        let args = with_file(input.args, &link);
        let ran = run_bounded(probe(
            dir,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        assert!(
            !ran.stderr.contains("not a regular file") && !ran.stderr.contains("cannot read"),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(
            ran.code != Some(2) || args[0] == "discover",
            "{args:?}: {}",
            ran.stderr
        );
    }
    // The FIFO is still one; no temporary file was left beside the inputs.
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(
        entries(dir).iter().all(|f| !f.starts_with(".mcp-probe-")),
        "{:?}",
        entries(dir)
    );
}

#[test]
fn kubeconfig_files_from_the_environment_and_named_inside_are_checked() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    valid_inputs(dir);
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    // KUBECONFIG, also as the second of a list.
    for value in [
        "/dev/zero".to_owned(),
        format!("{}:{}", dir.join("kubeconfig").display(), fifo.display()),
    ] {
        let mut command = probe(dir, &["discover", "--image", "busybox"]);
        command.env("KUBECONFIG", &value);
        let ran = run_bounded(command);
        assert_eq!(ran.code, Some(2), "{value}: {}", ran.stderr);
        assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
        assert!(ran.stderr.contains("not a regular file"), "{}", ran.stderr);
    }
    // A certificate or token file the kubeconfig names.
    for (key, place) in [
        ("certificate-authority", "cluster"),
        ("tokenFile", "user"),
        ("client-key", "user"),
    ] {
        let (cluster, user) = match place {
            "cluster" => (
                format!("{{server: 'https://127.0.0.1:9', {key}: /dev/zero}}"),
                "{token: t}".to_owned(),
            ),
            _ => (
                "{server: 'https://127.0.0.1:9'}".to_owned(),
                format!("{{{key}: {}}}", fifo.display()),
            ),
        };
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {cluster}}}]\n\
             users: [{{name: u, user: {user}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u}}}}]\n\
             current-context: x\n"
        );
        let path = dir.join(format!("kubeconfig-{key}"));
        std::fs::write(&path, config).unwrap();
        let path_text = path.display().to_string();
        let ran = run_bounded(probe(
            dir,
            &["discover", "--kubeconfig", &path_text, "--image", "busybox"],
        ));
        assert_eq!(ran.code, Some(2), "{key}: {}", ran.stderr);
        assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
        assert!(
            ran.stderr.contains("not a regular file"),
            "{key}: {}",
            ran.stderr
        );
    }
}

#[test]
fn a_lock_directory_entry_that_is_not_a_regular_file_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    valid_inputs(dir);
    let locks = dir.join("locks");
    std::fs::create_dir(&locks).unwrap();
    std::fs::copy(dir.join("lock.json"), locks.join("gone.lock.json")).unwrap();
    mkfifo(&locks.join("other.lock.json"));
    let ran = run_bounded(probe(
        dir,
        &["scan", "--no-cache", "catalog.yaml", "--baseline", "locks"],
    ));
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("other.lock.json") && ran.stderr.contains("a FIFO"),
        "{}",
        ran.stderr
    );
    std::fs::remove_file(locks.join("other.lock.json")).unwrap();
    symlink("/dev/zero", locks.join("zero.lock.json")).unwrap();
    let ran = run_bounded(probe(
        dir,
        &["scan", "--no-cache", "catalog.yaml", "--baseline", "locks"],
    ));
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("zero.lock.json"), "{}", ran.stderr);
}

// ---------------------------------------------------------------------------------------------
// Outputs

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The mode a new file of ours gets: 0666 less the umask, as a new file shows it.
fn new_file_mode(dir: &Path) -> u32 {
    let probe = dir.join(".umask-probe");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .unwrap();
    let mode = mode(&probe);
    std::fs::remove_file(&probe).unwrap();
    mode
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Each writer of an output the user names, with `{}` for the path.
fn writers(dir: &Path) -> Vec<Vec<String>> {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tools_server.py");
    std::fs::write(
        dir.join("tools.list.json"),
        r#"[{"name":"t","description":"d","inputSchema":{"type":"object"}}]"#,
    )
    .unwrap();
    let catalog = serde_json::json!({"targets": [{"name": "srv", "command":
        ["python3", server.display().to_string(), dir.join("tools.list.json").display().to_string()]}]});
    std::fs::write(dir.join("cat.json"), catalog.to_string()).unwrap();
    let shard = run_bounded(probe(dir, &["scan", "--no-cache", "cat.json"]));
    assert_eq!(shard.code, Some(0), "{}", shard.stderr);
    std::fs::write(dir.join("one.jsonl"), &shard.stdout).unwrap();
    let python = ["python3", &server.display().to_string(), "tools.list.json"].map(String::from);
    let strings = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        [
            strings(&["discover", "-o", "json", "--output-file", "{}", "--"]),
            python.to_vec(),
        ]
        .concat(),
        strings(&["scan", "--no-cache", "cat.json", "--output-file", "{}"]),
        strings(&[
            "scan",
            "--no-cache",
            "cat.json",
            "-o",
            "sarif",
            "--output-file",
            "{}",
        ]),
        strings(&["scan", "merge", "one.jsonl", "--output-file", "{}"]),
        strings(&["lock", "tools.list.json", "-o", "{}"]),
    ]
}

fn run_writer(dir: &Path, writer: &[String], path: &Path) -> Ran {
    let args = with_file(&writer.iter().map(String::as_str).collect::<Vec<_>>(), path);
    run_bounded(probe(
        dir,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
}

#[test]
fn outputs_replace_regular_files_only_keeping_mode_and_symlinks() {
    if support::require_program("python3").is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let writers = writers(dir);
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let fresh = new_file_mode(o);
    for writer in &writers {
        let before = entries(o);
        // A new file follows the umask.
        let new = o.join("new.out");
        let ran = run_writer(dir, writer, &new);
        assert!(matches!(ran.code, Some(0)), "{writer:?}: {}", ran.stderr);
        assert_eq!(mode(&new), fresh, "{writer:?}");
        assert!(std::fs::metadata(&new).unwrap().len() > 0);
        // An existing file keeps its mode.
        for kept in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&new, std::fs::Permissions::from_mode(kept)).unwrap();
            let ran = run_writer(dir, writer, &new);
            assert_eq!(ran.code, Some(0), "{writer:?}: {}", ran.stderr);
            assert_eq!(mode(&new), kept, "{writer:?}");
        }
        // A symlink stays; its target (also through a chain) is what is replaced.
        let target = o.join("target.out");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = o.join("link.out");
        let chain = o.join("chain.out");
        symlink("target.out", &link).unwrap();
        symlink(&link, &chain).unwrap();
        let ran = run_writer(dir, writer, &chain);
        assert_eq!(ran.code, Some(0), "{writer:?}: {}", ran.stderr);
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(std::fs::symlink_metadata(&chain).unwrap().is_symlink());
        assert_ne!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(mode(&target), 0o640);
        // A FIFO is written through, and stays one.
        let fifo = o.join("fifo.out");
        mkfifo(&fifo);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        let ran = run_writer(dir, writer, &fifo);
        assert_eq!(ran.code, Some(0), "{writer:?}: {}", ran.stderr);
        let through = reader.join().unwrap();
        assert!(
            through.lines().count() >= 1 && through.ends_with('\n'),
            "{writer:?}"
        );
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        // A character device: written to, not replaced.
        let ran = run_writer(dir, writer, Path::new("/dev/null"));
        assert_eq!(ran.code, Some(0), "{writer:?}: {}", ran.stderr);
        assert!(std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        // /dev/stdout is our stdout.
        let ran = run_writer(dir, writer, Path::new("/dev/stdout"));
        assert_eq!(ran.code, Some(0), "{writer:?}: {}", ran.stderr);
        assert!(!ran.stdout.is_empty(), "{writer:?}");
        for path in [&new, &target, &link, &chain, &fifo] {
            std::fs::remove_file(path).unwrap();
        }
        assert_eq!(entries(o), before, "{writer:?}: left behind");
    }
}

#[test]
fn outputs_refuse_what_cannot_take_them_with_exit_2_and_leave_nothing() {
    if support::require_program("python3").is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let writers = writers(dir);
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let subdir = o.join("subdir");
    std::fs::create_dir(&subdir).unwrap();
    let dangling = o.join("dangling");
    symlink(o.join("missing"), &dangling).unwrap();
    let to_dir = o.join("to-dir");
    symlink(&subdir, &to_dir).unwrap();
    let socket = o.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let before = entries(o);
    for writer in &writers {
        for (path, what) in [
            (&subdir, "is a directory"),
            (&dangling, "is a symlink to a missing file"),
            (&to_dir, "is a directory"),
            (&socket, "is a socket"),
        ] {
            let ran = run_writer(dir, writer, path);
            assert_eq!(ran.code, Some(2), "{writer:?} {path:?}: {}", ran.stderr);
            let lines: Vec<&str> = ran.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{}", ran.stderr);
            assert!(lines[0].starts_with("mcp-probe: error: "), "{}", lines[0]);
            assert!(
                lines[0].contains(&path.display().to_string()),
                "{}",
                lines[0]
            );
            assert!(lines[0].contains(what), "{}", lines[0]);
        }
        assert_eq!(entries(o), before, "{writer:?}");
        assert!(entries(&subdir).is_empty());
        assert!(!o.join("missing").exists());
    }
}

#[test]
fn write_locks_takes_any_name_and_the_baseline_finds_each_again() {
    if support::require_program("python3").is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tools_server.py");
    std::fs::write(
        dir.join("tools.list.json"),
        r#"[{"name":"t","description":"d","inputSchema":{"type":"object"}}]"#,
    )
    .unwrap();
    let names = [
        "x".repeat(300),
        "é".repeat(100),
        format!("{}-other", "x".repeat(300)),
        "a/b".to_owned(),
        "..".to_owned(),
        ".".to_owned(),
        "../escape".to_owned(),
        "nul\u{0}byte".to_owned(),
        "~tilde".to_owned(),
        "plain".to_owned(),
    ];
    let catalog = |names: &[String]| {
        let targets: Vec<_> = names
            .iter()
            .map(|n| serde_json::json!({"name": n, "command": ["python3", server.display().to_string(), "tools.list.json"]}))
            .collect();
        std::fs::write(
            dir.join("cat.json"),
            serde_json::json!({"targets": targets}).to_string(),
        )
        .unwrap();
    };
    catalog(&names);
    let ran = run_bounded(probe(
        dir,
        &[
            "scan",
            "--no-cache",
            "-j",
            "4",
            "cat.json",
            "--write-locks",
            "locks",
        ],
    ));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let files = entries(&dir.join("locks"));
    assert_eq!(files.len(), names.len(), "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| f.len() <= 255 && f.ends_with(".lock.json")),
        "{files:?}"
    );
    assert!(files.contains(&"plain.lock.json".to_owned()));
    assert!(entries(dir).iter().all(|f| f != "escape.lock.json"));
    // Each target is in the baseline: no target-new drift, exit 0.
    let ran = run_bounded(probe(
        dir,
        &[
            "scan",
            "--no-cache",
            "-j",
            "4",
            "cat.json",
            "--baseline",
            "locks",
        ],
    ));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        !ran.stdout.contains("baseline-target-new"),
        "{}",
        ran.stdout
    );
    // Names differing only in case are refused before anything runs or is written.
    let mut cased = names.to_vec();
    cased.extend(["Srv".to_owned(), "srv".to_owned()]);
    catalog(&cased);
    let fresh = dir.join("fresh-locks");
    let started = Instant::now();
    let ran = run_bounded(probe(
        dir,
        &[
            "scan",
            "--no-cache",
            "cat.json",
            "--write-locks",
            "fresh-locks",
        ],
    ));
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("differ only in case"), "{}", ran.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!fresh.exists() || entries(&fresh).is_empty());
    // A lock path held by a directory is refused before the scan, no lock file written.
    catalog(&names);
    std::fs::create_dir_all(fresh.join("plain.lock.json")).unwrap();
    let ran = run_bounded(probe(
        dir,
        &[
            "scan",
            "--no-cache",
            "cat.json",
            "--write-locks",
            "fresh-locks",
        ],
    ));
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("plain.lock.json is not a regular file"),
        "{}",
        ran.stderr
    );
    assert_eq!(entries(&fresh), ["plain.lock.json"]);
}
