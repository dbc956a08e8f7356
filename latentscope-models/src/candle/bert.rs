//! A BERT encoder (BERT, MiniLM, BGE, E5, GTE) whose weights candle loads
//! from `model.safetensors`. The forward pass packs a batch's sequences back
//! to back with no padding: the dense layers run as one matrix product over
//! every token of the batch, attention runs per sequence, so no work is
//! spent on padding and a row's vector does not depend on its neighbours in
//! the batch.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use latentscope_core::EmbedError;
use rayon::prelude::*;
use serde_json::Value;

use super::ops;

/// Rows per task in the row-wise kernels.
const ROWS_PER_TASK: usize = 16;
/// Sequences up to this length take the plain-loop attention path.
const SMALL_SEQUENCE: usize = 64;

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pooling {
    /// Mean of every token's vector (sentence-transformers' usual).
    Mean,
    /// The first (`[CLS]`) token's vector (BGE).
    Cls,
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    Gelu,
    GeluTanh,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// A linear layer: `y = x Wᵀ + b`, `W` stored `out × in` as in PyTorch.
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Dense {
    /// `y = x Wᵀ` (the bias is added by the fused kernel that follows).
    fn apply(&self, x: &[f32], rows: usize, y: &mut [f32], par: Par) {
        let lhs = MatRef::from_row_major_slice(x, rows, self.inputs);
        let w = MatRef::from_row_major_slice(&self.weight, self.outputs, self.inputs);
        let dst = MatMut::from_row_major_slice_mut(y, rows, self.outputs);
        matmul(dst, Accum::Replace, lhs, w.transpose(), 1.0f32, par);
    }
}

struct Layer {
    /// Query, key and value projections stacked: `3·hidden × hidden`.
    qkv: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    intermediate: Dense,
    output: Dense,
    output_norm: Norm,
}

/// The encoder's weights and shape.
pub(crate) struct Bert {
    pub(crate) hidden: usize,
    pub(crate) max_positions: usize,
    heads: usize,
    eps: f32,
    activation: Activation,
    vocab: usize,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    type_vocab: usize,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

/// One tokenised text.
pub(crate) struct Sequence {
    pub(crate) ids: Vec<u32>,
    pub(crate) type_ids: Vec<u32>,
}

fn invalid(dir: &Path, message: impl Into<String>) -> EmbedError {
    EmbedError::InvalidModel {
        model: dir.display().to_string(),
        message: message.into(),
    }
}

struct Weights<'a> {
    dir: &'a Path,
    tensors: HashMap<String, Tensor>,
    prefix: String,
}

impl Weights<'_> {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        let key = format!("{}{name}", self.prefix);
        let t = self
            .tensors
            .remove(&key)
            .ok_or_else(|| invalid(self.dir, format!("model.safetensors has no tensor {key}")))?;
        if t.dims() != shape {
            return Err(invalid(
                self.dir,
                format!("tensor {key} has shape {:?}, expected {shape:?}", t.dims()),
            ));
        }
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| invalid(self.dir, format!("tensor {key}: {e}")))
    }

    /// A layer norm's parameters (`weight`/`bias`, or the old `gamma`/`beta`).
    fn norm(&mut self, name: &str, width: usize) -> Result<Norm, EmbedError> {
        let old = !self
            .tensors
            .contains_key(&format!("{}{name}.weight", self.prefix));
        let (g, b) = if old {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        Ok(Norm {
            gamma: self.take(&format!("{name}.{g}"), &[width])?,
            beta: self.take(&format!("{name}.{b}"), &[width])?,
        })
    }

    fn dense(&mut self, name: &str, outputs: usize, inputs: usize) -> Result<Dense, EmbedError> {
        Ok(Dense {
            weight: self.take(&format!("{name}.weight"), &[outputs, inputs])?,
            bias: self.take(&format!("{name}.bias"), &[outputs])?,
            inputs,
            outputs,
        })
    }
}

fn config_usize(dir: &Path, config: &Value, key: &str) -> Result<usize, EmbedError> {
    config[key]
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| invalid(dir, format!("config.json has no integer {key:?}")))
}

impl Bert {
    /// Loads the encoder described by `config` (config.json) from
    /// `dir/model.safetensors`.
    pub(crate) fn load(dir: &Path, config: &Value) -> Result<Self, EmbedError> {
        let model_type = config["model_type"].as_str().unwrap_or("bert");
        if model_type != "bert" {
            return Err(invalid(
                dir,
                format!(
                    "model_type {model_type:?} is not supported (the candle backend runs BERT-family encoders: BERT, MiniLM, BGE, E5, GTE)"
                ),
            ));
        }
        if let Some(kind) = config["position_embedding_type"].as_str()
            && kind != "absolute"
        {
            return Err(invalid(
                dir,
                format!("position_embedding_type {kind:?} is not supported"),
            ));
        }
        let hidden = config_usize(dir, config, "hidden_size")?;
        let heads = config_usize(dir, config, "num_attention_heads")?;
        let n_layers = config_usize(dir, config, "num_hidden_layers")?;
        let intermediate = config_usize(dir, config, "intermediate_size")?;
        let vocab = config_usize(dir, config, "vocab_size")?;
        let max_positions = config_usize(dir, config, "max_position_embeddings")?;
        let type_vocab = config["type_vocab_size"].as_u64().unwrap_or(2) as usize;
        let eps = config["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32;
        if heads == 0 || hidden % heads != 0 {
            return Err(invalid(
                dir,
                format!("hidden_size {hidden} is not a multiple of num_attention_heads {heads}"),
            ));
        }
        let activation = match config["hidden_act"].as_str().unwrap_or("gelu") {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            other => {
                return Err(invalid(
                    dir,
                    format!("hidden_act {other:?} is not supported"),
                ));
            }
        };
        let path = dir.join("model.safetensors");
        let tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .map_err(|e| invalid(dir, format!("cannot read model.safetensors: {e}")))?;
        let prefix = tensors
            .keys()
            .find_map(|k| k.strip_suffix("embeddings.word_embeddings.weight"))
            .ok_or_else(|| {
                invalid(
                    dir,
                    "model.safetensors has no embeddings.word_embeddings.weight: not a BERT encoder",
                )
            })?
            .to_string();
        let mut w = Weights {
            dir,
            tensors,
            prefix,
        };
        let word = w.take("embeddings.word_embeddings.weight", &[vocab, hidden])?;
        let position = w.take(
            "embeddings.position_embeddings.weight",
            &[max_positions, hidden],
        )?;
        let token_type = w.take(
            "embeddings.token_type_embeddings.weight",
            &[type_vocab, hidden],
        )?;
        let embedding_norm = w.norm("embeddings.LayerNorm", hidden)?;
        let mut layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let p = format!("encoder.layer.{i}");
            let q = w.dense(&format!("{p}.attention.self.query"), hidden, hidden)?;
            let k = w.dense(&format!("{p}.attention.self.key"), hidden, hidden)?;
            let v = w.dense(&format!("{p}.attention.self.value"), hidden, hidden)?;
            let qkv = Dense {
                weight: [q.weight, k.weight, v.weight].concat(),
                bias: [q.bias, k.bias, v.bias].concat(),
                inputs: hidden,
                outputs: 3 * hidden,
            };
            layers.push(Layer {
                qkv,
                attention_out: w.dense(&format!("{p}.attention.output.dense"), hidden, hidden)?,
                attention_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), hidden)?,
                intermediate: w.dense(&format!("{p}.intermediate.dense"), intermediate, hidden)?,
                output: w.dense(&format!("{p}.output.dense"), hidden, intermediate)?,
                output_norm: w.norm(&format!("{p}.output.LayerNorm"), hidden)?,
            });
        }
        Ok(Self {
            hidden,
            max_positions,
            heads,
            eps,
            activation,
            vocab,
            word,
            position,
            token_type,
            type_vocab,
            embedding_norm,
            layers,
        })
    }

    /// Encodes the sequences and pools each into one vector; returns
    /// `sequences.len() × hidden` floats. Runs in the current rayon pool
    /// with `threads` threads for the matrix products.
    pub(crate) fn encode(
        &self,
        sequences: &[Sequence],
        pooling: Pooling,
        threads: usize,
    ) -> Vec<f32> {
        let h = self.hidden;
        let lengths: Vec<usize> = sequences.iter().map(|s| s.ids.len()).collect();
        let tokens: usize = lengths.iter().sum();
        let par = if threads > 1 && tokens >= 64 {
            Par::rayon(threads)
        } else {
            Par::Seq
        };
        let mut x = self.embed_tokens(sequences, tokens);
        let inter = self.layers.first().map_or(0, |l| l.intermediate.outputs);
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut attended = vec![0f32; tokens * h];
        let mut up = vec![0f32; tokens * inter];
        for layer in &self.layers {
            layer.qkv.apply(&x, tokens, &mut qkv, par);
            par_rows(&mut qkv, 3 * h, |rows| ops::add_bias(rows, &layer.qkv.bias));
            attention(&qkv, &lengths, h, self.heads, &mut context);
            layer
                .attention_out
                .apply(&context, tokens, &mut attended, par);
            par_rows_with(&mut attended, &x, h, |rows, res| {
                ops::bias_residual_norm(
                    rows,
                    &layer.attention_out.bias,
                    res,
                    &layer.attention_norm.gamma,
                    &layer.attention_norm.beta,
                    self.eps,
                )
            });
            layer.intermediate.apply(&attended, tokens, &mut up, par);
            let bias = &layer.intermediate.bias;
            match self.activation {
                Activation::Gelu => par_rows(&mut up, inter, |rows| ops::bias_gelu(rows, bias)),
                Activation::GeluTanh => {
                    par_rows(&mut up, inter, |rows| ops::bias_gelu_tanh(rows, bias))
                }
            }
            layer.output.apply(&up, tokens, &mut x, par);
            par_rows_with(&mut x, &attended, h, |rows, res| {
                ops::bias_residual_norm(
                    rows,
                    &layer.output.bias,
                    res,
                    &layer.output_norm.gamma,
                    &layer.output_norm.beta,
                    self.eps,
                )
            });
        }
        pool(&x, &lengths, h, pooling)
    }

    /// Word + position + token-type embeddings, layer-normed: `tokens × hidden`.
    fn embed_tokens(&self, sequences: &[Sequence], tokens: usize) -> Vec<f32> {
        let h = self.hidden;
        let mut x = vec![0f32; tokens * h];
        let mut at = 0;
        for s in sequences {
            for (pos, (&id, &ty)) in s.ids.iter().zip(&s.type_ids).enumerate() {
                let id = (id as usize).min(self.vocab - 1);
                let ty = (ty as usize).min(self.type_vocab - 1);
                let pos = pos.min(self.max_positions - 1);
                let row = &mut x[at * h..(at + 1) * h];
                let word = &self.word[id * h..(id + 1) * h];
                let position = &self.position[pos * h..(pos + 1) * h];
                let token_type = &self.token_type[ty * h..(ty + 1) * h];
                for (((v, a), b), c) in row.iter_mut().zip(word).zip(position).zip(token_type) {
                    *v = a + b + c;
                }
                at += 1;
            }
        }
        let norm = &self.embedding_norm;
        par_rows(&mut x, h, |rows| {
            ops::layer_norm_rows(rows, &norm.gamma, &norm.beta, self.eps)
        });
        x
    }
}

/// Multi-head self-attention of each sequence over itself, from the
/// packed `tokens × 3·hidden` projections into `tokens × hidden`.
fn attention(qkv: &[f32], lengths: &[usize], h: usize, heads: usize, context: &mut [f32]) {
    let d = h / heads;
    let scale = 1.0 / (d as f32).sqrt();
    // Split the output into one slice per sequence.
    let mut outputs = Vec::with_capacity(lengths.len());
    let mut rest = context;
    let mut offset = 0;
    for &len in lengths {
        let (mine, tail) = rest.split_at_mut(len * h);
        outputs.push((offset, len, mine));
        rest = tail;
        offset += len;
    }
    outputs.into_par_iter().for_each(|(offset, len, out)| {
        if len == 0 {
            return;
        }
        let stride = 3 * h;
        let mut scores = vec![0f32; len * len];
        for head in 0..heads {
            if len <= SMALL_SEQUENCE {
                small_head(qkv, offset, len, h, head * d, d, scale, &mut scores, out);
                continue;
            }
            let view = |which: usize| {
                let start = offset * stride + which * h + head * d;
                MatRef::from_row_major_slice_with_stride(
                    &qkv[start..start + (len - 1) * stride + d],
                    len,
                    d,
                    stride,
                )
            };
            let (q, k, v) = (view(0), view(1), view(2));
            let s = MatMut::from_row_major_slice_mut(&mut scores, len, len);
            matmul(s, Accum::Replace, q, k.transpose(), scale, Par::Seq);
            ops::softmax_rows(&mut scores, len);
            let p = MatRef::from_row_major_slice(&scores, len, len);
            let start = head * d;
            // A row-major strided view, built as the transpose of a
            // column-major one: faer 0.24's `from_row_major_slice_with_stride_mut`
            // swaps the strides (it makes a column-major view).
            let dst = MatMut::from_column_major_slice_with_stride_mut(
                &mut out[start..start + (len - 1) * h + d],
                d,
                len,
                h,
            )
            .transpose_mut();
            matmul(dst, Accum::Replace, p, v, 1.0f32, Par::Seq);
        }
    });
}

/// One head of attention for a short sequence, with plain loops (faster
/// than a matrix-product call at these sizes).
#[allow(clippy::too_many_arguments)]
fn small_head(
    qkv: &[f32],
    offset: usize,
    len: usize,
    h: usize,
    column: usize,
    d: usize,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let stride = 3 * h;
    let row = |token: usize, which: usize| {
        let at = (offset + token) * stride + which * h + column;
        &qkv[at..at + d]
    };
    let scores = &mut scores[..len * len];
    for i in 0..len {
        let q = row(i, 0);
        for (j, s) in scores[i * len..(i + 1) * len].iter_mut().enumerate() {
            *s = ops::dot(q, row(j, 1)) * scale;
        }
    }
    ops::softmax_rows(scores, len);
    for i in 0..len {
        let dst = &mut out[i * h + column..i * h + column + d];
        dst.fill(0.0);
        for (j, &p) in scores[i * len..(i + 1) * len].iter().enumerate() {
            for (o, v) in dst.iter_mut().zip(row(j, 2)) {
                *o += p * v;
            }
        }
    }
}

/// Mean or CLS pooling of each sequence's token vectors.
fn pool(x: &[f32], lengths: &[usize], h: usize, pooling: Pooling) -> Vec<f32> {
    let mut out = vec![0f32; lengths.len() * h];
    let mut at = 0;
    for (row, &len) in out.chunks_exact_mut(h).zip(lengths) {
        let tokens = &x[at * h..(at + len) * h];
        match pooling {
            Pooling::Cls => {
                if len > 0 {
                    row.copy_from_slice(&tokens[..h]);
                }
            }
            Pooling::Mean => {
                for t in tokens.chunks_exact(h) {
                    for (o, v) in row.iter_mut().zip(t) {
                        *o += v;
                    }
                }
                let inv = 1.0 / len.max(1) as f32;
                row.iter_mut().for_each(|v| *v *= inv);
            }
        }
        at += len;
    }
    out
}

/// Runs `f` over chunks of whole `width`-long rows in parallel.
fn par_rows(x: &mut [f32], width: usize, f: impl Fn(&mut [f32]) + Sync + Send) {
    x.par_chunks_mut(width * ROWS_PER_TASK).for_each(f);
}

/// Like [`par_rows`], with the matching rows of `other`.
fn par_rows_with(
    x: &mut [f32],
    other: &[f32],
    width: usize,
    f: impl Fn(&mut [f32], &[f32]) + Sync + Send,
) {
    x.par_chunks_mut(width * ROWS_PER_TASK)
        .zip(other.par_chunks(width * ROWS_PER_TASK))
        .for_each(|(a, b)| f(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_attention(qkv: &[f32], lengths: &[usize], h: usize, heads: usize) -> Vec<f32> {
        let d = h / heads;
        let mut out = vec![0f32; qkv.len() / 3];
        let mut o = 0;
        for &len in lengths {
            for head in 0..heads {
                for i in 0..len {
                    let q = &qkv[(o + i) * 3 * h + head * d..][..d];
                    let mut s: Vec<f32> = (0..len)
                        .map(|j| {
                            let k = &qkv[(o + j) * 3 * h + h + head * d..][..d];
                            q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() / (d as f32).sqrt()
                        })
                        .collect();
                    ops::softmax_rows(&mut s, len);
                    for (j, p) in s.iter().enumerate() {
                        let v = &qkv[(o + j) * 3 * h + 2 * h + head * d..][..d];
                        for c in 0..d {
                            out[(o + i) * h + head * d + c] += p * v[c];
                        }
                    }
                }
            }
            o += len;
        }
        out
    }

    #[test]
    fn packed_attention_equals_the_naive_loop() {
        let (h, heads) = (8, 2);
        let lengths = [3usize, 1, 5, 2, 70];
        let tokens: usize = lengths.iter().sum();
        let qkv: Vec<f32> = (0..tokens * 3 * h)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let mut got = vec![0f32; tokens * h];
        attention(&qkv, &lengths, h, heads, &mut got);
        let want = naive_attention(&qkv, &lengths, h, heads);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{got:?}\n{want:?}");
        }
    }

    #[test]
    fn dense_equals_the_naive_product() {
        let (rows, inputs, outputs) = (5, 7, 3);
        let dense = Dense {
            weight: (0..outputs * inputs).map(|i| i as f32 / 10.0).collect(),
            bias: vec![0.0; outputs],
            inputs,
            outputs,
        };
        let x: Vec<f32> = (0..rows * inputs).map(|i| (i % 5) as f32).collect();
        let mut y = vec![0f32; rows * outputs];
        dense.apply(&x, rows, &mut y, Par::Seq);
        for r in 0..rows {
            for o in 0..outputs {
                let want: f32 = (0..inputs)
                    .map(|i| x[r * inputs + i] * dense.weight[o * inputs + i])
                    .sum();
                assert!((y[r * outputs + o] - want).abs() < 1e-4);
            }
        }
    }
}
