//! The tokenizer built from a GGUF file's own metadata gives the same token ids as
//! llama.cpp on the same file (`data/llama_cpp_tokens.json`, written by
//! `reference/llama_cpp_tokens.py` with llama-cpp-python 0.3.36), for both chat models;
//! the chat template read from the file is the one the prompt tests use.
//!
//! Needs the models: `rerank fetch-model smollm2-135m` and `… qwen2.5-0.5b` (CI does).

use rerank_model::registry;
use rerank_model::GgufFile;
use serde_json::Value;

fn installed(name: &str) -> std::path::PathBuf {
    let model = registry::find(name).unwrap();
    model.installed().unwrap_or_else(|| {
        panic!("{name} is not installed; run `cargo run --release -p rerank-cli -- fetch-model {name}` (scripts/test.sh does)")
    })
}

#[test]
fn same_token_ids_as_llama_cpp() {
    let fixture: Value = serde_json::from_str(include_str!("data/llama_cpp_tokens.json")).unwrap();
    let texts: Vec<&str> = fixture["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let mut compared = 0;
    let mut names = vec!["smollm2-135m", "qwen2.5-0.5b"];
    // The 1.5B model (1.1 GB) when it is installed: the tests do not fetch it.
    match registry::find("qwen2.5-1.5b").and_then(|m| m.installed()) {
        Some(_) => names.push("qwen2.5-1.5b"),
        None => eprintln!("skipped qwen2.5-1.5b: run `rerank fetch-model qwen2.5-1.5b`"),
    }
    for name in names.iter().copied() {
        let path = installed(name);
        let file = GgufFile::open(&path).unwrap();
        let tok = file.tokenizer().unwrap();
        let expected = &fixture["models"][path.file_name().unwrap().to_str().unwrap()];
        for (i, text) in texts.iter().enumerate() {
            let want: Vec<u32> = expected[i]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            let got = tok.encode(*text, false).unwrap().get_ids().to_vec();
            assert_eq!(got, want, "{name}, text {i}: {text:?}");
            // And back.
            let decoded = tok.decode(&got, false).unwrap();
            assert_eq!(decoded, *text, "{name}, text {i} round trip");
            compared += 1;
        }
    }
    assert_eq!(compared, names.len() * texts.len());
}

#[test]
fn gguf_metadata_of_the_chat_models() {
    let smol = GgufFile::open(installed("smollm2-135m")).unwrap();
    let info = smol.info().unwrap();
    assert_eq!(
        (
            info.architecture.as_str(),
            info.layers,
            info.hidden,
            info.heads,
            info.kv_heads,
            info.vocab
        ),
        ("llama", 30, 576, 9, 3, 49_152)
    );
    let qwen = GgufFile::open(installed("qwen2.5-0.5b")).unwrap();
    let info = qwen.info().unwrap();
    assert_eq!(
        (
            info.architecture.as_str(),
            info.layers,
            info.hidden,
            info.heads,
            info.kv_heads
        ),
        ("qwen2", 24, 896, 14, 2)
    );
    assert!(
        info.quantizations.iter().any(|(q, _)| q == "Q4K"),
        "{:?}",
        info.quantizations
    );
    // The chat template read here is the one the prompt crate's fixture holds.
    let fixture: Value = serde_json::from_str(include_str!(
        "../../rerank-prompt/tests/data/chat_templates.json"
    ))
    .unwrap();
    for (file, name) in [(&smol, "smollm2-135m"), (&qwen, "qwen2.5-0.5b")] {
        let m = &fixture["models"][name];
        assert_eq!(
            file.chat_template_source().as_deref(),
            m["chat_template"].as_str()
        );
        assert_eq!(
            file.special_token("eos").as_deref(),
            m["eos_token"].as_str()
        );
        assert!(file.chat_template().unwrap().is_some());
    }
}
