//! verl's RL datasets: parquet files whose rows are
//!
//! ```text
//! data_source   string                       "rerank/rearank" or "rerank/rank-r1"
//! prompt        list<struct<role, content>>  the chat messages
//! ability       string                       "reranking"
//! reward_model  struct<style, ground_truth>  {"rule", "[7]" or "[0,2,1,…]"}
//! extra_info    struct<split, index, id, qid, n, doc_ids>
//! ```
//!
//! as verl's own preprocessing scripts write them (`examples/data_preprocess/gsm8k.py`)
//! and its `RLHFDataset` reads them; `compute_score` in the reward module takes
//! `data_source`, the completion, `ground_truth` and `extra_info`.

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;

use crate::data::Example;
use crate::error::{Error, Result};

fn message_fields() -> Fields {
    Fields::from(vec![
        Field::new("role", DataType::Utf8, false),
        Field::new("content", DataType::Utf8, false),
    ])
}

fn reward_fields() -> Fields {
    Fields::from(vec![
        Field::new("style", DataType::Utf8, false),
        Field::new("ground_truth", DataType::Utf8, false),
    ])
}

fn extra_fields() -> Fields {
    Fields::from(vec![
        Field::new("split", DataType::Utf8, false),
        Field::new("index", DataType::Int64, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("qid", DataType::Utf8, false),
        Field::new("n", DataType::Int64, false),
        Field::new(
            "doc_ids",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
    ])
}

/// The schema of verl's RL parquet files, as written here.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new("data_source", DataType::Utf8, false),
        Field::new(
            "prompt",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(message_fields()),
                true,
            ))),
            false,
        ),
        Field::new("ability", DataType::Utf8, false),
        Field::new("reward_model", DataType::Struct(reward_fields()), false),
        Field::new("extra_info", DataType::Struct(extra_fields()), false),
    ])
}

/// The rows of `examples` as one record batch.
pub fn record_batch(examples: &[&Example]) -> Result<RecordBatch> {
    let mut source = StringBuilder::new();
    let mut ability = StringBuilder::new();
    let message = StructBuilder::from_fields(message_fields(), 0);
    let mut prompt = ListBuilder::new(message).with_field(Arc::new(Field::new(
        "item",
        DataType::Struct(message_fields()),
        true,
    )));
    let mut reward = StructBuilder::from_fields(reward_fields(), examples.len());
    let mut extra = StructBuilder::from_fields(extra_fields(), examples.len());
    for (i, e) in examples.iter().enumerate() {
        source.append_value(format!("rerank/{}", e.method()));
        ability.append_value("reranking");
        {
            let m = prompt.values();
            for msg in &e.prompt {
                let role = serde_json::to_value(msg.role).expect("roles serialise");
                m.field_builder::<StringBuilder>(0)
                    .expect("role")
                    .append_value(role.as_str().unwrap_or_default());
                m.field_builder::<StringBuilder>(1)
                    .expect("content")
                    .append_value(&msg.content);
                m.append(true);
            }
            prompt.append(true);
        }
        reward
            .field_builder::<StringBuilder>(0)
            .expect("style")
            .append_value("rule");
        reward
            .field_builder::<StringBuilder>(1)
            .expect("ground_truth")
            .append_value(&e.ground_truth);
        reward.append(true);
        extra
            .field_builder::<StringBuilder>(0)
            .expect("split")
            .append_value(e.split.name());
        extra
            .field_builder::<Int64Builder>(1)
            .expect("index")
            .append_value(i as i64);
        extra
            .field_builder::<StringBuilder>(2)
            .expect("id")
            .append_value(&e.id);
        extra
            .field_builder::<StringBuilder>(3)
            .expect("qid")
            .append_value(&e.qid);
        extra
            .field_builder::<Int64Builder>(4)
            .expect("n")
            .append_value(e.doc_ids.len() as i64);
        {
            let ids = extra
                .field_builder::<ListBuilder<Box<dyn arrow_array::builder::ArrayBuilder>>>(5)
                .expect("doc_ids");
            let values = ids
                .values()
                .as_any_mut()
                .downcast_mut::<StringBuilder>()
                .expect("strings");
            for d in &e.doc_ids {
                values.append_value(d);
            }
            ids.append(true);
        }
        extra.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(source.finish()),
        Arc::new(prompt.finish()),
        Arc::new(ability.finish()),
        Arc::new(reward.finish()),
        Arc::new(extra.finish()),
    ];
    RecordBatch::try_new(Arc::new(schema()), columns)
        .map_err(|e| Error::Config(format!("building the verl table: {e}")))
}

/// Writes `dir/{split}.parquet` for every split that has examples; returns the files.
pub fn write_splits(dir: &Path, examples: &[Example]) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for (split, rows) in super::by_split(examples) {
        let path = dir.join(format!("{split}.parquet"));
        let fail = |message: String| Error::Export {
            path: path.clone(),
            message,
        };
        let batch = record_batch(&rows)?;
        let file = std::fs::File::create(&path).map_err(|cause| Error::Io {
            path: path.clone(),
            cause,
        })?;
        let mut w =
            ArrowWriter::try_new(file, batch.schema(), None).map_err(|e| fail(e.to_string()))?;
        w.write(&batch).map_err(|e| fail(e.to_string()))?;
        w.close().map_err(|e| fail(e.to_string()))?;
        out.push(path);
    }
    Ok(out)
}
