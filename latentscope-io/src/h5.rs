//! HDF5 embeddings (the `hdf5` feature): the Python latent-scope 0.x keeps
//! an embedding as `embeddings/embedding-NNN.h5`, one 2-D dataset named
//! `embeddings` (rows × dimensions, float32; float16 and float64 are read
//! too, contiguous or chunked, compressed or not). Reading converts to
//! `f32` through HDF5 itself; writing makes a contiguous, uncompressed
//! float32 dataset, under a temporary name renamed into place.

use std::path::Path;

use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// The dataset name the Python tool writes.
pub const EMBEDDINGS_DATASET: &str = "embeddings";

fn malformed(path: &Path, message: impl Into<String>) -> Error {
    Error::Malformed {
        path: path.display().to_string(),
        line: 0,
        message: message.into(),
    }
}

fn hdf5_error(path: &Path, e: hdf5::Error) -> Error {
    Error::format(path.display().to_string(), e.to_string())
}

/// The 2-D datasets of a file, by path (for an error that lists them).
fn datasets_in(group: &hdf5::Group, prefix: &str, out: &mut Vec<String>) {
    if let Ok(names) = group.member_names() {
        for name in names {
            let full = format!("{prefix}/{name}");
            if let Ok(ds) = group.dataset(&name) {
                out.push(format!("{full} {:?}", ds.shape()));
            } else if let Ok(sub) = group.group(&name) {
                datasets_in(&sub, &full, out);
            }
        }
    }
}

/// Reads the matrix `dataset` (default [`EMBEDDINGS_DATASET`]) of an `.h5`
/// file. A file that is not HDF5, a missing dataset (the error lists those
/// there are), a dataset that is not 2-D or not floating point, are errors
/// naming the file.
pub fn read_h5_matrix(path: &Path, dataset: Option<&str>) -> Result<Matrix> {
    if !path.exists() {
        return Err(Error::NotFound {
            path: path.display().to_string(),
        });
    }
    let name = dataset.unwrap_or(EMBEDDINGS_DATASET);
    // HDF5 prints its own error stack to stderr unless told not to.
    hdf5::silence_errors(true);
    let file = hdf5::File::open(path)
        .map_err(|e| malformed(path, format!("not an HDF5 file we can read ({e})")))?;
    let ds = file.dataset(name).map_err(|_| {
        let mut found = Vec::new();
        datasets_in(&file, "", &mut found);
        malformed(
            path,
            format!(
                "no dataset {name:?}; it holds {}",
                if found.is_empty() {
                    "no datasets".to_string()
                } else {
                    found.join(", ")
                }
            ),
        )
    })?;
    let shape = ds.shape();
    if shape.len() != 2 {
        return Err(malformed(
            path,
            format!("dataset {name:?} has shape {shape:?}; expected rows × dimensions"),
        ));
    }
    let dtype = ds.dtype().map_err(|e| hdf5_error(path, e))?;
    let descriptor = dtype.to_descriptor().map_err(|e| hdf5_error(path, e))?;
    let float = matches!(descriptor, hdf5::types::TypeDescriptor::Float(_));
    if !float {
        return Err(malformed(
            path,
            format!("dataset {name:?} holds {descriptor}, not floating-point numbers"),
        ));
    }
    let (rows, cols) = (shape[0], shape[1]);
    let data: Vec<f32> = ds.read_raw::<f32>().map_err(|e| hdf5_error(path, e))?;
    if data.len() != rows * cols {
        return Err(malformed(
            path,
            format!("read {} values for {rows} × {cols}", data.len()),
        ));
    }
    Ok(Matrix { data, rows, cols })
}

/// Writes `m` as `path`, a contiguous float32 dataset named
/// [`EMBEDDINGS_DATASET`] (as the Python tool writes it), under a temporary
/// name renamed into place.
pub fn write_h5_matrix(path: &Path, m: &Matrix) -> Result<()> {
    let tmp = path.with_extension("h5.tmp");
    let result = (|| {
        hdf5::silence_errors(true);
        let file = hdf5::File::create(&tmp).map_err(|e| hdf5_error(&tmp, e))?;
        let ds = file
            .new_dataset::<f32>()
            .shape((m.rows, m.cols))
            .create(EMBEDDINGS_DATASET)
            .map_err(|e| hdf5_error(&tmp, e))?;
        ds.write_raw(&m.data).map_err(|e| hdf5_error(&tmp, e))?;
        drop(ds);
        file.close().map_err(|e| hdf5_error(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
