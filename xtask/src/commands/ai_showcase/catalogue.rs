//! The curated prompts: `docs/ai-devops/prompts.toml`, a data file grouped by tool, each prompt
//! marked read-only or mutating.

use anyhow::{Context as _, Result, bail};
use camino::Utf8Path;
use serde::Deserialize;

/// Where the catalogue lives, relative to the project root.
pub const CATALOGUE: &str = "docs/ai-devops/prompts.toml";

/// The external AI tools of the showcase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AiTool {
    /// Docker Desktop's agent: `docker ai "PROMPT"`
    Gordon,
    /// `kubectl-ai --quiet "PROMPT"`
    KubectlAi,
    /// `kagent invoke --agent k8s-agent --task "PROMPT"`
    Kagent,
}

impl AiTool {
    pub const ALL: [AiTool; 3] = [AiTool::Gordon, AiTool::KubectlAi, AiTool::Kagent];

    /// The name in the catalogue, the summary and the transcript's file name.
    pub fn name(self) -> &'static str {
        match self {
            AiTool::Gordon => "gordon",
            AiTool::KubectlAi => "kubectl-ai",
            AiTool::Kagent => "kagent",
        }
    }

    pub fn tool(self) -> crate::tools::Tool {
        match self {
            AiTool::Gordon => crate::tools::Tool::Gordon,
            AiTool::KubectlAi => crate::tools::Tool::KubectlAi,
            AiTool::Kagent => crate::tools::Tool::Kagent,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    ReadOnly,
    Mutating,
}

impl Effect {
    pub fn name(self) -> &'static str {
        match self {
            Effect::ReadOnly => "read-only",
            Effect::Mutating => "mutating",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompt {
    pub tool: AiTool,
    pub id: String,
    pub effect: Effect,
    pub prompt: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    prompt: Vec<Prompt>,
}

/// What the placeholders of a prompt stand for.
pub struct Vars<'a> {
    pub namespace: &'a str,
    pub release: &'a str,
    pub api_deployment: &'a str,
    pub dockerfile: &'a str,
    pub api_image: &'a str,
}

impl Prompt {
    /// The prompt with its placeholders filled in; an unknown one is an error in the catalogue.
    pub fn render(&self, vars: &Vars) -> Result<String> {
        let mut out = String::new();
        let mut rest = self.prompt.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map(|at| start + at)
                .with_context(|| format!("{CATALOGUE}: prompt `{}` has a `{{` without `}}`", self.id))?;
            let value = match &rest[start + 1..end] {
                "namespace" => vars.namespace,
                "release" => vars.release,
                "api_deployment" => vars.api_deployment,
                "dockerfile" => vars.dockerfile,
                "api_image" => vars.api_image,
                other => {
                    bail!("{CATALOGUE}: prompt `{}` names an unknown placeholder `{{{other}}}`", self.id)
                }
            };
            out.push_str(value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The catalogue, in file order.
pub fn load(root: &Utf8Path) -> Result<Vec<Prompt>> {
    let path = root.join(CATALOGUE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse(&text)
}

pub fn parse(text: &str) -> Result<Vec<Prompt>> {
    let file: File = toml::from_str(text).with_context(|| format!("{CATALOGUE} is not a valid catalogue"))?;
    for (i, prompt) in file.prompt.iter().enumerate() {
        if file.prompt[..i].iter().any(|earlier| earlier.tool == prompt.tool && earlier.id == prompt.id) {
            bail!("{CATALOGUE}: prompt `{}` of {} is there twice", prompt.id, prompt.tool.name());
        }
    }
    Ok(file.prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            namespace: "todo",
            release: "todo",
            api_deployment: "todo-api",
            dockerfile: "infra/docker/api.Dockerfile",
            api_image: "todo-api:1a2b",
        }
    }

    #[test]
    fn the_repository_catalogue_covers_every_tool_and_renders() {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let prompts = load(root).unwrap();
        for tool in AiTool::ALL {
            assert!(prompts.iter().any(|p| p.tool == tool), "{} has no prompt", tool.name());
        }
        let mutating: Vec<&str> =
            prompts.iter().filter(|p| p.effect == Effect::Mutating).map(|p| p.id.as_str()).collect();
        assert_eq!(mutating, ["scale-api"]);
        for prompt in &prompts {
            let text = prompt.render(&vars()).unwrap();
            assert!(!text.contains('{'), "{text}");
        }
    }

    #[test]
    fn unknown_placeholders_and_duplicates_are_refused() {
        let bad = parse(
            "[[prompt]]\ntool = \"kagent\"\nid = \"x\"\neffect = \"read-only\"\nprompt = \"in {nmespace}\"\n",
        )
        .unwrap()
        .remove(0)
        .render(&vars())
        .unwrap_err();
        assert!(bad.to_string().contains("unknown placeholder `{nmespace}`"), "{bad}");
        let twice =
            "[[prompt]]\ntool = \"kagent\"\nid = \"x\"\neffect = \"read-only\"\nprompt = \"a\"\n".repeat(2);
        assert!(parse(&twice).unwrap_err().to_string().contains("there twice"));
    }
}
