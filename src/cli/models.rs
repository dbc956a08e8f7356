//! `latentscope models`: the model specs and labelers this build has, the
//! models cached on this machine, the API providers whose keys are set and
//! the models a local Ollama has.

use anyhow::Result;

use super::outln;

pub(crate) async fn execute(ctx: &super::Context) -> Result<()> {
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
    for entry in latentscope::models::labelers().entries() {
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
    api_providers(ctx).await
}

/// The API providers whose keys are set (never the keys), and the models
/// of the Ollama at `OLLAMA_HOST`.
#[cfg(feature = "ollama")]
async fn api_providers(ctx: &super::Context) -> Result<()> {
    use latentscope::models::providers::{Endpoint, Provider};
    outln!("API providers:");
    for provider in Provider::ALL {
        let Some(variable) = provider.key_variable() else {
            continue;
        };
        match latentscope::models::settings::find(variable, Some(&ctx.dir)) {
            Some((_, source)) => outln!(
                "  {:<18} key {variable} set (in {})",
                provider.name(),
                source.as_str()
            ),
            None if provider.key_required() => {
                outln!("  {:<18} no key: set {variable} to use it", provider.name())
            }
            None => outln!(
                "  {:<18} no key set ({variable}, if the server wants one)",
                provider.name()
            ),
        }
    }
    let Ok((ollama, _)) = Endpoint::resolve(Provider::Ollama, "any", Some(&ctx.dir)) else {
        return Ok(());
    };
    match latentscope::models::providers::ollama_models(&ollama.base_url).await {
        Ok(models) if models.is_empty() => outln!(
            "  ollama             at {}: no models pulled (`ollama pull nomic-embed-text`)",
            ollama.base_url
        ),
        Ok(models) => {
            outln!(
                "  ollama             at {}: {} models",
                ollama.base_url,
                models.len()
            );
            for model in models {
                outln!("                       ollama:{model}");
            }
        }
        Err(e) => outln!("  ollama             none at {} ({e})", ollama.base_url),
    }
    Ok(())
}

#[cfg(not(feature = "ollama"))]
async fn api_providers(_: &super::Context) -> Result<()> {
    Ok(())
}
