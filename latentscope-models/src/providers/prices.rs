//! The dated price table behind `--dry-run`'s cost estimate: US dollars per
//! million tokens, as the providers' pricing pages listed them on
//! [`AS_OF`]. Prices change; the estimate says which date it used, and a
//! model not listed here gets tokens and requests but no cost.

/// When the prices below were taken from the providers' pricing pages.
pub const AS_OF: &str = "2025-06-01";

/// A model's price per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Input (prompt) tokens, or every token of an embedding request.
    pub input: f64,
    /// Output (completion) tokens; 0 for embedding models.
    pub output: f64,
}

/// `(provider, model, price)`: embedding models first, then chat models.
pub const TABLE: &[(&str, &str, Price)] = &[
    (
        "openai",
        "text-embedding-3-small",
        Price {
            input: 0.02,
            output: 0.0,
        },
    ),
    (
        "openai",
        "text-embedding-3-large",
        Price {
            input: 0.13,
            output: 0.0,
        },
    ),
    (
        "openai",
        "text-embedding-ada-002",
        Price {
            input: 0.10,
            output: 0.0,
        },
    ),
    (
        "mistral",
        "mistral-embed",
        Price {
            input: 0.10,
            output: 0.0,
        },
    ),
    (
        "mistral",
        "codestral-embed",
        Price {
            input: 0.15,
            output: 0.0,
        },
    ),
    (
        "openai",
        "gpt-4o-mini",
        Price {
            input: 0.15,
            output: 0.60,
        },
    ),
    (
        "openai",
        "gpt-4o",
        Price {
            input: 2.50,
            output: 10.00,
        },
    ),
    (
        "openai",
        "gpt-4.1-mini",
        Price {
            input: 0.40,
            output: 1.60,
        },
    ),
    (
        "openai",
        "gpt-4.1-nano",
        Price {
            input: 0.10,
            output: 0.40,
        },
    ),
    (
        "mistral",
        "mistral-small-latest",
        Price {
            input: 0.10,
            output: 0.30,
        },
    ),
    (
        "mistral",
        "mistral-large-latest",
        Price {
            input: 2.00,
            output: 6.00,
        },
    ),
];

/// The price of `provider:model`, if listed (a local Ollama costs nothing).
pub fn price(provider: &str, model: &str) -> Option<Price> {
    if provider == "ollama" {
        return Some(Price {
            input: 0.0,
            output: 0.0,
        });
    }
    TABLE
        .iter()
        .find(|(p, m, _)| *p == provider && *m == model)
        .map(|(_, _, price)| *price)
}

/// The cost in US dollars of `input` and `output` tokens at `price`.
pub fn cost(price: Price, input: u64, output: u64) -> f64 {
    (input as f64 * price.input + output as f64 * price.output) / 1e6
}
