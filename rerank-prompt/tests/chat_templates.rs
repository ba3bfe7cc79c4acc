//! The real chat templates of the two chat models (read from their GGUF files'
//! metadata) rendered by our minijinja setup, compared byte for byte with what
//! transformers' `apply_chat_template` renders for the same conversations.
//!
//! `data/chat_templates.json` is written by `reference/chat_template_fixture.py`.

use rerank_prompt::{ChatTemplate, Message, Role};
use serde_json::Value;

#[test]
fn renders_like_transformers_apply_chat_template() {
    let fixture: Value =
        serde_json::from_str(include_str!("data/chat_templates.json")).expect("fixture is JSON");
    let mut compared = 0;
    for (model, m) in fixture["models"].as_object().unwrap() {
        let template = ChatTemplate::new(
            m["chat_template"].as_str().unwrap(),
            m["bos_token"].as_str().unwrap(),
            m["eos_token"].as_str().unwrap(),
        )
        .unwrap_or_else(|e| panic!("{model}: {e}"));
        for (i, case) in m["cases"].as_array().unwrap().iter().enumerate() {
            let messages: Vec<Message> = case["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|msg| {
                    let role = match msg["role"].as_str().unwrap() {
                        "system" => Role::System,
                        "user" => Role::User,
                        _ => Role::Assistant,
                    };
                    Message::new(role, msg["content"].as_str().unwrap())
                })
                .collect();
            let got = template
                .render(&messages, case["add_generation_prompt"].as_bool().unwrap())
                .unwrap();
            assert_eq!(got, case["expected"].as_str().unwrap(), "{model}, case {i}");
            compared += 1;
        }
    }
    assert_eq!(compared, 10, "two models, five conversations each");
}
