//! What happened at every model call: which positions it covered, what the model
//! was asked and answered, how the answer was read, tokens and time. Serialisable as
//! JSON lines.

use serde::{Deserialize, Serialize};

/// How a model's answer was read.
///
/// Listed from best to worst; when several apply, the worst is reported and the
/// counts in [`ParseReport`] keep the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseOutcome {
    /// Exactly what was asked for.
    Ok,
    /// The content was usable but not in the requested form (no `<answer>` block,
    /// bare numbers instead of `[3]`, extra words around a setwise label).
    WrongFormat,
    /// Some identifiers of the window were not mentioned; they were appended in their
    /// original order.
    MissingIds,
    /// An identifier was given more than once; repeats were dropped.
    Repetition,
    /// An identifier outside the window was given; it was dropped.
    OutOfRange,
    /// No usable identifier at all; the window or set keeps its order.
    Empty,
}

/// Where in the output the answer was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// The `<answer>…</answer>` block.
    AnswerTag,
    /// Text after the last `</think>`.
    AfterThink,
    /// The whole output.
    Whole,
}

/// The full account of reading one output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// The overall class (the worst problem found).
    pub outcome: ParseOutcome,
    /// Where the answer was read from.
    pub source: AnswerSource,
    /// Identifiers not mentioned (listwise).
    pub missing: usize,
    /// Repeated identifiers dropped.
    pub repeated: usize,
    /// Out-of-range identifiers dropped.
    pub out_of_range: usize,
}

impl ParseReport {
    /// A report with no problem.
    pub fn ok(source: AnswerSource) -> Self {
        ParseReport {
            outcome: ParseOutcome::Ok,
            source,
            missing: 0,
            repeated: 0,
            out_of_range: 0,
        }
    }
}

/// What a judge reports about one model call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Size of the prompt in tokens, when the backend counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Size of the prompt in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_chars: Option<u64>,
    /// Generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    /// Wall time of the call in milliseconds (for a batched call, the batch's time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
    /// The model's raw output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_output: Option<String>,
    /// The reasoning (`<think>` content), kept for explanations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// How the output was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse: Option<ParseReport>,
    /// A single-pass call (no text generated: FIRST's listwise order, setwise
    /// likelihood): the log-probability of each identifier `[1]`, `[2]`, … being the
    /// answer's first, in the order the model saw the candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_logprobs: Option<Vec<f32>>,
}

/// One judge call as a ranking algorithm made it: one JSON line of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallTrace {
    /// The query.
    pub query_id: String,
    /// The algorithm (`sliding_window`, `heapsort`, `bubblesort`).
    pub method: String,
    /// Sequence number of the call within the query, from 0.
    pub step: usize,
    /// Positions (0-based, in the ranking as it was at the call) of the documents
    /// shown, in the order the model saw them.
    pub positions: Vec<usize>,
    /// Document ids shown, in the order the model saw them.
    pub doc_ids: Vec<String>,
    /// Whether the answer was used. `false`: the call failed or its output was
    /// unusable, and the window or set kept its order.
    pub applied: bool,
    /// Why the answer was not used, or what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the judge reported.
    #[serde(flatten)]
    pub record: CallRecord,
}

/// Writes traces as JSON lines.
pub fn write_jsonl<'a>(
    mut w: impl std::io::Write,
    traces: impl IntoIterator<Item = &'a CallTrace>,
) -> std::io::Result<()> {
    for t in traces {
        serde_json::to_writer(&mut w, t)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
