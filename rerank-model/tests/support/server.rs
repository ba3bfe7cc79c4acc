//! A real OpenAI-compatible server: llama-cpp-python's `llama_cpp.server` serving the
//! SmolLM2 GGUF on 127.0.0.1, started for a test and killed when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct LlamaServer {
    child: Child,
    /// `http://127.0.0.1:PORT/v1`
    pub base_url: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("RERANK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import llama_cpp.server.app"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Some(python);
    }
    if std::env::var("RERANK_SKIP_PYTHON_REFERENCE").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED: no Python with llama-cpp-python[server] (RERANK_SKIP_PYTHON_REFERENCE=1)"
        );
        return None;
    }
    panic!(
        "this test runs llama.cpp's OpenAI-compatible server (llama-cpp-python[server]), not found with {}.\n\
         Run `bash scripts/python-env.sh`, or set RERANK_PYTHON to a Python that has it, \
         or set RERANK_SKIP_PYTHON_REFERENCE=1 to skip.",
        python.display()
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn models_ready(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /v1/models HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

impl LlamaServer {
    /// Starts the server with the installed SmolLM2 (None: skipped, as the
    /// environment asked).
    pub fn start() -> Option<LlamaServer> {
        let python = python()?;
        let model = rerank_model::registry::find("smollm2-135m")
            .unwrap()
            .installed()
            .expect("run `rerank fetch-model smollm2-135m`");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(python)
            .args(["-m", "llama_cpp.server", "--model"])
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_ctx", "4096", "--n_threads", "2", "--verbose", "False"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start llama_cpp.server");
        let mut server = LlamaServer {
            child,
            base_url: format!("http://{addr}/v1"),
            addr,
        };
        let start = Instant::now();
        while !models_ready(&server.addr) {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("llama_cpp.server exited early: {status}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "llama_cpp.server did not answer within 3 minutes"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }
}
