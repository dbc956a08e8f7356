//! LLM cluster labels: `latentscope label <dataset> <cluster> --labeler
//! openai:gpt-4o-mini` (also `mistral:…`, `ollama:…`,
//! `openai-compatible:<model>@<url>`), through [`ChatClient`].
//!
//! Each cluster is one request. The system message says what the labels are
//! for (with the user's `--context`); the user message gives the cluster's
//! size, its class-based TF-IDF keywords and exemplar rows the label driver
//! chose in embedding space (nearest the centroid, then diverse), cut to a
//! budget that fits a 4k-token context. The answer is JSON with `label`
//! (required) and `description`, asked as a JSON schema where the endpoint
//! takes one, else JSON mode, else plain text. Labels are kept as the model
//! wrote them, trimmed.
//!
//! A second pass ([`Labeler::distinguish`]) finds labels that collide (equal
//! once normalised, or nearly equal by their embeddings with the built-in
//! static model) and asks once per group for distinct names; an answer that
//! cannot be used keeps the first labels. A cluster whose request fails
//! keeps its keyword label (the driver does that, and records the error).

use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;

use latentscope_core::label::{
    ClusterLabel, ClusterSample, LabelError, Labeler, Labelled, RequestEstimate, async_trait,
};
use serde_json::{Map, Value, json};

use super::Provider;
use super::chat::{ChatClient, ChatRequest};
use super::tokens::Counter;

/// The prompt's version, recorded with every labels artifact.
pub const PROMPT_VERSION: &str = "1 (2026-12-02)";

/// Tokens an answer may take.
const ANSWER_TOKENS: u32 = 300;
/// Tokens of exemplar text in one prompt (with the instructions, keywords
/// and the answer, within a 4k-token context).
const EXEMPLAR_BUDGET: usize = 2400;
/// Tokens of one exemplar, at most.
const EXEMPLAR_TOKENS: usize = 200;
/// Exemplars in one prompt, at most.
const MAX_EXEMPLARS: usize = 12;
/// Exemplars per cluster in a rename request.
const RENAME_EXEMPLARS: usize = 3;
/// Rename requests in flight at once (cloud providers).
const RENAME_CONCURRENCY: usize = 4;
/// Clusters in one rename prompt, at most.
const RENAME_GROUP: usize = 12;
/// Label embeddings at least this similar (cosine, static model) collide.
const NEAR_DUPLICATE: f32 = 0.8;

/// An LLM that names clusters.
#[derive(Debug)]
pub struct LlmLabeler {
    spec: String,
    chat: ChatClient,
    counter: Counter,
    rename_groups: AtomicU64,
    renames_unusable: AtomicU64,
}

impl LlmLabeler {
    /// A labeler asking `chat`; `spec` is recorded as its name.
    pub fn new(spec: impl Into<String>, chat: ChatClient) -> Self {
        let counter = Counter::for_model(chat.provider(), chat.model());
        Self {
            spec: spec.into(),
            chat,
            counter,
            rename_groups: AtomicU64::new(0),
            renames_unusable: AtomicU64::new(0),
        }
    }

    /// A labeler for `--dry-run` only: it counts what `spec` would be sent,
    /// needs no key and can send nothing (its endpoint is a placeholder).
    pub fn estimator(spec: &str) -> Option<Self> {
        let (provider, model) = Provider::parse_spec(spec)?;
        let endpoint = super::Endpoint::new(provider, "http://dry-run.invalid", None);
        let http =
            super::http::HttpClient::new(Default::default(), std::time::Duration::from_secs(1))
                .ok()?;
        Some(Self::new(
            spec,
            ChatClient::new(endpoint, model.to_string(), http),
        ))
    }

    /// The system message.
    pub fn system_prompt(context: &str) -> String {
        let mut s = String::from(
            "You name clusters of a text dataset. People explore a map of the dataset where each cluster is drawn with its name, so a name must say what sets the cluster apart, in 2 to 5 words: specific rather than generic (\"Django REST APIs\", not \"Software\"), with no quotes and no words like \"cluster\" or \"texts about\".\n\
             Answer with JSON only: {\"label\": the name, \"description\": one sentence on what the rows have in common}.",
        );
        if !context.trim().is_empty() {
            s.push_str("\nAbout the dataset: ");
            s.push_str(context.trim());
        }
        s
    }

    /// The user message for one cluster: its size, keywords and exemplars
    /// within the budget.
    pub fn user_prompt(&self, cluster: &ClusterSample<'_>) -> String {
        let mut s = format!("A cluster of {} rows.\n", cluster.size());
        if !cluster.keywords.is_empty() {
            s.push_str(&format!(
                "Distinctive keywords: {}\n",
                cluster.keywords.join(", ")
            ));
        }
        s.push_str("Representative rows:\n");
        let mut budget = EXEMPLAR_BUDGET;
        for text in cluster.texts.iter().take(MAX_EXEMPLARS) {
            let text = self.cut(text, EXEMPLAR_TOKENS);
            let tokens = self.counter.count(&text);
            if tokens > budget {
                break;
            }
            budget -= tokens;
            s.push_str("- ");
            s.push_str(&text.replace('\n', " "));
            s.push('\n');
        }
        s
    }

    /// `text` cut to about `max` tokens.
    fn cut(&self, text: &str, max: usize) -> String {
        if let Some(cut) = self.counter.truncate(text, max) {
            return cut + "…";
        }
        if self.counter.is_exact() || text.len() <= max * 4 {
            return text.to_string();
        }
        let mut end = max * 4;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    }

    fn error(&self, message: impl Into<String>) -> LabelError {
        LabelError::Backend {
            backend: self.spec.clone(),
            message: message.into(),
        }
    }

    /// Asks for distinct names for one group of colliding clusters; `None`
    /// when the answer cannot be used.
    async fn rename(&self, group: &[&Labelled<'_>], context: &str) -> Option<Vec<String>> {
        let mut user = String::from(
            "These clusters got names that are the same or nearly so. Give each a distinct name of 2 to 5 words that says what sets it apart from the others.\n",
        );
        for (i, l) in group.iter().enumerate() {
            user.push_str(&format!(
                "\nCluster {i}: named \"{}\", {} rows.\nKeywords: {}\nRows:\n",
                l.label.label,
                l.sample.size(),
                l.sample.keywords.join(", ")
            ));
            for text in l.sample.texts.iter().take(RENAME_EXEMPLARS) {
                user.push_str(&format!("- {}\n", self.cut(text, 60).replace('\n', " ")));
            }
        }
        user.push_str("\nAnswer with JSON only: {\"names\": [{\"cluster\": number, \"label\": new name}, …]}, one entry per cluster.");
        let schema = json!({
            "type": "object",
            "properties": {"names": {"type": "array", "items": {
                "type": "object",
                "properties": {"cluster": {"type": "integer"}, "label": {"type": "string"}},
                "required": ["cluster", "label"],
                "additionalProperties": false
            }}},
            "required": ["names"],
            "additionalProperties": false
        });
        let request = ChatRequest::new(Self::system_prompt(context), user)
            .with_schema("distinct_cluster_names", schema)
            .with_max_tokens(ANSWER_TOKENS + 40 * group.len() as u32);
        let answer = self.chat.chat(&request).await.ok()?;
        let value = json_object(&answer.text)?;
        let mut names = vec![None; group.len()];
        for item in value.get("names")?.as_array()? {
            let i = usize::try_from(item.get("cluster")?.as_u64()?).ok()?;
            let label = item.get("label")?.as_str()?.trim();
            if i < names.len() && !label.is_empty() {
                names[i] = Some(label.to_string());
            }
        }
        let names: Vec<String> = names.into_iter().collect::<Option<_>>()?;
        let mut keys: Vec<String> = names.iter().map(|n| normalise(n)).collect();
        keys.sort();
        keys.dedup();
        (keys.len() == names.len()).then_some(names)
    }
}

#[async_trait]
impl Labeler for LlmLabeler {
    fn name(&self) -> &str {
        &self.spec
    }

    fn params(&self) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("model".into(), self.spec.clone().into());
        p.insert("prompt_version".into(), PROMPT_VERSION.into());
        p.insert("max_answer_tokens".into(), ANSWER_TOKENS.into());
        p.insert("exemplar_budget_tokens".into(), EXEMPLAR_BUDGET.into());
        p.insert("temperature".into(), 0.into());
        p
    }

    async fn label(&self, cluster: &ClusterSample<'_>) -> Result<ClusterLabel, LabelError> {
        let schema = json!({
            "type": "object",
            "properties": {"label": {"type": "string"}, "description": {"type": "string"}},
            "required": ["label", "description"],
            "additionalProperties": false
        });
        let request = ChatRequest::new(
            Self::system_prompt(cluster.context),
            self.user_prompt(cluster),
        )
        .with_schema("cluster_label", schema)
        .with_max_tokens(ANSWER_TOKENS);
        let answer = self
            .chat
            .chat(&request)
            .await
            .map_err(|e| self.error(e.to_string()))?;
        parse_label(&answer.text).map_err(|m| self.error(m))
    }

    async fn distinguish(
        &self,
        labelled: &[Labelled<'_>],
    ) -> Result<Vec<ClusterLabel>, LabelError> {
        let mut out: Vec<ClusterLabel> = labelled.iter().map(|l| l.label.clone()).collect();
        let names: Vec<String> = out.iter().map(|l| l.label.clone()).collect();
        let context = labelled.first().map_or("", |l| l.sample.context);
        let groups = collisions(&names).await;
        // At most a dozen clusters in one rename prompt, in even parts.
        let mut parts: Vec<Vec<usize>> = Vec::new();
        for g in &groups {
            let size = g.len().div_ceil(g.len().div_ceil(RENAME_GROUP));
            parts.extend(g.chunks(size).map(<[usize]>::to_vec));
        }
        // Groups are asked side by side, as many at once as first labels.
        let in_flight = self.concurrency().unwrap_or(RENAME_CONCURRENCY);
        let asks = parts.into_iter().map(|group| async move {
            let members: Vec<&Labelled<'_>> = group.iter().map(|&i| &labelled[i]).collect();
            (group, self.rename(&members, context).await)
        });
        let mut answers = futures::stream::iter(asks).buffer_unordered(in_flight);
        while let Some((group, answer)) = answers.next().await {
            self.rename_groups.fetch_add(1, Ordering::Relaxed);
            match answer {
                Some(new) => {
                    for (&i, name) in group.iter().zip(new) {
                        out[i].label = name;
                    }
                }
                None => {
                    self.renames_unusable.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(out)
    }

    fn concurrency(&self) -> Option<usize> {
        let provider = self.chat.provider();
        (provider == Provider::Ollama).then(|| provider.limits().concurrency)
    }

    fn usage(&self) -> Map<String, Value> {
        let c = self.chat.http().counters();
        let (prompt, completion) = self.chat.tokens_used();
        let mut u = Map::new();
        u.insert("requests".into(), c.requests.load(Ordering::Relaxed).into());
        u.insert("retries".into(), c.retries.load(Ordering::Relaxed).into());
        u.insert(
            "rate_limited".into(),
            c.rate_limited.load(Ordering::Relaxed).into(),
        );
        u.insert("prompt_tokens".into(), prompt.into());
        u.insert("completion_tokens".into(), completion.into());
        u.insert("answer_mode".into(), self.chat.mode().as_str().into());
        u.insert(
            "rename_groups".into(),
            self.rename_groups.load(Ordering::Relaxed).into(),
        );
        u.insert(
            "rename_answers_unusable".into(),
            self.renames_unusable.load(Ordering::Relaxed).into(),
        );
        u
    }

    fn estimate(&self, cluster: &ClusterSample<'_>) -> Option<RequestEstimate> {
        let prompt = Self::system_prompt(cluster.context) + &self.user_prompt(cluster);
        Some(RequestEstimate {
            // Each message carries a few tokens of framing.
            prompt_tokens: self.counter.count(&prompt) as u64 + 8,
            max_answer_tokens: ANSWER_TOKENS as u64,
        })
    }
}

/// The first JSON object in `text` (code fences and chatter around it
/// allowed).
fn json_object(text: &str) -> Option<Map<String, Value>> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    match serde_json::from_str::<Value>(text.get(start..=end)?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A label from an answer: JSON with `label` (and `description`), or, from
/// an endpoint without JSON output, a plain first line.
pub fn parse_label(text: &str) -> Result<ClusterLabel, String> {
    let text = text.trim();
    if text.contains('{') {
        let object = json_object(text)
            .ok_or_else(|| format!("the answer is not valid JSON: {}", preview(text)))?;
        let label = object
            .get("label")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| format!("the answer has no label: {}", preview(text)))?;
        let description = object
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim();
        return Ok(ClusterLabel::new(label, description));
    }
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let line = line
        .strip_prefix("Label:")
        .or_else(|| line.strip_prefix("label:"))
        .unwrap_or(line)
        .trim()
        .trim_matches(['"', '\'', '*'])
        .trim();
    if line.is_empty() || line.chars().count() > 100 {
        return Err(format!("the answer is not a label: {}", preview(text)));
    }
    Ok(ClusterLabel::new(line, ""))
}

fn preview(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() {
        cut + "…"
    } else {
        cut
    }
}

/// A label for comparing: lower case, words of letters and digits, a plural
/// `s` dropped.
pub fn normalise(label: &str) -> String {
    label
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem,
            _ => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Groups (of two or more) of labels that collide: equal once normalised,
/// or nearly equal by their embeddings with the built-in static model.
pub async fn collisions(labels: &[String]) -> Vec<Vec<usize>> {
    let n = labels.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let keys: Vec<String> = labels.iter().map(|l| normalise(l)).collect();
    let vectors = embed_labels(&keys).await;
    for i in 0..n {
        for j in i + 1..n {
            let same = keys[i] == keys[j]
                || vectors.as_ref().is_some_and(|v| {
                    v[i].iter().zip(&v[j]).map(|(a, b)| a * b).sum::<f32>() >= NEAR_DUPLICATE
                });
            if same {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// Unit-length embeddings of `labels` with the built-in static model
/// (`None` if it cannot run, leaving exact matches only).
async fn embed_labels(labels: &[String]) -> Option<Vec<Vec<f32>>> {
    use latentscope_core::embed::Embedder;
    let model =
        crate::static_model::builtin::load(&latentscope_core::EmbedConfig::default()).ok()?;
    let mut vectors = model.embed(labels).await.ok()?;
    for v in &mut vectors {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    Some(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_json_in_fences_or_as_a_plain_line() {
        let l = parse_label(
            "```json\n{\"label\": \" Django REST APIs \", \"description\": \"Web APIs.\"}\n```",
        )
        .unwrap();
        assert_eq!(
            (l.label.as_str(), l.description.as_str()),
            ("Django REST APIs", "Web APIs.")
        );
        assert_eq!(
            parse_label("Label: \"Async runtimes\"\n").unwrap().label,
            "Async runtimes"
        );
        assert!(
            parse_label("{\"description\": \"no label\"}")
                .unwrap_err()
                .contains("no label")
        );
        assert!(
            parse_label("{\"label\": \"cut off")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(parse_label("   ").is_err());
    }

    #[test]
    fn labels_collide_when_equal_once_normalised_or_nearly_equal() {
        let labels: Vec<String> = [
            "Web Frameworks",
            "web framework",
            "Machine learning models",
            "Date and time parsing",
            "web-frameworks!",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let groups = futures::executor::block_on(collisions(&labels));
        assert_eq!(groups, vec![vec![0, 1, 4]]);
        assert_eq!(normalise("Web-Frameworks  "), "web framework");
    }
}
