//! HDBSCAN on the raw points of a `.npy` file (n × d float32/float64), for
//! side-by-side comparisons with the Python peers, which cluster raw
//! coordinates (a umap artifact is scaled to [-1, 1] per axis, which changes
//! the answer). Prints one JSON line with the in-process time.
//!
//! `cargo run --release --example hdbscan_npy -- points.npy MIN_CLUSTER_SIZE MIN_SAMPLES out.npy`

use std::time::Instant;

use latentscope::NoProgress;
use latentscope::hdbscan::{HdbscanParams, hdbscan};
use latentscope::io::npy::{read_npy, write_npy_i64};
use latentscope::ndarray::ArrayView2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err("usage: hdbscan_npy points.npy MIN_CLUSTER_SIZE MIN_SAMPLES out.npy".into());
    }
    let points = read_npy(args[1].as_ref())?;
    let shape = points.shape.clone();
    let data = points.into_f32();
    let view = ArrayView2::from_shape((shape[0], shape[1]), &data)?;
    let params = HdbscanParams::new(args[2].parse()?).with_min_samples(args[3].parse()?);
    let started = Instant::now();
    let result = hdbscan(view, &params, &NoProgress)?;
    let seconds = started.elapsed().as_secs_f64();
    write_npy_i64(args[4].as_ref(), &result.labels)?;
    let noise =
        result.labels.iter().filter(|&&l| l < 0).count() as f64 / result.labels.len().max(1) as f64;
    println!(
        "{{\"rows\": {}, \"clusters\": {}, \"noise\": {noise:.4}, \"cluster_s\": {seconds:.4}}}",
        result.labels.len(),
        result.n_clusters
    );
    Ok(())
}
