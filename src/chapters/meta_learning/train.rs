//! Where meta-training steps are taken: on a compute worker, a run of steps per job (`maml-train`:
//! the trainer's state goes out, the state it ends at comes back and `MetaTrainer::take` puts it
//! in), when the page has workers, so the page's thread only draws; else here, a step at a time.
//! Either way the weights are the same to the bit.

use crate::web;
use crate::workers::{self, maml, pool};
use glassbox_lab::maml::MetaTrainer;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// About this much of a worker's time per run (the page shows the weights after each run).
const RUN_MS: f64 = 60.0;

type Answer = Rc<RefCell<Option<Result<JsValue, String>>>>;

/// A run on a worker, waiting for its answer.
pub struct Pending {
    answer: Answer,
    started: f64,
}

pub enum Training {
    Here,
    Workers {
        workers: usize,
        pending: Option<Pending>,
        /// The last run's milliseconds per step on the worker (the next run's length follows it).
        ms_per_step: f64,
    },
}

/// What `Training::advance` did.
pub enum Stepped {
    /// The trainer moved on (`advanced`: false once training is over or stopped).
    Moved { advanced: bool },
    /// A run is out on a worker.
    Waiting,
}

impl Training {
    pub fn new() -> Training {
        match pool::pool() {
            Some(p) => Training::Workers {
                workers: p.workers(),
                pending: None,
                ms_per_step: 5.0,
            },
            None => Training::Here,
        }
    }

    /// Whether a run is out on a worker (its answer is taken even while paused).
    pub fn busy(&self) -> bool {
        matches!(
            self,
            Training::Workers {
                pending: Some(_),
                ..
            }
        )
    }

    /// Take a step here, or send a run to a worker (`single`: one step), or take its answer.
    /// `waited`: the run's milliseconds are added when its answer arrives. A pool given up (its
    /// notice says why): training goes on here from where the trainer is.
    pub fn advance(
        &mut self,
        trainer: &mut MetaTrainer,
        single: bool,
        waited: &mut f64,
    ) -> Result<Stepped, String> {
        let Training::Workers {
            pending,
            ms_per_step,
            ..
        } = self
        else {
            let advanced = trainer.step();
            return Ok(Stepped::Moved { advanced });
        };
        if let Some(p) = pending {
            let Some(answer) = p.answer.borrow_mut().take() else {
                return Ok(Stepped::Waiting);
            };
            let started = p.started;
            *pending = None;
            let Ok(reply) = answer else {
                *self = Training::Here;
                return self.advance(trainer, single, waited);
            };
            *waited += web::now_ms() - started;
            let (state, run, ms) = maml::trained_of(&reply)?;
            if run.losses.is_empty() && !run.stops_next {
                return Err("a worker's training run took no step".into());
            }
            *ms_per_step = (ms / run.losses.len().max(1) as f64).max(0.01);
            trainer.take(&state, &run)?;
            let advanced = trainer.stopped.is_none();
            return Ok(Stepped::Moved { advanced });
        }
        if trainer.finished() {
            return Ok(Stepped::Moved { advanced: false });
        }
        let Some(pool) = pool::pool() else {
            *self = Training::Here;
            return self.advance(trainer, single, waited);
        };
        let steps = if single {
            1
        } else {
            (RUN_MS / *ms_per_step).clamp(1.0, 1e6) as usize
        };
        let until = trainer.iteration + steps;
        let (settings, state) = (trainer.settings.to_numbers(), trainer.state());
        let answer: Answer = Rc::new(RefCell::new(None));
        let to = Rc::downgrade(&answer);
        crate::tasks::spawn_page_task(async move {
            let r = pool
                .one(&|_| maml::train_message(&settings, &state, until))
                .await;
            if let Some(a) = to.upgrade() {
                *a.borrow_mut() = Some(r);
            }
        });
        *pending = Some(Pending {
            answer,
            started: web::now_ms(),
        });
        Ok(Stepped::Waiting)
    }

    /// Where the steps are taken, for the status line: "" (here) or " on 1 worker in the
    /// background".
    pub fn place(&self) -> String {
        workers::place(match self {
            Training::Here => None,
            Training::Workers { workers, .. } => Some(*workers),
        })
    }
}
