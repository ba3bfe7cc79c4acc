//! Where a model comes from: a GGUF file, a safetensors folder, a known name, or a
//! Hugging Face repository id resolved through hf-hub's local cache.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::registry;

/// A resolved model location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// A GGUF file (weights, tokenizer and chat template inside).
    Gguf(PathBuf),
    /// A folder with `config.json`, `tokenizer.json` and `*.safetensors`.
    Safetensors(PathBuf),
}

impl ModelSource {
    /// The model's tokenizer, without its weights: built from a GGUF file's own
    /// vocabulary, or read from a folder's `tokenizer.json`.
    pub fn tokenizer(&self) -> Result<tokenizers::Tokenizer> {
        match self {
            ModelSource::Gguf(p) => crate::GgufFile::open(p)?.tokenizer(),
            ModelSource::Safetensors(d) => {
                let path = d.join("tokenizer.json");
                tokenizers::Tokenizer::from_file(&path)
                    .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
            }
        }
    }

    /// Resolves what a user typed: an existing `.gguf` file or safetensors folder; a
    /// known model name (installed with `rerank fetch-model`); or a Hugging Face repo
    /// id (`org/name`) found in the hub cache (`$HF_HOME/hub`, default
    /// `~/.cache/huggingface/hub`). Nothing is downloaded here: the hub is only read
    /// from its cache, as `HF_HUB_OFFLINE=1` would.
    pub fn resolve(spec: &str) -> Result<ModelSource> {
        let path = Path::new(spec);
        if path.is_file() {
            return Ok(ModelSource::Gguf(path.to_path_buf()));
        }
        if path.is_dir() {
            return Self::folder(path);
        }
        if let Some(known) = registry::find(spec) {
            return Ok(ModelSource::Gguf(known.require()?));
        }
        if spec.contains('/') && !spec.starts_with('.') && !spec.starts_with('/') {
            return Self::from_hub_cache(spec, &hub_cache_dir());
        }
        Err(Error::UnknownModel {
            name: spec.into(),
            known: registry::known_names(),
        })
    }

    fn folder(dir: &Path) -> Result<ModelSource> {
        let has = |f: &str| dir.join(f).is_file();
        if has("config.json") {
            Ok(ModelSource::Safetensors(dir.to_path_buf()))
        } else {
            Err(Error::Unsupported(format!(
                "{} is a folder without config.json; give a GGUF file or a safetensors model folder",
                dir.display()
            )))
        }
    }

    /// Looks `repo` up in a hub cache laid out as hf-hub writes it
    /// (`models--org--name/snapshots/<rev>/…`, `refs/main`).
    pub fn from_hub_cache(repo: &str, cache_dir: &Path) -> Result<ModelSource> {
        let cache = hf_hub::Cache::new(cache_dir.to_path_buf());
        let r = cache.repo(hf_hub::Repo::model(repo.to_owned()));
        if let Some(config) = r.get("config.json") {
            let dir = config.parent().expect("a file has a parent").to_path_buf();
            return Ok(ModelSource::Safetensors(dir));
        }
        // A GGUF-only repository: the first .gguf of the main snapshot.
        let snapshot = cache_dir
            .join(format!("models--{}", repo.replace('/', "--")))
            .join("snapshots");
        let rev = std::fs::read_to_string(
            cache_dir
                .join(format!("models--{}", repo.replace('/', "--")))
                .join("refs")
                .join("main"),
        )
        .ok();
        if let Some(rev) = rev {
            let dir = snapshot.join(rev.trim());
            if let Ok(entries) = std::fs::read_dir(&dir) {
                let mut ggufs: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
                    .collect();
                ggufs.sort();
                if let Some(g) = ggufs.into_iter().next() {
                    return Ok(ModelSource::Gguf(g));
                }
            }
        }
        Err(Error::Hub(format!(
            "'{repo}' is not in the Hugging Face cache at {} (this machine cannot reach the hub; \
             download it elsewhere and copy the cache, or give a local path)",
            cache_dir.display()
        )))
    }
}

/// The hub cache folder: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn hub_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(h) = std::env::var_os("HF_HOME") {
        return PathBuf::from(h).join("hub");
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".cache/huggingface/hub")
}
