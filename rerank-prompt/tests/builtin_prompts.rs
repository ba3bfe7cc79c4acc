//! The built-in templates reproduce `shared/reference/prompts.md` byte for byte.
//!
//! `data/prompts.md` is a copy of that file; when the shared folder is beside the
//! repository the copy is checked against it too, and CI (`RERANK_REQUIRE_SHARED=1`,
//! set by `.ci/run`) fails when it is not there.

use rerank_prompt::{Conversation, Message, Role, Template, TemplateKind};
use serde_json::Value;

const MD: &str = include_str!("data/prompts.md");

fn blocks(kind: &str) -> Vec<String> {
    let fence = format!("```{kind}\n");
    MD.split(&fence)
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_owned())
        .collect()
}

fn single_turn(t: &Template) -> (&str, &str, &str) {
    match &t.conversation {
        Conversation::SingleTurn {
            user,
            doc_prefix,
            doc_separator,
        } => (user, doc_prefix, doc_separator),
        other => panic!("{} is not single-turn: {other:?}", t.name),
    }
}

#[test]
fn the_copy_is_the_shared_reference() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/prompts.md"
    );
    match std::fs::read_to_string(shared) {
        Ok(s) => assert_eq!(
            s, MD,
            "tests/data/prompts.md differs from shared/reference/prompts.md"
        ),
        Err(e) if std::env::var_os("RERANK_REQUIRE_SHARED").is_some_and(|v| v == "1") => {
            panic!("RERANK_REQUIRE_SHARED=1 but {shared} cannot be read: {e}")
        }
        Err(_) => eprintln!(
            "shared/reference/prompts.md not beside the repository; checked the copy only"
        ),
    }
}

#[test]
fn toml_prompts_byte_for_byte() {
    let tomls: Vec<toml::Value> = blocks("toml")
        .iter()
        .map(|b| toml::from_str(b).unwrap())
        .collect();
    assert_eq!(tomls.len(), 4);
    for (name, reference) in ["rank-r1", "setwise", "rank-r1-v0.2", "rankzephyr"]
        .iter()
        .zip(&tomls)
    {
        let t = Template::builtin(name).unwrap();
        let s = |k: &str| reference.get(k).map(|v| v.as_str().unwrap().to_owned());
        assert_eq!(Some(t.system.clone()), s("prompt_system"), "{name}: system");
        let (user, prefix, sep) = single_turn(&t);
        assert_eq!(Some(user.to_owned()), s("prompt_user"), "{name}: user");
        assert_eq!(t.pattern, s("pattern"), "{name}: pattern");
        if *name == "rank-r1-v0.2" {
            assert_eq!(Some(prefix.to_owned()), s("doc_prefix"));
            assert_eq!(Some(sep.to_owned()), s("doc_separator"));
        } else {
            // v0.1, zero-shot and RankZephyr: `[i] text`, one per line (see the notes).
            assert_eq!((prefix, sep), ("[{num}] ", "\n"), "{name}");
            if let Some(ref_sep) = s("doc_separator") {
                assert_eq!(sep, ref_sep);
            }
        }
    }
}

#[test]
fn json_conversations_byte_for_byte() {
    let jsons: Vec<Value> = blocks("json")
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(jsons.len(), 2);
    for (name, reference) in ["rearank", "rankgpt"].iter().zip(&jsons) {
        let t = Template::builtin(name).unwrap();
        let msgs = reference.as_array().unwrap();
        let content = |i: usize| msgs[i]["content"].as_str().unwrap().to_owned();
        assert_eq!(t.system, content(0), "{name}");
        let Conversation::PerPassage {
            intro_user,
            intro_assistant,
            passage_user,
            passage_assistant,
            final_user,
        } = &t.conversation
        else {
            panic!("{name} should be per-passage")
        };
        assert_eq!(
            [
                intro_user,
                intro_assistant,
                passage_user,
                passage_assistant,
                final_user
            ]
            .map(|s| s.clone()),
            [content(1), content(2), content(3), content(4), content(5)],
            "{name}"
        );
        // Rendered: the passage pair repeats per passage, i counting from 1.
        let query = "what is {query} injection?";
        let passages = ["First passage.", "Second {num} passage."];
        let rendered = t.messages(query, &passages);
        let py_format = |s: &str, i: usize, p: &str| {
            s.replace("{query}", query)
                .replace("{num}", "2")
                .replace("{i}", &i.to_string())
                .replace("{passage}", p)
        };
        let mut expected = vec![
            Message::new(Role::System, content(0)),
            Message::new(
                Role::User,
                content(1).replace("{query}", query).replace("{num}", "2"),
            ),
            Message::new(Role::Assistant, content(2)),
        ];
        for (i, p) in passages.iter().enumerate() {
            expected.push(Message::new(Role::User, py_format(&content(3), i + 1, p)));
            expected.push(Message::new(
                Role::Assistant,
                py_format(&content(4), i + 1, p),
            ));
        }
        expected.push(Message::new(
            Role::User,
            content(5).replace("{query}", query).replace("{num}", "2"),
        ));
        assert_eq!(rendered, expected, "{name}");
    }
}

#[test]
fn single_turn_rendering_follows_the_published_code() {
    // Rank-R1 v0.1: `[i] text` joined by "\n", then prompt_user.format(query, docs).
    let t = Template::builtin("rank-r1").unwrap();
    let m = t.messages("q", &["alpha", "beta"]);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0], Message::new(Role::System, t.system.clone()));
    let (user, _, _) = single_turn(&t);
    assert_eq!(
        m[1].content,
        user.replace("{query}", "q")
            .replace("{docs}", "[1] alpha\n[2] beta")
    );
    // v0.2: `[i]: text` joined by a blank line.
    let t = Template::builtin("rank-r1-v0.2").unwrap();
    assert!(t.messages("q", &["alpha", "beta"])[1]
        .content
        .ends_with("Here are the documents:\n[1]: alpha\n\n[2]: beta"));
    // RankZephyr: {num} and {query} twice.
    let t = Template::builtin("rankzephyr").unwrap();
    let u = &t.messages("q", &["a", "b", "c"])[1].content;
    assert!(
        u.starts_with("I will provide you with 3 passages")
            && u.contains("\n[1] a\n[2] b\n[3] c\nSearch Query: q.\n")
    );
    assert!(Template::builtin("nope")
        .unwrap_err()
        .to_string()
        .contains("rearank, rankgpt"));
}

#[test]
fn published_toml_files_load_as_user_templates() {
    // llm-rankers' files have no `kind`: the method they are used with tells it.
    for (i, b) in blocks("toml").iter().enumerate() {
        let kind = if i == 3 {
            TemplateKind::Listwise
        } else {
            TemplateKind::Setwise
        };
        let t = Template::from_toml_str_as(b, "published.toml".as_ref(), kind).unwrap();
        let builtin =
            Template::builtin(["rank-r1", "setwise", "rank-r1-v0.2", "rankzephyr"][i]).unwrap();
        assert_eq!(t.kind, builtin.kind);
        assert_eq!((t.system, t.pattern), (builtin.system, builtin.pattern));
        // Without a kind from the method, the error says what to add.
        let e = Template::from_toml_str(b, "published.toml".as_ref())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("prompt template published.toml: no `kind`: add kind = \"listwise\""),
            "{e}"
        );
        // A file that names the other kind is refused for this method.
        let other = if i == 3 { "setwise" } else { "listwise" };
        let e = Template::from_toml_str_as(
            &format!("kind = \"{other}\"\n{b}"),
            "published.toml".as_ref(),
            kind,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("but the method needs a"), "{e}");
    }
}
