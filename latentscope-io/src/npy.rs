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

/// An array read from an `.npy` file, in its stored element type.
#[derive(Debug, Clone)]
pub struct NpyArray {
    /// The shape (1-D: `[n]`, 2-D: `[rows, cols]`).
    pub shape: Vec<usize>,
    /// The stored element type.
    pub dtype: NpyDtype,
    values: Values,
}

/// The values, row-major, as stored (half precision as its bits).
#[derive(Debug, Clone)]
enum Values {
    F16(Vec<u16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
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
        match &self.values {
            Values::F32(v) => v.clone(),
            Values::F16(v) => v.iter().map(|&h| f16_to_f32(h)).collect(),
            _ => self.to_f64().into_iter().map(|v| v as f32).collect(),
        }
    }

    /// The values as `f32`, without a copy when they are stored as `f32`.
    pub fn into_f32(self) -> Vec<f32> {
        match self.values {
            Values::F32(v) => v,
            _ => self.to_f32(),
        }
    }

    /// The values as `f64`.
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.values {
            Values::F16(v) => v.iter().map(|&h| f16_to_f32(h) as f64).collect(),
            Values::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Values::F64(v) => v.clone(),
            Values::I32(v) => v.iter().map(|&x| x as f64).collect(),
            Values::I64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// The values as `i64` (floats truncated toward zero).
    pub fn to_i64(&self) -> Vec<i64> {
        match &self.values {
            Values::I64(v) => v.clone(),
            Values::I32(v) => v.iter().map(|&x| x as i64).collect(),
            _ => self.to_f64().into_iter().map(|v| v as i64).collect(),
        }
    }
}

/// Reads `count` little-endian values straight into their typed buffer
/// (one copy from the file, none after), in row-major order.
fn read_values<T, R>(
    r: &mut R,
    count: usize,
    from_le: fn(T) -> T,
    fortran: Option<(usize, usize)>,
) -> std::io::Result<Vec<T>>
where
    T: bytemuck::Pod,
    R: Read,
{
    let mut v = vec![T::zeroed(); count];
    r.read_exact(bytemuck::cast_slice_mut(&mut v))?;
    if cfg!(target_endian = "big") {
        v.iter_mut().for_each(|x| *x = from_le(*x));
    }
    if let Some((rows, cols)) = fortran {
        // Column-major (what umap-learn's layouts often are): reorder to rows.
        let mut c_order = vec![T::zeroed(); count];
        for (j, column) in v.chunks_exact(rows.max(1)).enumerate() {
            for (i, &value) in column.iter().enumerate() {
                c_order[i * cols + j] = value;
            }
        }
        v = c_order;
    }
    Ok(v)
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
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
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
    let fortran = match (fortran, shape.as_slice()) {
        (true, &[rows, cols]) => Some((rows, cols)),
        (true, s) if s.len() > 2 => {
            return Err(malformed(
                path,
                "Fortran-order arrays of more than 2 dimensions are not supported",
            ));
        }
        _ => None,
    };
    let short =
        |_: std::io::Error| malformed(path, format!("file shorter than its shape {shape:?}"));
    // Checked before allocating: a bad header must not ask for terabytes.
    let body_start = (if magic[6] == 1 { 10 } else { 12 }) + header_len as u64;
    let needed = count.checked_mul(dtype.size()).map(|b| b as u64);
    if needed.is_none_or(|b| b > file_len.saturating_sub(body_start)) {
        return Err(malformed(
            path,
            format!("file shorter than its shape {shape:?}"),
        ));
    }
    let values = match dtype {
        NpyDtype::F16 => {
            Values::F16(read_values(&mut r, count, u16::from_le, fortran).map_err(short)?)
        }
        NpyDtype::F32 => Values::F32(
            read_values(
                &mut r,
                count,
                |x: f32| f32::from_bits(u32::from_le(x.to_bits())),
                fortran,
            )
            .map_err(short)?,
        ),
        NpyDtype::F64 => Values::F64(
            read_values(
                &mut r,
                count,
                |x: f64| f64::from_bits(u64::from_le(x.to_bits())),
                fortran,
            )
            .map_err(short)?,
        ),
        NpyDtype::I32 => {
            Values::I32(read_values(&mut r, count, i32::from_le, fortran).map_err(short)?)
        }
        NpyDtype::I64 => {
            Values::I64(read_values(&mut r, count, i64::from_le, fortran).map_err(short)?)
        }
    };
    Ok(NpyArray {
        shape,
        dtype,
        values,
    })
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
