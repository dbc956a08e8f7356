//! Reading an embedding from Parquet and from HDF5 (the `hdf5` feature):
//! the Parquet file given, the same matrix written as we write `.h5`
//! (contiguous float32), and any other `.h5` files given (gzip-chunked ones
//! written by h5py); best of three reads each.
//!
//! `cargo run --release -p latentscope-io --features hdf5 --example h5_bench -- embedding-001.parquet [other.h5 …]`

use std::path::Path;
use std::time::Instant;

use latentscope_io::LocalStore;
use latentscope_io::h5::{read_h5_matrix, write_h5_matrix};
use latentscope_io::matrix::read_matrix;

fn best_of_three(what: &str, read: impl Fn() -> latentscope_io::Matrix) {
    let mut best = f64::MAX;
    let mut shape = (0, 0);
    for _ in 0..3 {
        let t = Instant::now();
        let m = read();
        best = best.min(t.elapsed().as_secs_f64());
        shape = (m.rows, m.cols);
    }
    println!("{what}: {} × {}: best of 3 {:.3} s", shape.0, shape.1, best);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parquet = Path::new(args.first().ok_or("give an embedding .parquet")?);
    let (store, key) = LocalStore::for_file(parquet);
    best_of_three("parquet", || {
        read_matrix(&store, &key, "embedding").unwrap()
    });
    let m = read_matrix(&store, &key, "embedding")?;
    let h5 = std::env::temp_dir().join("latentscope-h5-bench.h5");
    let t = Instant::now();
    write_h5_matrix(&h5, &m)?;
    println!(
        "h5 written (contiguous float32) in {:.3} s",
        t.elapsed().as_secs_f64()
    );
    best_of_three("h5 contiguous", || read_h5_matrix(&h5, None).unwrap());
    for other in &args[1..] {
        best_of_three(other, || read_h5_matrix(Path::new(other), None).unwrap());
    }
    std::fs::remove_file(&h5)?;
    Ok(())
}
