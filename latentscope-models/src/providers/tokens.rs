//! Token counts for batching and `--dry-run`: exact for OpenAI's models
//! (tiktoken's `cl100k_base`, the tokenizer of text-embedding-3 and ada-002,
//! `o200k_base` for gpt-4o and later; cargo feature `openai`), otherwise
//! approximate (a token per four bytes, rounded up), and said to be.

/// How a provider's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// OpenAI's `cl100k_base` (embedding models, gpt-4 and gpt-3.5).
    Cl100k,
    /// OpenAI's `o200k_base` (gpt-4o, gpt-4.1, o-series and later).
    O200k,
    /// One token per four bytes of UTF-8, rounded up.
    Approximate,
}

impl Counter {
    /// The counter for a provider's model: exact for OpenAI's own models
    /// when this build has the `openai` feature.
    pub fn for_model(provider: super::Provider, model: &str) -> Self {
        if provider != super::Provider::OpenAi || !cfg!(feature = "openai") {
            return Counter::Approximate;
        }
        let o200k = ["gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4"];
        if o200k.iter().any(|p| model.starts_with(p)) {
            Counter::O200k
        } else {
            Counter::Cl100k
        }
    }

    /// Whether counts are exact.
    pub fn is_exact(self) -> bool {
        self != Counter::Approximate
    }

    /// The tokens in `text`.
    pub fn count(self, text: &str) -> usize {
        match self.bpe() {
            Some(bpe) => bpe.encode_ordinary(text).len(),
            None => text.len().div_ceil(4),
        }
    }

    /// `text` cut to its first `max` tokens and decoded, or `None` when it
    /// is no longer than that (or the counter is approximate: then the
    /// server's own limit applies).
    pub fn truncate(self, text: &str, max: usize) -> Option<String> {
        let bpe = self.bpe()?;
        let tokens = bpe.encode_ordinary(text);
        if tokens.len() <= max {
            return None;
        }
        // A cut inside a multi-byte character decodes lossily; drop tokens
        // until the bytes are whole UTF-8.
        let mut end = max;
        while end > 0 {
            if let Ok(cut) = bpe.decode(&tokens[..end]) {
                return Some(cut);
            }
            end -= 1;
        }
        Some(String::new())
    }

    #[cfg(feature = "openai")]
    fn bpe(self) -> Option<&'static tiktoken_rs::CoreBPE> {
        match self {
            Counter::Cl100k => Some(tiktoken_rs::cl100k_base_singleton()),
            Counter::O200k => Some(tiktoken_rs::o200k_base_singleton()),
            Counter::Approximate => None,
        }
    }

    #[cfg(not(feature = "openai"))]
    fn bpe(self) -> Option<&'static Never> {
        None
    }
}

#[cfg(not(feature = "openai"))]
#[derive(Debug)]
enum Never {}

#[cfg(not(feature = "openai"))]
impl Never {
    fn encode_ordinary(&self, _: &str) -> Vec<u32> {
        match *self {}
    }
    fn decode(&self, _: &[u32]) -> Result<String, ()> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approximate_counts_round_up_by_four_bytes() {
        assert_eq!(Counter::Approximate.count(""), 0);
        assert_eq!(Counter::Approximate.count("abcde"), 2);
        assert_eq!(Counter::Approximate.truncate("abcde", 1), None);
    }

    #[cfg(feature = "openai")]
    #[test]
    fn openai_counts_are_tiktokens_and_truncation_decodes_whole_text() {
        // "hello world" is two cl100k tokens.
        assert_eq!(Counter::Cl100k.count("hello world"), 2);
        assert_eq!(Counter::Cl100k.truncate("hello world", 2), None);
        assert_eq!(
            Counter::Cl100k.truncate("hello world", 1).as_deref(),
            Some("hello")
        );
        let long = "é".repeat(50);
        let cut = Counter::Cl100k.truncate(&long, 7).unwrap();
        assert!(long.starts_with(&cut) && Counter::Cl100k.count(&cut) <= 7);
        assert_eq!(
            Counter::for_model(crate::providers::Provider::OpenAi, "gpt-4o-mini"),
            Counter::O200k
        );
    }
}
