//! Adapters in PEFT's format: a folder with `adapter_config.json` and
//! `adapter_model.safetensors`, the tensors named as PEFT saves them
//! (`base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`, `A` of shape
//! `(r, in)`, `B` of shape `(out, r)`), so that PEFT (`PeftModel.from_pretrained`) and
//! vLLM (`--lora-modules`) load what [`Adapter::save_peft`] writes, and
//! [`Adapter::load_peft`] reads what they train.
//!
//! On llama GGUF models the decoder's query and key rows are in llama.cpp's permuted
//! order ([`Decoder::qk_permuted`]); `q_proj` and `k_proj`'s `B` are permuted the same
//! way on load and back on save, so the file is always in Hugging Face's order.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor, Var};
use serde_json::{json, Value};

use super::lora::{Adapter, LoraConfig, LoraPair, Target};
use super::model::Decoder;
use crate::error::{candle_message, Error, Result};

/// The configuration file's name.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The weights file's name.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

fn adapter_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Adapter {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// llama.cpp's row permutation of a q or k weight (`permute` in
/// `convert_hf_to_gguf.py`), applied to the rows of `t` (`out` rows in `heads`
/// groups), or its inverse.
fn permute_rows(t: &Tensor, heads: usize, inverse: bool) -> candle_core::Result<Tensor> {
    let (out, cols) = t.dims2()?;
    let half = out / heads / 2;
    if inverse {
        // (heads, half, 2, cols) -> (heads, 2, half, cols)
        t.reshape((heads, half, 2, cols))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((out, cols))
    } else {
        t.reshape((heads, 2, half, cols))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((out, cols))
    }
}

/// Heads whose rows a target's `B` permutation groups, when the decoder permutes.
fn permuted_heads(decoder: &Decoder, target: Target) -> Option<usize> {
    if !decoder.qk_permuted() {
        return None;
    }
    match target {
        Target::Q => Some(decoder.info().heads),
        Target::K => Some(decoder.info().kv_heads),
        _ => None,
    }
}

impl Adapter {
    /// Writes the adapter to `dir` (created if needed) in PEFT's format;
    /// `base_model` goes into `base_model_name_or_path`. The weights are written
    /// in f32; `decoder` is the model the adapter was trained on (for the row order
    /// of llama GGUF models).
    pub fn save_peft(&self, dir: &Path, base_model: &str, decoder: &Decoder) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
            path: dir.to_path_buf(),
            cause,
        })?;
        let c = self.config();
        let mut targets: Vec<&str> = c.targets.iter().map(|t| t.peft_name()).collect();
        targets.sort();
        let config = json!({
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": base_model,
            "r": c.rank,
            "lora_alpha": c.alpha,
            "lora_dropout": c.dropout,
            "target_modules": targets,
            "use_rslora": c.rslora,
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": true,
            "modules_to_save": null,
            "layers_to_transform": null,
            "layers_pattern": null,
            "rank_pattern": {},
            "alpha_pattern": {},
            "use_dora": false,
            "revision": null,
        });
        let config_path = dir.join(CONFIG_FILE);
        let text = serde_json::to_string_pretty(&config).expect("a JSON value serialises");
        std::fs::write(&config_path, text + "\n").map_err(|cause| Error::Io {
            path: config_path.clone(),
            cause,
        })?;
        let weights_path = dir.join(WEIGHTS_FILE);
        let fail = |e: candle_core::Error| adapter_err(&weights_path, candle_message(&e));
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for layer in 0..self.layers() {
            for t in Target::ALL {
                let Some(p) = self.pair(layer, t) else {
                    continue;
                };
                let base = format!("base_model.model.model.layers.{layer}.{}", t.hf_path());
                let a = p.a.as_tensor().to_dtype(DType::F32).map_err(fail)?;
                let mut b = p.b.as_tensor().to_dtype(DType::F32).map_err(fail)?;
                if let Some(heads) = permuted_heads(decoder, t) {
                    b = permute_rows(&b, heads, true).map_err(fail)?;
                }
                tensors.insert(format!("{base}.lora_A.weight"), a);
                tensors.insert(format!("{base}.lora_B.weight"), b);
            }
        }
        // Write to a temporary name and rename, so an interrupted save never leaves
        // a half-written adapter under the real name.
        let tmp = dir.join(format!("{WEIGHTS_FILE}.partial"));
        candle_core::safetensors::save(&tensors, &tmp).map_err(fail)?;
        std::fs::rename(&tmp, &weights_path).map_err(|cause| Error::Io {
            path: weights_path.clone(),
            cause,
        })
    }

    /// Reads a PEFT LoRA adapter from `dir` for `decoder` (its shape, dtype and
    /// device). Fails, naming the file, on a configuration this decoder cannot apply
    /// (DoRA, biases, per-layer ranks, regex targets, modules other than the seven
    /// projections) or tensors whose shapes do not fit the model.
    pub fn load_peft(dir: &Path, decoder: &Decoder) -> Result<Adapter> {
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.is_file() {
            return Err(adapter_err(
                dir,
                format!("not a PEFT adapter folder: no {CONFIG_FILE}"),
            ));
        }
        let text = std::fs::read_to_string(&config_path).map_err(|cause| Error::Io {
            path: config_path.clone(),
            cause,
        })?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| adapter_err(&config_path, format!("not JSON: {e}")))?;
        let config = config_from_json(&v).map_err(|m| adapter_err(&config_path, m))?;
        let weights_path = dir.join(WEIGHTS_FILE);
        if !weights_path.is_file() {
            return Err(adapter_err(dir, format!("no {WEIGHTS_FILE}")));
        }
        let fail = |m: String| adapter_err(&weights_path, m);
        let tensors = candle_core::safetensors::load(&weights_path, decoder.device())
            .map_err(|e| fail(candle_message(&e)))?;
        let layers_n = decoder.info().layers;
        let mut found: Vec<[(Option<Tensor>, Option<Tensor>); 7]> =
            (0..layers_n).map(|_| Default::default()).collect();
        for (name, t) in tensors {
            let (layer, target, is_a) = parse_name(&name).ok_or_else(|| {
                fail(format!(
                    "tensor {name} is not a LoRA factor of q/k/v/o/gate/up/down_proj"
                ))
            })?;
            if layer >= layers_n {
                return Err(fail(format!(
                    "tensor {name}: layer {layer}, but the model has {layers_n}"
                )));
            }
            if !config.targets.contains(&target) {
                return Err(fail(format!(
                    "tensor {name}: {target} is not in target_modules"
                )));
            }
            let slot = &mut found[layer][target.index()];
            if is_a {
                slot.0 = Some(t);
            } else {
                slot.1 = Some(t);
            }
        }
        let mut layers = Vec::with_capacity(layers_n);
        let mut any = false;
        for (i, row) in found.into_iter().enumerate() {
            let mut pairs: [Option<LoraPair>; 7] = Default::default();
            for (t, (a, b)) in Target::ALL.into_iter().zip(row) {
                match (a, b) {
                    (Some(a), Some(b)) => {
                        let conv = |x: Tensor| -> candle_core::Result<Var> {
                            Var::from_tensor(&x.to_dtype(decoder.dtype())?)
                        };
                        let b = match permuted_heads(decoder, t) {
                            Some(h) if b.dim(0).is_ok_and(|d| d % (2 * h) == 0) => {
                                permute_rows(&b, h, false)
                            }
                            _ => Ok(b),
                        };
                        let pair = b
                            .and_then(|b| {
                                Ok(LoraPair {
                                    a: conv(a)?,
                                    b: conv(b)?,
                                })
                            })
                            .map_err(|e| fail(candle_message(&e)))?;
                        pairs[t.index()] = Some(pair);
                        any = true;
                    }
                    (None, None) => {}
                    _ => {
                        return Err(fail(format!(
                            "layer {i} {t}: lora_A and lora_B must both be present"
                        )))
                    }
                }
            }
            layers.push(pairs);
        }
        if !any {
            return Err(fail("no LoRA factors in the file".into()));
        }
        Adapter::from_pairs(config, layers, decoder).map_err(fail)
    }
}

/// `base_model.model.model.layers.{i}.{self_attn|mlp}.{x}_proj.lora_{A|B}[.default].weight`.
fn parse_name(name: &str) -> Option<(usize, Target, bool)> {
    let rest = name.strip_prefix("base_model.model.model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer = layer.parse().ok()?;
    let rest = rest.strip_suffix(".weight")?;
    let rest = rest.strip_suffix(".default").unwrap_or(rest);
    let (module, factor) = rest.rsplit_once('.')?;
    let is_a = match factor {
        "lora_A" => true,
        "lora_B" => false,
        _ => return None,
    };
    let target = Target::ALL.into_iter().find(|t| t.hf_path() == module)?;
    Some((layer, target, is_a))
}

/// The [`LoraConfig`] of a PEFT `adapter_config.json`, refusing what this crate does
/// not apply.
fn config_from_json(v: &Value) -> std::result::Result<LoraConfig, String> {
    let kind = v["peft_type"].as_str().unwrap_or("");
    if kind != "LORA" {
        return Err(format!(
            "peft_type is {:?}: only LORA adapters are supported",
            v["peft_type"]
        ));
    }
    let rank = v["r"]
        .as_u64()
        .ok_or("r (the rank) is missing or not a whole number")? as usize;
    let alpha = v["lora_alpha"]
        .as_f64()
        .ok_or("lora_alpha is missing or not a number")?;
    let dropout = v["lora_dropout"].as_f64().unwrap_or(0.0);
    let targets = match &v["target_modules"] {
        Value::Array(a) => a
            .iter()
            .map(|m| {
                let s = m.as_str().unwrap_or_default();
                // PEFT accepts a module's last name or a full path ending in it.
                let last = s.rsplit('.').next().unwrap_or(s);
                Target::parse(last).ok_or_else(|| {
                    format!("target module {s:?} is not one of q/k/v/o/gate/up/down_proj")
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        Value::String(s) => {
            return Err(format!(
                "target_modules is a regular expression ({s:?}): list the modules instead"
            ))
        }
        _ => return Err("target_modules is missing".into()),
    };
    let flag = |k: &str| v[k].as_bool().unwrap_or(false);
    if flag("use_dora") {
        return Err("use_dora is true: DoRA adapters are not supported".into());
    }
    if flag("fan_in_fan_out") {
        return Err("fan_in_fan_out is true: only the (out, in) layout is supported".into());
    }
    if !matches!(v["bias"].as_str(), None | Some("none")) {
        return Err(format!("bias is {}: only \"none\" is supported", v["bias"]));
    }
    for k in ["rank_pattern", "alpha_pattern"] {
        if v[k].as_object().is_some_and(|o| !o.is_empty()) {
            return Err(format!("{k} is set: per-module ranks are not supported"));
        }
    }
    if !v["modules_to_save"].is_null() && v["modules_to_save"] != json!([]) {
        return Err("modules_to_save is set: fully trained modules are not supported".into());
    }
    let mut targets = targets;
    targets.sort();
    targets.dedup();
    let config = LoraConfig {
        rank,
        alpha,
        dropout,
        targets,
        rslora: flag("use_rslora"),
    };
    config.validate()?;
    Ok(config)
}
