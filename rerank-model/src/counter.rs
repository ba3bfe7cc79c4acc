//! Counting and cutting passages by a model's tokens, without loading the model.

use rerank_prompt::TokenCounter;

/// A tokenizer as a [`TokenCounter`], counting and cutting exactly as the candle
/// backend does (no special tokens; a cut text is the first `max` tokens decoded), so
/// that a prompt built without the model (training data) is the prompt the backend
/// builds.
///
/// ```no_run
/// use rerank_model::{ModelSource, TokenizerCounter};
/// use rerank_prompt::TokenCounter;
/// let tokenizer = ModelSource::resolve("smollm2-135m")?.tokenizer()?;
/// let counter = TokenizerCounter(&tokenizer);
/// assert_eq!(counter.count_tokens("Hello, world!"), 4);
/// # Ok::<(), rerank_model::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct TokenizerCounter<'a>(pub &'a tokenizers::Tokenizer);

impl TokenizerCounter<'_> {
    /// The token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, tokenizers::Error> {
        self.0.encode(text, false).map(|e| e.get_ids().to_vec())
    }

    /// `text` cut to its first `max` tokens (unchanged when it has no more).
    pub fn truncate(&self, text: &str, max: usize) -> Result<String, tokenizers::Error> {
        let ids = self.encode(text)?;
        if ids.len() <= max {
            return Ok(text.to_owned());
        }
        Ok(self.0.decode(&ids[..max], false).unwrap_or_default())
    }
}

impl TokenCounter for TokenizerCounter<'_> {
    fn count_tokens(&self, text: &str) -> usize {
        self.encode(text).map_or(text.len() / 4, |ids| ids.len())
    }

    fn truncate_tokens(&self, text: &str, max: usize) -> String {
        self.truncate(text, max)
            .unwrap_or_else(|_| rerank_prompt::truncate::first_chars(text, max * 4).to_owned())
    }
}
