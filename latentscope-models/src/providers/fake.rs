//! A local stand-in for the providers' servers, for tests (cargo feature
//! `fake-server`): a small HTTP/1.1 server on 127.0.0.1 that speaks
//! OpenAI's and Ollama's embeddings and chat formats, logs every request,
//! and answers as a test's script says, including what real servers do on
//! bad days: error statuses with their headers, slow answers, connections
//! reset mid-request and bodies cut short.
//!
//! ```no_run
//! use latentscope_models::providers::fake::{FakeServer, Reply};
//! // Every fifth request is rate limited, the others answered.
//! let server = FakeServer::start(|call| {
//!     if call.n % 5 == 4 {
//!         Reply::status(429, r#"{"error":{"message":"slow down"}}"#).header("retry-after-ms", "5")
//!     } else {
//!         Reply::Answer
//!     }
//! })?;
//! println!("OPENAI_BASE_URL={}/v1", server.url());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Call {
    /// Its number, from 0, in the order requests arrived.
    pub n: usize,
    /// `POST`, `GET`.
    pub method: String,
    /// The path (`/v1/embeddings`, `/api/embed`).
    pub path: String,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
    /// The JSON body (`null` when there was none or it was not JSON).
    pub body: Value,
    /// The status answered (0 for a reset or cut-off connection).
    pub status: u16,
}

impl Call {
    /// The texts of an embeddings request (`input`).
    pub fn inputs(&self) -> Vec<String> {
        match &self.body["input"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The right answer for the path: vectors for an embeddings request
    /// (see [`FakeServer::vector`]), `{"label": …}` for a chat: the first
    /// of the `Distinctive keywords: ` the prompt lists, else its first word.
    Answer,
    /// An embeddings answer with one vector too few.
    OneVectorShort,
    /// An embeddings answer whose vectors are `dims` long.
    Dimensions(usize),
    /// A chat answer with this text and `finish_reason`/`done_reason`.
    Chat(String, &'static str),
    /// A status with headers and a raw body.
    Status(u16, Vec<(String, String)>, String),
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
    /// Close the connection after reading the request, answering nothing.
    Reset,
    /// Send the headers of a 200 and part of its body, then close.
    Truncated,
}

impl Reply {
    /// A status with a JSON (or any) body.
    pub fn status(status: u16, body: &str) -> Self {
        Reply::Status(
            status,
            vec![("content-type".into(), "application/json".into())],
            body.into(),
        )
    }

    /// Adds a header to a [`Reply::Status`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Status(_, headers, _) = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// This reply after `ms` milliseconds.
    pub fn after_ms(self, ms: u64) -> Self {
        Reply::Delay(Duration::from_millis(ms), Box::new(self))
    }
}

type Script = dyn Fn(&Call) -> Reply + Send + Sync;

/// The running server; stops when dropped.
pub struct FakeServer {
    url: String,
    log: Arc<Mutex<Vec<Call>>>,
    _runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("url", &self.url)
            .finish()
    }
}

/// The length of the vectors answered when a request names none.
pub const DEFAULT_DIMENSIONS: usize = 8;

impl FakeServer {
    /// Starts a server on a free loopback port that answers each request as
    /// `script` says.
    pub fn start(script: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let log = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let (log2, script2) = (log.clone(), script.clone());
        runtime.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (log, script) = (log2.clone(), script2.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, &log, script.as_ref()).await;
                });
            }
        });
        Ok(Self {
            url,
            log,
            _runtime: runtime,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The vector answered for `text`: its row number (the digits after
    /// `row `, else its length in bytes), then 1, then zeros.
    pub fn vector(text: &str, dims: usize) -> Vec<f32> {
        let number = text
            .split("row ")
            .nth(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|d| d.parse::<f32>().ok())
            .unwrap_or(text.len() as f32);
        let mut v = vec![0f32; dims];
        if dims > 0 {
            v[0] = number;
        }
        if dims > 1 {
            v[1] = 1.0;
        }
        v
    }
}

async fn serve(mut socket: TcpStream, log: &Mutex<Vec<Call>>, script: &Script) -> io::Result<()> {
    let (method, path, headers, body) = read_request(&mut socket).await?;
    let authorization = headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone());
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = {
        let mut log = log.lock().map_err(|_| io::Error::other("log poisoned"))?;
        let n = log.len();
        log.push(Call {
            n,
            method,
            path,
            authorization,
            body,
            status: 0,
        });
        log.len() - 1
    };
    let call = log.lock().map_err(|_| io::Error::other("log poisoned"))?[n].clone();
    let mut reply = script(&call);
    while let Reply::Delay(wait, inner) = reply {
        tokio::time::sleep(wait).await;
        reply = *inner;
    }
    let (status, headers, body) = match reply {
        Reply::Reset => {
            socket.set_zero_linger()?;
            return Ok(());
        }
        Reply::Truncated => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n{\"data\":[{\"ind";
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
            return Ok(());
        }
        Reply::Status(status, headers, body) => (status, headers, body),
        other => (
            200,
            vec![("content-type".into(), "application/json".into())],
            answer(&call, &other).to_string(),
        ),
    };
    if let Ok(mut log) = log.lock() {
        log[n].status = status;
    }
    let mut head = format!(
        "HTTP/1.1 {status} Fake\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await?;
    socket.flush().await?;
    socket.shutdown().await
}

/// The 200 answer of `reply` to `call`, shaped by its path.
fn answer(call: &Call, reply: &Reply) -> Value {
    let ollama = call.path.starts_with("/api/");
    if call.path.ends_with("/chat") || call.path.ends_with("/chat/completions") {
        let (text, finish) = match reply {
            Reply::Chat(text, finish) => (text.clone(), *finish),
            _ => {
                let user = call.body["messages"][1]["content"]
                    .as_str()
                    .unwrap_or_default();
                let keyword = user
                    .lines()
                    .find_map(|l| l.strip_prefix("Distinctive keywords: "))
                    .and_then(|k| k.split(", ").next());
                let word = keyword
                    .or(user.split_whitespace().next())
                    .unwrap_or("label");
                (json!({"label": word}).to_string(), "stop")
            }
        };
        return if ollama {
            json!({"model": call.body["model"], "message": {"role": "assistant", "content": text},
                   "done": true, "done_reason": finish, "prompt_eval_count": 50, "eval_count": 5})
        } else {
            json!({"id": "chatcmpl-fake", "object": "chat.completion",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                   "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}})
        };
    }
    let inputs = call.inputs();
    let asked = call.body["dimensions"]
        .as_u64()
        .or(call.body["output_dimension"].as_u64())
        .map(|d| d as usize);
    let dims = match reply {
        Reply::Dimensions(d) => *d,
        _ => asked.unwrap_or(DEFAULT_DIMENSIONS),
    };
    let mut vectors: Vec<Vec<f32>> = inputs.iter().map(|t| FakeServer::vector(t, dims)).collect();
    if matches!(reply, Reply::OneVectorShort) {
        vectors.pop();
    }
    if ollama {
        return json!({"model": call.body["model"], "embeddings": vectors, "prompt_eval_count": inputs.len()});
    }
    let base64 = call.body["encoding_format"] == "base64";
    // Listed in reverse, as nothing promises the order: the index does.
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .rev()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    json!({"object": "list", "data": data, "model": call.body["model"],
           "usage": {"prompt_tokens": inputs.len() * 3, "total_tokens": inputs.len() * 3}})
}

/// Reads one request: method, path, lower-cased headers and body.
async fn read_request(
    socket: &mut TcpStream,
) -> io::Result<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "request cut short",
            ));
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((method, path, headers, body))
}
