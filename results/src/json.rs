//! Writing a results file: indented JSON with its floats rounded, as every
//! results file is written; and the one function that creates folders.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Creates a folder (and its parents) and returns it.
pub fn create_dir(path: PathBuf) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(path)
}

/// Reads a results file.
pub fn read<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a results file", path.display()))
}

/// The newest `bench-<date>.json` in `dir`: the dates sort as text.
pub fn newest_bench(dir: &Path) -> Option<PathBuf> {
    let files = fs::read_dir(dir).ok()?.flatten().map(|e| e.path());
    files
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            name.is_some_and(|n| n.starts_with("bench-") && n.ends_with(".json"))
        })
        .max()
}

/// Writes `value` as indented JSON and returns what the file now says.
/// Floats are rounded to three decimals, more than any figure here
/// deserves, and whole ones are written as integers, as the files always
/// had them.
pub fn write_json<T: Serialize + DeserializeOwned>(path: &Path, value: &T) -> anyhow::Result<T> {
    let text = serde_json::to_string_pretty(&rounded_tree(value)?)? + "\n";
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    rounded(value)
}

/// `value` as its file says it: floats to three decimals.
pub fn rounded<T: Serialize + DeserializeOwned>(value: &T) -> anyhow::Result<T> {
    Ok(serde_json::from_value(rounded_tree(value)?)?)
}

fn rounded_tree(value: &impl Serialize) -> anyhow::Result<Value> {
    fn round(value: &mut Value) {
        match value {
            Value::Number(n) if n.is_f64() => {
                let x = (n.as_f64().unwrap_or(0.0) * 1000.0).round() / 1000.0;
                let whole = x.fract() == 0.0 && x.abs() < 1e15;
                *value = if whole { (x as i64).into() } else { x.into() };
            }
            Value::Array(items) => items.iter_mut().for_each(round),
            Value::Object(fields) => fields.values_mut().for_each(round),
            _ => {}
        }
    }
    let mut tree = serde_json::to_value(value)?;
    round(&mut tree);
    Ok(tree)
}
