//! The embed step that every [`Embedder`] shares: rows are cut into parts of
//! `64 × batch_size` rows; inside a part they are ordered by length (so a
//! batch holds texts of similar length and a padded backend wastes little)
//! and sent as batches, with at most `concurrency` in flight. Vectors stream
//! into `embeddings/embedding-NNN.parquet` (committed atomically) and the
//! `.json` is written last.
//!
//! Resume: a slow run also checkpoints finished parts under
//! `embeddings/.embedding-NNN.parts/`. Running the same embedding again
//! (same model, prefix, batch size and rows) finds the unfinished id and
//! continues after the last part written; because parts and the batches
//! inside them are fixed by the parameters, the result equals an
//! uninterrupted run's. A backend paid per call
//! ([`EmbedderSpec::checkpoint_every_batch`](super::EmbedderSpec)) gets every
//! finished batch checkpointed at once, as `rows-<first row>.parquet`, so a
//! resumed run sends no finished batch again; such a backend may leave its
//! dimensions to be learned from the first batch's answer.

use std::ops::Range;
use std::time::Instant;

use futures::StreamExt;
use latentscope_io::Matrix;
use latentscope_io::Store;
use latentscope_io::matrix::{MatrixWriter, read_matrix};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use super::{EmbedError, Embedder};
use crate::dataset::{Dataset, RunSpec, Texts};
use crate::embed::{EMBEDDING_COLUMN, EmbeddingMeta};
use crate::error::{Error, Result};
use crate::ids::{EmbeddingId, NumberedId};
use crate::meta::LATENTSCOPE_VERSION;
use crate::progress::{Progress, check};

/// Batches per part (the unit of checkpointing and resume).
const BATCHES_PER_PART: usize = 64;

/// Options of one embed run; `None` fields take the embedder's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmbedOptions {
    /// Text put before every row (default: the model's own, usually none).
    pub prefix: Option<String>,
    /// Rows per call to the embedder.
    pub batch_size: Option<usize>,
    /// Calls in flight at once.
    pub concurrency: Option<usize>,
    /// Seconds of work between checkpoints (0: after every part). A part
    /// computed in under a tenth of this is never checkpointed (redoing it
    /// costs less than writing it), so fast backends write none.
    pub checkpoint_seconds: f64,
    /// The spec the user asked for (recorded; default: the embedder's own).
    pub model_spec: Option<String>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            prefix: None,
            batch_size: None,
            concurrency: None,
            checkpoint_seconds: 5.0,
            model_spec: None,
        }
    }
}

impl EmbedOptions {
    /// Sets the prefix.
    pub fn with_prefix(mut self, prefix: Option<String>) -> Self {
        self.prefix = prefix;
        self
    }
    /// Sets the batch size.
    pub fn with_batch_size(mut self, batch_size: Option<usize>) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets the concurrency.
    pub fn with_concurrency(mut self, concurrency: Option<usize>) -> Self {
        self.concurrency = concurrency;
        self
    }
    /// Sets the checkpoint interval.
    pub fn with_checkpoint_seconds(mut self, seconds: f64) -> Self {
        self.checkpoint_seconds = seconds;
        self
    }
    /// Sets the spec to record.
    pub fn with_model_spec(mut self, spec: Option<String>) -> Self {
        self.model_spec = spec;
        self
    }
}

/// What an embed run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EmbedOutcome {
    /// The embedding written.
    pub id: EmbeddingId,
    /// Rows embedded.
    pub rows: u64,
    /// Rows taken from an earlier, interrupted run of the same embedding.
    pub resumed_rows: u64,
    /// Wall-clock seconds of this run.
    pub seconds: f64,
}

/// The parameters that fix an embedding's result; an unfinished claim with
/// equal parameters is resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EmbedParams {
    step: String,
    model_spec: String,
    provider: String,
    model: String,
    dimensions: usize,
    max_tokens: Option<usize>,
    prefix: String,
    batch_size: usize,
    part_rows: usize,
    text_column: String,
    rows: u64,
}

impl Dataset {
    /// Runs the embed step: embeds the text column with `embedder` into a
    /// new embedding (or resumes an unfinished one with the same
    /// parameters). Null texts are embedded as empty text and counted.
    pub async fn embed(
        &self,
        embedder: &dyn Embedder,
        options: &EmbedOptions,
        progress: &dyn Progress,
    ) -> Result<EmbedOutcome> {
        let started = Instant::now();
        let spec = embedder.spec().clone();
        let Texts { texts, nulls } = self.texts()?;
        let empty = texts.iter().filter(|t| t.is_empty()).count() as u64;
        let batch_size = options.batch_size.unwrap_or(spec.batch_size).max(1);
        let concurrency = options.concurrency.unwrap_or(spec.concurrency).max(1);
        let params = EmbedParams {
            step: "embed".to_string(),
            model_spec: options
                .model_spec
                .clone()
                .unwrap_or_else(|| spec.spec_string()),
            provider: spec.provider.clone(),
            model: spec.model.clone(),
            dimensions: spec.dimensions,
            max_tokens: spec.max_tokens,
            prefix: options
                .prefix
                .clone()
                .unwrap_or_else(|| spec.default_prefix.clone()),
            batch_size,
            part_rows: batch_size * BATCHES_PER_PART,
            text_column: self.meta().text_column.clone(),
            rows: texts.len() as u64,
        };
        if spec.dimensions == 0 && !spec.checkpoint_every_batch {
            return Err(invalid(&params, "the embedder declares 0 dimensions"));
        }
        let artifact = self.begin::<EmbeddingId, _>(&RunSpec::new("embed", &params))?;
        if artifact.resumed() {
            // The run that held this id died; its partial file is litter.
            artifact.discard_abandoned(".parquet")?;
        }
        let id = artifact.id();
        let mut run = EmbedRun {
            ds: self,
            id,
            params: &params,
            dims: spec.dimensions,
            texts: &texts,
            embedder,
            concurrency,
            sort_by_length: spec.sort_by_length,
            every_batch: spec.checkpoint_every_batch,
            checkpoint_seconds: options.checkpoint_seconds,
            progress,
        };
        if run.dims == 0 {
            run.dims = run.learn_dimensions().await?;
        }
        let dimensions = run.dims;
        let (resumed_rows, min, max) = run.run().await?;

        let seconds = started.elapsed().as_secs_f64();
        let mut extra = Map::new();
        extra.insert("model_spec".into(), params.model_spec.clone().into());
        extra.insert("normalized".into(), spec.normalized.into());
        extra.insert("empty_count".into(), empty.into());
        extra.insert("resumed_rows".into(), resumed_rows.into());
        let usage = embedder.usage();
        if !usage.is_empty() {
            extra.insert("api_usage".into(), usage.into());
        }
        extra.insert(
            "rows_per_second".into(),
            ((texts.len() as u64 - resumed_rows) as f64 / seconds.max(1e-9)).into(),
        );
        let meta = EmbeddingMeta {
            id,
            model_id: python_model_id(&spec.provider, &spec.model),
            dataset_id: self.id().to_string(),
            text_column: params.text_column.clone(),
            dimensions,
            max_seq_length: spec.max_tokens,
            prefix: params.prefix.clone(),
            input_type: "text".to_string(),
            task: None,
            late_interaction: false,
            min_values: min,
            max_values: max,
            provider: Some(spec.provider.clone()),
            source: None,
            rows: Some(params.rows),
            null_count: Some(nulls),
            batch_size: Some(batch_size),
            seconds: Some(seconds),
            latentscope_version: Some(LATENTSCOPE_VERSION.to_string()),
            created_at: Some(crate::time::now_rfc3339()),
            extra,
        };
        artifact.commit(&meta)?;
        Ok(EmbedOutcome {
            id,
            rows: params.rows,
            resumed_rows,
            seconds,
        })
    }
}

/// What the embed loop sends the writer thread.
enum WriterMessage {
    /// The next rows, in order.
    Rows(Vec<f32>),
    /// Every row was sent: commit the file.
    Finish,
}

/// The state of one run, between claim and commit.
#[derive(Clone, Copy)]
struct EmbedRun<'a> {
    ds: &'a Dataset,
    id: EmbeddingId,
    params: &'a EmbedParams,
    /// The vectors' length (the spec's, or learned from the first answer).
    dims: usize,
    texts: &'a [String],
    embedder: &'a dyn Embedder,
    concurrency: usize,
    sort_by_length: bool,
    every_batch: bool,
    checkpoint_seconds: f64,
    progress: &'a dyn Progress,
}

impl EmbedRun<'_> {
    /// Embeds every part in order into the final file; returns the rows
    /// taken from checkpoints and the per-dimension min and max.
    async fn run(&self) -> Result<(u64, Vec<f32>, Vec<f32>)> {
        let store = self.ds.store().as_ref();
        let dims = self.dims;
        let folder = EmbeddingId::FOLDER;
        let id = self.id;
        let out = MatrixWriter::create(
            store,
            &self.ds.key(&format!("{folder}/{id}.parquet")),
            EMBEDDING_COLUMN,
            dims,
        )?;
        // Parts are encoded and written on a thread of their own while the
        // next part is embedded (it also takes each column's range); the
        // file commits only on `Finish`.
        let (tx, rx) = std::sync::mpsc::sync_channel::<WriterMessage>(2);
        let writer = std::thread::spawn(move || -> Result<(Vec<f32>, Vec<f32>)> {
            let mut out = out;
            let mut min = vec![f32::INFINITY; dims];
            let mut max = vec![f32::NEG_INFINITY; dims];
            for message in rx {
                match message {
                    WriterMessage::Rows(data) => {
                        for row in data.chunks_exact(dims) {
                            for ((v, lo), hi) in row.iter().zip(&mut min).zip(&mut max) {
                                *lo = lo.min(*v);
                                *hi = hi.max(*v);
                            }
                        }
                        out.write_rows(&data)?;
                    }
                    WriterMessage::Finish => {
                        if out.finish()? == 0 {
                            min.fill(0.0);
                            max.fill(0.0);
                        }
                        return Ok((min, max));
                    }
                }
            }
            // Abandoned: dropping the writer discards the temporary file.
            Ok((Vec::new(), Vec::new()))
        });
        let result = self.run_parts(store, tx).await;
        let written = writer.join().unwrap_or_else(|_| {
            Err(Error::Internal(format!(
                "{folder}/{id}.parquet: the writer thread panicked"
            )))
        });
        let resumed = result?;
        let (min, max) = written?;
        Ok((resumed, min, max))
    }

    /// Embeds (or reads back) every part in order and sends it to the
    /// writer; returns the rows taken from checkpoints.
    async fn run_parts(
        &self,
        store: &dyn Store,
        out: std::sync::mpsc::SyncSender<WriterMessage>,
    ) -> Result<u64> {
        let dims = self.dims;
        let rows = self.texts.len();
        let part_rows = self.params.part_rows;
        let folder = EmbeddingId::FOLDER;
        let id = self.id;
        let mut resumed = 0u64;
        let mut last_checkpoint = Instant::now();
        check(self.progress, "embed", 0, Some(rows as u64))?;
        for (p, start) in (0..rows).step_by(part_rows).enumerate() {
            let range = start..(start + part_rows).min(rows);
            let part_key = self
                .ds
                .key(&format!("{folder}/.{id}.parts/part-{p:06}.parquet"));
            let data = match self.read_checkpoint(store, &part_key, &range)? {
                Some(data) => {
                    resumed += range.len() as u64;
                    check(self.progress, "embed", range.end as u64, Some(rows as u64))?;
                    data
                }
                None if self.every_batch => {
                    let (data, from_batches) = self.embed_part_by_batch(store, range).await?;
                    resumed += from_batches;
                    data
                }
                None => {
                    let part_started = Instant::now();
                    let data = self.embed_part(range.clone()).await?;
                    // A part that is quick to redo is not worth writing twice.
                    let slow =
                        part_started.elapsed().as_secs_f64() >= 0.1 * self.checkpoint_seconds;
                    if slow
                        && last_checkpoint.elapsed().as_secs_f64() >= self.checkpoint_seconds
                        && range.end < rows
                    {
                        write_checkpoint(store, &part_key, dims, &data)?;
                        last_checkpoint = Instant::now();
                    }
                    data
                }
            };
            if out.send(WriterMessage::Rows(data)).is_err() {
                break; // the writer failed; its error is reported by `run`
            }
        }
        let _ = out.send(WriterMessage::Finish);
        Ok(resumed)
    }

    /// A checkpointed part, if one was written and has the right shape.
    fn read_checkpoint(
        &self,
        store: &dyn Store,
        key: &str,
        range: &Range<usize>,
    ) -> Result<Option<Vec<f32>>> {
        if !store.exists(key)? {
            return Ok(None);
        }
        match read_matrix(store, key, EMBEDDING_COLUMN) {
            Ok(Matrix { data, rows, cols }) if rows == range.len() && cols == self.dims => {
                Ok(Some(data))
            }
            // A checkpoint we cannot use is recomputed.
            _ => Ok(None),
        }
    }

    /// Embeds the rows of one part in batches (longest first when the
    /// backend pads, else in order and without copying the texts when there
    /// is no prefix); returns their vectors in row order.
    async fn embed_part(&self, range: Range<usize>) -> Result<Vec<f32>> {
        let dims = self.dims;
        let batch = self.params.batch_size;
        let total = self.texts.len() as u64;
        let prefix = self.params.prefix.as_str();
        let mut data = vec![0f32; range.len() * dims];
        let mut done = range.start as u64;
        if !self.sort_by_length && prefix.is_empty() {
            let texts = &self.texts[range.clone()];
            let calls = texts
                .chunks(batch)
                .zip(data.chunks_mut(batch * dims))
                .enumerate()
                .map(|(b, (texts, out))| async move {
                    let first = range.start + b * batch;
                    let rows = first..first + texts.len();
                    (rows, self.embedder.embed_into(texts, out).await)
                });
            let mut results = futures::stream::iter(calls).buffered(self.concurrency);
            while let Some((rows, result)) = results.next().await {
                done += rows.len() as u64;
                result.map_err(|e| self.embed_error(rows, e))?;
                check(self.progress, "embed", done, Some(total))?;
            }
        } else {
            let mut order: Vec<usize> = range.clone().collect();
            if self.sort_by_length {
                order.sort_by_key(|&i| std::cmp::Reverse(self.texts[i].len()));
            }
            let calls = order.chunks(batch).map(|rows| {
                let texts: Vec<String> = rows
                    .iter()
                    .map(|&i| format!("{prefix}{}", self.texts[i]))
                    .collect();
                async move {
                    let mut out = vec![0f32; rows.len() * dims];
                    let result = self.embedder.embed_into(&texts, &mut out).await;
                    (rows, result.map(|()| out))
                }
            });
            let mut results = futures::stream::iter(calls).buffered(self.concurrency);
            while let Some((rows, result)) = results.next().await {
                let vectors = result.map_err(|e| {
                    let first = rows.iter().min().copied().unwrap_or(0);
                    let last = rows.iter().max().copied().unwrap_or(0);
                    self.embed_error(first..last + 1, e)
                })?;
                for (&row, v) in rows.iter().zip(vectors.chunks_exact(dims)) {
                    let at = (row - range.start) * dims;
                    data[at..at + dims].copy_from_slice(v);
                }
                done += rows.len() as u64;
                check(self.progress, "embed", done, Some(total))?;
            }
        }
        self.check_finite(range.start, &data)?;
        Ok(data)
    }

    /// Rows `first..` of `data` hold only finite numbers.
    fn check_finite(&self, first: usize, data: &[f32]) -> Result<()> {
        match data.iter().position(|x| !x.is_finite()) {
            None => Ok(()),
            Some(at) => Err(Error::Backend {
                backend: format!("embedder {}", self.params.model_spec),
                message: format!(
                    "row {} dimension {} is {} (not finite)",
                    first + at / self.dims,
                    at % self.dims,
                    data[at]
                ),
            }),
        }
    }

    /// The checkpoint key of the batch that starts at row `first`.
    fn batch_key(&self, first: usize) -> String {
        let folder = EmbeddingId::FOLDER;
        let id = self.id;
        self.ds
            .key(&format!("{folder}/.{id}.parts/rows-{first:010}.parquet"))
    }

    /// The vectors of one batch of rows, in order: from its checkpoint when
    /// an earlier run finished it, else asked of the embedder and
    /// checkpointed at once. Returns them and whether they were resumed.
    async fn embed_batch_checkpointed(
        &self,
        store: &dyn Store,
        rows: Range<usize>,
    ) -> Result<(Vec<f32>, bool)> {
        let key = self.batch_key(rows.start);
        if let Some(data) = self.read_checkpoint(store, &key, &rows)? {
            return Ok((data, true));
        }
        let data = self.ask(rows.clone()).await?;
        write_checkpoint(store, &key, self.dims, &data)?;
        Ok((data, false))
    }

    /// Asks the embedder for the vectors of `rows` (prefixed), checks
    /// their count and length, and returns them row after row.
    async fn ask(&self, rows: Range<usize>) -> Result<Vec<f32>> {
        let vectors = self.vectors_of(rows.clone()).await?;
        self.check_answer(rows, &vectors)
    }

    /// The embedder's answer for the texts of `rows`, prefixed, unchecked.
    async fn vectors_of(&self, rows: Range<usize>) -> Result<Vec<Vec<f32>>> {
        let prefix = self.params.prefix.as_str();
        let texts: Vec<String> = self.texts[rows.clone()]
            .iter()
            .map(|t| format!("{prefix}{t}"))
            .collect();
        self.embedder
            .embed(&texts)
            .await
            .map_err(|e| self.embed_error(rows, e))
    }

    /// One vector of [`dims`](Self::dims) finite numbers per row of `rows`,
    /// flattened row after row.
    fn check_answer(&self, rows: Range<usize>, vectors: &[Vec<f32>]) -> Result<Vec<f32>> {
        let shape_error = |expected: String, got: String| {
            self.embed_error(rows.clone(), EmbedError::WrongShape { expected, got })
        };
        if vectors.len() != rows.len() {
            return Err(shape_error(
                format!("{} texts", rows.len()),
                format!("{} vectors", vectors.len()),
            ));
        }
        let mut data = Vec::with_capacity(rows.len() * self.dims);
        for (i, v) in vectors.iter().enumerate() {
            if v.len() != self.dims {
                return Err(shape_error(
                    format!("{} texts of {} dimensions", rows.len(), self.dims),
                    format!(
                        "a vector of {} dimensions for row {}",
                        v.len(),
                        rows.start + i
                    ),
                ));
            }
            data.extend_from_slice(v);
        }
        self.check_finite(rows.start, &data)?;
        Ok(data)
    }

    /// Embeds one part batch by batch, checkpointing each finished batch
    /// (`concurrency` in flight); returns the part's vectors and the rows
    /// taken from batch checkpoints.
    async fn embed_part_by_batch(
        &self,
        store: &dyn Store,
        range: Range<usize>,
    ) -> Result<(Vec<f32>, u64)> {
        let dims = self.dims;
        let batch = self.params.batch_size;
        let total = self.texts.len() as u64;
        let mut data = vec![0f32; range.len() * dims];
        let mut done = range.start as u64;
        let mut resumed = 0u64;
        let calls = range.clone().step_by(batch).map(|first| {
            let rows = first..(first + batch).min(range.end);
            async move {
                (
                    rows.clone(),
                    self.embed_batch_checkpointed(store, rows).await,
                )
            }
        });
        let mut results = futures::stream::iter(calls).buffered(self.concurrency);
        while let Some((rows, result)) = results.next().await {
            let (vectors, was_resumed) = result?;
            let at = (rows.start - range.start) * dims;
            data[at..at + vectors.len()].copy_from_slice(&vectors);
            if was_resumed {
                resumed += rows.len() as u64;
            }
            done += rows.len() as u64;
            check(self.progress, "embed", done, Some(total))?;
        }
        Ok((data, resumed))
    }

    /// The length of the vectors of an embedder that does not declare it:
    /// from the first batch's checkpoint, else from the first batch's
    /// answer (which is checkpointed, so it is not asked for again).
    async fn learn_dimensions(&self) -> Result<usize> {
        let store = self.ds.store().as_ref();
        let rows = 0..self.params.batch_size.min(self.texts.len());
        let key = self.batch_key(0);
        if store.exists(&key)?
            && let Ok(m) = read_matrix(store, &key, EMBEDDING_COLUMN)
            && m.rows == rows.len()
            && m.cols > 0
        {
            return Ok(m.cols);
        }
        if rows.is_empty() {
            return Err(invalid(
                self.params,
                "the model's dimensions are unknown and there are no rows to learn them from (pass --dimensions)",
            ));
        }
        let vectors = self.vectors_of(rows.clone()).await?;
        let dims = vectors.first().map_or(0, Vec::len);
        if dims == 0 {
            return Err(self.embed_error(
                rows.clone(),
                EmbedError::WrongShape {
                    expected: format!("{} vectors", rows.len()),
                    got: "no vector (or an empty one)".to_string(),
                },
            ));
        }
        // Checked and checkpointed as every other batch is.
        let learned = EmbedRun { dims, ..*self };
        let data = learned.check_answer(rows, &vectors)?;
        write_checkpoint(store, &key, dims, &data)?;
        Ok(dims)
    }

    /// A backend error, naming the rows of the failed batch.
    fn embed_error(&self, rows: Range<usize>, e: EmbedError) -> Error {
        let last = rows.end.saturating_sub(1).max(rows.start);
        Error::Embed {
            rows: format!("rows {}..={last}", rows.start),
            error: e,
        }
    }
}

/// Writes `data` (rows of `dims` values) as the checkpoint at `key`.
fn write_checkpoint(store: &dyn Store, key: &str, dims: usize, data: &[f32]) -> Result<()> {
    let mut w = MatrixWriter::create(store, key, EMBEDDING_COLUMN, dims)?;
    w.write_rows(data)?;
    w.finish()?;
    Ok(())
}

fn invalid(params: &EmbedParams, message: &str) -> Error {
    Error::Backend {
        backend: format!("embedder {}", params.model_spec),
        message: message.to_string(),
    }
}

/// The Python latent-scope's `model_id` for models it can load itself
/// (`huggingface-<org>___<name>` for sentence-transformers models); for
/// others, `provider:model`.
fn python_model_id(provider: &str, model: &str) -> String {
    match provider {
        "candle" if model.split('/').count() == 2 && !model.starts_with(['/', '.']) => {
            format!("huggingface-{}", model.replace('/', "___"))
        }
        _ => format!("{provider}:{model}"),
    }
}
