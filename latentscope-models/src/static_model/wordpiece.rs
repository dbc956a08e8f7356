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

/// Pieces of up to this many bytes are looked up by value: packed into a
/// `u128` (a word's bytes are never 0, so zero padding is unambiguous),
/// with no key pointer to follow and no byte comparison. Pieces of up to 8
/// bytes (four in five of BERT's vocabulary) go in a table of `u64` keys,
/// half the size, small enough to stay in a core's L2 cache.
const PACKED: usize = 16;

/// A hasher for packed keys: one folded multiply.
#[derive(Default)]
pub(crate) struct PackedHasher(u64);

impl Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = fold(self.0 ^ u64::from(b), 0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = fold(key ^ 0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344);
    }
    fn write_u128(&mut self, key: u128) {
        self.0 = fold(
            key as u64 ^ 0x243f_6a88_85a3_08d3,
            (key >> 64) as u64 ^ 0x1319_8a2e_0370_7344,
        );
    }
}

/// The high and low halves of a full product, xored: mixes every input bit
/// into every output bit.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    full as u64 ^ (full >> 64) as u64
}

type Short = HashMap<u64, u32, BuildHasherDefault<PackedHasher>>;
type Packed = HashMap<u128, u32, BuildHasherDefault<PackedHasher>>;
type Long = HashMap<Box<[u8]>, u32>;

/// One side of the vocabulary (word starts, or continuations without `##`).
#[derive(Default)]
struct Pieces {
    short: Short,
    packed: Packed,
    long: Long,
}

impl Pieces {
    fn insert(&mut self, piece: &[u8], id: u32) {
        if piece.len() <= 8 {
            self.short.insert(pack(piece) as u64, id);
        } else if piece.len() <= PACKED {
            self.packed.insert(pack(piece), id);
        } else {
            self.long.insert(piece.into(), id);
        }
    }

    /// The id of `word[start..end]`; `word` has `PACKED` readable bytes
    /// after `start`.
    #[inline]
    fn get(&self, word: &[u8], start: usize, end: usize) -> Option<u32> {
        let n = end - start;
        if n <= 8 {
            let bytes: [u8; 8] = word[start..start + 8].try_into().ok()?;
            let mask = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            };
            self.short.get(&(u64::from_le_bytes(bytes) & mask)).copied()
        } else if n <= PACKED {
            let bytes: [u8; PACKED] = word[start..start + PACKED].try_into().ok()?;
            let mask = if n == PACKED {
                u128::MAX
            } else {
                (1u128 << (8 * n)) - 1
            };
            self.packed
                .get(&(u128::from_le_bytes(bytes) & mask))
                .copied()
        } else {
            self.long.get(&word[start..end]).copied()
        }
    }
}

fn pack(piece: &[u8]) -> u128 {
    let mut bytes = [0u8; PACKED];
    bytes[..piece.len()].copy_from_slice(piece);
    u128::from_le_bytes(bytes)
}

/// The word buffer: the longest word kept plus room for a packed read.
const WORD: usize = 128;

/// The uncased BERT WordPiece tokenizer, for ASCII input.
pub(crate) struct AsciiWordPiece {
    /// Pieces that start a word.
    first: Pieces,
    /// Continuation pieces, without their `##`.
    rest: Pieces,
    /// Ids of one-byte words (punctuation), `u32::MAX` when absent.
    single: [u32; 128],
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
        if max_chars >= WORD {
            return None; // longer than the word buffer of the fast path
        }
        let (mut first, mut rest) = (Pieces::default(), Pieces::default());
        let mut single = [u32::MAX; 128];
        let mut longest = 0;
        for (token, id) in vocab {
            let id = id.as_u64()? as u32;
            match token.strip_prefix("##") {
                Some(piece) => {
                    longest = longest.max(piece.len());
                    rest.insert(piece.as_bytes(), id);
                }
                None => {
                    longest = longest.max(token.len());
                    first.insert(token.as_bytes(), id);
                    if let &[b] = token.as_bytes()
                        && b < 128
                    {
                        single[b as usize] = id;
                    }
                }
            }
        }
        Some(Self {
            first,
            rest,
            single,
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
        let mut word = [0u8; WORD + PACKED];
        let mut len = 0usize;
        for &b in text.as_bytes() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {
                    self.flush(&word, len, ids);
                    len = 0;
                }
                // Control characters (and NUL) are dropped by clean-up.
                0..=31 | 127 => {}
                b'!'..=b'/' | b':'..=b'@' | b'['..=b'`' | b'{'..=b'~' => {
                    self.flush(&word, len, ids);
                    len = 0;
                    ids.push(match self.single[b as usize] {
                        u32::MAX => self.unk,
                        id => id,
                    });
                }
                _ => {
                    if len < WORD {
                        word[len] = b.to_ascii_lowercase();
                    }
                    len += 1;
                }
            }
        }
        self.flush(&word, len, ids);
        true
    }

    /// Emits the pieces of the word of `len` bytes in `word` (`[UNK]` when
    /// it is longer than the model allows).
    #[inline]
    fn flush(&self, word: &[u8; WORD + PACKED], len: usize, ids: &mut Vec<u32>) {
        if len == 0 {
            return;
        }
        if len > self.max_chars {
            ids.push(self.unk);
        } else {
            self.word_pieces(word, len, ids);
        }
    }

    /// Greedy longest-match WordPiece of the lower-cased word `word[..len]`;
    /// the whole word is `[UNK]` when a part matches no piece.
    fn word_pieces(&self, word: &[u8; WORD + PACKED], len: usize, ids: &mut Vec<u32>) {
        if let Some(id) = self.first.get(word, 0, len) {
            ids.push(id);
            return;
        }
        let mark = ids.len();
        let mut start = 0;
        while start < len {
            let pieces = if start == 0 { &self.first } else { &self.rest };
            let mut end = len.min(start + self.longest);
            let mut found = None;
            while end > start {
                if let Some(id) = pieces.get(word, start, end) {
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
