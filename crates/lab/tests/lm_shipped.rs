//! The shipped language model: its bytes match the recorded checksum, it loads, it reaches the
//! held-out loss its card states, and a changed byte is refused.

use glassbox_lab::lm::{eval_loss, generate, shipped};

const WEIGHTS: &[u8] = include_bytes!("../../../assets/lm/glassbox-lm.bin");
const SMALL: &[u8] = include_bytes!("../../../assets/lm/glassbox-lm-small.bin");
const HELD_OUT: &str = include_str!("../../../assets/lm/heldout.txt");

#[test]
fn the_shipped_weights_match_their_checksum_and_reach_the_stated_loss() {
    let (model, vocab) = shipped::check(WEIGHTS).expect("the shipped file");
    assert_eq!(model.config.layers, 4);
    assert_eq!(model.config.width, 128);
    let tokens = vocab
        .encode(HELD_OUT)
        .expect("the held-out text is in the vocabulary");
    let loss = eval_loss(&model, &tokens, shipped::HELD_OUT_WINDOWS).unwrap();
    assert!(
        (loss - shipped::HELD_OUT_LOSS).abs() < 2e-3,
        "held-out loss {loss}, the card says {}",
        shipped::HELD_OUT_LOSS
    );
    assert!(
        loss < 1.9,
        "the issue's target: below 1.9 nats per character ({loss})"
    );
    // Greedy continuation is deterministic and stays in the vocabulary.
    let prompt = vocab.encode("one wolf, two").unwrap();
    let (a, _) = generate(&model, &prompt, 20, 0.0, 0, 1).unwrap();
    assert_eq!(a, generate(&model, &prompt, 20, 0.0, 0, 2).unwrap().0);
    let mut bad = WEIGHTS.to_vec();
    bad[WEIGHTS.len() / 2] ^= 1;
    let e = shipped::check(&bad).unwrap_err();
    assert!(e.contains("not the shipped one"), "{e}");
}

#[test]
fn the_small_model_is_a_tenth_of_the_size_and_reaches_its_stated_loss() {
    let (big, _) = shipped::check(WEIGHTS).unwrap();
    let (model, vocab) = shipped::SMALL.check(SMALL).expect("the small file");
    let share = model.param_count() as f64 / big.param_count() as f64;
    assert!((0.08..0.13).contains(&share), "{share}");
    let tokens = vocab.encode(HELD_OUT).unwrap();
    let loss = eval_loss(&model, &tokens, shipped::HELD_OUT_WINDOWS).unwrap();
    assert!(
        (loss - shipped::SMALL.held_out_loss).abs() < 2e-3,
        "held-out loss {loss}, the card says {}",
        shipped::SMALL.held_out_loss
    );
    assert!(
        loss > shipped::HELD_OUT_LOSS + 0.2,
        "the bigger model is better"
    );
    let e = shipped::SMALL.check(WEIGHTS).unwrap_err();
    assert!(e.contains("not the shipped small model"), "{e}");
}

#[test]
fn the_evaluator_without_extras_continues_as_the_pluralize_generator_does() {
    use glassbox_lab::lm::pluralize;
    use glassbox_lab::lm::tuning::{question, Evaluator};
    use glassbox_lab::lm::{complete, Extras};
    let (model, vocab) = shipped::check(WEIGHTS).unwrap();
    let eval = Evaluator::new(&model, &vocab, Extras::default()).unwrap();
    // A short question, and a few-shot prompt longer than the context (the window slides).
    let long = "The plural of box is boxes.\n".repeat(6) + "The plural of wolf is";
    for prompt in [question("one ", "wolf"), long] {
        let gen = pluralize::generator(&vocab, &prompt, model.config.context).unwrap();
        let want = complete(&model, Extras::default(), gen).unwrap();
        let got = eval.continuation(&prompt).unwrap();
        assert_eq!(got.0, want.0, "{prompt:?}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got.1), bits(&want.1), "{prompt:?}");
        assert!(!got.0.is_empty());
    }
}
