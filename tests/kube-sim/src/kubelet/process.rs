//! Starting a container's process: command resolution, environment, `$(VAR)` expansion, I/O.
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;

use bytes::Bytes;
use k8s_openapi::api::core::v1::Container;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use super::runtime::{lock, ContainerRuntime, Output};
use crate::images::Image;

/// Expands `$(NAME)` from `env` like the kubelet does (`$$` escapes, unknown names stay).
pub fn expand(s: &str, env: &HashMap<String, String>) -> String {
    expand_with(s, env, true)
}

/// `escapes: false` keeps `$$` as is: image-table entries are configuration, not pod spec, so
/// only their `$(NAME)` references are filled in.
fn expand_with(s: &str, env: &HashMap<String, String>, escapes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$').filter(|_| escapes) {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match env.get(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Docker semantics: `command` replaces the entrypoint (and drops the image's args), `args`
/// replaces the image's default arguments.
pub fn argv(image: &Image, container: &Container, env: &HashMap<String, String>) -> Vec<String> {
    let from_pod = |v: &Vec<String>| v.iter().map(|a| expand(a, env)).collect::<Vec<_>>();
    let from_image = |v: &Vec<String>| {
        v.iter()
            .map(|a| expand_with(a, env, false))
            .collect::<Vec<_>>()
    };
    let own_command = container.command.as_ref().filter(|c| !c.is_empty());
    let mut argv = match own_command {
        Some(cmd) => from_pod(cmd),
        None => from_image(&image.command),
    };
    match &container.args {
        Some(args) => argv.extend(from_pod(args)),
        None if own_command.is_none() => argv.extend(from_image(&image.args)),
        None => {}
    }
    argv
}

/// Finds `program` on the container's PATH. Spawning an absolute path also lets std use
/// posix_spawn instead of fork, which matters with hundreds of pods.
fn resolve_program(
    program: &str,
    env: &HashMap<String, String>,
) -> std::io::Result<std::path::PathBuf> {
    if program.contains('/') {
        return Ok(program.into());
    }
    let path = env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "executable file not found in $PATH",
            )
        })
}

/// What a container process inherits from the simulator's own environment (its image's
/// filesystem, in effect): where programs are, home, locale, temporary files, user.
pub fn host_env() -> impl Iterator<Item = (&'static str, String)> {
    ["PATH", "HOME", "LANG", "TMPDIR", "USER"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k, v)))
}

/// Starts the process in its own process group with piped stdio and output pumps.
pub fn spawn(
    c: &Arc<ContainerRuntime>,
    argv: &[String],
    env: &HashMap<String, String>,
    workdir: Option<&str>,
) -> std::io::Result<(Child, Vec<tokio::task::JoinHandle<()>>)> {
    let mut cmd = Command::new(resolve_program(&argv[0], env)?);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(host_env())
        .envs(env)
        .stdin(if c.stdin_enabled {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = workdir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn()?;
    *lock(&c.pgid) = child.id().map(|p| p as i32);
    let logs = c.current_logs();
    if let Some(stdin) = child.stdin.take() {
        *c.stdin
            .try_lock()
            .map_err(|_| std::io::Error::other("stdin busy"))? = Some(stdin);
    }
    let mut pumps = Vec::new();
    let readers: [(u8, Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>); 2] = [
        (1, child.stdout.take().map(|s| Box::new(s) as _)),
        (2, child.stderr.take().map(|s| Box::new(s) as _)),
    ];
    for (channel, reader) in readers {
        let Some(mut reader) = reader else { continue };
        let (logs, output) = (logs.clone(), c.output.clone());
        pumps.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = reader.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                logs.append(channel, &buf[..n]);
                let _ = output.send(Output::Data(channel, Bytes::copy_from_slice(&buf[..n])));
            }
        }));
    }
    Ok((child, pumps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_the_kubelet() {
        let env: HashMap<String, String> = [("A".to_string(), "1".to_string())].into();
        assert_eq!(expand("x$(A)y$(B)$$(A)$", &env), "x1y$(B)$(A)$");
        assert_eq!(expand_with("$$ $(A)", &env, false), "$$ 1");
        let image = Image {
            command: vec!["sh".into(), "-c".into(), "echo $$ $(A)".into()],
            ..Image::default()
        };
        assert_eq!(
            argv(&image, &Container::default(), &env),
            ["sh", "-c", "echo $$ 1"]
        );
        let pod = Container {
            args: Some(vec!["$$(A) $(A)".into()]),
            ..Container::default()
        };
        assert_eq!(
            argv(&image, &pod, &env),
            ["sh", "-c", "echo $$ 1", "$(A) 1"]
        );
    }
}
