//! The trainer's tests: tiny models that must learn, and training loss = evaluation.

use super::*;
use crate::encoding::Lookback;
use crate::encoding::Style;
use crate::melody::{Key, Melody, Meter, Note, Pitch, Step, Tempo};
use crate::model::{LstmConfig, PitchRange};

fn tune(pitches: &[u8]) -> Tune {
    let notes = pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| Note { pitch: Pitch::new(p as i32).unwrap(), onset: Step(i as u32 * 2), duration: Step(2) })
        .collect();
    Tune {
        source: "test".into(),
        id: "t".into(),
        melody: Melody::new(notes, Tempo::default(), Meter::COMMON, Some(Key::C_MAJOR)).unwrap(),
        style: Some(Style::Folk),
    }
}

#[test]
fn the_step_size_anneals_in_the_last_part_of_the_budget() {
    assert_eq!(scheduled_lr(1.0, 0.0), 1.0);
    assert_eq!(scheduled_lr(1.0, 0.6), 1.0);
    assert!((scheduled_lr(1.0, 0.8) - 0.525).abs() < 1e-9);
    assert!((scheduled_lr(1.0, 1.0) - 0.05).abs() < 1e-9);
    assert!((scheduled_lr(1.0, 3.0) - 0.05).abs() < 1e-9);
    let mut last = f64::INFINITY;
    for i in 0..=100 {
        let lr = scheduled_lr(2e-3, i as f64 / 100.0);
        assert!(lr <= last);
        last = lr;
    }
}

#[test]
fn examples_are_shifted_inputs_with_features() {
    let vocab = Vocab::DEFAULT;
    let ex = examples(&[tune(&[60, 62, 64])], vocab, &Lookback::default(), 4, None);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].tokens[0], vocab.start() as i32);
    assert_eq!(&ex[0].tokens[1..], &ex[0].targets[..3]);
    assert_eq!(ex[1].tokens[0], ex[0].targets[3]);
    assert_eq!(ex[1].len(), 2);
    assert_eq!(ex[1].columns.len(), 10);
    assert_eq!(ex[1].columns[0], 4); // metric position of step 4
}

#[test]
fn transposition_stays_in_range_and_moves_the_key() {
    let vocab = Vocab::DEFAULT;
    let high = tune(&[80, 84]);
    assert_eq!(vocab.fitting_shifts(&high.melody), vec![-6, -5, -4, -3, -2, -1, 0]);
    let mut rng = Rng::new(3);
    for _ in 0..20 {
        let ex = examples(
            std::slice::from_ref(&high),
            vocab,
            &Lookback::default(),
            64,
            Some(Augment { rng: &mut rng, transpose: true, blank: 0.0, plan: 0.0, grid: 0.0, grids: &[] }),
        );
        let top = ex[0].targets.iter().max().unwrap();
        assert!(*top as usize <= vocab.index(crate::encoding::Event::On(Pitch::new(84).unwrap())));
        // The key's tonic moved with the notes (C major, so the tonic is the shift).
        let first = ex[0].targets[0] - 2 + vocab.lo().midi() as i32;
        assert_eq!(ex[0].columns[2], (first - 80).rem_euclid(12));
    }
}

#[test]
fn blanking_hides_key_and_style_independently_at_the_asked_rate() {
    let vocab = Vocab::DEFAULT;
    let mut t = tune(&[60, 62, 64]);
    t.style = Some(crate::encoding::Style::Folk);
    let tunes = vec![t; 4000];
    let mut rng = Rng::new(5);
    let ex = examples(
        &tunes,
        vocab,
        &Lookback::default(),
        64,
        Some(Augment { rng: &mut rng, transpose: false, blank: 0.2, plan: 0.0, grid: 0.0, grids: &[] }),
    );
    let (unknown_tonic, unknown_mode, unknown_style) = (12, 7, 3);
    let (mut keys, mut styles, mut both) = (0, 0, 0);
    for e in &ex {
        // A hidden key hides tonic and mode together, on every step of the tune.
        let f = &e.columns;
        assert!(f.chunks(5).all(|s| (s[2] == unknown_tonic) == (s[3] == unknown_mode)));
        assert!(f.chunks(5).all(|s| s[2] == f[2] && s[4] == f[4]));
        let (k, s) = (f[2] == unknown_tonic, f[4] == unknown_style);
        keys += k as usize;
        styles += s as usize;
        both += (k && s) as usize;
    }
    let rate = |n: usize| n as f64 / ex.len() as f64;
    assert!((rate(keys) - 0.2).abs() < 0.03 && (rate(styles) - 0.2).abs() < 0.03, "{keys} {styles}");
    assert!((rate(both) - 0.04).abs() < 0.015, "{both}");
    let none = examples(
        &tunes[..50],
        vocab,
        &Lookback::default(),
        64,
        Some(Augment { rng: &mut rng, transpose: false, blank: 0.0, plan: 0.0, grid: 0.0, grids: &[] }),
    );
    assert!(none.iter().all(|e| e.columns[2] != unknown_tonic && e.columns[4] != unknown_style));
}

#[test]
fn a_tiny_model_learns_a_scale() {
    let spec = ModelSpec::Lstm(LstmConfig {
        range: PitchRange::from(Vocab::DEFAULT),
        embed: 16,
        hidden: 32,
        layers: 1,
        dropout: 0.0,
        lookback: Lookback { bars: vec![1], half: false, form: true },
    });
    let tunes: Vec<Tune> = (0..8).map(|_| tune(&[60, 62, 64, 65, 67, 69, 71, 72])).collect();
    let dir = std::env::temp_dir().join(format!("tunesmith-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tiny.bpk");
    let options = TrainOptions {
        spec: spec.clone(),
        batch: 4,
        window: 64,
        bptt: None,
        lr: 1e-2,
        resume: None,
        max_epochs: 80,
        minutes: 2.0,
        seed: 1,
        transpose: false,
        evals_per_epoch: 1,
        blank: 0.2,
        plan: 0.5,
        grid: 0.5,
    };
    let report = train(&options, &tunes, &tunes[..2], &out, &mut Log::new(None).unwrap()).unwrap();
    assert!(report.best_valid.bits < 0.3 * report.unigram_valid.bits, "{report:?}");
    // The saved weights load back into the same model.
    let device = Device::flex();
    let loaded = weights::load(&spec, std::fs::read(&out).unwrap(), &device).unwrap();
    // The trainer's packed file is the packed form of the stored weights (`tunesmith pack`).
    let MelodyModel::Lstm(lstm) = &loaded else { unreachable!() };
    let packed = crate::model::packed::PackedLstm::from_lstm(lstm).unwrap().to_bytes();
    assert!(std::fs::read(out.with_extension("pack")).unwrap() == packed);
    let again = validate(&loaded, &tunes[..2], Vocab::DEFAULT, &device);
    // Stored in f16: close to, not exactly, the figure measured in f32.
    assert!((again.bits - report.best_valid.bits).abs() < 0.05 * report.best_valid.bits.max(1.0), "{again:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_tiny_transformer_learns_a_scale_from_streams() {
    let spec = ModelSpec::Transformer(crate::model::TransformerConfig {
        range: PitchRange::from(Vocab::DEFAULT),
        d_model: 16,
        heads: 2,
        layers: 1,
        d_ff: 32,
        dropout: 0.0,
        span: None,
        lookback: Lookback::default(),
    });
    let tunes: Vec<Tune> = (0..8).map(|_| tune(&[60, 62, 64, 65, 67, 69, 71, 72])).collect();
    let dir = std::env::temp_dir().join(format!("tunesmith-train-xl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options = TrainOptions {
        spec,
        batch: 2,
        window: 64,
        // Windows shorter than a tune: only the carried keys and values give it its start.
        bptt: Some(5),
        lr: 1e-2,
        resume: None,
        max_epochs: 60,
        minutes: 2.0,
        seed: 1,
        transpose: false,
        evals_per_epoch: 1,
        blank: 0.0,
        plan: 0.0,
        grid: 0.0,
    };
    let report = train(&options, &tunes, &tunes[..2], &dir.join("tiny.bpk"), &mut Log::new(None).unwrap()).unwrap();
    assert!(report.best_valid.bits < 0.3 * report.unigram_valid.bits, "{report:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

mod agreement {
    use super::*;
    use crate::model::{LstmConfig, PitchRange};

    /// The training loss and the evaluation must measure the same thing.
    #[test]
    fn training_loss_equals_evaluation_on_real_tunes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/data/valid.tsv.gz");
        let tunes: Vec<Tune> = crate::corpus::load_dataset_file(&path).unwrap().into_iter().take(40).collect();
        let vocab = Vocab::DEFAULT;
        let tunes = eval::folded(&tunes, vocab);
        let device = Device::flex();
        let lookback = crate::encoding::Lookback { bars: vec![1, 2], half: false, form: true };
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(vocab),
            embed: 16,
            hidden: 16,
            layers: 2,
            dropout: 0.0,
            lookback: lookback.clone(),
        });
        let model = crate::model::build(&spec, &device).unwrap();
        let ex = examples(&tunes, vocab, &lookback, usize::MAX, None);
        let refs: Vec<&Example> = ex.iter().collect();
        let b = batch(&refs, &device);
        let nats = nll(&model, &b).into_scalar::<f32>() as f64;
        let tally = validate(&model, &tunes, vocab, &device);
        let bits = nats / std::f64::consts::LN_2;
        // The training loss has no step past the end: evaluation's end-of-last-note term aside.
        let stepped = tally.bits - tally.end_bits;
        assert!(tally.end_bits > 0.0 && tally.end_bits < 0.1 * tally.bits, "{tally:?}");
        assert!((bits - stepped).abs() < 1e-3 * bits, "training {bits} bits vs evaluation {stepped} bits");

        // Stateful windows over rows of tunes laid end to end measure the same total.
        let MelodyModel::Lstm(lstm) = &model else { unreachable!() };
        let streams = Streams::new(&ex, 3);
        let (mut total, mut count, mut state) = (0.0f64, 0, None);
        for i in 0..streams.windows(37) {
            let (b, keep) = streams.window(i, 37, &device);
            let (logits, next) = lstm.forward_resetting(b.tokens.clone(), b.columns.clone(), Some(keep), state.take());
            state = Some(next);
            total += masked_nll(logits, &b).into_scalar::<f32>() as f64;
            count += b.count;
        }
        assert_eq!(count, ex.iter().map(|e| e.len()).sum::<usize>());
        assert!((total - nats).abs() < 1e-3 * nats, "streams {total} nats vs whole tunes {nats} nats");
    }
}
