//! Prints `docs/api.md`, the HTTP API as Markdown, from the OpenAPI document
//! the handlers' annotations make:
//!
//! ```text
//! cargo run -p latentscope-server --example api_doc > docs/api.md
//! ```
fn main() {
    print!("{}", latentscope_server::api_markdown());
}
