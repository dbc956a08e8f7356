//! Whole numbers in JSON bodies: JSON Schema counts `206.0` as an integer,
//! so a row index or an offset may arrive written as a float; it is taken
//! when its value is a whole number ≥ 0 and refused otherwise.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

fn whole<E: serde::de::Error>(n: &serde_json::Number) -> Result<u64, E> {
    if let Some(v) = n.as_u64() {
        return Ok(v);
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Ok(f as u64),
        _ => Err(E::custom(format!("{n} is not a whole number ≥ 0"))),
    }
}

/// A list of whole numbers.
pub(crate) fn vec_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    Vec::<serde_json::Number>::deserialize(d)?
        .iter()
        .map(whole)
        .collect()
}

/// One whole number as a `usize`.
pub(crate) fn usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = whole(&serde_json::Number::deserialize(d)?)?;
    usize::try_from(n).map_err(|_| D::Error::custom(format!("{n} is too large")))
}

/// An optional whole number as a `usize`.
pub(crate) fn opt_usize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => {
            let n = whole(&n)?;
            usize::try_from(n)
                .map(Some)
                .map_err(|_| D::Error::custom(format!("{n} is too large")))
        }
    }
}

/// `value` (or `default` when absent), refused above `max`.
pub(crate) fn at_most(
    value: Option<usize>,
    default: usize,
    max: usize,
    name: &str,
) -> crate::ApiResult<usize> {
    match value {
        Some(v) if v > max => Err(crate::ApiError::bad_request(format!(
            "{name}={v} is too large: at most {max}"
        ))),
        v => Ok(v.unwrap_or(default)),
    }
}

/// An optional list of whole numbers.
pub(crate) fn opt_vec_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u64>>, D::Error> {
    match Option::<Vec<serde_json::Number>>::deserialize(d)? {
        None => Ok(None),
        Some(v) => v.iter().map(whole).collect::<Result<_, _>>().map(Some),
    }
}
