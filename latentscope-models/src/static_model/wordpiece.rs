//! A fast path for BERT's uncased WordPiece tokenizer on ASCII text (most
//! rows of most datasets): clean-up, lower-casing, splitting on whitespace
//! and punctuation, and greedy longest-match WordPiece, with no
//! allocation per token. Text with any non-ASCII character goes to the
//! `tokenizers` crate instead (accents, CJK and Unicode punctuation need its
//! tables), so the ids always equal the reference tokenizer's; a test checks
//! that on real rows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde_json::Value;

/// FNV-1a: fast for the short keys of a vocabulary.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

type Map = HashMap<Box<[u8]>, u32, BuildHasherDefault<Fnv>>;

/// The uncased BERT WordPiece tokenizer, for ASCII input.
pub(crate) struct AsciiWordPiece {
    /// Pieces that start a word.
    first: Map,
    /// Continuation pieces, without their `##`.
    rest: Map,
    /// The `[UNK]` id.
    unk: u32,
    /// Longer words become `[UNK]`.
    max_chars: usize,
    /// The longest piece, in bytes (bounds the greedy search).
    longest: usize,
}

impl AsciiWordPiece {
    /// Builds the fast path from a `tokenizer.json`, if it is an uncased
    /// BERT WordPiece tokenizer (BertNormalizer lower-casing, BertPreTokenizer,
    /// WordPiece with the `##` prefix); `None` otherwise.
    pub(crate) fn from_tokenizer_json(json: &Value) -> Option<Self> {
        let normalizer = &json["normalizer"];
        let ok = normalizer["type"] == "BertNormalizer"
            && normalizer["lowercase"] == Value::Bool(true)
            && normalizer["clean_text"] != Value::Bool(false)
            && json["pre_tokenizer"]["type"] == "BertPreTokenizer"
            && json["model"]["type"] == "WordPiece"
            && json["model"]["continuing_subword_prefix"]
                .as_str()
                .unwrap_or("##")
                == "##";
        if !ok {
            return None;
        }
        let model = &json["model"];
        let vocab = model["vocab"].as_object()?;
        let unk = vocab.get(model["unk_token"].as_str()?)?.as_u64()? as u32;
        let max_chars = model["max_input_chars_per_word"].as_u64().unwrap_or(100) as usize;
        if max_chars >= 128 {
            return None; // longer than the word buffer of the fast path
        }
        let (mut first, mut rest) = (Map::default(), Map::default());
        let mut longest = 0;
        for (token, id) in vocab {
            let id = id.as_u64()? as u32;
            match token.strip_prefix("##") {
                Some(piece) => {
                    longest = longest.max(piece.len());
                    rest.insert(piece.as_bytes().into(), id);
                }
                None => {
                    longest = longest.max(token.len());
                    first.insert(token.as_bytes().into(), id);
                }
            }
        }
        Some(Self {
            first,
            rest,
            unk,
            max_chars,
            longest,
        })
    }

    /// Appends the ids of `text` to `ids` and returns true, or returns false
    /// (leaving `ids` as it was) when `text` is not ASCII.
    pub(crate) fn encode(&self, text: &str, ids: &mut Vec<u32>) -> bool {
        if !text.is_ascii() {
            return false;
        }
        let mut word = [0u8; 128];
        let mut len = 0usize;
        let mut too_long = false;
        let flush = |word: &[u8], too_long: bool, ids: &mut Vec<u32>| {
            if !word.is_empty() {
                if too_long {
                    ids.push(self.unk);
                } else {
                    self.word_pieces(word, ids);
                }
            }
        };
        for &b in text.as_bytes() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    flush(&word[..len.min(128)], too_long, ids);
                    len = 0;
                    too_long = false;
                }
                // Control characters (and NUL) are dropped by clean-up.
                0..=31 | 127 => {}
                b'!'..=b'/' | b':'..=b'@' | b'['..=b'`' | b'{'..=b'~' => {
                    flush(&word[..len.min(128)], too_long, ids);
                    len = 0;
                    too_long = false;
                    self.word_pieces(&[b], ids);
                }
                _ => {
                    if len < word.len() {
                        word[len] = b.to_ascii_lowercase();
                    }
                    len += 1;
                    if len > self.max_chars {
                        too_long = true;
                    }
                }
            }
        }
        flush(&word[..len.min(128)], too_long, ids);
        true
    }

    /// Greedy longest-match WordPiece of one lower-cased word; the whole
    /// word is `[UNK]` when a part matches no piece.
    fn word_pieces(&self, word: &[u8], ids: &mut Vec<u32>) {
        if let Some(&id) = self.first.get(word) {
            ids.push(id);
            return;
        }
        let mark = ids.len();
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 { &self.first } else { &self.rest };
            let mut end = word.len().min(start + self.longest);
            let mut found = None;
            while end > start {
                if let Some(&id) = map.get(&word[start..end]) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    ids.push(id);
                    start = end;
                }
                None => {
                    ids.truncate(mark);
                    ids.push(self.unk);
                    return;
                }
            }
        }
    }
}
