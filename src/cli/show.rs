//! `latentscope show <dataset>`: every artifact with its key parameters,
//! row counts and parents, so a user sees what they tried. The listing is
//! the library's ([`Dataset::artifacts`](latentscope::Dataset::artifacts)),
//! which reads our directories and the Python latent-scope's alike; this
//! file only formats it.

use anyhow::Result;
use latentscope::dataset::{ArtifactInfo, ArtifactKind, ArtifactState};
use serde_json::Value;

use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
}

fn field(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn seconds(v: &Value) -> String {
    v["seconds"]
        .as_f64()
        .map_or(String::new(), |s| format!(", {s:.2}s"))
}

fn size(a: &ArtifactInfo) -> String {
    let bytes = a.bytes() as f64;
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.0} kB", bytes / 1e3)
    }
}

/// The line of one finished artifact.
/// The name and description given to a run, under its line.
fn print_names(a: &ArtifactInfo) -> Result<()> {
    if let Some(name) = &a.names.name {
        outln!("      name: {name}");
    }
    if let Some(description) = &a.names.description {
        let first = description.lines().next().unwrap_or_default();
        let more = if description.lines().nth(1).is_some() {
            " …"
        } else {
            ""
        };
        outln!("      description: {first}{more}");
    }
    Ok(())
}

fn describe(a: &ArtifactInfo, rows: u64) -> String {
    let v = &a.record;
    let id = &a.id;
    match a.kind {
        ArtifactKind::Embedding => {
            let vectors = match &a.state {
                ArtifactState::Unreadable(reason) => format!("vectors: {reason}"),
                _ => "vectors: Parquet".to_string(),
            };
            format!(
                "{id}  {} · {} dims · column {} · prefix {:?} · {} rows{} · {vectors} · {}",
                v["model_spec"]
                    .as_str()
                    .map_or_else(|| field(v, "model_id"), str::to_string),
                field(v, "dimensions"),
                field(v, "text_column"),
                v["prefix"].as_str().unwrap_or(""),
                a.rows.unwrap_or(rows),
                seconds(v),
                size(a),
            )
        }
        ArtifactKind::Umap => {
            let params = &v["params"];
            format!(
                "{id}  from {} · {} · neighbors {} · min_dist {} · seed {} · init {}{} · {}",
                field(v, "embedding_id"),
                v["method"].as_str().unwrap_or("umap"),
                field(v, "neighbors"),
                field(v, "min_dist"),
                if v["seed"].is_null() {
                    field(params, "seed")
                } else {
                    field(v, "seed")
                },
                if params["init_used"].is_null() {
                    field(v, "init")
                } else {
                    field(params, "init_used")
                },
                seconds(v),
                size(a),
            )
        }
        ArtifactKind::Cluster => {
            let noise = v["n_noise"].as_u64().unwrap_or(0);
            format!(
                "{id}  from {} · {} min_cluster_size {} min_samples {} epsilon {} · {} clusters, {noise} noise ({:.1}%){}{}",
                field(v, "umap_id"),
                field(v, "method"),
                field(v, "samples"),
                field(v, "min_samples"),
                field(v, "cluster_selection_epsilon"),
                field(v, "n_clusters"),
                100.0 * noise as f64 / rows.max(1) as f64,
                if v["assign_noise"] == Value::Bool(true) {
                    " (assigned to nearest)"
                } else {
                    ""
                },
                seconds(v),
            )
        }
        ArtifactKind::Labels => format!(
            "{id}  {} · {} labels{}",
            field(v, "labeler"),
            field(v, "n_labels"),
            seconds(v)
        ),
        ArtifactKind::Scope => {
            let labels = match v["cluster_labels_id"].as_str() {
                Some("default") | None => format!("{}-labels-default", field(v, "cluster_id")),
                Some(l) => l.to_string(),
            };
            format!(
                "{id}  {:?}: {} → {} → {} → {labels} · {} rows",
                v["label"].as_str().unwrap_or(""),
                field(v, "embedding_id"),
                field(v, "umap_id"),
                field(v, "cluster_id"),
                field(v, "rows"),
            )
        }
    }
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let meta = ds.meta();
    outln!(
        "dataset {}: {} rows, columns {}; text column {:?}{}",
        ds.id(),
        meta.length,
        meta.columns.join(", "),
        meta.text_column,
        meta.created_at
            .as_deref()
            .map_or(String::new(), |c| format!("; created {c}"))
    );
    let artifacts = ds.artifacts()?;
    for (kind, heading) in [
        (ArtifactKind::Embedding, "embeddings:"),
        (ArtifactKind::Umap, "umaps:"),
        (ArtifactKind::Cluster, "clusters:"),
        (ArtifactKind::Scope, "scopes:"),
    ] {
        outln!("{heading}");
        for a in artifacts.iter().filter(|a| a.kind == kind) {
            match &a.state {
                ArtifactState::Unfinished => outln!(
                    "  {}  unfinished (interrupted, or running now; the same command with the same options resumes it)",
                    a.id
                ),
                ArtifactState::Unreadable(reason) if a.record.is_null() => {
                    outln!("  {}  unreadable: {reason}", a.id)
                }
                _ => outln!("  {}", describe(a, meta.length)),
            }
            print_names(a)?;
            if kind != ArtifactKind::Cluster || a.state == ArtifactState::Unfinished {
                continue;
            }
            if a.files
                .iter()
                .any(|f| f.name.ends_with("-labels-default.parquet"))
            {
                outln!("    {}-labels-default  default names (\"Cluster N\")", a.id);
            }
            for l in artifacts
                .iter()
                .filter(|l| l.kind == ArtifactKind::Labels && l.parents.contains(&a.id))
            {
                match &l.state {
                    ArtifactState::Finished => {
                        let first =
                            l.id.parse()
                                .ok()
                                .and_then(|id| ds.read_labels(id).ok())
                                .and_then(|rows| rows.first().map(|r| r.label.clone()))
                                .unwrap_or_default();
                        outln!("    {}, e.g. {first:?}", describe(l, meta.length));
                        print_names(l)?;
                    }
                    ArtifactState::Unfinished => outln!("    {}  unfinished", l.id),
                    ArtifactState::Unreadable(reason) => {
                        outln!("    {}  unreadable: {reason}", l.id)
                    }
                }
            }
        }
    }
    let tags = ds.tags()?;
    if !tags.is_empty() {
        outln!("tags:");
        for tag in tags {
            let n = ds.tag_rows(&tag).map(|r| r.len()).unwrap_or(0);
            outln!("  {tag}  {n} rows");
        }
    }
    if ds
        .store()
        .exists(&ds.key(latentscope::pipeline::RUN_FILE))?
    {
        outln!(
            "made by `latentscope run` (its record: {}/{})",
            ds.id(),
            latentscope::pipeline::RUN_FILE
        );
    }
    Ok(())
}
