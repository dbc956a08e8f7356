//! The candle backend: BERT-family sentence-transformers models (BERT,
//! MiniLM, BGE, E5, GTE) run locally on the CPU. Loads a
//! sentence-transformers directory (`config.json`, `tokenizer.json`,
//! `model.safetensors`, and when present `1_Pooling/config.json`,
//! `sentence_bert_config.json`, `modules.json`,
//! `config_sentence_transformers.json`) and follows its pooling (mean or
//! CLS), normalisation, maximum sequence length and lower-casing.
//! Tokenisation and the forward pass run on the embedder's own thread pool,
//! off the async executor.

mod bert;
mod ops;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use latentscope_core::EmbedConfig;
use latentscope_core::embed::{EmbedError, Embedder, EmbedderSpec, async_trait};
use serde_json::Value;
use tokenizers::{Tokenizer, TruncationParams};

use crate::locate::{find_model_dir, read_json, require_files};
use bert::{Bert, Pooling, Sequence};

/// Files every model directory must have.
const REQUIRED: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// A sentence-transformers model run with candle.
pub struct CandleEmbedder {
    spec: EmbedderSpec,
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    bert: Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    lowercase: bool,
    dimensions: usize,
    threads: usize,
    pool: rayon::ThreadPool,
}

impl fmt::Debug for CandleEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CandleEmbedder")
            .field("spec", &self.spec)
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl CandleEmbedder {
    /// Loads a model by hub id (`sentence-transformers/all-MiniLM-L6-v2`,
    /// found in latentscope's model cache or the HuggingFace cache) or by
    /// directory path.
    pub fn load(name: &str, config: &EmbedConfig) -> Result<Self, EmbedError> {
        let dir = find_model_dir(name, "config.json")?;
        let model = if Path::new(name).is_dir() {
            dir.canonicalize()
                .unwrap_or(dir.clone())
                .display()
                .to_string()
        } else {
            name.to_string()
        };
        Self::load_dir(&dir, &model, config)
    }

    /// Loads the model in `dir`, recording it as `model`.
    pub fn load_dir(dir: &Path, model: &str, config: &EmbedConfig) -> Result<Self, EmbedError> {
        require_files(dir, &REQUIRED)?;
        let invalid = |message: String| EmbedError::InvalidModel {
            model: dir.display().to_string(),
            message,
        };
        let bert_config = read_json(dir, "config.json")?;
        let st_config = optional_json(dir, "sentence_bert_config.json")?;
        let pooling = match optional_json(dir, "1_Pooling/config.json")? {
            Value::Null => Pooling::Mean,
            p if p["pooling_mode_cls_token"] == Value::Bool(true) => Pooling::Cls,
            p if p["pooling_mode_mean_tokens"] == Value::Bool(true) => Pooling::Mean,
            p => {
                return Err(invalid(format!(
                    "1_Pooling/config.json asks for a pooling this backend does not implement (only mean and CLS): {p}"
                )));
            }
        };
        let normalize = optional_json(dir, "modules.json")?
            .as_array()
            .is_some_and(|m| {
                m.iter()
                    .any(|m| m["type"].as_str().is_some_and(|t| t.ends_with("Normalize")))
            });
        let default_prefix = optional_json(dir, "config_sentence_transformers.json")?["prompts"]
            .as_object()
            .and_then(|p| p.get("document").or_else(|| p.get("passage")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let bert = Bert::load(dir, &bert_config)?;
        let model_limit = st_config["max_seq_length"]
            .as_u64()
            .map(|v| v as usize)
            .unwrap_or(bert.max_positions)
            .min(bert.max_positions);
        let max_tokens = match config.max_tokens {
            Some(n) if n > bert.max_positions || n < 2 => {
                return Err(EmbedError::InvalidOptions(format!(
                    "max tokens {n} is outside 2..={} for {model}",
                    bert.max_positions
                )));
            }
            Some(n) => n,
            None => model_limit,
        };
        let dimensions = match config.dimensions {
            Some(d) if d == 0 || d > bert.hidden => {
                return Err(EmbedError::InvalidOptions(format!(
                    "dimensions {d} is outside 1..={} for {model}",
                    bert.hidden
                )));
            }
            Some(d) => d,
            None => bert.hidden,
        };
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| invalid(format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| invalid(format!("tokenizer.json: {e}")))?;
        let (pool, threads) = crate::compute_pool("candle", config.threads)?;
        let spec = EmbedderSpec::new("candle", model, dimensions)
            .with_max_tokens(Some(max_tokens))
            .with_default_prefix(default_prefix)
            .with_normalized(normalize || dimensions < bert.hidden)
            .with_batching(32, 1);
        Ok(Self {
            spec,
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                bert,
                tokenizer,
                pooling,
                normalize,
                lowercase: st_config["do_lower_case"] == Value::Bool(true),
                dimensions,
                threads,
                pool,
            }),
        })
    }

    /// The token ids the model reads for each text (special tokens
    /// included, truncated to the token limit).
    pub fn token_ids(&self, texts: &[String]) -> Result<Vec<Vec<u32>>, EmbedError> {
        Ok(self
            .inner
            .tokenize(texts)?
            .into_iter()
            .map(|s| s.ids)
            .collect())
    }

    /// The mean of the last hidden states of each token-id sequence, not
    /// normalised: the teacher's side of distilling a static model.
    pub fn mean_pooled(&self, sequences: &[Vec<u32>]) -> Vec<Vec<f32>> {
        let inner = &self.inner;
        let seqs: Vec<Sequence> = sequences
            .iter()
            .map(|ids| Sequence {
                ids: ids.clone(),
                type_ids: vec![0; ids.len()],
            })
            .collect();
        let pooled = inner
            .pool
            .install(|| inner.bert.encode(&seqs, Pooling::Mean, inner.threads));
        pooled
            .chunks_exact(inner.bert.hidden)
            .map(<[f32]>::to_vec)
            .collect()
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Embeds a batch on the calling thread's behalf, blocking until done.
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let inner = &self.inner;
        inner.pool.install(|| inner.embed(texts))
    }
}

impl Inner {
    fn tokenize(&self, texts: &[String]) -> Result<Vec<Sequence>, EmbedError> {
        let inputs: Vec<String> = if self.lowercase {
            texts.iter().map(|t| t.to_lowercase()).collect()
        } else {
            texts.to_vec()
        };
        let encodings =
            self.tokenizer
                .encode_batch(inputs, true)
                .map_err(|e| EmbedError::Backend {
                    backend: "candle".into(),
                    message: format!("tokenizing: {e}"),
                })?;
        Ok(encodings
            .into_iter()
            .map(|e| Sequence {
                ids: e.get_ids().to_vec(),
                type_ids: e.get_type_ids().to_vec(),
            })
            .collect())
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let sequences = self.tokenize(texts)?;
        let h = self.bert.hidden;
        let pooled = self.bert.encode(&sequences, self.pooling, self.threads);
        Ok(pooled
            .chunks_exact(h)
            .map(|row| {
                let mut v = row[..self.dimensions].to_vec();
                if self.normalize || self.dimensions < h {
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    if norm > 0.0 {
                        v.iter_mut().for_each(|x| *x /= norm);
                    }
                }
                v
            })
            .collect())
    }
}

#[async_trait]
impl Embedder for CandleEmbedder {
    fn spec(&self) -> &EmbedderSpec {
        &self.spec
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let inner = self.inner.clone();
        let texts = texts.to_vec();
        let (tx, rx) = futures::channel::oneshot::channel();
        self.inner.pool.spawn(move || {
            let _ = tx.send(inner.embed(&texts));
        });
        rx.await.map_err(|_| EmbedError::Backend {
            backend: "candle".into(),
            message: "the compute thread stopped without an answer".into(),
        })?
    }
}

/// A JSON file of the directory, or `Null` when it is absent.
fn optional_json(dir: &Path, file: &str) -> Result<Value, EmbedError> {
    if dir.join(file).is_file() {
        read_json(dir, file)
    } else {
        Ok(Value::Null)
    }
}
