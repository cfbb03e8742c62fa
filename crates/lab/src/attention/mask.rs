//! The mask of a captioning decoder whose one attention does causal self-attention over the caption
//! and cross-attention to the image tokens at once (the homework's grid: keys are rows, queries
//! columns; 1 = masked).

/// The mask of one layer that does causal self-attention over a caption and cross-attention to
/// image tokens at once. Keys are rows and queries are columns (as the homework draws the grid),
/// caption tokens first, then image tokens (which are keys only). A caption token may attend to
/// itself, to earlier caption tokens and to every image token; a padding token is masked as a key
/// and as a query.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CaptionMask {
    pub queries: Vec<String>,
    pub keys: Vec<String>,
    /// masked[key][query]
    pub masked: Vec<Vec<bool>>,
}

pub const PAD: &str = "<PAD>";

pub fn caption_mask(caption: &[String], image_tokens: usize) -> CaptionMask {
    let queries: Vec<String> = caption.to_vec();
    let keys: Vec<String> = caption
        .iter()
        .cloned()
        .chain((1..=image_tokens).map(|i| format!("<ENC{i}>")))
        .collect();
    let masked = keys
        .iter()
        .enumerate()
        .map(|(k, key)| {
            queries
                .iter()
                .enumerate()
                .map(|(q, query)| {
                    let key_is_caption = k < caption.len();
                    query == PAD || (key_is_caption && (key == PAD || k > q))
                })
                .collect()
        })
        .collect();
    CaptionMask {
        queries,
        keys,
        masked,
    }
}

/// Split a caption such as "<SOS> a mountain range <PAD>" into tokens.
pub fn tokenize(caption: &str) -> Vec<String> {
    caption.split_whitespace().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_homeworks_grid() {
        let m = caption_mask(&tokenize("<SOS> a mountain range <PAD>"), 3);
        assert_eq!(
            m.keys,
            vec!["<SOS>", "a", "mountain", "range", "<PAD>", "<ENC1>", "<ENC2>", "<ENC3>"]
        );
        assert_eq!(m.queries.len(), 5);
        // Rows are keys, columns queries; 1 = masked. Query <PAD> (last column) is all masked.
        let want = [
            [0, 0, 0, 0, 1], // <SOS>
            [1, 0, 0, 0, 1], // a
            [1, 1, 0, 0, 1], // mountain
            [1, 1, 1, 0, 1], // range
            [1, 1, 1, 1, 1], // <PAD>
            [0, 0, 0, 0, 1], // <ENC1>
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1],
        ];
        for (k, row) in want.iter().enumerate() {
            let got: Vec<u8> = m.masked[k].iter().map(|&b| b as u8).collect();
            assert_eq!(got, row.to_vec(), "key {}", m.keys[k]);
        }
    }

    #[test]
    fn mask_rules_hold_for_any_caption_padding_and_image_tokens() {
        let mut rng = crate::rng::Rng::new(21);
        for _ in 0..200 {
            let len = 1 + rng.below(9);
            let caption: Vec<String> = (0..len)
                .map(|i| {
                    if rng.below(4) == 0 {
                        PAD.to_string()
                    } else {
                        format!("w{i}")
                    }
                })
                .collect();
            let images = rng.below(6);
            let m = caption_mask(&caption, images);
            assert_eq!(m.keys.len(), len + images);
            for (k, key) in m.keys.iter().enumerate() {
                for (q, query) in m.queries.iter().enumerate() {
                    let allowed = query != PAD && (k >= len || (key != PAD && k <= q));
                    assert_eq!(m.masked[k][q], !allowed, "{caption:?} key {k} query {q}");
                }
            }
        }
    }
}
