//! NumPy `.npy` files: the exchange format of the Python peers for vectors,
//! layouts and labels. Version 1–3 headers, little-endian `f2`, `f4`, `f8`, `i4`,
//! `i8`, C order (2-D Fortran-order arrays are reordered on reading).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// The element type of an `.npy` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NpyDtype {
    /// `<f2` (IEEE half precision)
    F16,
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `<i4`
    I32,
    /// `<i8`
    I64,
}

impl NpyDtype {
    fn size(self) -> usize {
        match self {
            NpyDtype::F16 => 2,
            NpyDtype::F32 | NpyDtype::I32 => 4,
            NpyDtype::F64 | NpyDtype::I64 => 8,
        }
    }
}

/// An array read from an `.npy` file, values widened to `f64`-exact forms.
#[derive(Debug, Clone)]
pub struct NpyArray {
    /// The shape (1-D: `[n]`, 2-D: `[rows, cols]`).
    pub shape: Vec<usize>,
    /// The stored element type.
    pub dtype: NpyDtype,
    raw: Vec<u8>,
}

impl NpyArray {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as `f32` (integers and `f64` converted).
    pub fn to_f32(&self) -> Vec<f32> {
        match self.dtype {
            NpyDtype::F32 => self.chunks::<4>().map(f32::from_le_bytes).collect(),
            NpyDtype::F16 => self
                .chunks::<2>()
                .map(|b| f16_to_f32(u16::from_le_bytes(b)))
                .collect(),
            _ => self.to_f64().into_iter().map(|v| v as f32).collect(),
        }
    }

    /// The values as `f64`.
    pub fn to_f64(&self) -> Vec<f64> {
        match self.dtype {
            NpyDtype::F16 => self
                .chunks::<2>()
                .map(|b| f16_to_f32(u16::from_le_bytes(b)) as f64)
                .collect(),
            NpyDtype::F32 => self
                .chunks::<4>()
                .map(|b| f32::from_le_bytes(b) as f64)
                .collect(),
            NpyDtype::F64 => self.chunks::<8>().map(f64::from_le_bytes).collect(),
            NpyDtype::I32 => self
                .chunks::<4>()
                .map(|b| i32::from_le_bytes(b) as f64)
                .collect(),
            NpyDtype::I64 => self
                .chunks::<8>()
                .map(|b| i64::from_le_bytes(b) as f64)
                .collect(),
        }
    }

    /// The values as `i64` (floats truncated toward zero).
    pub fn to_i64(&self) -> Vec<i64> {
        match self.dtype {
            NpyDtype::I64 => self.chunks::<8>().map(i64::from_le_bytes).collect(),
            NpyDtype::I32 => self
                .chunks::<4>()
                .map(|b| i32::from_le_bytes(b) as i64)
                .collect(),
            _ => self.to_f64().into_iter().map(|v| v as i64).collect(),
        }
    }

    fn chunks<const N: usize>(&self) -> impl Iterator<Item = [u8; N]> + '_ {
        self.raw
            .chunks_exact(N)
            .map(|c| <[u8; N]>::try_from(c).unwrap_or([0; N]))
    }
}

fn malformed(path: &Path, message: impl Into<String>) -> Error {
    Error::Malformed {
        path: path.display().to_string(),
        line: 0,
        message: message.into(),
    }
}

/// Reads an `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::new(file);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .map_err(|_| malformed(path, "not an .npy file (too short)"))?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(malformed(path, "not an .npy file (bad magic)"));
    }
    let header_len = if magic[6] == 1 {
        let mut b = [0u8; 2];
        r.read_exact(&mut b).map_err(|e| Error::io(path, e))?;
        u16::from_le_bytes(b) as usize
    } else {
        let mut b = [0u8; 4];
        r.read_exact(&mut b).map_err(|e| Error::io(path, e))?;
        u32::from_le_bytes(b) as usize
    };
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header).map_err(|e| Error::io(path, e))?;
    let header = String::from_utf8_lossy(&header);
    let field = |name: &str| -> Option<String> {
        let at = header.find(&format!("'{name}'"))?;
        let rest = header[at + name.len() + 2..]
            .trim_start()
            .strip_prefix(':')?;
        Some(rest.trim_start().to_string())
    };
    let descr = field("descr").ok_or_else(|| malformed(path, "header has no 'descr'"))?;
    let dtype = if descr.starts_with("'<f2'") {
        NpyDtype::F16
    } else if descr.starts_with("'<f4'") {
        NpyDtype::F32
    } else if descr.starts_with("'<f8'") {
        NpyDtype::F64
    } else if descr.starts_with("'<i4'") {
        NpyDtype::I32
    } else if descr.starts_with("'<i8'") {
        NpyDtype::I64
    } else {
        return Err(malformed(
            path,
            format!(
                "unsupported dtype {}; use float16, float32, float64, int32 or int64",
                descr.split(',').next().unwrap_or("")
            ),
        ));
    };
    let fortran = field("fortran_order").is_some_and(|v| v.starts_with("True"));
    let shape_text = field("shape").ok_or_else(|| malformed(path, "header has no 'shape'"))?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| malformed(path, "bad 'shape' in header"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| malformed(path, "bad 'shape' in header"))?;
    let count: usize = shape.iter().product();
    let mut raw = vec![0u8; count * dtype.size()];
    r.read_exact(&mut raw)
        .map_err(|_| malformed(path, format!("file shorter than its shape {shape:?}")))?;
    if fortran && shape.len() > 1 {
        // Column-major (what umap-learn's layouts often are): reorder to rows.
        let &[rows, cols] = shape.as_slice() else {
            return Err(malformed(
                path,
                "Fortran-order arrays of more than 2 dimensions are not supported",
            ));
        };
        let size = dtype.size();
        let mut c_order = vec![0u8; raw.len()];
        for (j, column) in raw.chunks_exact(rows.max(1) * size).enumerate() {
            for (i, value) in column.chunks_exact(size).enumerate() {
                let at = (i * cols + j) * size;
                c_order[at..at + size].copy_from_slice(value);
            }
        }
        raw = c_order;
    }
    Ok(NpyArray { shape, dtype, raw })
}

/// Writes a 2-D `f32` matrix (or 1-D when `cols` is `None`) as `.npy` version 1.
pub fn write_npy_f32(path: &Path, data: &[f32], rows: usize, cols: Option<usize>) -> Result<()> {
    let shape = match cols {
        Some(c) => format!("({rows}, {c})"),
        None => format!("({rows},)"),
    };
    write_npy_raw(path, "<f4", &shape, data.len(), |w| {
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Writes a 1-D `i64` array as `.npy` version 1.
pub fn write_npy_i64(path: &Path, data: &[i64]) -> Result<()> {
    write_npy_raw(
        path,
        "<i8",
        &format!("({},)", data.len()),
        data.len(),
        |w| {
            for v in data {
                w.write_all(&v.to_le_bytes())?;
            }
            Ok(())
        },
    )
}

fn write_npy_raw(
    path: &Path,
    descr: &str,
    shape: &str,
    _len: usize,
    body: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(file);
    let result = (|| {
        w.write_all(b"\x93NUMPY\x01\x00")?;
        w.write_all(&(header.len() as u16).to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        body(&mut w)?;
        w.flush()
    })();
    result.map_err(|e| Error::io(path, e))
}

/// Converts IEEE 754 half-precision bits to `f32` (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: renormalise.
            let shift = f.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((f << shift) & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
