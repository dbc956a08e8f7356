//! API providers (OpenAI, Mistral, Ollama, OpenAI-compatible servers): the
//! pieces shared by every provider. So far the retry policy; the HTTP
//! client, the embedders and the chat client build on it.

pub mod retry;
