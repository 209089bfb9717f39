//! The images we build, how their tags are derived, and the record `containerize` leaves in
//! `target/xtask/images.json` for the phases after it (loading into minikube, deploying).

use std::fs;

use anyhow::{Context as _, Result};
use camino::Utf8Path;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::phase::Fingerprint;

pub struct ImageSpec {
    /// Repository name; also the cargo package and binary it ships.
    pub name: &'static str,
    pub dockerfile: &'static str,
    /// Directories whose content ends up in the image, besides the workspace-wide inputs.
    pub sources: &'static [&'static str],
    /// Size we aim for, and the most we accept, in MB (10^6 bytes).
    pub size_goal_mb: u64,
    pub size_budget_mb: u64,
}

pub const IMAGES: [ImageSpec; 2] = [
    ImageSpec {
        name: "todo-api",
        dockerfile: "infra/docker/api.Dockerfile",
        sources: &["services/api", "services/healthcheck", "services/serve"],
        size_goal_mb: 30,
        size_budget_mb: 200,
    },
    ImageSpec {
        name: "todo-web",
        dockerfile: "infra/docker/web.Dockerfile",
        sources: &["services/web", "services/healthcheck", "services/serve"],
        size_goal_mb: 15,
        size_budget_mb: 100,
    },
];

/// Inputs of every image: dependency versions, build profiles, the build context filter and the
/// script that stages the runtime files.
const SHARED_INPUTS: [&str; 4] =
    ["Cargo.toml", "Cargo.lock", ".dockerignore", "infra/docker/stage-rootfs.sh"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildMode {
    /// cargo on this machine, then a runtime-only image (Linux; incremental, fast)
    Host,
    /// a multi-stage build inside the engine (any OS; needs only the engine)
    Docker,
}

impl BuildMode {
    /// Host builds on Linux, where the host's binary runs in a Linux container; elsewhere (macOS,
    /// Windows) the host's binaries cannot, so build inside the engine.
    pub fn default_for_this_os() -> BuildMode {
        if cfg!(target_os = "linux") { BuildMode::Host } else { BuildMode::Docker }
    }

    pub fn name(self) -> &'static str {
        match self {
            BuildMode::Host => "host",
            BuildMode::Docker => "docker",
        }
    }

    /// The Dockerfile stage that ends this mode's build.
    pub fn target(self) -> &'static str {
        match self {
            BuildMode::Host => "runtime-host",
            BuildMode::Docker => "runtime",
        }
    }
}

/// The tag of `spec`'s image: a hash of everything that goes into it, so unchanged inputs give the
/// same tag (and no rebuild) and any change gives a new one (so a cluster never runs a stale image
/// under a reused tag).
pub fn tag(
    root: &Utf8Path,
    spec: &ImageSpec,
    mode: BuildMode,
    toolchain: &str,
    build_args: &[(String, String)],
) -> Result<String> {
    let mut fingerprint = Fingerprint::new();
    fingerprint.value("mode", mode.name()).value("toolchain", toolchain);
    for (key, value) in build_args {
        fingerprint.value(key, value);
    }
    for file in SHARED_INPUTS.iter().chain([&spec.dockerfile]) {
        fingerprint.file(root, file)?;
    }
    for dir in spec.sources {
        fingerprint.tree(root, dir)?;
    }
    Ok(fingerprint.hex()[..12].to_owned())
}

pub const RECORD_FILE: &str = "images.json";

/// What `containerize` built, for the phases that load and deploy it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BuiltImages {
    pub engine: String,
    pub mode: BuildMode,
    pub images: Vec<BuiltImage>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BuiltImage {
    pub name: String,
    pub tag: String,
    /// `name:tag`, as the local engine knows it.
    pub reference: String,
    /// `registry/name:tag`, when pushed.
    pub pushed: Option<String>,
    /// `sha256:…`, the digest the registry holds the pushed image under.
    #[serde(default)]
    pub digest: Option<String>,
    pub size_bytes: Option<u64>,
}

/// What a dry run's containerize planned, for the phases after it in the same run: a dry run
/// writes no file, and they should still print the tags a real run would use.
static PLANNED: std::sync::Mutex<Option<BuiltImages>> = std::sync::Mutex::new(None);

impl BuiltImages {
    pub fn load(cx: &Context) -> Result<BuiltImages> {
        if cx.runner.dry_run()
            && let Some(planned) = PLANNED.lock().unwrap().clone()
        {
            return Ok(planned);
        }
        let path = cx.state_dir().join(RECORD_FILE);
        let text = fs::read_to_string(&path).with_context(|| {
            format!("no images have been built here yet ({path} is missing): run `cargo xtask containerize`")
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{path} is unreadable: run `cargo xtask containerize`"))
    }

    pub fn save(&self, cx: &Context) -> Result<()> {
        if cx.runner.dry_run() {
            *PLANNED.lock().unwrap() = Some(self.clone());
            return Ok(());
        }
        let dir = cx.state_dir();
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
        let path = dir.join(RECORD_FILE);
        fs::write(&path, serde_json::to_vec_pretty(self)?).with_context(|| format!("cannot write {path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_the_inputs_of_their_own_image_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("Cargo.lock", "lock");
        write("services/api/src/main.rs", "fn main() {}");
        write("services/web/src/main.rs", "fn main() {}");
        let [api, web] = &IMAGES;
        let tag_of = |spec| tag(root, spec, BuildMode::Host, "rustc 1.95.0", &[]).unwrap();
        let (api_tag, web_tag) = (tag_of(api), tag_of(web));
        assert_eq!(api_tag.len(), 12);
        assert_eq!(api_tag, tag_of(api), "same inputs, same tag");

        write("services/api/src/main.rs", "fn main() { println!(); }");
        assert_ne!(api_tag, tag_of(api));
        assert_eq!(web_tag, tag_of(web), "the api's sources are not the web image's inputs");

        write("services/healthcheck/src/lib.rs", "pub fn main() {}");
        let (api_tag, web_tag) = (tag_of(api), tag_of(web));
        write("services/healthcheck/src/lib.rs", "pub fn main() { }");
        assert!(
            tag_of(api) != api_tag && tag_of(web) != web_tag,
            "the crate both link is both images' input"
        );

        let docker = tag(root, api, BuildMode::Docker, "rustc 1.95.0", &[]).unwrap();
        assert_ne!(docker, tag_of(api), "build modes make different images");
        let mirrored =
            tag(root, api, BuildMode::Host, "rustc 1.95.0", &[("RUST_IMAGE".into(), "m/rust".into())]);
        assert_ne!(mirrored.unwrap(), tag_of(api), "build args are inputs");
    }
}
