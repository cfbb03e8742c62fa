//! Character-level tokenisation: the vocabulary is the sorted set of distinct characters of a
//! corpus, and a text x_1 ... x_n becomes the ids i_1 ... i_n with vocab[i_k] = x_k. Decoding is
//! the inverse map, so decode(encode(s)) = s for every s written in the vocabulary.

/// The sorted, distinct characters a model reads and writes; a character's id is its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    chars: Vec<char>,
}

/// The result of `encode_lossy`: the ids, and which characters were replaced by `fallback`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lossy {
    pub tokens: Vec<u32>,
    /// Distinct characters outside the vocabulary, in order of first appearance.
    pub replaced: Vec<char>,
    /// The character unknown ones became: '?' if the vocabulary has it, else ' ', else its first.
    pub fallback: char,
}

/// Characters as a readable list: 'a', '\n', ...
fn list(chars: &[char]) -> String {
    chars
        .iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Vocab {
    /// The distinct characters of `corpus`, sorted by code point.
    pub fn from_corpus(corpus: &str) -> Result<Vocab, String> {
        let codes = crate::rank::distinct(corpus.chars().map(|c| c as u64).collect());
        let chars: Vec<char> = codes
            .into_iter()
            .filter_map(|c| char::from_u32(c as u32))
            .collect();
        if chars.is_empty() {
            return Err("cannot build a vocabulary from an empty corpus".into());
        }
        Ok(Vocab { chars })
    }

    /// A vocabulary stored as its characters (as `as_string` writes it): they must be distinct and
    /// sorted by code point.
    pub fn from_chars(chars: &str) -> Result<Vocab, String> {
        let chars: Vec<char> = chars.chars().collect();
        if chars.is_empty() {
            return Err("the vocabulary is empty".into());
        }
        if let Some(w) = chars.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!(
                "vocabulary characters must be distinct and sorted, but {:?} comes before {:?}",
                w[0], w[1]
            ));
        }
        Ok(Vocab { chars })
    }

    /// The characters in id order.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn id(&self, c: char) -> Option<u32> {
        self.chars.binary_search(&c).ok().map(|i| i as u32)
    }

    /// The ids of `text`; an error names every character outside the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let lossy = self.encode_lossy(text);
        if lossy.replaced.is_empty() {
            Ok(lossy.tokens)
        } else {
            Err(format!(
                "{} character(s) not in the vocabulary: {}",
                lossy.replaced.len(),
                list(&lossy.replaced)
            ))
        }
    }

    /// The character unknown ones become in `encode_lossy`.
    pub fn fallback(&self) -> char {
        ['?', ' ']
            .into_iter()
            .find(|&c| self.id(c).is_some())
            .unwrap_or(self.chars[0])
    }

    /// The ids of `text`, with characters outside the vocabulary replaced by `fallback()`.
    pub fn encode_lossy(&self, text: &str) -> Lossy {
        let fallback = self.fallback();
        let fallback_id = self.id(fallback).unwrap_or(0);
        let mut replaced = Vec::new();
        let tokens = text
            .chars()
            .map(|c| {
                self.id(c).unwrap_or_else(|| {
                    if !replaced.contains(&c) {
                        replaced.push(c);
                    }
                    fallback_id
                })
            })
            .collect();
        Lossy {
            tokens,
            replaced,
            fallback,
        }
    }

    /// The text of `ids`; an id outside the vocabulary is an error.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        ids.iter()
            .enumerate()
            .map(|(k, &i)| {
                self.chars.get(i as usize).copied().ok_or_else(|| {
                    format!(
                        "token {k} has id {i}, but the vocabulary has only {} characters",
                        self.len()
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors_name_the_characters() {
        let v = Vocab::from_corpus("hello world\n").unwrap();
        assert_eq!(v.as_string(), "\n dehlorw");
        let ids = v.encode("low\nrow").unwrap();
        assert_eq!(v.decode(&ids).unwrap(), "low\nrow");
        let err = v.encode("hazy day").unwrap_err();
        assert!(
            err.contains("'a'") && err.contains("'z'") && err.contains("'y'"),
            "{err}"
        );
        let lossy = v.encode_lossy("hay");
        assert_eq!(lossy.fallback, ' ');
        assert_eq!(lossy.replaced, vec!['a', 'y']);
        assert_eq!(v.decode(&lossy.tokens).unwrap(), "h  ");
        assert!(v.decode(&[99]).is_err());
        assert_eq!(Vocab::from_chars(&v.as_string()).unwrap(), v);
        assert!(Vocab::from_chars("ba").is_err());
        assert!(Vocab::from_chars("aa").is_err());
        assert!(Vocab::from_corpus("").is_err());
        assert_eq!(Vocab::from_corpus("a?b").unwrap().fallback(), '?');
        assert_eq!(Vocab::from_corpus("ba").unwrap().fallback(), 'a');
    }
}
