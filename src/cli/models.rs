//! `latentscope models`: the model specs and labelers this build has, and
//! the models cached on this machine.

use anyhow::Result;
use latentscope::label::LabelerRegistry;

use super::outln;

pub(crate) fn execute() -> Result<()> {
    let registry = latentscope::models::registry();
    outln!("Model specs this build understands:");
    for entry in registry.entries() {
        match &entry.missing_feature {
            None => outln!("  {:<10} {}", entry.spec, entry.description),
            Some(feature) => outln!(
                "  {:<10} (not in this build: cargo feature `{feature}`) {}",
                entry.spec,
                entry.description
            ),
        }
        for example in &entry.examples {
            outln!("             e.g. {example}");
        }
    }
    outln!("Default: {}", latentscope::models::DEFAULT_MODEL);
    outln!("Labelers (`latentscope label --labeler …`):");
    for entry in LabelerRegistry::default().entries() {
        outln!("  {:<10} {}", entry.name, entry.description);
    }
    let cached = latentscope::models::locate::cached_models();
    if cached.is_empty() {
        outln!("No models cached on this machine (scripts/fetch-model fetches all-MiniLM-L6-v2).");
    } else {
        outln!("Cached on this machine:");
        for (name, dir) in cached {
            outln!("  {name:<45} {}", dir.display());
        }
    }
    Ok(())
}
