//! JSON metadata files in a [`Store`] (`meta.json`, `<artifact>.json`).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::store::Store;

/// Reads and parses a JSON object.
pub fn read_json<T: DeserializeOwned>(store: &dyn Store, key: &str) -> Result<T> {
    let bytes = store.get(key)?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: key.to_string(),
        source,
    })
}

/// Serialises `value` as pretty JSON.
pub fn to_json_bytes<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: key.to_string(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(store: &dyn Store, key: &str, value: &T) -> Result<()> {
    store.put(key, &to_json_bytes(key, value)?)
}
