//! Measures similarity search on one embedding: the exact scan's latency,
//! the HNSW graph's build time, latency and recall@10 against the exact
//! answer, and writing and reading the graph back.
//!
//! ```text
//! cargo run --release -p latentscope-server --example search_bench -- DATA_DIR DATASET EMBEDDING [QUERIES]
//! ```
//! Queries are rows of the embedding (spread evenly); each query's own row is
//! left out of both answers, so recall counts true neighbours only. Recall is
//! given two ways: by row (the exact answer's rows found) and by distance (as
//! ann-benchmarks counts it: a row found is right when it is no farther than
//! the exact k-th, which counts a tie among duplicate texts as found).
//! `HNSW_M` and `HNSW_EFC` override the build parameters.

use std::time::Instant;

use latentscope_core::{DataDir, EmbeddingId};
use latentscope_server::search::hnsw::{HnswIndex, HnswParams, IndexRecord};
use latentscope_server::search::{exact, unit_rows};

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: search_bench DATA_DIR DATASET EMBEDDING [QUERIES]".into());
    }
    let queries: usize = args.get(3).map_or(Ok(500), |q| q.parse())?;
    let ds = DataDir::open(&args[0]).dataset(&args[1])?;
    let id: EmbeddingId = args[2].parse()?;
    let started = Instant::now();
    let mut m = ds.read_embedding(id)?;
    unit_rows(&mut m.data, m.cols);
    let (rows, cols) = (m.rows, m.cols);
    println!(
        "{rows} rows × {cols}: read in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let picks: Vec<usize> = (0..queries).map(|i| i * rows / queries).collect();
    let row = |r: usize| &m.data[r * cols..(r + 1) * cols];

    let k = 10;
    let mut truth = Vec::new();
    let mut exact_ms = Vec::new();
    for &q in &picks {
        let t = Instant::now();
        let found = exact(&m.data, cols, row(q), k + 1);
        exact_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let found: Vec<(usize, f32)> = found.into_iter().filter(|f| f.0 != q).take(k).collect();
        truth.push(found);
    }
    println!(
        "exact ({} threads): p50 {:.1} ms, p99 {:.1} ms",
        rayon::current_num_threads(),
        percentile(exact_ms.clone(), 0.5),
        percentile(exact_ms, 0.99)
    );

    let mut params = HnswParams::default();
    if let Ok(m) = std::env::var("HNSW_M") {
        params.connections = m.parse()?;
    }
    if let Ok(e) = std::env::var("HNSW_EFC") {
        params.ef_construction = e.parse()?;
    }
    // HNSW_LOAD=1: the graph `latentscope index` wrote for this embedding.
    let t = Instant::now();
    let (index, build_s) = if std::env::var_os("HNSW_LOAD").is_some() {
        let dir = std::path::Path::new(&args[0])
            .join(&args[1])
            .join("indexes");
        let record = HnswIndex::record(&dir, &args[2])?.ok_or("no index: run latentscope index")?;
        params = record.params;
        let index = HnswIndex::load(&dir, &args[2], &record)?;
        println!(
            "hnsw {params:?}: built by latentscope index in {:.1} s, loaded in {:.1} s",
            record.build_seconds,
            t.elapsed().as_secs_f64()
        );
        (index, record.build_seconds)
    } else {
        let index = HnswIndex::build(&m.data, cols, params, &|_| {});
        let build_s = t.elapsed().as_secs_f64();
        println!("hnsw {params:?}: built in {build_s:.1} s");
        (index, build_s)
    };
    let efs: Vec<usize> = std::env::var("HNSW_EF")
        .ok()
        .map(|s| s.split(',').filter_map(|e| e.parse().ok()).collect())
        .unwrap_or_else(|| vec![32, 64, params.ef_search, 128, 192]);
    for ef in efs {
        let index = index.with_ef_search(ef);
        let mut hits = 0;
        let mut close = 0;
        let mut ms = Vec::new();
        for (&q, want) in picks.iter().zip(&truth) {
            let t = Instant::now();
            let found = index.search(row(q), k + 1);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            let got: Vec<(usize, f32)> = found.into_iter().filter(|f| f.0 != q).take(k).collect();
            hits += got
                .iter()
                .filter(|g| want.iter().any(|w| w.0 == g.0))
                .count();
            let kth = want.last().map_or(f32::NEG_INFINITY, |w| w.1);
            close += got.iter().filter(|g| g.1 >= kth - 1e-6).count();
        }
        println!(
            "hnsw ef_search {ef}: recall@10 by row {:.4}, by distance {:.4}, p50 {:.2} ms, p99 {:.2} ms",
            hits as f64 / (k * picks.len()) as f64,
            close as f64 / (k * picks.len()) as f64,
            percentile(ms.clone(), 0.5),
            percentile(ms, 0.99)
        );
    }
    if std::env::var_os("HNSW_LOAD").is_some() {
        return Ok(());
    }
    let dir = std::env::temp_dir().join("latentscope-search-bench");
    let record = IndexRecord {
        embedding: id.to_string(),
        rows,
        dimensions: cols,
        embedding_bytes: 0,
        params,
        build_seconds: build_s,
        graph_file: Default::default(),
        data_file: Default::default(),
    };
    let t = Instant::now();
    let record = index.save(&dir, "bench", &record)?;
    println!("saved in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let back = HnswIndex::load(&dir, "bench", &record)?;
    println!(
        "loaded in {:.1} s ({} rows)",
        t.elapsed().as_secs_f64(),
        back.rows()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
