//! The JSON of the OpenAI chat-completions and completions APIs (the fields used).

use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub(crate) struct ChatMessage<'a> {
    pub role: &'a str,
    pub content: &'a str,
}

#[derive(Serialize)]
pub(crate) struct RequestBody<'a> {
    pub model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<ChatMessage<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<&'a str>,
    pub max_tokens: usize,
    pub temperature: f32,
    pub top_p: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<&'a str>,
    /// vLLM's minimum completion length (sent only when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<usize>,
    pub n: u32,
    /// Server-specific fields (`repeat_penalty` for llama.cpp, say).
    #[serde(flatten)]
    pub extra: &'a serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
pub(crate) struct ResponseBody {
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    /// Chat completions.
    #[serde(default)]
    pub message: Option<Message>,
    /// Completions.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Message {
    #[serde(default)]
    pub content: Option<String>,
    /// Servers that split reasoning out (vLLM's reasoning parsers, DeepSeek's API).
    #[serde(default)]
    pub reasoning_content: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub prompt_tokens: usize,
    #[serde(default)]
    pub completion_tokens: usize,
}
