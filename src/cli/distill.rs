//! `latentscope distill --from <candle model> --dims D --out DIR`: a static
//! model in model2vec's format from a BERT-family sentence model.

use std::path::PathBuf;

use anyhow::{Result, bail};

#[cfg(feature = "candle")]
use super::outln;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The teacher: a candle model spec or directory (candle:sentence-transformers/all-MiniLM-L6-v2)
    #[arg(long = "from", value_name = "MODEL")]
    teacher: String,
    /// Output dimensions (PCA components)
    #[arg(long, default_value_t = 256)]
    dims: usize,
    /// The directory to write
    #[arg(long)]
    out: PathBuf,
    /// Storage: float16 (model2vec's default), int8 (per-row scales), float32
    #[arg(long, default_value = "float16")]
    precision: String,
    /// SIF coefficient of the token weights
    #[arg(long, default_value_t = 1e-4)]
    sif: f64,
    /// Refine the token vectors against the teacher's sentence vectors of this table's rows (keep them apart from rows you measure on)
    #[arg(long, value_name = "FILE")]
    refine_on: Option<PathBuf>,
    /// The text column of --refine-on
    #[arg(long, default_value = "text")]
    refine_column: String,
    /// Ridge coefficient of the refinement (× rows)
    #[arg(long, default_value_t = 1e-6)]
    ridge: f64,
}

#[cfg(feature = "candle")]
pub(crate) fn execute(args: Args) -> Result<()> {
    let Args {
        teacher,
        dims,
        out,
        precision,
        sif,
        refine_on,
        refine_column,
        ridge,
    } = args;
    let (teacher, out, precision) = (teacher.as_str(), out.as_path(), precision.as_str());
    let refine = refine_on
        .as_deref()
        .map(|f| (f, refine_column.as_str(), ridge));
    use std::sync::Arc;
    use std::time::Instant;

    use latentscope::EmbedConfig;
    use latentscope::models::candle::CandleEmbedder;
    use latentscope::models::static_model::distill::{DistillOptions, Precision, distill};
    let precision = match precision {
        "float16" | "f16" => Precision::F16,
        "int8" | "i8" => Precision::I8,
        "float32" | "f32" => Precision::F32,
        other => bail!("unknown precision {other:?}; use float16, int8 or float32"),
    };
    if out.join("model.safetensors").exists() {
        bail!(
            "{} already holds a model; choose another --out",
            out.display()
        );
    }
    let started = Instant::now();
    let name = teacher.strip_prefix("candle:").unwrap_or(teacher);
    let model = CandleEmbedder::load(name, &EmbedConfig::default())?;
    let mut options = DistillOptions::new(dims);
    options.precision = precision;
    options.sif_coefficient = sif;
    let bars = super::progress::Bars::new("tokens");
    let result = distill(&model, &options, &bars);
    bars.finish();
    let mut distilled = result?;
    let mut record = serde_json::Map::new();
    if let Some((file, column, ridge)) = refine {
        // The training rows, read like any input (a dataset in memory).
        let store = Arc::new(latentscope::io::MemoryStore::new());
        let train = latentscope::ingest::ingest_file(
            store,
            "train",
            file,
            &latentscope::ingest::IngestOptions::new(column),
            &latentscope::NoProgress,
        )?;
        let texts = train.texts()?.texts;
        let bars = super::progress::Bars::new("rows");
        let result = distilled.refine(&model, &texts, ridge, &bars);
        bars.finish();
        let report = result?;
        eprintln!(
            "refined on {} rows of {} (ridge {ridge}): mean cosine to the teacher on them {:.4}",
            report.rows,
            file.display(),
            report.train_cosine
        );
        record.insert(
            "refinement".into(),
            serde_json::json!({
                "method": "least-squares linear map from the static sentence vectors to the teacher's, folded into the table (tokenlearn-style, closed form)",
                "train_file": file.file_name().map(|f| f.to_string_lossy().to_string()),
                "train_column": column,
                "train_rows": report.rows,
                "ridge": ridge,
                "train_cosine": report.train_cosine,
            }),
        );
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    record.insert("command".into(), command.into());
    record.insert("seconds".into(), started.elapsed().as_secs_f64().into());
    distilled.save(out, &record)?;
    outln!(
        "distilled {} tokens × {dims} dims ({}) from {name} in {:.1}s into {} (PCA kept {:.1}% of the variance{}); use it with --model static:{}",
        distilled.tokens.len(),
        precision.name(),
        started.elapsed().as_secs_f64(),
        out.display(),
        100.0 * distilled.explained_variance,
        if refine.is_some() { ", refined" } else { "" },
        out.display()
    );
    Ok(())
}

#[cfg(not(feature = "candle"))]
pub(crate) fn execute(_: Args) -> Result<()> {
    bail!("distilling needs the cargo feature `candle`, which this build does not have")
}
