//! Chat rendering with a model's own Jinja chat template (as stored in a GGUF file's
//! `tokenizer.chat_template` or a `tokenizer_config.json`), through minijinja, set up
//! the way Hugging Face transformers' `apply_chat_template` sets up Jinja: blocks
//! trimmed, `raise_exception`, `strftime_now`, a `tojson` that writes what Python's
//! `json.dumps` writes, Python's string methods, and `bos_token`, `eos_token`,
//! `add_generation_prompt` in the context.

use std::path::Path;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error as JinjaError, ErrorKind};

use crate::error::{Error, Result};
use crate::template::Message;

/// A compiled chat template.
///
/// ```
/// use rerank_prompt::{ChatTemplate, Message, Role};
/// let t = ChatTemplate::new(
///     "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
///     "<s>", "</s>",
/// )?;
/// let text = t.render(&[Message::new(Role::User, "hi")], true)?;
/// assert_eq!(text, "<|user|>hi\n<|assistant|>");
/// # Ok::<(), rerank_prompt::Error>(())
/// ```
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish()
    }
}

impl ChatTemplate {
    /// Compiles `source` (the Jinja text) with the model's BOS and EOS token strings.
    pub fn new(
        source: impl Into<String>,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<Value, JinjaError> {
                Err(JinjaError::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_function("strftime_now", |fmt: String| -> String {
            strftime_now(&fmt)
        });
        env.add_filter("tojson", tojson);
        env.add_template_owned("chat", source.into())
            .map_err(|e| Error::ChatTemplate(format!("{e:#}")))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// Reads the `chat_template` (and `bos_token`/`eos_token`) of a Hugging Face
    /// `tokenizer_config.json`.
    pub fn from_tokenizer_config(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::ChatTemplate(format!("{}: not valid JSON: {e}", path.display())))?;
        let template = match &v["chat_template"] {
            serde_json::Value::String(s) => s.clone(),
            // A list of named templates: take "default".
            serde_json::Value::Array(list) => list
                .iter()
                .find(|t| t["name"] == "default")
                .and_then(|t| t["template"].as_str())
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::ChatTemplate(format!("{}: no default chat template", path.display()))
                })?,
            _ => {
                return Err(Error::ChatTemplate(format!(
                    "{}: no chat_template",
                    path.display()
                )))
            }
        };
        let token = |key: &str| match &v[key] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => o
                .get("content")
                .and_then(|c| c.as_str())
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        ChatTemplate::new(template, token("bos_token"), token("eos_token"))
    }

    /// Renders `messages`, with the assistant's generation prompt appended if
    /// `add_generation_prompt`.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let tmpl = self.env.get_template("chat").expect("added in new");
        let ctx = minijinja::context! {
            messages => messages,
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        tmpl.render(ctx)
            .map_err(|e| Error::ChatTemplate(format!("{e:#}")))
    }
}

fn strftime_now(fmt: &str) -> String {
    // The templates use it for "today's date"; a fixed, honest rendering of the UTC
    // date suffices (days since the epoch → civil date).
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    fmt.replace("%Y", &y.to_string())
        .replace("%m", &format!("{m:02}"))
        .replace("%d", &format!("{d:02}"))
        .replace("%B", MONTHS[(m - 1) as usize])
        .replace("%b", &MONTHS[(m - 1) as usize][..3])
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// `tojson` as transformers defines it: Python's `json.dumps(x, ensure_ascii=False,
/// indent=indent, sort_keys=sort_keys)`.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<String, JinjaError> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    dump(&value, indent, sort_keys.unwrap_or(false), 0, &mut out)?;
    Ok(out)
}

fn dump(
    v: &Value,
    indent: Option<usize>,
    sort: bool,
    level: usize,
    out: &mut String,
) -> std::result::Result<(), JinjaError> {
    let newline = |out: &mut String, level: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
    };
    let (item_sep, key_sep) = if indent.is_some() {
        (",", ": ")
    } else {
        (", ", ": ")
    };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::String => out.push_str(
            &serde_json::to_string(v.as_str().unwrap_or_default()).expect("strings serialise"),
        ),
        ValueKind::Number => {
            let s = v.to_string();
            out.push_str(&s);
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                dump(item, indent, sort, level + 1, out)?;
            }
            if !items.is_empty() {
                newline(out, level);
            }
            out.push(']');
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = v.try_iter()?.collect();
            if sort {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                let key = k
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| k.to_string());
                out.push_str(&serde_json::to_string(&key).expect("strings serialise"));
                out.push_str(key_sep);
                dump(&v.get_item(k)?, indent, sort, level + 1, out)?;
            }
            if !keys.is_empty() {
                newline(out, level);
            }
            out.push('}');
        }
        _ => out.push_str(&serde_json::to_string(&v.to_string()).expect("strings serialise")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Role;

    #[test]
    fn python_like_environment() {
        let t = ChatTemplate::new(
            "{% if messages[0]['role'] != 'system' %}{{ raise_exception('no system') }}{% endif %}{{ messages[0].content.strip() | tojson }} {{ {'a': [1, 'é'], 'b': none} | tojson }}",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            t.render(&[Message::new(Role::System, "  hi \"x\" ")], false)
                .unwrap(),
            "\"hi \\\"x\\\"\" {\"a\": [1, \"é\"], \"b\": null}"
        );
        let e = t
            .render(&[Message::new(Role::User, "x")], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no system"), "{e}");
        assert!(ChatTemplate::new("{% if %}", "", "").is_err());
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
    }
}
