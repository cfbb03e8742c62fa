//! Generation as requests, so that any reader of the model (the CPU's `Session`, or a device's
//! twin of it) can answer them, in slices. A `Generator` holds the text so far and asks for one
//! `Feed` at a time: read these tokens (after starting a fresh session, when `restart`) and give
//! back the next-token logits after the last of them. From the logits it draws the next token
//! (`sample::distribution` then `sample::sample`, from the seeded stream) and records the
//! probability the model gave it (softmax of the logits, before temperature and top-k).
//!
//! A generation ends after `n` tokens, or earlier at a stop token (`stop_at`: an answer's end).
//!
//! The window: a session holds `room` positions (the context less the soft prompt). The first
//! feed is the prompt's last `room` tokens; each later one is the token just drawn, until the
//! session is full; then a fresh session reads the last max(room / 2, 1) tokens of the text.

use super::layers::softmax;
use super::sample::{distribution, sample, Sampling, MAX_NEW_TOKENS};
use crate::rng::Rng;

/// What the generator needs read next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feed<'g> {
    /// Start a fresh session (with the same extras) before reading.
    pub restart: bool,
    pub tokens: &'g [u32],
}

/// A generation in progress: `n` new tokens after a prompt.
#[derive(Clone, Debug)]
pub struct Generator {
    sampling: Sampling,
    n: usize,
    room: usize,
    /// The prompt, then every token drawn.
    history: Vec<u32>,
    /// The pending feed: history[feed_at..], after a restart when `restart`.
    feed_at: usize,
    /// What the current session has read, the pending feed included: history[window_at..].
    window_at: usize,
    restart: bool,
    /// Positions the current session has read, the pending feed included.
    used: usize,
    rng: Rng,
    out: Vec<u32>,
    probs: Vec<f32>,
    /// Tokens that end the generation once drawn (kept in the output).
    stop: Vec<u32>,
    done: bool,
}

impl Generator {
    /// `n` (at most `MAX_NEW_TOKENS`) new tokens after a non-empty `prompt`, for sessions of `room`
    /// positions. Bad sampling settings are errors here, before anything is read.
    pub fn new(prompt: &[u32], n: usize, sampling: Sampling, room: usize) -> Result<Self, String> {
        if prompt.is_empty() {
            return Err("empty prompt: give at least one character to continue".into());
        }
        if n > MAX_NEW_TOKENS {
            return Err(format!("{n} tokens asked for, at most {MAX_NEW_TOKENS}"));
        }
        if room == 0 {
            return Err("no room left in the context to read the prompt".into());
        }
        distribution(&[0.0], sampling.temperature, sampling.top_k)?;
        let feed_at = prompt.len().saturating_sub(room);
        Ok(Generator {
            sampling,
            n,
            room,
            history: prompt.to_vec(),
            feed_at,
            window_at: feed_at,
            restart: true,
            used: prompt.len() - feed_at,
            rng: Rng::stream(sampling.seed, 0x6c6d),
            out: Vec::with_capacity(n),
            probs: Vec::with_capacity(n),
            stop: Vec::new(),
            done: false,
        })
    }

    /// End the generation early when one of `tokens` is drawn (it is kept as the last token).
    pub fn stop_at(mut self, tokens: &[u32]) -> Self {
        self.stop = tokens.to_vec();
        self
    }

    /// The next feed, or None once every token is drawn.
    pub fn feed(&self) -> Option<Feed<'_>> {
        (!self.done).then(|| Feed {
            restart: self.restart,
            tokens: &self.history[self.feed_at..],
        })
    }

    /// The logits after the pending feed: draw the next token and set up the next feed.
    pub fn give(&mut self, logits: &[f32]) -> Result<(), String> {
        if self.done {
            return Err("the generation is already complete".into());
        }
        if self.out.len() == self.n {
            self.done = true;
            return Ok(());
        }
        let p = distribution(logits, self.sampling.temperature, self.sampling.top_k)?;
        let tok = sample(&p, &mut self.rng);
        let mut full = logits.to_vec();
        softmax(&mut full);
        self.out.push(tok as u32);
        self.probs.push(full[tok]);
        self.history.push(tok as u32);
        if self.out.len() == self.n || self.stop.contains(&(tok as u32)) {
            self.done = true;
        } else if self.used == self.room {
            let keep = (self.room / 2).max(1);
            self.feed_at = self.history.len() - keep;
            self.window_at = self.feed_at;
            self.restart = true;
            self.used = keep;
        } else {
            self.feed_at = self.history.len() - 1;
            self.restart = false;
            self.used += 1;
        }
        Ok(())
    }

    /// Everything the current session has read, the pending feed included: what a fresh session
    /// must read to take over (a device that failed mid-generation handing it to the CPU).
    pub fn window(&self) -> &[u32] {
        &self.history[self.window_at..]
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The tokens drawn so far.
    pub fn tokens(&self) -> &[u32] {
        &self.out
    }

    /// The probability the model gave each token drawn.
    pub fn probs(&self) -> &[f32] {
        &self.probs
    }

    /// Tokens asked for.
    pub fn target(&self) -> usize {
        self.n
    }

    /// (tokens, probabilities), consuming the generator.
    pub fn finish(self) -> (Vec<u32>, Vec<f32>) {
        (self.out, self.probs)
    }
}
