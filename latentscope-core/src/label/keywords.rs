//! The keywords labeler: class-based TF-IDF over each cluster's rows against
//! the whole dataset. Texts are split into Unicode words (lower-cased,
//! English stop words, numbers and one-letter words dropped) and bigrams of
//! adjacent kept words. A term's weight in a cluster is its share of the
//! cluster's rows `p_c` times the log of its lift over the dataset,
//! `ln(p_c / p)`: terms most rows of the cluster share and few rows outside
//! it. The label is the top three terms (a bigram replaces its own words);
//! the first is, where one exists, a term in at least a fifth of the
//! cluster's rows and at least twice as common there as overall, so a
//! person scanning the map can check it against the rows.

/// Maps keyed by the terms and their ids (a fast hash: what the labels
/// say does not depend on it).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use serde_json::{Map, Value};

use super::stopwords::is_stop_word;
use super::{ClusterLabel, ClusterSample, LabelError, Labeler, async_trait};

/// Terms in a label.
const LABEL_TERMS: usize = 3;
/// Terms listed in a description.
const DESCRIPTION_TERMS: usize = 8;

/// Class-based TF-IDF keywords, fitted on a dataset's texts.
#[derive(Debug)]
pub struct KeywordsLabeler {
    /// Term strings by id.
    terms: Vec<String>,
    /// Rows containing each term.
    df: Vec<u32>,
    /// Each row's distinct term ids.
    row_terms: Vec<Vec<u32>>,
    /// The rows' texts, for the description's example.
    texts: Vec<String>,
    /// For a bigram id, its two word ids.
    parts: HashMap<u32, (u32, u32)>,
}

/// Calls `f` with each lower-cased Unicode word of `text`, in order; stop
/// words, numbers and one-letter words come as `None` (a bigram never spans
/// them). `lower` is a buffer the words are lower-cased in (kept between
/// calls so that a word costs no allocation).
fn each_word(text: &str, lower: &mut String, mut f: impl FnMut(Option<&str>)) {
    let split = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty());
    for w in split {
        lower.clear();
        if w.is_ascii() {
            lower.extend(w.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            lower.push_str(&w.to_lowercase());
        }
        let w = lower.strip_suffix("'s").unwrap_or(lower);
        let keep =
            w.chars().nth(1).is_some() && !w.chars().all(|c| c.is_numeric()) && !is_stop_word(w);
        f(keep.then_some(w));
    }
}

/// The words of `text` as [`each_word`] gives them.
#[cfg(test)]
fn words(text: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    each_word(text, &mut String::new(), |w| {
        out.push(w.map(str::to_string))
    });
    out
}

/// Term ids by first occurrence: words by their text, bigrams by their two
/// words' ids (so a repeated bigram costs one lookup of two numbers).
#[derive(Default)]
struct Terms {
    words: HashMap<String, u32>,
    bigrams: HashMap<(u32, u32), u32>,
    text: Vec<String>,
}

impl Terms {
    fn word(&mut self, w: &str) -> u32 {
        if let Some(&id) = self.words.get(w) {
            return id;
        }
        let id = self.text.len() as u32;
        self.words.insert(w.to_string(), id);
        self.text.push(w.to_string());
        id
    }

    fn bigram(&mut self, a: u32, b: u32) -> u32 {
        let next = self.text.len() as u32;
        let id = *self.bigrams.entry((a, b)).or_insert(next);
        if id == next {
            let t = format!("{} {}", self.text[a as usize], self.text[b as usize]);
            self.text.push(t);
        }
        id
    }
}

impl KeywordsLabeler {
    /// Fits the labeler on every row's text (row order = input order).
    pub fn fit(texts: &[String]) -> Self {
        let mut terms = Terms::default();
        let mut lower = String::new();
        let mut row_terms = Vec::with_capacity(texts.len());
        for text in texts {
            let mut row: Vec<u32> = Vec::new();
            let mut prev: Option<u32> = None;
            each_word(text, &mut lower, |w| match w {
                Some(w) => {
                    let id = terms.word(w);
                    row.push(id);
                    if let Some(p) = prev {
                        row.push(terms.bigram(p, id));
                    }
                    prev = Some(id);
                }
                None => prev = None,
            });
            row.sort_unstable();
            row.dedup();
            row_terms.push(row);
        }
        let mut df = vec![0u32; terms.text.len()];
        for row in &row_terms {
            for &t in row {
                df[t as usize] += 1;
            }
        }
        let parts = terms.bigrams.iter().map(|(&ab, &id)| (id, ab)).collect();
        Self {
            terms: terms.text,
            df,
            row_terms,
            texts: texts.to_vec(),
            parts,
        }
    }

    /// The cluster's terms, best first, with their share of the cluster's
    /// rows and their lift over the dataset.
    fn ranked(&self, rows: &[u64]) -> Vec<(u32, f64, f64, f64)> {
        let n_all = self.row_terms.len().max(1) as f64;
        let n = rows.len().max(1) as f64;
        let mut counts: HashMap<u32, u32> = HashMap::default();
        for &r in rows {
            if let Some(terms) = self.row_terms.get(r as usize) {
                for &t in terms {
                    *counts.entry(t).or_default() += 1;
                }
            }
        }
        let mut scored: Vec<(u32, f64, f64, f64)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= 2 || rows.len() < 4)
            .map(|(t, c)| {
                let share = c as f64 / n;
                let lift = share / (self.df[t as usize] as f64 / n_all);
                (t, share * lift.max(1.0).ln(), share, lift)
            })
            .filter(|&(_, score, _, _)| score > 0.0)
            .collect();
        scored.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.terms[a.0 as usize].cmp(&self.terms[b.0 as usize]))
        });
        scored
    }

    /// Picks up to `k` terms: the first checkable (share ≥ 1/5, lift ≥ 2)
    /// where possible; a word gives way to a bigram holding it that covers
    /// most of its rows ("machine learning" over "learning"); no term
    /// overlaps another.
    fn pick(&self, ranked: &[(u32, f64, f64, f64)], k: usize) -> Vec<u32> {
        let checkable = |share: f64, lift: f64| share >= 0.2 && lift >= 2.0;
        let widen = |t: u32, share: f64, need_check: bool| -> u32 {
            if self.parts.contains_key(&t) {
                return t;
            }
            ranked
                .iter()
                .filter(|&&(b, _, s, l)| {
                    self.parts.get(&b).is_some_and(|&(x, y)| x == t || y == t)
                        && s >= 0.6 * share
                        && (!need_check || checkable(s, l))
                })
                .max_by(|a, b| a.2.total_cmp(&b.2))
                .map_or(t, |b| b.0)
        };
        let mut chosen: Vec<u32> = Vec::new();
        if let Some(&(t, _, share, _)) = ranked.iter().find(|&&(_, _, s, l)| checkable(s, l)) {
            chosen.push(widen(t, share, true));
        }
        for &(t, _, share, _) in ranked {
            if chosen.len() >= k {
                break;
            }
            let t = widen(t, share, false);
            if !chosen.contains(&t) && !chosen.iter().any(|&c| self.overlaps(c, t)) {
                chosen.push(t);
            }
        }
        chosen
    }

    /// Whether two terms share a word (a bigram and one of its words, two
    /// bigrams with a common word), counting a plural as its singular
    /// ("test" and "tests").
    fn overlaps(&self, a: u32, b: u32) -> bool {
        let words = |t: u32| match self.parts.get(&t) {
            Some(&(x, y)) => vec![self.singular(x), self.singular(y)],
            None => vec![self.singular(t)],
        };
        let (wa, wb) = (words(a), words(b));
        wa.iter().any(|w| wb.contains(w))
    }

    /// A word without a plural `s` (`agents` → `agent`; `class`, `bus` kept).
    fn singular(&self, t: u32) -> &str {
        let w = self.terms[t as usize].as_str();
        match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem,
            _ => w,
        }
    }

    /// The row that holds most of `terms` (shortest on ties): an example.
    fn example(&self, rows: &[u64], terms: &[u32]) -> Option<&str> {
        rows.iter()
            .filter_map(|&r| Some((r, self.row_terms.get(r as usize)?)))
            .max_by_key(|(r, row)| {
                let hits = terms
                    .iter()
                    .filter(|t| row.binary_search(t).is_ok())
                    .count();
                (hits, std::cmp::Reverse(self.texts[*r as usize].len()))
            })
            .map(|(r, _)| self.texts[r as usize].as_str())
    }

    /// The cluster's `k` most distinctive terms, best first (what the
    /// label is made of; LLM labelers put them in their prompt).
    pub fn keywords(&self, rows: &[u64], k: usize) -> Vec<String> {
        let ranked = self.ranked(rows);
        self.pick(&ranked, k)
            .iter()
            .map(|&t| self.terms[t as usize].clone())
            .collect()
    }

    /// Labels the cluster made of `rows` (synchronous form of
    /// [`Labeler::label`]).
    pub fn label_rows(&self, rows: &[u64]) -> ClusterLabel {
        let ranked = self.ranked(rows);
        let chosen = self.pick(&ranked, LABEL_TERMS);
        let label = if chosen.is_empty() {
            "(no distinctive words)".to_string()
        } else {
            chosen
                .iter()
                .map(|&t| self.terms[t as usize].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let listed: Vec<String> = self
            .pick(&ranked, DESCRIPTION_TERMS)
            .iter()
            .map(|&t| {
                let (_, _, share, _) = ranked
                    .iter()
                    .find(|r| r.0 == t)
                    .copied()
                    .unwrap_or_default();
                format!("{} ({:.0}%)", self.terms[t as usize], share * 100.0)
            })
            .collect();
        let mut description = format!(
            "{} rows. Distinctive terms: {}.",
            rows.len(),
            listed.join(", ")
        );
        if let Some(example) = self.example(rows, &chosen) {
            let short: String = example.chars().take(160).collect();
            let more = if short.len() < example.len() {
                "…"
            } else {
                ""
            };
            description.push_str(&format!(" Example: \"{short}{more}\""));
        }
        ClusterLabel::new(label, description)
    }
}

#[async_trait]
impl Labeler for KeywordsLabeler {
    fn name(&self) -> &str {
        "keywords"
    }

    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "method".into(),
            "c-TF-IDF (row share × ln lift), unigrams and bigrams".into(),
        );
        m.insert("label_terms".into(), LABEL_TERMS.into());
        m
    }

    fn reads_texts(&self) -> bool {
        false // fitted on every row already
    }

    async fn label(&self, cluster: &ClusterSample<'_>) -> Result<ClusterLabel, LabelError> {
        Ok(self.label_rows(cluster.rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_stop_words_numbers_and_single_letters() {
        let w: Vec<String> = words("The Fast JSON parser for Rust, v2 and 3 x's café!")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(w, ["fast", "json", "parser", "rust", "v2", "café"]);
    }

    #[test]
    fn a_cluster_is_named_by_its_distinctive_terms() {
        let mut texts: Vec<String> = (0..40)
            .map(|i| format!("a web framework for building apps number {i}"))
            .collect();
        texts.extend((0..40).map(|i| {
            let rest = [
                "models for tabular data",
                "with deep nets",
                "pipelines",
                "experiments tracking",
            ];
            format!("machine learning {} {i}", rest[i % 4])
        }));
        texts.extend((0..40).map(|i| format!("tools for building web scrapers {i}")));
        let k = KeywordsLabeler::fit(&texts);
        let ml: Vec<u64> = (40..80).collect();
        let label = k.label_rows(&ml);
        assert!(label.label.starts_with("machine learning"), "{label:?}");
        assert!(label.description.starts_with("40 rows."), "{label:?}");
        let web: Vec<u64> = (0..40).collect();
        let l = k.label_rows(&web);
        assert!(l.label.contains("framework"), "{l:?}");
        assert!(!l.label.contains("for"), "stop words never label: {l:?}");
    }
}
