//! `latentscope show <dataset>`: every artifact with its key parameters,
//! row counts and parents, so a user sees what they tried. Reads our
//! directories and the Python latent-scope's alike (fields are read
//! loosely; what we cannot read is named as such).

use anyhow::Result;
use latentscope::io::{Store, json};
use latentscope::{ClusterId, Dataset, EmbeddingId, NumberedId, ScopeId, UmapId};
use serde_json::Value;

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

fn read(store: &dyn Store, key: &str) -> Value {
    json::read_json::<Value>(store, key).unwrap_or(Value::Null)
}

/// Ids claimed (a run started) but never finished.
fn unfinished<I: NumberedId>(ds: &Dataset) -> Result<Vec<String>> {
    let finished: Vec<String> = ds
        .artifact_ids::<I>()?
        .iter()
        .map(|i| i.to_string())
        .collect();
    let mut out: Vec<String> = ds
        .store()
        .list(&ds.key(I::FOLDER))?
        .into_iter()
        .filter_map(|e| {
            e.name
                .strip_prefix('.')?
                .strip_suffix(".claim")
                .map(str::to_string)
        })
        .filter(|id| id.parse::<I>().is_ok() && !finished.contains(id))
        .collect();
    out.sort();
    Ok(out)
}

pub(crate) fn show(store: std::sync::Arc<dyn Store>, dataset: &str) -> Result<()> {
    let ds = Dataset::open(store, dataset)?;
    let s = ds.store().as_ref();
    let meta = ds.meta();
    println!(
        "dataset {}: {} rows, columns {}; text column {:?}{}",
        ds.id(),
        meta.length,
        meta.columns.join(", "),
        meta.text_column,
        meta.created_at
            .as_deref()
            .map_or(String::new(), |c| format!("; created {c}"))
    );

    println!("embeddings:");
    for id in ds.artifact_ids::<EmbeddingId>()? {
        let v = read(s, &ds.key(&format!("{}/{id}.json", EmbeddingId::FOLDER)));
        let folder = EmbeddingId::FOLDER;
        let vectors = if s.exists(&ds.key(&format!("{folder}/{id}.parquet")))? {
            "vectors: Parquet"
        } else if s.exists(&ds.key(&format!("{folder}/{id}.h5")))? {
            "vectors: HDF5 (needs the `hdf5` feature)"
        } else {
            "vectors: not here (the Python tool 1.0 keeps them in LanceDB, which this build cannot read)"
        };
        println!(
            "  {id}  {} · {} dims · column {} · prefix {:?} · {} rows{} · {vectors}",
            v["model_spec"]
                .as_str()
                .map_or_else(|| field(&v, "model_id"), str::to_string),
            field(&v, "dimensions"),
            field(&v, "text_column"),
            v["prefix"].as_str().unwrap_or(""),
            v["rows"].as_u64().unwrap_or(meta.length),
            seconds(&v),
        );
    }
    for id in unfinished::<EmbeddingId>(&ds)? {
        println!(
            "  {id}  unfinished (interrupted; `latentscope embed` with the same options resumes it)"
        );
    }

    println!("umaps:");
    for id in ds.artifact_ids::<UmapId>()? {
        let v = read(s, &ds.key(&format!("{}/{id}.json", UmapId::FOLDER)));
        let params = &v["params"];
        println!(
            "  {id}  from {} · {} · neighbors {} · min_dist {} · seed {} · init {}{}",
            field(&v, "embedding_id"),
            v["method"].as_str().unwrap_or("umap"),
            field(&v, "neighbors"),
            field(&v, "min_dist"),
            if params["seed"].is_null() {
                field(&v, "seed")
            } else {
                field(params, "seed")
            },
            if params["init_used"].is_null() {
                field(&v, "init")
            } else {
                field(params, "init_used")
            },
            seconds(&v),
        );
    }

    println!("clusters:");
    for id in ds.artifact_ids::<ClusterId>()? {
        let v = read(s, &ds.key(&format!("{}/{id}.json", ClusterId::FOLDER)));
        let noise = v["n_noise"].as_u64().unwrap_or(0);
        println!(
            "  {id}  from {} · {} min_cluster_size {} min_samples {} epsilon {} · {} clusters, {noise} noise ({:.1}%){}{}",
            field(&v, "umap_id"),
            field(&v, "method"),
            field(&v, "samples"),
            field(&v, "min_samples"),
            field(&v, "cluster_selection_epsilon"),
            field(&v, "n_clusters"),
            100.0 * noise as f64 / meta.length.max(1) as f64,
            if v["assign_noise"] == Value::Bool(true) {
                " (assigned to nearest)"
            } else {
                ""
            },
            seconds(&v),
        );
        for labels in ds.labels_ids(id)? {
            match labels.number() {
                None => println!("    {labels}  default names (\"Cluster N\")"),
                Some(_) => {
                    let l = read(s, &ds.key(&format!("{}/{labels}.json", ClusterId::FOLDER)));
                    let first = ds
                        .read_labels(labels)
                        .ok()
                        .and_then(|rows| rows.first().map(|r| r.label.clone()))
                        .unwrap_or_default();
                    println!(
                        "    {labels}  {} · {} labels, e.g. {first:?}{}",
                        field(&l, "labeler"),
                        field(&l, "n_labels"),
                        seconds(&l)
                    );
                }
            }
        }
    }

    println!("scopes:");
    for id in ds.artifact_ids::<ScopeId>()? {
        let v = read(s, &ds.key(&format!("{}/{id}.json", ScopeId::FOLDER)));
        let labels = match v["cluster_labels_id"].as_str() {
            Some("default") | None => format!("{}-labels-default", field(&v, "cluster_id")),
            Some(l) => l.to_string(),
        };
        println!(
            "  {id}  {:?}: {} → {} → {} → {labels} · {} rows",
            v["label"].as_str().unwrap_or(""),
            field(&v, "embedding_id"),
            field(&v, "umap_id"),
            field(&v, "cluster_id"),
            field(&v, "rows"),
        );
    }

    let tags = ds.tags()?;
    if !tags.is_empty() {
        println!("tags:");
        for tag in tags {
            let n = ds.tag_rows(&tag).map(|r| r.len()).unwrap_or(0);
            println!("  {tag}  {n} rows");
        }
    }
    if s.exists(&ds.key(latentscope::pipeline::RUN_FILE))? {
        println!(
            "made by `latentscope run` (its record: {}/{})",
            ds.id(),
            latentscope::pipeline::RUN_FILE
        );
    }
    Ok(())
}
