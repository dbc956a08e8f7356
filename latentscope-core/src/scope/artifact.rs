//! The scope's files: `scopes-NNN.json` and the tile indices of
//! `scopes-NNN.parquet`, as the Python tool computes them.

use latentscope_io::json;
use serde_json::Value;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::ids::{NumberedId, ScopeId};

/// The cell of a point in an `n × n` grid over [-1, 1]² (row-major from
/// the bottom-left), as the Python tool computes `tile_index_64/128`.
pub(crate) fn tile_index(x: f32, y: f32, n: i64) -> i64 {
    let cell = |v: f32| (((v as f64 + 1.0) / 2.0 * n as f64).floor() as i64).clamp(0, n - 1);
    cell(y) * n + cell(x)
}

pub(super) fn json_of(ds: &Dataset, key: &str) -> Result<Value> {
    Ok(json::read_json(ds.store().as_ref(), &ds.key(key))?)
}

impl Dataset {
    /// The record of a scope (`scopes-NNN.json`) as JSON.
    pub fn scope_json(&self, id: ScopeId) -> Result<Value> {
        self.require(id)?;
        json_of(self, &format!("{}/{id}.json", ScopeId::FOLDER))
    }
}

#[cfg(test)]
mod tests {
    use super::tile_index;

    #[test]
    fn tile_index_matches_the_python_tool() {
        // Values read off the Python fixture's scopes-001.parquet, row 0.
        assert_eq!(tile_index(-0.278_398_1, -0.346_582_17, 64), 1303);
        assert_eq!(tile_index(-0.278_398_1, -0.346_582_17, 128), 5294);
        assert_eq!(tile_index(1.0, 1.0, 64), 64 * 64 - 1);
        assert_eq!(tile_index(-1.0, -1.0, 128), 0);
    }
}
