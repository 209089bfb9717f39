//! Gordon, kubectl-ai and kagent: whether each can run here (and if not, why, with its install
//! hint), and the exact command line of each prompt.

use std::time::Duration;

use camino::Utf8PathBuf;
use xshell::cmd;

use super::Options;
use super::catalogue::{AiTool, Effect, Prompt};
use super::llm::LlmSettings;
use crate::context::Context;
use crate::kube::Target;
use crate::runner::Cmd;
use crate::tools::{self, Tool};

/// How a tool will be called, once it is known to be usable.
pub enum Ready {
    Gordon,
    KubectlAi(KubectlAi),
    Kagent,
}

/// kubectl-ai's model: flags, and a key from .env passed in its environment when that is the one.
pub struct KubectlAi {
    pub provider: Option<String>,
    pub model: Option<String>,
    /// The app's OpenAI-compatible settings, used when no key of kubectl-ai's own is set.
    pub app_llm: Option<LlmSettings>,
}

/// Why a tool cannot run here.
pub struct Skip {
    pub reason: String,
    /// What to do about it.
    pub hint: String,
}

/// Providers kubectl-ai has, and the variable holding each one's key (`None`: no key needed).
const KUBECTL_AI_PROVIDERS: [(&str, Option<&str>); 8] = [
    ("gemini", Some("GEMINI_API_KEY")),
    ("openai", Some("OPENAI_API_KEY")),
    ("openai-compatible", Some("OPENAI_API_KEY")),
    ("azopenai", Some("AZURE_OPENAI_API_KEY")),
    ("anthropic", Some("ANTHROPIC_API_KEY")),
    ("grok", Some("GROK_API_KEY")),
    ("ollama", None),
    ("llamacpp", None),
];

fn env_set(key: &str) -> bool {
    std::env::var(key).is_ok_and(|value| !value.trim().is_empty())
}

/// Whether `tool` can run here, and how.
pub fn detect(
    cx: &Context,
    tool: AiTool,
    options: &Options,
    target: &Target,
    app_llm: Option<&LlmSettings>,
) -> Result<Ready, Skip> {
    let status = tools::prepare(&cx.sh, tool.tool()).finish(&cx.runner);
    if !status.found {
        let reason = match (tool, status.problem) {
            (AiTool::Gordon, Some(problem)) => format!("not installed: {problem}"),
            (AiTool::Gordon, None) => "not installed: no docker on PATH".to_owned(),
            _ => format!("not installed: no {} on PATH", tool.tool().program()),
        };
        return Err(Skip { reason, hint: tool.tool().install_hint().to_owned() });
    }
    if let Some(problem) = status.problem {
        if tool == AiTool::Gordon && signed_out(&problem) {
            return Err(not_signed_in());
        }
        return Err(Skip {
            reason: format!("does not answer: {problem}"),
            hint: format!(
                "check `{} {}` by hand",
                tool.tool().program(),
                tool.tool().version_args().join(" ")
            ),
        });
    }
    match tool {
        AiTool::Gordon => Ok(Ready::Gordon),
        AiTool::KubectlAi => {
            let how = kubectl_ai(options, app_llm)?;
            same_context(cx, target)?;
            Ok(Ready::KubectlAi(how))
        }
        AiTool::Kagent => kagent_in_cluster(cx, target, options).map(|()| Ready::Kagent),
    }
}

/// kubectl-ai and kagent work on the current kube context, while detection and the Secrets read
/// for redaction use the environment's. When the environment pins a context and the current one
/// is another, they would answer about another cluster, whose Secret values were never learnt:
/// skipped, saying how to switch.
fn same_context(cx: &Context, target: &Target) -> Result<(), Skip> {
    let Some(wanted) = &target.context else { return Ok(()) };
    let query = cmd!(cx.sh, "kubectl config current-context");
    let current = cx
        .output(Cmd::from(query).read_only().quiet().allow_failure().timeout(Duration::from_secs(20)))
        .ok()
        .filter(|output| output.success())
        .map(|output| output.stdout.trim().to_owned())
        .unwrap_or_default();
    if &current == wanted {
        return Ok(());
    }
    let current = if current.is_empty() {
        "no current kube context".to_owned()
    } else {
        format!("the current kube context is `{current}`")
    };
    Err(Skip {
        reason: format!("{current}, not the environment's `{wanted}`, and this tool asks the current one"),
        hint: format!("`kubectl config use-context {wanted}`, then run it again"),
    })
}

/// What Gordon says when Docker Desktop is not signed in.
pub fn signed_out(text: &str) -> bool {
    let text = text.to_lowercase();
    ["not signed in", "sign in", "signed out", "docker login", "not logged in", "log in"]
        .iter()
        .any(|phrase| text.contains(phrase))
}

pub fn not_signed_in() -> Skip {
    Skip {
        reason: "not signed in: Gordon needs Docker Desktop signed in".to_owned(),
        hint:
            "sign in to Docker Desktop (or `docker login`) and enable Docker AI in Settings > Beta features"
                .to_owned(),
    }
}

fn kubectl_ai(options: &Options, app_llm: Option<&LlmSettings>) -> Result<KubectlAi, Skip> {
    let no_key = |what: String| {
        Skip {
        reason: format!("no key: {what}"),
        hint: "export GEMINI_API_KEY (kubectl-ai's default provider) or OPENAI_API_KEY (with OPENAI_ENDPOINT for \
               another OpenAI-compatible server), or set LLM_API_KEY in .env: the app's endpoint is then used"
            .to_owned(),
    }
    };
    if let Some(provider) = &options.llm_provider {
        let key = KUBECTL_AI_PROVIDERS.iter().find(|(name, _)| name == provider).and_then(|(_, key)| *key);
        let from_app = matches!(provider.as_str(), "openai" | "openai-compatible") && app_llm.is_some();
        if let Some(key) = key
            && !env_set(key)
            && !from_app
        {
            return Err(no_key(format!("--llm-provider {provider} reads {key}, which is not set")));
        }
        return Ok(KubectlAi {
            provider: Some(provider.clone()),
            model: options.model.clone().or_else(|| from_app.then(|| app_llm.unwrap().model.clone())),
            app_llm: (from_app && key.is_some_and(|key| !env_set(key))).then(|| app_llm.unwrap().clone()),
        });
    }
    if env_set("GEMINI_API_KEY") {
        return Ok(KubectlAi { provider: None, model: options.model.clone(), app_llm: None });
    }
    for (provider, key) in [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")] {
        if env_set(key) {
            return Ok(KubectlAi {
                provider: Some(provider.to_owned()),
                model: options.model.clone(),
                app_llm: None,
            });
        }
    }
    match app_llm {
        Some(settings) => Ok(KubectlAi {
            provider: Some("openai".to_owned()),
            model: Some(options.model.clone().unwrap_or_else(|| settings.model.clone())),
            app_llm: Some(settings.clone()),
        }),
        None => Err(no_key("none of GEMINI_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY is set".to_owned())),
    }
}

/// kagent answers only where it is installed in the cluster (its controller and the k8s-agent).
fn kagent_in_cluster(cx: &Context, target: &Target, options: &Options) -> Result<(), Skip> {
    let context = target.context_args();
    let query =
        cmd!(cx.sh, "kubectl {context...} get agents.kagent.dev k8s-agent --namespace kagent --output name");
    let found = cx
        .output(Cmd::from(query).read_only().quiet().allow_failure().timeout(Duration::from_secs(20)))
        .is_ok_and(|output| output.success() && output.stdout.contains("k8s-agent"));
    if found {
        return same_context(cx, target);
    }
    if options.install_kagent {
        // `kagent install` installs into the current context.
        same_context(cx, target)?;
        let install = cmd!(cx.sh, "kagent install --profile minimal");
        let installed =
            cx.run(Cmd::from(install).timeout(Duration::from_secs(15 * 60)).hint(
                "kagent install needs OPENAI_API_KEY in its environment and about 1 CPU and 1.5 GiB free",
            ));
        return match installed {
            Ok(_) => Ok(()),
            Err(err) => Err(Skip {
                reason: format!(
                    "not installed in the cluster, and `kagent install` failed: {}",
                    first_line(&err.to_string())
                ),
                hint: "see kagent's output above".to_owned(),
            }),
        };
    }
    Err(Skip {
        reason: "not installed in the cluster (no k8s-agent in namespace kagent)".to_owned(),
        hint: "`cargo xtask ai-showcase --install-kagent` runs `kagent install --profile minimal`: it needs \
               OPENAI_API_KEY exported (its model's key, stored in the cluster) and about 1 CPU and 1.5 GiB of \
               memory free in the cluster (the full profile needs much more)"
            .to_owned(),
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The command that asks `prompt`'s question.
pub fn command(cx: &Context, ready: &Ready, prompt: &Prompt, text: &str, options: &Options) -> Cmd {
    match ready {
        // Gordon reads the files of the directory it runs in: the repository.
        Ready::Gordon => Cmd::from(cmd!(cx.sh, "docker ai {text}")),
        Ready::KubectlAi(how) => {
            let mut args: Vec<String> = vec!["--quiet".into()];
            if let Some(provider) = &how.provider {
                args.extend(["--llm-provider".into(), provider.clone()]);
            }
            if let Some(model) = &how.model {
                args.extend(["--model".into(), model.clone()]);
            }
            // Its trace holds cluster data: into target/, not /tmp, and redacted after each run.
            args.extend(["--trace-path".into(), trace_path(cx).to_string()]);
            if prompt.effect == Effect::Mutating && options.allow_mutations {
                // Non-interactive: nobody can answer its confirmation question.
                args.push("--skip-permissions".into());
            }
            let mut cmd = Cmd::from(cmd!(cx.sh, "kubectl-ai {args...} {text}"));
            if let Some(settings) = &how.app_llm {
                cmd = cmd
                    .env("OPENAI_ENDPOINT", settings.base_url.clone())
                    .secret_env("OPENAI_API_KEY", settings.key.clone());
            }
            cmd
        }
        Ready::Kagent => Cmd::from(cmd!(cx.sh, "kagent invoke --agent k8s-agent --task {text}")),
    }
}

fn trace_path(cx: &Context) -> Utf8PathBuf {
    cx.state_dir().join("ai-showcase/kubectl-ai-trace.txt")
}

/// kubectl-ai's trace holds what it read from the cluster and what it sent its model, secrets
/// included: rewritten through the redactor after each prompt, and readable by the user only.
pub fn redact_trace(cx: &Context) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let path = trace_path(cx);
    let Ok(raw) = std::fs::read(&path) else { return Ok(()) };
    let redacted = cx.ui.redactor().redact(&String::from_utf8_lossy(&raw));
    let write = || -> std::io::Result<()> {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let mut file = std::fs::OpenOptions::new().write(true).truncate(true).mode(0o600).open(&path)?;
        file.write_all(redacted.as_bytes())
    };
    write().map_err(|err| anyhow::anyhow!("cannot redact kubectl-ai's trace {path}: {err}"))
}

/// The tool's name in messages, e.g. `kubectl-ai`; Gordon is `docker ai`.
pub fn program(tool: AiTool) -> &'static str {
    Tool::name(tool.tool())
}
