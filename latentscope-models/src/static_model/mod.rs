//! The static-model backend (`static:`): a sentence vector is the
//! normalised mean of its tokens' vectors, looked up in a table. Loads any
//! model2vec-format directory (`model.safetensors` with an `embeddings`
//! table of float32, float16 or int8 and optional per-token `weights` and
//! `mapping`, `tokenizer.json`, `config.json`): ours, model2vec's, or a
//! potion model. No transformer runs at inference; rows are embedded in
//! parallel on the embedder's own thread pool. Tokens are read without
//! special tokens (so a compacted tokenizer's post-processor, which may
//! still name the teacher's `[CLS]`/`[SEP]` ids, is never applied) and
//! `[UNK]` is left out of the mean, as model2vec does.

#[cfg(feature = "candle")]
pub mod distill;
mod wordpiece;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use latentscope_core::EmbedConfig;
use latentscope_core::embed::{EmbedError, Embedder, EmbedderSpec, async_trait};
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use tokenizers::Tokenizer;

use wordpiece::AsciiWordPiece;

/// The model that ships inside latentscope (`static:minilm`): 256
/// dimensions, int8, distilled from all-MiniLM-L6-v2 (Apache-2.0) and
/// refined against it (`models/minilm-static-256/latentscope-distill.json`
/// records how; `scripts/build-static-model` rebuilds it).
pub mod builtin {
    use latentscope_core::{EmbedConfig, EmbedError};

    /// Its name after `static:`.
    pub const NAME: &str = "minilm";
    const TOKENIZER: &[u8] = include_bytes!("../../models/minilm-static-256/tokenizer.json");
    const MODEL: &[u8] = include_bytes!("../../models/minilm-static-256/model.safetensors");
    const CONFIG: &[u8] = include_bytes!("../../models/minilm-static-256/config.json");
    /// Its record: teacher, method, refinement, quality, the command that made it.
    pub const RECORD: &str =
        include_str!("../../models/minilm-static-256/latentscope-distill.json");

    /// Loads it.
    pub fn load(config: &EmbedConfig) -> Result<super::StaticModel, EmbedError> {
        super::StaticModel::from_bytes(TOKENIZER, MODEL, CONFIG, NAME, config)
    }
}

/// Tokens per text (model2vec's default truncation).
pub const MAX_TOKENS: usize = 512;

/// The vector table.
enum Table {
    F32(Vec<f32>),
    I8(Vec<i8>),
}

/// A static embedding model.
pub struct StaticModel {
    spec: EmbedderSpec,
    inner: Arc<Inner>,
}

struct Inner {
    table: Table,
    /// Per-token scale (model2vec `weights`; our int8 row scales).
    weights: Option<Vec<f32>>,
    /// Token id → table row (model2vec vocabulary quantisation).
    mapping: Option<Vec<u32>>,
    rows: usize,
    dims: usize,
    /// Output dimensions (a prefix of `dims`).
    out_dims: usize,
    normalize: bool,
    fast: Option<AsciiWordPiece>,
    tokenizer: Tokenizer,
    unk: Option<u32>,
    /// Characters kept before tokenising: `MAX_TOKENS` × the median token length.
    max_chars: usize,
    max_tokens: usize,
    pool: rayon::ThreadPool,
}

impl fmt::Debug for StaticModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticModel")
            .field("spec", &self.spec)
            .finish()
    }
}

fn invalid(model: &str, message: impl Into<String>) -> EmbedError {
    EmbedError::InvalidModel {
        model: model.to_string(),
        message: message.into(),
    }
}

fn floats(model: &str, name: &str, dtype: Dtype, raw: &[u8]) -> Result<Vec<f32>, EmbedError> {
    Ok(match dtype {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => raw
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => raw
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::F64 => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        other => {
            return Err(invalid(
                model,
                format!("tensor {name:?} has unsupported type {other:?}"),
            ));
        }
    })
}

impl StaticModel {
    /// Loads a model2vec-format directory.
    pub fn load_dir(dir: &Path, model: &str, config: &EmbedConfig) -> Result<Self, EmbedError> {
        crate::locate::require_files(dir, &["config.json", "tokenizer.json", "model.safetensors"])?;
        let read = |f: &str| {
            std::fs::read(dir.join(f)).map_err(|e| invalid(model, format!("cannot read {f}: {e}")))
        };
        Self::from_bytes(
            &read("tokenizer.json")?,
            &read("model.safetensors")?,
            &read("config.json")?,
            model,
            config,
        )
    }

    /// Loads a model from the bytes of its three files.
    pub fn from_bytes(
        tokenizer_json: &[u8],
        safetensors: &[u8],
        config_json: &[u8],
        model: &str,
        config: &EmbedConfig,
    ) -> Result<Self, EmbedError> {
        let cfg: Value = serde_json::from_slice(config_json)
            .map_err(|e| invalid(model, format!("config.json: {e}")))?;
        let normalize = cfg["normalize"].as_bool().unwrap_or(true);
        let tensors = SafeTensors::deserialize(safetensors)
            .map_err(|e| invalid(model, format!("model.safetensors: {e}")))?;
        let t = ["embeddings", "0", "embedding.weight"]
            .iter()
            .find_map(|n| tensors.tensor(n).ok())
            .ok_or_else(|| invalid(model, "model.safetensors has no `embeddings` tensor"))?;
        let [rows, dims]: [usize; 2] = t
            .shape()
            .try_into()
            .map_err(|_| invalid(model, "the `embeddings` tensor is not 2-D"))?;
        let table = match t.dtype() {
            Dtype::I8 => Table::I8(t.data().iter().map(|&b| b as i8).collect()),
            dtype => Table::F32(floats(model, "embeddings", dtype, t.data())?),
        };
        let weights = match tensors.tensor("weights") {
            Ok(w) => Some(floats(model, "weights", w.dtype(), w.data())?),
            Err(_) => None,
        };
        let mapping: Option<Vec<u32>> = match tensors.tensor("mapping") {
            Ok(m) => Some(match m.dtype() {
                Dtype::I64 => m
                    .data()
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as u32)
                    .collect(),
                Dtype::I32 => m
                    .data()
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u32)
                    .collect(),
                other => {
                    return Err(invalid(
                        model,
                        format!("tensor \"mapping\" has unsupported type {other:?}"),
                    ));
                }
            }),
            Err(_) => None,
        };
        if let Some(m) = &mapping
            && m.iter().any(|&r| r as usize >= rows)
        {
            return Err(invalid(model, "`mapping` points past the table"));
        }
        let json: Value = serde_json::from_slice(tokenizer_json)
            .map_err(|e| invalid(model, format!("tokenizer.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_bytes(tokenizer_json)
            .map_err(|e| invalid(model, format!("tokenizer.json: {e}")))?;
        tokenizer.with_padding(None);
        let _ = tokenizer.with_truncation(None);
        let unk = json["model"]["unk_token"]
            .as_str()
            .and_then(|t| tokenizer.token_to_id(t))
            .or_else(|| json["model"]["unk_id"].as_u64().map(|v| v as u32));
        let mut lengths: Vec<usize> = tokenizer.get_vocab(false).keys().map(|k| k.len()).collect();
        lengths.sort_unstable();
        let median = lengths.get(lengths.len() / 2).copied().unwrap_or(1).max(1);
        let max_tokens = config.max_tokens.unwrap_or(MAX_TOKENS);
        let out_dims = match config.dimensions {
            Some(d) if d == 0 || d > dims => {
                return Err(EmbedError::InvalidOptions(format!(
                    "dimensions {d} is outside 1..={dims} for {model}"
                )));
            }
            Some(d) => d,
            None => dims,
        };
        let (pool, _) = crate::compute_pool("static", config.threads)?;
        let spec = EmbedderSpec::new("static", model, out_dims)
            .with_max_tokens(Some(max_tokens))
            .with_normalized(normalize || out_dims < dims)
            .with_batching(1024, 1)
            .with_sort_by_length(false);
        Ok(Self {
            spec,
            inner: Arc::new(Inner {
                table,
                weights,
                mapping,
                rows,
                dims,
                out_dims,
                normalize: normalize || out_dims < dims,
                fast: AsciiWordPiece::from_tokenizer_json(&json),
                tokenizer,
                unk,
                max_chars: max_tokens.saturating_mul(median),
                max_tokens,
                pool,
            }),
        })
    }

    /// The token ids a text is embedded from (truncated, `[UNK]` left
    /// out, as model2vec's `tokenize` gives them).
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        self.inner.tokenize(text, &mut ids);
        ids.retain(|&id| Some(id) != self.inner.unk);
        ids
    }

    /// Whether ASCII text takes the fast tokenizer (false: every row goes
    /// through the `tokenizers` crate).
    pub fn has_fast_tokenizer(&self) -> bool {
        self.inner.fast.is_some()
    }

    /// The ids the `tokenizers` crate gives (no fast path), for checks.
    pub fn reference_token_ids(&self, text: &str) -> Vec<u32> {
        self.inner
            .tokenizer
            .encode_fast(self.inner.truncate(text), false)
            .map(|e| {
                let mut ids: Vec<u32> = e
                    .get_ids()
                    .iter()
                    .copied()
                    .take(self.inner.max_tokens)
                    .collect();
                ids.retain(|&id| Some(id) != self.inner.unk);
                ids
            })
            .unwrap_or_default()
    }

    /// Embeds texts into one flat `texts.len() × dimensions` buffer,
    /// in parallel on the model's pool.
    pub fn embed_flat(&self, texts: &[String]) -> Vec<f32> {
        let mut out = vec![0f32; texts.len() * self.inner.out_dims];
        self.embed_to_slice(texts, &mut out);
        out
    }

    /// Embeds texts into `out` (`texts.len() × dimensions`, row after
    /// row), in parallel on the model's pool.
    ///
    /// # Panics
    /// If `out` has the wrong length.
    pub fn embed_to_slice(&self, texts: &[String], out: &mut [f32]) {
        let inner = &self.inner;
        let d = inner.out_dims;
        assert_eq!(out.len(), texts.len() * d, "output length");
        inner.pool.install(|| {
            out.par_chunks_mut(d * 64)
                .zip(texts.par_chunks(64))
                .for_each_init(
                    || (Vec::new(), vec![0f32; inner.dims]),
                    |(ids, sum), (rows, texts)| {
                        for (row, text) in rows.chunks_exact_mut(d).zip(texts) {
                            ids.clear();
                            inner.tokenize(text, ids);
                            inner.pool_ids(ids, sum, row);
                        }
                    },
                );
        });
    }
}

impl Inner {
    fn truncate<'t>(&self, text: &'t str) -> &'t str {
        if text.len() <= self.max_chars {
            return text; // no more characters than bytes
        }
        match text.char_indices().nth(self.max_chars) {
            Some((at, _)) => &text[..at],
            None => text,
        }
    }

    fn tokenize(&self, text: &str, ids: &mut Vec<u32>) {
        let text = self.truncate(text);
        match &self.fast {
            Some(fast) if text.is_ascii() => {
                fast.encode(text, ids);
            }
            // The BERT normaliser works character by character and the
            // pre-tokenizer splits at whitespace, so a text can be tokenised
            // chunk by chunk between ASCII spaces: ASCII chunks on the fast
            // path, the others through the `tokenizers` crate.
            Some(fast) => {
                for chunk in text
                    .split([' ', '\t', '\n', '\r'])
                    .filter(|c| !c.is_empty())
                {
                    if !fast.encode(chunk, ids) {
                        self.reference(chunk, ids);
                    }
                }
            }
            None => self.reference(text, ids),
        }
        ids.truncate(self.max_tokens);
    }

    /// Appends the ids the `tokenizers` crate gives `text`.
    fn reference(&self, text: &str, ids: &mut Vec<u32>) {
        if let Ok(e) = self.tokenizer.encode_fast(text, false) {
            ids.extend_from_slice(e.get_ids());
        }
    }

    /// The (weighted) mean of the tokens' rows, normalised, into `out`.
    fn pool_ids(&self, ids: &[u32], sum: &mut [f32], out: &mut [f32]) {
        sum.fill(0.0);
        let d = self.dims;
        let mut count = 0usize;
        // Rows and scales are gathered four at a time, so the running sum is
        // loaded and stored once per four tokens.
        let mut rows = [0usize; 4];
        let mut scales = [0f32; 4];
        let mut pending = 0;
        for &id in ids {
            if Some(id) == self.unk {
                continue;
            }
            let row = match &self.mapping {
                Some(m) => match m.get(id as usize) {
                    Some(&r) => r as usize,
                    None => continue,
                },
                None => id as usize,
            };
            if row >= self.rows {
                continue;
            }
            rows[pending] = row;
            scales[pending] = self
                .weights
                .as_ref()
                .map_or(1.0, |w| w.get(id as usize).copied().unwrap_or(1.0));
            pending += 1;
            count += 1;
            if pending == 4 {
                self.accumulate(sum, &rows, &scales);
                pending = 0;
            }
        }
        for k in 0..pending {
            self.accumulate(sum, &[rows[k]; 4], &[scales[k], 0.0, 0.0, 0.0]);
        }
        let _ = d;
        let kept = &sum[..self.out_dims];
        let inv = 1.0 / count.max(1) as f32;
        if self.normalize {
            let norm = kept
                .iter()
                .map(|v| v * inv * v * inv)
                .sum::<f32>()
                .sqrt()
                .max(1e-12);
            for (o, v) in out.iter_mut().zip(kept) {
                *o = v * inv / norm;
            }
        } else {
            for (o, v) in out.iter_mut().zip(kept) {
                *o = v * inv;
            }
        }
    }

    /// `sum += Σ scales[k] · table[rows[k]]` for four rows.
    #[inline]
    fn accumulate(&self, sum: &mut [f32], rows: &[usize; 4], scales: &[f32; 4]) {
        let d = self.dims;
        match &self.table {
            Table::F32(t) => {
                let r: [&[f32]; 4] = rows.map(|r| &t[r * d..(r + 1) * d]);
                kernels::add4(sum, r, *scales);
            }
            Table::I8(t) => {
                let r: [&[i8]; 4] = rows.map(|r| &t[r * d..(r + 1) * d]);
                kernels::add4_i8(sum, r, *scales);
            }
        }
    }
}

/// The pooling kernels, with an AVX2/FMA build chosen at run time.
mod kernels {
    macro_rules! add4_body {
        ($sum:expr, $r:expr, $s:expr) => {
            let [s0, s1, s2, s3] = $s;
            let rows = $sum.iter_mut().zip($r[0]).zip($r[1]).zip($r[2]).zip($r[3]);
            for ((((t, a), b), c), e) in rows {
                *t += *a as f32 * s0 + *b as f32 * s1 + *c as f32 * s2 + *e as f32 * s3;
            }
        };
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn add4_avx2(sum: &mut [f32], r: [&[f32]; 4], s: [f32; 4]) {
        add4_body!(sum, r, s);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn add4_i8_avx2(sum: &mut [f32], r: [&[i8]; 4], s: [f32; 4]) {
        add4_body!(sum, r, s);
    }

    fn has_avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::sync::OnceLock;
            static AVX2: OnceLock<bool> = OnceLock::new();
            *AVX2.get_or_init(|| {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// `sum += Σ s[k] · r[k]` (every slice as long as `sum`).
    pub(super) fn add4(sum: &mut [f32], r: [&[f32]; 4], s: [f32; 4]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { add4_avx2(sum, r, s) };
        }
        add4_body!(sum, r, s);
    }

    /// As [`add4`], for int8 rows.
    pub(super) fn add4_i8(sum: &mut [f32], r: [&[i8]; 4], s: [f32; 4]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            return unsafe { add4_i8_avx2(sum, r, s) };
        }
        add4_body!(sum, r, s);
    }
}

#[async_trait]
impl Embedder for StaticModel {
    fn spec(&self) -> &EmbedderSpec {
        &self.spec
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let d = self.inner.out_dims;
        Ok(self
            .embed_flat(texts)
            .chunks_exact(d)
            .map(<[f32]>::to_vec)
            .collect())
    }

    async fn embed_into(&self, texts: &[String], out: &mut [f32]) -> Result<(), EmbedError> {
        if out.len() != texts.len() * self.inner.out_dims {
            return Err(EmbedError::WrongShape {
                expected: format!("{} × {} values", texts.len(), self.inner.out_dims),
                got: format!("a buffer of {}", out.len()),
            });
        }
        self.embed_to_slice(texts, out);
        Ok(())
    }
}
