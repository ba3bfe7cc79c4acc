//! `rerank serve`: a reasoning reranker behind the rerank APIs (Cohere, Jina/vLLM,
//! TEI) and a native one, on a real HTTP stack (axum on tokio); the model on its own
//! thread, requests batched together.

use anyhow::{Context, Result};
use clap::Args;
use rerank::Method;
use rerank_server::{MeteredBackend, Metrics, Server, ServerConfig};

use crate::rerank_cmd::{build_backend, build_reranker_with, MethodArgs, ModelArgs};
use crate::values::{self, at_least_one};

#[derive(Args, Debug)]
#[command(after_help = "Endpoints:\n  \
    POST /v2/rerank      Cohere (cohere.ClientV2(base_url=\"http://HOST:PORT\").rerank(...))\n  \
    POST /v1/rerank      Jina and vLLM\n  \
    POST /rerank         Hugging Face text-embeddings-inference\n  \
    POST /native/rerank  the order, scores, and each model call's reasoning and tokens\n  \
    GET  /health, /metrics (Prometheus)\n\n\
    relevance_score is (n - rank + 1) / n of the reranked order. SIGTERM finishes the \
    requests in flight, then stops.")]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub method: MethodArgs,

    /// Address to listen on (host:port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Requests waiting or being reranked at once; beyond it: 503 with Retry-After
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub max_queue: usize,

    /// Seconds a request may take before it is answered 504
    #[arg(long, default_value_t = 300.0, value_parser = values::seconds)]
    pub deadline: f64,

    /// Largest request body in bytes (413 beyond)
    #[arg(long, default_value_t = 2 << 20, value_parser = at_least_one)]
    pub max_body_bytes: usize,

    /// Most documents per request (422 beyond)
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    pub max_documents: usize,

    /// Most characters per document (422 beyond)
    #[arg(long, default_value_t = 20_000, value_parser = at_least_one)]
    pub max_document_chars: usize,

    /// Seconds a request body may take to arrive (408 beyond: slow clients)
    #[arg(long, default_value_t = 10.0, value_parser = values::seconds)]
    pub body_timeout: f64,

    /// Environment variable holding the key clients must send as `Authorization:
    /// Bearer <key>` (no key needed when it is unset or empty)
    #[arg(long, default_value = "RERANK_API_KEY")]
    pub key_env: String,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let method: Method = args.method.method.parse()?;
    let config = ServerConfig {
        model_name: args.model.model.clone(),
        method: method.name().into(),
        max_queue: args.max_queue,
        max_active: args.model.batch,
        deadline: std::time::Duration::from_secs_f64(args.deadline),
        max_body_bytes: args.max_body_bytes,
        max_documents: args.max_documents,
        max_document_chars: args.max_document_chars,
        body_timeout: std::time::Duration::from_secs_f64(args.body_timeout),
        api_key: std::env::var(&args.key_env).ok().filter(|k| !k.is_empty()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&args.listen))
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("loading {}", args.model.model);
    let metrics = Metrics::new();
    let meter = metrics.clone();
    let (model, method_args) = (args.model.clone(), args.method.clone());
    let server = Server::start(config.clone(), metrics, move || {
        let backend = build_backend(&model).map_err(|e| format!("{e:#}"))?;
        build_reranker_with(
            MeteredBackend::new(backend, meter),
            method,
            &model,
            &method_args,
        )
        .map(|(r, _)| r)
        .map_err(|e| format!("{e:#}"))
    })?;
    eprintln!(
        "serving {} ({}) on http://{addr}{}: POST /v2/rerank, /v1/rerank, /rerank, /native/rerank",
        config.model_name,
        config.method,
        if config.api_key.is_some() {
            ", API key required"
        } else {
            ""
        }
    );
    runtime.block_on(server.serve(listener, rerank_server::shutdown_signal()))?;
    eprintln!("stopped");
    Ok(())
}
