//! The kubelet's runAsNonRoot check (verifyRunAsNonRoot), made against the image's user as the
//! runtime reports it: a numeric uid, or a user name that cannot be verified.
use k8s_openapi::api::core::v1::Container;

use super::runtime::PodRuntime;
use crate::images::Image;

/// The image's USER as a runtime's image status gives it.
#[derive(Debug, PartialEq, Eq)]
pub enum ImageUser {
    Uid(i64),
    Name(String),
}

/// `user = "1000"`, `"1000:1000"` → a uid; `"node"` → a name; `runs_as_root` → uid 0. Without
/// either, the simulator treats the image as a numeric non-root user.
pub fn image_user(image: &Image) -> ImageUser {
    match image
        .user
        .as_deref()
        .map(|u| u.split(':').next().unwrap_or(u))
    {
        Some(user) if !user.is_empty() => match user.parse::<i64>() {
            Ok(uid) => ImageUser::Uid(uid),
            Err(_) => ImageUser::Name(user.to_owned()),
        },
        _ if image.runs_as_root => ImageUser::Uid(0),
        _ => ImageUser::Uid(NON_ROOT_UID),
    }
}

/// What an image without a `user` (and not `runs_as_root`) runs as.
pub const NON_ROOT_UID: i64 = 65532;

/// `Err` is the kubelet's CreateContainerConfigError message.
pub fn verify_run_as_non_root(
    rt: &PodRuntime,
    container: &Container,
    image: &Image,
) -> Result<(), String> {
    let pod_sc = rt
        .spec
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref());
    let c_sc = container.security_context.as_ref();
    let non_root = c_sc
        .and_then(|s| s.run_as_non_root)
        .or(pod_sc.and_then(|s| s.run_as_non_root));
    if non_root != Some(true) {
        return Ok(());
    }
    let pod = format!("\"{}_{}({})\"", rt.key.name, rt.key.namespace, rt.uid);
    let name = &container.name;
    let run_as_user = c_sc
        .and_then(|s| s.run_as_user)
        .or(pod_sc.and_then(|s| s.run_as_user));
    match (run_as_user, image_user(image)) {
        (Some(0), _) => Err(format!(
            "container's runAsUser breaks non-root policy (pod: {pod}, container: {name})"
        )),
        (Some(_), _) => Ok(()),
        (None, ImageUser::Uid(0)) => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: {pod}, container: {name})"
        )),
        (None, ImageUser::Name(user)) => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify \
             user is non-root (pod: {pod}, container: {name})"
        )),
        (None, ImageUser::Uid(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_users_read_like_docker_user_lines() {
        let with = |user: Option<&str>, root: bool| Image {
            user: user.map(str::to_owned),
            runs_as_root: root,
            ..Image::default()
        };
        assert_eq!(image_user(&with(Some("0"), false)), ImageUser::Uid(0));
        assert_eq!(
            image_user(&with(Some("1000:1000"), false)),
            ImageUser::Uid(1000)
        );
        assert_eq!(
            image_user(&with(Some("node"), false)),
            ImageUser::Name("node".into())
        );
        assert_eq!(image_user(&with(None, true)), ImageUser::Uid(0));
        assert_eq!(image_user(&with(None, false)), ImageUser::Uid(NON_ROOT_UID));
    }
}
