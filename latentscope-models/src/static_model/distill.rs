//! Distils a static model from a BERT-family sentence model (the model2vec
//! method): every vocabulary token (less `[unusedN]` and the special tokens
//! other than `[PAD]`/`[UNK]`) goes through the teacher as
//! `[CLS] token [SEP]`, mean-pooled; the vectors are centred and reduced by
//! PCA, then weighted by SIF with Zipf-estimated frequencies
//! (`w = a / (a + p(rank))`, `a = 1e-4`), and written in model2vec's
//! directory format with a compacted tokenizer whose post-processor is
//! removed (it would still name the teacher's `[CLS]`/`[SEP]` ids).

use std::collections::BTreeMap;
use std::path::Path;

use faer::Mat;
use faer::linalg::solvers::Solve;
use latentscope_core::{EmbedConfig, EmbedError, Embedder, Progress, ProgressEvent};
use serde_json::{Value, json};

use super::StaticModel;
use crate::candle::CandleEmbedder;

/// How the table is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// float32.
    F32,
    /// float16 (model2vec's default).
    F16,
    /// int8 with one float32 scale per row, stored as model2vec's
    /// per-token `weights` (read by model2vec and model2vec-rs alike).
    I8,
}

impl Precision {
    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "float32",
            Precision::F16 => "float16",
            Precision::I8 => "int8",
        }
    }
}

/// Options of a distillation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DistillOptions {
    /// Output dimensions (PCA components).
    pub dims: usize,
    /// The SIF coefficient `a` (model2vec's default 1e-4).
    pub sif_coefficient: f64,
    /// Storage precision.
    pub precision: Precision,
}

impl DistillOptions {
    /// `dims` dimensions, SIF 1e-4, float16.
    pub fn new(dims: usize) -> Self {
        Self {
            dims,
            sif_coefficient: 1e-4,
            precision: Precision::F16,
        }
    }
}

/// What a refinement did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RefineReport {
    /// Training rows.
    pub rows: usize,
    /// The ridge coefficient.
    pub ridge: f64,
    /// Mean cosine of the mapped training vectors to the teacher's.
    pub train_cosine: f64,
}

/// A distilled model in memory.
#[derive(Debug, Clone)]
pub struct Distilled {
    /// `tokens × dims`, row-major, SIF-weighted.
    pub vectors: Vec<f32>,
    /// Token strings in the compacted order (row `i` is token `i`).
    pub tokens: Vec<String>,
    /// Output dimensions.
    pub dims: usize,
    /// The compacted `tokenizer.json`.
    pub tokenizer: Value,
    /// The share of the teacher vectors' variance the PCA kept.
    pub explained_variance: f64,
    /// The teacher's name.
    pub teacher: String,
    /// The options used.
    pub options: DistillOptions,
}

fn is_unused(token: &str) -> bool {
    token
        .strip_prefix("[unused")
        .and_then(|r| r.strip_suffix(']'))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn bad(model: &Path, message: impl Into<String>) -> EmbedError {
    EmbedError::InvalidModel {
        model: model.display().to_string(),
        message: message.into(),
    }
}

/// Distils `teacher` (a loaded candle model) into a static model.
pub fn distill(
    teacher: &CandleEmbedder,
    options: &DistillOptions,
    progress: &dyn Progress,
) -> Result<Distilled, EmbedError> {
    let dir = teacher.dir().to_path_buf();
    let text = std::fs::read_to_string(dir.join("tokenizer.json"))
        .map_err(|e| bad(&dir, format!("tokenizer.json: {e}")))?;
    let tokenizer: Value =
        serde_json::from_str(&text).map_err(|e| bad(&dir, format!("tokenizer.json: {e}")))?;
    let vocab = tokenizer["model"]["vocab"].as_object().ok_or_else(|| {
        bad(
            &dir,
            "tokenizer.json has no model.vocab (not a WordPiece/WordLevel tokenizer)",
        )
    })?;
    let id_of = |t: &str| vocab.get(t).and_then(Value::as_u64).map(|v| v as u32);
    let unk = tokenizer["model"]["unk_token"]
        .as_str()
        .unwrap_or("[UNK]")
        .to_string();
    let pad = tokenizer["padding"]["pad_token"]
        .as_str()
        .unwrap_or("[PAD]")
        .to_string();
    let specials: Vec<String> = tokenizer["added_tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["content"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let (cls, sep) = match (id_of("[CLS]"), id_of("[SEP]")) {
        (Some(c), Some(s)) => (c, s),
        _ => return Err(bad(&dir, "the teacher's vocabulary has no [CLS]/[SEP]")),
    };
    let mut by_id: Vec<(u32, &str)> = vocab
        .iter()
        .filter_map(|(t, id)| Some((id.as_u64()? as u32, t.as_str())))
        .collect();
    by_id.sort();
    let kept: Vec<(u32, String)> = by_id
        .into_iter()
        .filter(|(_, t)| !is_unused(t))
        .filter(|(_, t)| !specials.iter().any(|s| s == t) || *t == unk || *t == pad)
        .map(|(id, t)| (id, t.to_string()))
        .collect();
    let h = teacher.mean_pooled(&[vec![cls, sep]])[0].len();
    if options.dims == 0 || options.dims > h {
        return Err(EmbedError::InvalidOptions(format!(
            "--dims {} is outside 1..={h} (the teacher's dimensions)",
            options.dims
        )));
    }

    // The teacher's vector of every kept token.
    let n = kept.len();
    let mut x = vec![0f32; n * h];
    const CHUNK: usize = 1024;
    for (c, chunk) in kept.chunks(CHUNK).enumerate() {
        let seqs: Vec<Vec<u32>> = chunk.iter().map(|(id, _)| vec![cls, *id, sep]).collect();
        for (i, v) in teacher.mean_pooled(&seqs).into_iter().enumerate() {
            let row = c * CHUNK + i;
            x[row * h..(row + 1) * h].copy_from_slice(&v);
        }
        let done = ((c + 1) * CHUNK).min(n) as u64;
        if progress
            .update(ProgressEvent::new("distill:teacher", done, Some(n as u64)))
            .is_break()
        {
            return Err(EmbedError::Backend {
                backend: "distill".into(),
                message: "cancelled".into(),
            });
        }
    }
    for v in x.iter_mut() {
        if !v.is_finite() {
            *v = 0.0;
        }
    }

    // PCA by the covariance's eigenvectors, signs fixed so each
    // component's largest-magnitude score is positive.
    let _ = progress.update(ProgressEvent::new("distill:pca", 0, None));
    let mut mean = vec![0f64; h];
    for row in x.chunks_exact(h) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred = Mat::<f64>::from_fn(n, h, |i, j| x[i * h + j] as f64 - mean[j]);
    let cov = centred.transpose() * &centred * faer::Scale(1.0 / (n as f64 - 1.0));
    let eigen = cov
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| EmbedError::Backend {
            backend: "distill".into(),
            message: format!("PCA failed: {e:?}"),
        })?;
    let values = eigen.S().column_vector();
    let vectors = eigen.U();
    let mut order: Vec<usize> = (0..h).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let total: f64 = (0..h).map(|i| values[i].max(0.0)).sum();
    let kept_var: f64 = order[..options.dims]
        .iter()
        .map(|&i| values[i].max(0.0))
        .sum();
    let d = options.dims;
    let components = Mat::<f64>::from_fn(h, d, |r, c| vectors[(r, order[c])]);
    let scores = &centred * &components;
    let mut out = vec![0f32; n * d];
    for c in 0..d {
        let (mut best, mut best_abs) = (0.0f64, -1.0f64);
        for i in 0..n {
            let s = scores[(i, c)];
            if s.abs() > best_abs {
                best_abs = s.abs();
                best = s;
            }
        }
        let sign = if best < 0.0 { -1.0 } else { 1.0 };
        for i in 0..n {
            out[i * d + c] = (scores[(i, c)] * sign) as f32;
        }
    }

    // SIF weights from Zipf-estimated frequencies, by rank in the vocabulary.
    let a = options.sif_coefficient;
    let harmonic: f64 = (0..n).map(|r| 1.0 / (r as f64 + 2.0)).sum();
    for (r, row) in out.chunks_exact_mut(d).enumerate() {
        let p = 1.0 / (r as f64 + 2.0) / harmonic;
        let w = (a / (a + p)) as f32;
        row.iter_mut().for_each(|v| *v *= w);
    }

    // The compacted tokenizer: new ids in the kept order, no post-processor.
    let mut compact = tokenizer.clone();
    let new_vocab: serde_json::Map<String, Value> = kept
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.clone(), Value::from(i as u64)))
        .collect();
    let new_id: BTreeMap<&str, usize> = kept
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.as_str(), i))
        .collect();
    compact["model"]["vocab"] = Value::Object(new_vocab);
    let added: Vec<Value> = tokenizer["added_tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    let content = t["content"].as_str()?;
                    let id = new_id.get(content)?;
                    let mut t = t.clone();
                    t["id"] = json!(id);
                    Some(t)
                })
                .collect()
        })
        .unwrap_or_default();
    compact["added_tokens"] = Value::Array(added);
    compact["post_processor"] = Value::Null;
    compact["truncation"] = Value::Null;
    compact["padding"] = Value::Null;

    Ok(Distilled {
        vectors: out,
        tokens: kept.into_iter().map(|(_, t)| t).collect(),
        dims: d,
        tokenizer: compact,
        explained_variance: if total > 0.0 { kept_var / total } else { 0.0 },
        teacher: teacher.spec().model.clone(),
        options: options.clone(),
    })
}

impl Distilled {
    /// The bytes of `tokenizer.json`, `model.safetensors` and `config.json`
    /// with the table stored at `precision`.
    pub fn files(&self, precision: Precision) -> std::io::Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let rows = self.tokens.len();
        let d = self.dims;
        let (bytes, dtype, weights): (Vec<u8>, safetensors::Dtype, Option<Vec<u8>>) =
            match precision {
                Precision::F32 => (
                    self.vectors.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    safetensors::Dtype::F32,
                    None,
                ),
                Precision::F16 => (
                    self.vectors
                        .iter()
                        .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                        .collect(),
                    safetensors::Dtype::F16,
                    None,
                ),
                Precision::I8 => {
                    let mut q = Vec::with_capacity(rows * d);
                    let mut scales = Vec::with_capacity(rows);
                    for row in self.vectors.chunks_exact(d) {
                        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
                        let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
                        scales.push(scale);
                        q.extend(row.iter().map(|v| {
                            if scale > 0.0 {
                                (v / scale).round().clamp(-127.0, 127.0) as i8 as u8
                            } else {
                                0
                            }
                        }));
                    }
                    (
                        q,
                        safetensors::Dtype::I8,
                        Some(scales.iter().flat_map(|s| s.to_le_bytes()).collect()),
                    )
                }
            };
        let mut views = vec![(
            "embeddings".to_string(),
            safetensors::tensor::TensorView::new(dtype, vec![rows, d], &bytes)
                .map_err(std::io::Error::other)?,
        )];
        if let Some(w) = &weights {
            views.push((
                "weights".to_string(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![rows], w)
                    .map_err(std::io::Error::other)?,
            ));
        }
        let model = safetensors::serialize(views, None).map_err(std::io::Error::other)?;
        let config = json!({
            "model_type": "model2vec",
            "architectures": ["StaticModel"],
            "tokenizer_name": self.teacher,
            "apply_pca": d,
            "sif_coefficient": self.options.sif_coefficient,
            "hidden_dim": d,
            "seq_length": 1000000,
            "normalize": true,
            "pooling": "mean",
            "max_length": super::MAX_TOKENS,
            "embedding_dtype": precision.name(),
        });
        Ok((
            serde_json::to_vec(&self.tokenizer)?,
            model,
            serde_json::to_vec_pretty(&config)?,
        ))
    }

    /// The model as a [`StaticModel`] (float32 table), e.g. to embed with
    /// it before saving.
    pub fn to_model(&self, config: &EmbedConfig) -> Result<StaticModel, EmbedError> {
        let (tokenizer, model, cfg) =
            self.files(Precision::F32)
                .map_err(|e| EmbedError::Backend {
                    backend: "distill".into(),
                    message: e.to_string(),
                })?;
        StaticModel::from_bytes(&tokenizer, &model, &cfg, &self.teacher, config)
    }

    /// Refines the token vectors against the teacher (tokenlearn-style, in
    /// closed form): embeds `texts` with this model and with the teacher,
    /// fits the linear map `T` (ridge `ridge`·n) that best carries the
    /// model's normalised sentence vectors onto the teacher's, and folds it
    /// into the table. Mean pooling is linear, so the refined table gives
    /// `normalize(mean(v)·T)` exactly; `T`'s left singular vectors times its
    /// singular values keep the table at `dims` columns with the same
    /// cosines. `texts` must be kept apart from any rows the model is
    /// measured on.
    pub fn refine(
        &mut self,
        teacher: &CandleEmbedder,
        texts: &[String],
        ridge: f64,
        progress: &dyn Progress,
    ) -> Result<RefineReport, EmbedError> {
        let d = self.dims;
        let model = self.to_model(&EmbedConfig::default())?;
        let x = model.embed_flat(texts);
        let n = texts.len();
        if n < d {
            return Err(EmbedError::InvalidOptions(format!(
                "refining {d} dimensions needs at least {d} training rows, got {n}"
            )));
        }
        // The teacher's vectors, longest texts first in batches of 256.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut y: Vec<Vec<f32>> = vec![Vec::new(); n];
        for (b, chunk) in order.chunks(256).enumerate() {
            let batch: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            for (&i, v) in chunk.iter().zip(teacher.embed_blocking(&batch)?) {
                y[i] = v;
            }
            let done = ((b + 1) * 256).min(n) as u64;
            if progress
                .update(ProgressEvent::new("refine:teacher", done, Some(n as u64)))
                .is_break()
            {
                return Err(EmbedError::Backend {
                    backend: "distill".into(),
                    message: "cancelled".into(),
                });
            }
        }
        let h = y[0].len();
        let xm = Mat::<f64>::from_fn(n, d, |i, j| x[i * d + j] as f64);
        let ym = Mat::<f64>::from_fn(n, h, |i, j| y[i][j] as f64);
        let mut gram = xm.transpose() * &xm;
        for i in 0..d {
            gram[(i, i)] += ridge * n as f64;
        }
        let rhs = xm.transpose() * &ym;
        let fail = |what: &str| EmbedError::Backend {
            backend: "distill".into(),
            message: format!("refinement: {what}"),
        };
        let t = gram
            .llt(faer::Side::Lower)
            .map_err(|_| fail("the training vectors are degenerate"))?
            .solve(&rhs);
        let svd = t.thin_svd().map_err(|_| fail("SVD failed"))?;
        let (u, sv) = (svd.U(), svd.S().column_vector());
        let fold = Mat::<f64>::from_fn(d, d, |r, c| u[(r, c)] * sv[c]);
        // Fit on the training rows, before and after.
        let cosine = |a: &Mat<f64>| -> f64 {
            (0..n)
                .map(|i| {
                    let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
                    for j in 0..h {
                        let (p, q) = (a[(i, j)], ym[(i, j)]);
                        dot += p * q;
                        na += p * p;
                        nb += q * q;
                    }
                    dot / (na.sqrt() * nb.sqrt()).max(1e-12)
                })
                .sum::<f64>()
                / n as f64
        };
        let after = cosine(&(&xm * &t));
        let table =
            Mat::<f64>::from_fn(self.tokens.len(), d, |i, j| self.vectors[i * d + j] as f64);
        let refined = &table * &fold;
        for i in 0..self.tokens.len() {
            for j in 0..d {
                self.vectors[i * d + j] = refined[(i, j)] as f32;
            }
        }
        Ok(RefineReport {
            rows: n,
            ridge,
            train_cosine: after,
        })
    }

    /// Writes the model2vec directory: `model.safetensors`, `tokenizer.json`,
    /// `config.json`, and our record `latentscope-distill.json` (`record`
    /// adds fields such as quality figures and the command).
    pub fn save(&self, dir: &Path, record: &serde_json::Map<String, Value>) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let (tokenizer, model, config) = self.files(self.options.precision)?;
        std::fs::write(dir.join("model.safetensors"), model)?;
        std::fs::write(dir.join("tokenizer.json"), tokenizer)?;
        std::fs::write(dir.join("config.json"), config)?;
        let (rows, d) = (self.tokens.len(), self.dims);
        let mut ours = serde_json::Map::new();
        ours.insert("teacher".into(), self.teacher.clone().into());
        ours.insert("method".into(), "model2vec: teacher vectors of [CLS] token [SEP], mean-pooled; PCA; SIF weights a/(a+p), Zipf p by rank".into());
        ours.insert("dims".into(), d.into());
        ours.insert("tokens".into(), rows.into());
        ours.insert("precision".into(), self.options.precision.name().into());
        ours.insert(
            "sif_coefficient".into(),
            self.options.sif_coefficient.into(),
        );
        ours.insert(
            "pca_explained_variance".into(),
            self.explained_variance.into(),
        );
        ours.insert(
            "latentscope_version".into(),
            env!("CARGO_PKG_VERSION").into(),
        );
        for (k, v) in record {
            ours.insert(k.clone(), v.clone());
        }
        std::fs::write(
            dir.join("latentscope-distill.json"),
            serde_json::to_vec_pretty(&Value::Object(ours))?,
        )?;
        Ok(())
    }
}
