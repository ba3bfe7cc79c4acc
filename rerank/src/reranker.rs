//! [`Reranker`]: a model backend, a prompt template and a ranking algorithm, composed.

use std::path::{Path, PathBuf};

use candle_core::Device;
use rerank_core::{
    rerank_listwise, rerank_listwise_feed, rerank_setwise, rerank_setwise_feed, Candidate,
    DriverOptions, Fallback, Query, QueryFeed, Ranking,
};
use rerank_model::candle::{CandleBackend, Weights};
use rerank_model::{Backend, LlmJudge, ModelSource, SamplingParams, Scoring};
use rerank_prompt::parse::SetwiseMode;
use rerank_prompt::{Template, TemplateKind};

use crate::error::{Error, Result};
use crate::method::{Algorithm, Method, MethodParams};

/// Reranks candidate lists with a language model.
///
/// ```no_run
/// use rerank::{Method, Reranker};
/// use rerank::core::{candidates_from_docs, Document, Query};
///
/// let mut reranker = Reranker::builder()
///     .model("smollm2-135m") // a known name, a GGUF file or a safetensors folder
///     .method(Method::Rearank)
///     .max_new_tokens(256)
///     .build()?;
/// let query = Query::new("q1", "how do bees tell each other where flowers are?");
/// let candidates = candidates_from_docs([
///     Document::new("d1", "Honey is made from nectar."),
///     Document::new("d2", "Forager bees perform a waggle dance that encodes direction."),
/// ]);
/// let ranking = reranker.rerank(&query, &candidates)?;
/// println!("{:?}", ranking.ids());
/// for call in &ranking.calls {
///     println!("{}", call.record.reasoning.as_deref().unwrap_or("(no reasoning)"));
/// }
/// # Ok::<(), rerank::Error>(())
/// ```
pub struct Reranker<B: Backend = CandleBackend> {
    judge: LlmJudge<B>,
    algorithm: Algorithm,
    top: usize,
    driver: DriverOptions,
}

type Loader<B> = Box<dyn FnOnce(&Device, Weights, Option<&Path>) -> Result<B>>;

/// Builds a [`Reranker`]; see [`Reranker::builder`].
pub struct RerankerBuilder<B: Backend = CandleBackend> {
    loader: Option<Loader<B>>,
    device: Device,
    weights: Weights,
    adapter: Option<PathBuf>,
    method: Method,
    params: MethodParams,
    algorithm: Option<Algorithm>,
    template: Option<Template>,
    max_new_tokens: Option<usize>,
    sampling: Option<SamplingParams>,
    setwise_mode: SetwiseMode,
    scoring: Option<Scoring>,
    batch_size: usize,
}

impl Reranker<CandleBackend> {
    /// A builder for a reranker on the candle backend (CPU unless
    /// [`RerankerBuilder::device`] says otherwise). Use
    /// [`RerankerBuilder::backend`] to run on any other backend.
    pub fn builder() -> RerankerBuilder<CandleBackend> {
        RerankerBuilder {
            loader: None,
            device: Device::Cpu,
            weights: Weights::Quantized,
            adapter: None,
            method: Method::Rearank,
            params: MethodParams::default(),
            algorithm: None,
            template: None,
            max_new_tokens: None,
            sampling: None,
            setwise_mode: SetwiseMode::Reference,
            scoring: None,
            batch_size: 8,
        }
    }
}

impl RerankerBuilder<CandleBackend> {
    /// The model to load with candle: a known name (`smollm2-135m`, installed with
    /// `rerank fetch-model`), a GGUF file, a safetensors folder, or a Hugging Face
    /// repository id found in the local hub cache.
    pub fn model(mut self, spec: impl Into<String>) -> Self {
        let spec = spec.into();
        self.loader = Some(Box::new(
            move |device: &Device, weights: Weights, adapter: Option<&Path>| {
                if device.is_cpu() {
                    // Freed activation buffers are reused, not returned to the kernel.
                    rerank_model::candle::keep_freed_memory();
                }
                let source = ModelSource::resolve(&spec)?;
                let mut backend = CandleBackend::load_with(&source, device, weights)?;
                if let Some(dir) = adapter {
                    backend.load_adapter(dir)?;
                }
                Ok(backend)
            },
        ));
        self
    }

    /// A PEFT LoRA adapter folder (`adapter_config.json`,
    /// `adapter_model.safetensors`), as `rerank train` or PEFT writes it, applied to
    /// the model.
    pub fn adapter(mut self, dir: impl Into<PathBuf>) -> Self {
        self.adapter = Some(dir.into());
        self
    }

    /// How GGUF weights are held (default [`Weights::Quantized`]).
    pub fn weights(mut self, weights: Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Where candle runs the model (default: CPU).
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }
}

impl<B: Backend + 'static> RerankerBuilder<B> {
    /// Uses an already built backend (any [`Backend`]: candle, HTTP, your own).
    pub fn backend<C: Backend + 'static>(self, backend: C) -> RerankerBuilder<C> {
        RerankerBuilder {
            loader: Some(Box::new(
                move |_: &Device, _: Weights, adapter: Option<&Path>| {
                    match adapter {
                    Some(dir) => Err(Error::Config(format!(
                        "adapter({}) applies to a model loaded with .model(); apply it to your own backend yourself (CandleBackend::load_adapter)",
                        dir.display()
                    ))),
                    None => Ok(backend),
                }
                },
            )),
            device: self.device,
            weights: self.weights,
            adapter: self.adapter,
            method: self.method,
            params: self.params,
            algorithm: self.algorithm,
            template: self.template,
            max_new_tokens: self.max_new_tokens,
            sampling: self.sampling,
            setwise_mode: self.setwise_mode,
            scoring: self.scoring,
            batch_size: self.batch_size,
        }
    }

    /// The method: its template and algorithm (default [`Method::Rearank`]).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// How many candidates are reranked; the rest stay below them in their order.
    pub fn top(mut self, n: usize) -> Self {
        self.params.top = n;
        self
    }

    /// Sliding window size (listwise methods).
    pub fn window(mut self, n: usize) -> Self {
        self.params.window = n;
        self
    }

    /// Sliding window step (listwise methods).
    pub fn step(mut self, n: usize) -> Self {
        self.params.step = n;
        self
    }

    /// Sliding window passes (listwise methods).
    pub fn passes(mut self, n: usize) -> Self {
        self.params.passes = n;
        self
    }

    /// Children per heap node (setwise methods): sets of `n + 1` documents.
    pub fn num_child(mut self, n: usize) -> Self {
        self.params.num_child = Some(n);
        self
    }

    /// How many top documents a setwise sort produces.
    pub fn k(mut self, n: usize) -> Self {
        self.params.k = n;
        self
    }

    /// Who wins a setwise comparison the model gave no usable answer to: the set's top
    /// (Rank-R1's policy, the default) or the first stage's best.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.params.fallback = fallback;
        self
    }

    /// Every method parameter at once.
    pub fn params(mut self, params: MethodParams) -> Self {
        self.params = params;
        self
    }

    /// A fully configured algorithm, replacing the method's (the template still comes
    /// from the method unless [`RerankerBuilder::template`] is given).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// A prompt template replacing the method's (for example one read with
    /// [`Template::from_toml_file`]); its kind must match the algorithm.
    pub fn template(mut self, template: Template) -> Self {
        self.template = Some(template);
        self
    }

    /// Most tokens generated per model call (reasoning included).
    pub fn max_new_tokens(mut self, n: usize) -> Self {
        self.max_new_tokens = Some(n);
        self
    }

    /// Decoding settings (temperature, top-p, seed, stop strings); greedy by default.
    pub fn sampling(mut self, params: SamplingParams) -> Self {
        self.sampling = Some(params);
        self
    }

    /// How setwise answers are read: Rank-R1's exact `[k]` rule (the default), or
    /// leniently (`3`, `Document 3`, a bare `[3]` without answer tags).
    pub fn setwise_mode(mut self, mode: SetwiseMode) -> Self {
        self.setwise_mode = mode;
        self
    }

    /// How the model is read: generated answers, or one forward pass scoring each
    /// identifier ([`Scoring::Likelihood`]: FIRST's order for a listwise method,
    /// llm-rankers' likelihood pick for a setwise one). Default: the method's own
    /// ([`Method::scoring`]).
    pub fn scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = Some(scoring);
        self
    }

    /// Most prompts sent to the backend in one batch (across queries); default 8.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Loads the model and checks that the pieces fit together.
    pub fn build(self) -> Result<Reranker<B>> {
        let p = &self.params;
        if p.top == 0 {
            return Err(Error::Config("top must be at least 1".into()));
        }
        if self.algorithm.is_none() {
            // Named as the builder's methods, before they become the algorithm's fields.
            for (name, value) in [
                ("window", p.window),
                ("step", p.step),
                ("passes", p.passes),
                ("num_child", p.num_child.unwrap_or(1)),
                ("k", p.k),
            ] {
                if value == 0 {
                    return Err(Error::Config(format!("{name} must be at least 1")));
                }
            }
        }
        let algorithm = self
            .algorithm
            .unwrap_or_else(|| self.method.algorithm(&self.params));
        algorithm.validate()?;
        let template = match self.template {
            Some(t) => t,
            None => Template::builtin(self.method.template_name())?,
        };
        let wanted = match algorithm {
            Algorithm::Listwise(_) => TemplateKind::Listwise,
            Algorithm::Setwise(_) => TemplateKind::Setwise,
        };
        if template.kind != wanted {
            return Err(Error::Config(format!(
                "template '{}' is {:?} but the algorithm is {:?}; use a matching template or method",
                template.name, template.kind, wanted
            )));
        }
        let loader = self.loader.ok_or_else(|| {
            Error::Config(
                "no model: call .model(\"smollm2-135m\") (or a GGUF path) or .backend(…)".into(),
            )
        })?;
        let backend = loader(&self.device, self.weights, self.adapter.as_deref())?;
        let mut judge = LlmJudge::new(backend, template)?;
        judge.setwise_mode = self.setwise_mode;
        judge.scoring = self.scoring.unwrap_or(self.method.scoring());
        if let Some(s) = self.sampling {
            judge.params = SamplingParams {
                stop: if s.stop.is_empty() {
                    judge.params.stop.clone()
                } else {
                    s.stop.clone()
                },
                ..s
            };
        }
        if let Some(n) = self.max_new_tokens {
            judge.params.max_new_tokens = n;
        }
        let top = match &algorithm {
            Algorithm::Listwise(w) => w.rank_end.min(self.params.top),
            Algorithm::Setwise(_) => self.params.top,
        };
        Ok(Reranker {
            judge,
            algorithm,
            top,
            driver: DriverOptions {
                max_batch: self.batch_size,
            },
        })
    }
}

impl<B: Backend> Reranker<B> {
    /// Reranks one query's candidates (best first in, best first out). The top
    /// candidates are reordered; the rest follow in their order.
    pub fn rerank(&mut self, query: &Query, candidates: &[Candidate]) -> Result<Ranking> {
        let mut out = self.rerank_batch(vec![(query.clone(), candidates.to_vec())], |_| {})?;
        Ok(out.pop().expect("one ranking per query"))
    }

    /// Reranks many queries, batching model calls across them. `on_done` sees each
    /// query's ranking as soon as it is finished (to save it as you go); the rankings
    /// are also returned, in input order.
    pub fn rerank_batch(
        &mut self,
        queries: Vec<(Query, Vec<Candidate>)>,
        mut on_done: impl FnMut(&Ranking),
    ) -> Result<Vec<Ranking>> {
        let top = self.top;
        let mut tails = std::collections::HashMap::new();
        let heads: Vec<(Query, Vec<Candidate>)> = queries
            .into_iter()
            .map(|(q, mut c)| {
                let tail = c.split_off(top.min(c.len()));
                tails.insert(q.id.clone(), tail);
                (q, c)
            })
            .collect();
        let finish = |r: &Ranking| -> Ranking {
            let mut r = r.clone();
            if let Some(tail) = tails.get(&r.query_id) {
                r.candidates.extend(tail.iter().cloned());
            }
            r
        };
        let mut done = |r: &Ranking| on_done(&finish(r));
        let rankings = match &self.algorithm {
            Algorithm::Listwise(w) => {
                rerank_listwise(&mut self.judge, w, heads, &self.driver, &mut done)?
            }
            Algorithm::Setwise(s) => {
                rerank_setwise(&mut self.judge, s, heads, &self.driver, &mut done)?
            }
        };
        Ok(rankings.iter().map(finish).collect())
    }

    /// Reranks queries as a feed delivers them (a server's queue), batching model
    /// calls across whatever queries are in progress: a query that arrives while
    /// others are being reranked joins the next batch. `on_done` gets each ranking
    /// (its top candidates reordered, the rest after them) as soon as it is complete.
    /// Returns when the feed is closed and every query is done. Query ids must be
    /// unique among the queries in progress.
    pub fn rerank_feed(
        &mut self,
        feed: &mut impl QueryFeed,
        mut on_done: impl FnMut(Ranking),
    ) -> Result<()> {
        use std::cell::RefCell;
        use std::collections::HashMap;
        // The candidates below `top` of each query in progress: put aside when it
        // arrives, put back under its ranking when it is done.
        let tails: RefCell<HashMap<String, Vec<Candidate>>> = RefCell::default();
        struct Split<'a, F> {
            inner: &'a mut F,
            top: usize,
            tails: &'a RefCell<HashMap<String, Vec<Candidate>>>,
        }
        impl<F: QueryFeed> QueryFeed for Split<'_, F> {
            fn arrivals(&mut self, wait: bool) -> Option<Vec<(Query, Vec<Candidate>)>> {
                let qs = self.inner.arrivals(wait)?;
                let mut tails = self.tails.borrow_mut();
                Some(
                    qs.into_iter()
                        .map(|(q, mut c)| {
                            tails.insert(q.id.clone(), c.split_off(self.top.min(c.len())));
                            (q, c)
                        })
                        .collect(),
                )
            }
        }
        let mut feed = Split {
            inner: feed,
            top: self.top,
            tails: &tails,
        };
        let mut done = |mut r: Ranking| {
            if let Some(tail) = tails.borrow_mut().remove(&r.query_id) {
                r.candidates.extend(tail);
            }
            on_done(r)
        };
        match &self.algorithm {
            Algorithm::Listwise(w) => {
                rerank_listwise_feed(&mut self.judge, w, &mut feed, &self.driver, &mut done)?
            }
            Algorithm::Setwise(s) => {
                rerank_setwise_feed(&mut self.judge, s, &mut feed, &self.driver, &mut done)?
            }
        }
        Ok(())
    }

    /// The judge (backend, template, decoding settings), to inspect or adjust.
    pub fn judge(&mut self) -> &mut LlmJudge<B> {
        &mut self.judge
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// How many candidates are reranked.
    pub fn top(&self) -> usize {
        self.top
    }
}
