//! Held-out evaluation: bits per note and next-pitch accuracy of a neural model beside the
//! order-3 Markov baseline, on the same melodies.
//!
//! Bits per note is the melody's total negative log₂-likelihood (pitch, onset and duration at
//! 16th resolution) divided by its number of notes. Both model families assign a probability to
//! exactly the same thing, so the figures compare across encodings.

pub mod markov;

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::corpus::Tune;
use crate::encoding::{Event, Lookback, StepInputs, TrainedOn, Vocab};
use crate::engine::int8::Int8Engine;
use crate::model::MelodyModel;
use crate::theory::prior::Prior;
use markov::NoteMarkov;
pub use markov::Tally;

/// Tunes folded into the model's range, so every model scores the same notes.
pub fn folded(tunes: &[Tune], vocab: Vocab) -> Vec<Tune> {
    tunes.iter().map(|t| Tune { melody: t.melody.fold_into(vocab.lo(), vocab.hi()), ..t.clone() }).collect()
}

/// A tune's classes and its inputs without a form plan (the model must find the form itself),
/// one step past its end, where its last note must stop (`tally`).
fn encode(t: &Tune, vocab: Vocab, lookback: &Lookback) -> (Vec<usize>, StepInputs) {
    let classes: Vec<usize> = vocab.encode(&t.melody).into_iter().map(|e| vocab.index(e)).collect();
    let inputs = StepInputs::new(&t.conditioning(), lookback, None, classes.len() + 1);
    (classes, inputs)
}

/// Scores each tune from its first step with a neural model, each step's logits leaned by
/// `prior` (`theory::prior`: what is sampled at that theory strength); one tally per tune.
pub fn neural(model: &MelodyModel, tunes: &[Tune], vocab: Vocab, prior: Prior, device: &Device) -> Vec<Tally> {
    let lookback = model.input().reads().clone();
    let width = StepInputs::width(lookback.slots());
    let mut out = vec![Tally::default(); tunes.len()];
    let mut order: Vec<usize> = (0..tunes.len()).collect();
    order.sort_by_key(|&i| tunes[i].melody.end().0);
    // Batches of similar length; the batch size keeps the logits of one batch a few MB.
    for chunk in order.chunks(16) {
        let encoded: Vec<(Vec<i32>, Vec<i32>)> = chunk
            .iter()
            .map(|&i| {
                let (classes, inputs) = encode(&tunes[i], vocab, &lookback);
                let columns = inputs.columns(vocab, &classes, classes.len() + 1);
                (classes.into_iter().map(|c| c as i32).collect(), columns)
            })
            .collect();
        let b = chunk.len();
        let len = encoded.iter().map(|(t, _)| t.len() + 1).max().unwrap_or(1);
        let mut tokens = vec![vocab.start() as i32; b * len];
        let mut columns = vec![0i32; b * len * width];
        for (row, (targets, c)) in encoded.iter().enumerate() {
            tokens[row * len + 1..row * len + 1 + targets.len()].copy_from_slice(targets);
            columns[row * len * width..row * len * width + c.len()].copy_from_slice(c);
        }
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [b, len]), device);
        let columns = Tensor::<3, Int>::from_data(TensorData::new(columns, [b, len, width]), device);
        let logp = log_softmax(model.forward(tokens, columns), 2).into_data();
        let logp: Vec<f32> = logp.try_to_vec_as().expect("f32 log-probabilities");
        let v = vocab.size();
        for (row, (targets, _)) in encoded.iter().enumerate() {
            let rows = &logp[row * len * v..(row * len + targets.len() + 1) * v];
            out[chunk[row]] = if prior == Prior::NONE {
                tally(targets, rows, vocab)
            } else {
                tally(targets, &leaned(rows, targets, tunes[chunk[row]].conditioning().key, prior, vocab), vocab)
            };
        }
    }
    out
}

/// Log-probabilities per step (`[steps + 1, classes]`) after `prior`'s bias at each step, given
/// the classes before it: log softmax(log p + bias).
fn leaned(logp: &[f32], targets: &[i32], key: Option<crate::melody::Key>, prior: Prior, vocab: Vocab) -> Vec<f32> {
    let v = vocab.size();
    let key_bias = prior.key_bias(key, vocab);
    let classes: Vec<usize> = targets.iter().map(|&c| c as usize).collect();
    let mut out = Vec::with_capacity(logp.len());
    for (step, row) in logp.chunks(v).enumerate() {
        let bias = prior.bias(&key_bias, &classes[..step.min(classes.len())]);
        let leaned: Vec<f64> = row.iter().zip(&bias).map(|(&l, &b)| l as f64 + b as f64).collect();
        let max = leaned.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = leaned.iter().map(|x| (x - max).exp()).sum::<f64>().ln() + max;
        out.extend(leaned.iter().map(|x| (x - log_sum) as f32));
    }
    out
}

/// Bits and next-pitch hits of `targets` under per-step log-probabilities (`[steps + 1,
/// classes]`). The row after the last step charges the end of the last note, −log₂ P(not
/// hold): its duration is only fixed once it stops, and the Markov baseline pays for the
/// whole duration too. (What follows the melody — a rest or another note — is not charged.)
fn tally(targets: &[i32], logp: &[f32], vocab: Vocab) -> Tally {
    let v = vocab.size();
    let mut tally = Tally::default();
    if !targets.is_empty() {
        let hold = logp[targets.len() * v + vocab.index(Event::Hold)] as f64;
        // log(1 − e^hold), accurate when a hold is nearly certain.
        let ln_not_hold = if hold > -std::f64::consts::LN_2 { (-hold.exp_m1()).ln() } else { (-hold.exp()).ln_1p() };
        tally.end_bits = -ln_not_hold / std::f64::consts::LN_2;
        tally.bits += tally.end_bits;
    }
    for (step, &target) in targets.iter().enumerate() {
        let at = &logp[step * v..(step + 1) * v];
        tally.bits -= at[target as usize] as f64 / std::f64::consts::LN_2;
        if let Some(Event::On(_)) = vocab.event(target as usize) {
            tally.notes += 1;
            let best = (2..v).max_by(|&a, &b| at[a].total_cmp(&at[b])).expect("the vocabulary has pitches");
            tally.pitch_hits += (best == target as usize) as usize;
        }
    }
    tally
}

/// Scores each tune with the int8 engine (what the page runs on the CPU), so the likelihood
/// cost of int8 weights and int16 state is measured, not assumed.
pub fn int8(engine: &Int8Engine, tunes: &[Tune], vocab: Vocab) -> Vec<Tally> {
    let v = vocab.size();
    tunes
        .iter()
        .map(|t| {
            let (classes, inputs) = encode(t, vocab, crate::engine::Engine::lookback(engine));
            let targets: Vec<i32> = classes.iter().map(|&c| c as i32).collect();
            let mut logp = engine.score(&inputs, &classes);
            for row in logp.chunks_mut(v) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let log_sum = row.iter().map(|x| (x - max).exp()).sum::<f32>().ln() + max;
                row.iter_mut().for_each(|x| *x -= log_sum);
            }
            tally(&targets, &logp, vocab)
        })
        .collect()
}

/// Scores tunes whose labels may be missing the way the model can take them: a key the
/// model never learned to do without is estimated from the notes (`theory::estimate_key`, as
/// for a generated melody); a missing style, where the model never learned "no style", is
/// summed out, p(melody) = Σ p(style) · p(melody | style), with the training shares as
/// p(style). `score` is any of this module's scorers.
pub fn with_missing_labels(tunes: &[Tune], trained: &TrainedOn, score: impl Fn(&[Tune]) -> Vec<Tally>) -> Vec<Tally> {
    let mut filled = tunes.to_vec();
    if !trained.learned_unknown_key() {
        for t in filled.iter_mut().filter(|t| t.melody.key.is_none()) {
            t.melody.key = crate::theory::estimate_key(t.melody.notes());
        }
    }
    let candidates = trained.unknown_style_candidates();
    let open: Vec<usize> = (0..filled.len()).filter(|&i| filled[i].style.is_none()).collect();
    if open.is_empty() || candidates.iter().all(|(s, _)| s.is_none()) {
        return score(&filled);
    }
    let labelled: Vec<usize> = (0..filled.len()).filter(|&i| filled[i].style.is_some()).collect();
    let mut out = vec![Tally::default(); filled.len()];
    let subset = |idx: &[usize]| idx.iter().map(|&i| filled[i].clone()).collect::<Vec<_>>();
    for (i, t) in labelled.iter().zip(score(&subset(&labelled))) {
        out[*i] = t;
    }
    // log2 of each candidate's joint probability, per open tune.
    let mut joint: Vec<Vec<(f64, Tally)>> = vec![Vec::new(); open.len()];
    for (style, weight) in &candidates {
        let mut as_style = subset(&open);
        as_style.iter_mut().for_each(|t| t.style = *style);
        for (j, t) in score(&as_style).into_iter().enumerate() {
            joint[j].push((weight.log2() - t.bits, t));
        }
    }
    for (j, options) in joint.into_iter().enumerate() {
        let top = options.iter().map(|(l, _)| *l).fold(f64::NEG_INFINITY, f64::max);
        let log2_sum = top + options.iter().map(|(l, _)| (l - top).exp2()).sum::<f64>().log2();
        // Next-pitch accuracy from the likeliest style.
        let best = options.iter().max_by(|a, b| a.0.total_cmp(&b.0)).expect("a candidate").1;
        out[open[j]] = Tally { bits: -log2_sum, ..best };
    }
    out
}

/// The order-3 Markov baseline trained on `train` in every key that fits the range (the
/// neural models see the same transpositions while training).
pub fn markov_baseline(train: &[Tune], vocab: Vocab) -> NoteMarkov {
    let mut markov = NoteMarkov::new(3);
    for tune in folded(train, vocab) {
        for shift in vocab.fitting_shifts(&tune.melody) {
            if let Some(m) = tune.melody.transpose(shift) {
                markov.observe(&m);
            }
        }
    }
    markov
}

/// The unigram baseline: every step predicted from class frequencies alone (add-one smoothed).
pub fn unigram(train: &[Tune], held_out: &[Tune], vocab: Vocab) -> Tally {
    let classes = |t: &Tune| vocab.encode(&t.melody).into_iter().map(move |e| vocab.index(e));
    let mut counts = vec![1.0f64; vocab.size()];
    for c in train.iter().flat_map(classes) {
        counts[c] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    let mut tally = Tally::default();
    for c in held_out.iter().flat_map(classes) {
        tally.bits -= (counts[c] / total).log2();
    }
    tally.notes = held_out.iter().map(|t| t.melody.notes().len()).sum();
    tally
}

pub fn markov(markov: &NoteMarkov, tunes: &[Tune]) -> Vec<Tally> {
    tunes.iter().map(|t| markov.score(&t.melody)).collect()
}

/// Sums the tallies of the tunes `keep` selects.
pub fn total(tallies: &[Tally], tunes: &[Tune], keep: impl Fn(&Tune) -> bool) -> Tally {
    let mut sum = Tally::default();
    for (t, tune) in tallies.iter().zip(tunes) {
        if keep(tune) {
            sum.add(*t);
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::melody::{Melody, Meter, Note, Pitch, Step, Tempo};
    use crate::model::{LstmConfig, ModelSpec, PitchRange};

    fn tune(pitches: &[i32]) -> Tune {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &p)| Note { pitch: Pitch::new(p).unwrap(), onset: Step(i as u32 * 3), duration: Step(2) })
            .collect();
        Tune {
            source: "t".into(),
            id: "t".into(),
            melody: Melody::new(notes, Tempo::default(), Meter::COMMON, None).unwrap(),
            style: None,
        }
    }

    #[test]
    fn neural_bits_match_the_training_loss_and_count_notes() {
        let device = Device::flex();
        let spec = ModelSpec::Lstm(LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 8,
            hidden: 8,
            layers: 1,
            dropout: 0.0,
            lookback: Lookback { bars: vec![1], half: false, form: true },
        });
        let model = crate::model::build(&spec, &device).unwrap();
        let tunes = vec![tune(&[60, 62, 64]), tune(&[30, 100, 67, 67, 69])];
        let tunes = folded(&tunes, Vocab::DEFAULT);
        let tallies = neural(&model, &tunes, Vocab::DEFAULT, Prior::NONE, &device);
        assert_eq!(tallies[0].notes, 3);
        assert_eq!(tallies[1].notes, 5);
        // An untrained model is close to uniform over 39 classes: ~5.3 bits a step.
        let steps = [8.0, 14.0];
        for (t, s) in tallies.iter().zip(steps) {
            let per_step = t.bits / s;
            assert!((per_step - 39f64.log2()).abs() < 0.5, "{per_step}");
            // Ending the last note: anything but a hold, about 38 chances in 39.
            assert!((t.end_bits - (39f64 / 38.0).log2()).abs() < 0.05, "{t:?}");
        }
        // The same tunes batched differently give the same figures.
        let alone = neural(&model, &tunes[1..], Vocab::DEFAULT, Prior::NONE, &device);
        assert!((alone[0].bits - tallies[1].bits).abs() < 1e-3);
    }

    #[test]
    fn the_int8_engine_scores_like_the_float_model() {
        let device = Device::flex();
        let config = LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 16,
            hidden: 32,
            layers: 2,
            dropout: 0.0,
            lookback: Lookback { bars: vec![1, 2], half: false, form: true },
        };
        let model = config.init(&device).unwrap();
        let engine = Int8Engine::new(crate::model::packed::PackedLstm::from_lstm(&model).unwrap(), &config).unwrap();
        let tunes = folded(&[tune(&[60, 62, 64, 65, 67, 69]), tune(&[72, 71, 69])], Vocab::DEFAULT);
        let float = neural(&MelodyModel::Lstm(model), &tunes, Vocab::DEFAULT, Prior::NONE, &device);
        let int8 = int8(&engine, &tunes, Vocab::DEFAULT);
        for (f, q) in float.iter().zip(&int8) {
            assert_eq!(f.notes, q.notes);
            assert!((f.bits - q.bits).abs() < 0.01 * f.bits, "{f:?} {q:?}");
        }
    }

    #[test]
    fn missing_styles_are_summed_out_and_missing_keys_estimated() {
        use crate::encoding::{Conditioning, Style};
        use crate::melody::Key;
        let labelled = |style| Conditioning { meter: Meter::COMMON, key: Some(Key::C_MAJOR), style: Some(style) };
        // Trained 3:1 on Celtic and chorale tunes, always with a key.
        let trained = TrainedOn::count(&[
            labelled(Style::Celtic),
            labelled(Style::Celtic),
            labelled(Style::Celtic),
            labelled(Style::Chorale),
        ]);
        // A stand-in scorer: 1 bit under Celtic, 3 under chorale, 10 without a style; it
        // checks that every tune it sees has a key.
        let score = |tunes: &[Tune]| -> Vec<Tally> {
            tunes
                .iter()
                .map(|t| {
                    assert!(t.melody.key.is_some(), "a key was estimated");
                    let bits = match t.style {
                        Some(Style::Celtic) => 1.0,
                        Some(Style::Chorale) => 3.0,
                        _ => 10.0,
                    };
                    Tally { bits, notes: 1, pitch_hits: (t.style == Some(Style::Chorale)) as usize, ..Tally::default() }
                })
                .collect()
        };
        let mut known = tune(&[60, 64, 67, 72]);
        known.melody.key = Some(Key::C_MAJOR);
        known.style = Some(Style::Chorale);
        let tallies = with_missing_labels(&[tune(&[60, 64, 67, 72]), known], &trained, score);
        // −log2(0.75 · 2⁻¹ + 0.25 · 2⁻³) = −log2(0.40625) ≈ 1.2996
        assert!((tallies[0].bits - 1.2996).abs() < 1e-3, "{:?}", tallies[0]);
        assert_eq!(tallies[0].pitch_hits, 0, "accuracy comes from the likelier style, Celtic");
        assert_eq!(tallies[1].bits, 3.0, "a labelled tune is scored as labelled");
        // A model that learned "no style" scores the tune as it is.
        let unlabelled = TrainedOn::count(&[Conditioning::default()]);
        assert_eq!(
            with_missing_labels(&[tune(&[60])], &unlabelled, |t| {
                assert!(t[0].melody.key.is_none(), "this model learned melodies without a key");
                score(&[Tune {
                    melody: Melody::new(vec![], Tempo::default(), Meter::COMMON, Some(Key::C_MAJOR)).unwrap(),
                    ..t[0].clone()
                }])
            })[0]
                .bits,
            10.0
        );
    }

    #[test]
    fn markov_baseline_uses_every_fitting_key() {
        let train = vec![tune(&[60, 62, 64, 65, 67])];
        let markov = markov_baseline(&train, Vocab::DEFAULT);
        let up_a_tone = markov.score(&tune(&[62, 64, 66, 67, 69]).melody);
        let foreign = markov.score(&tune(&[61, 70, 52, 80, 49]).melody);
        assert!(up_a_tone.bits_per_note() < foreign.bits_per_note() - 5.0, "{up_a_tone:?} {foreign:?}");
    }

    // What eval scores at a theory strength is what the sampler draws from: log-softmax of the
    // model's log-probabilities plus the prior's bias, the leap rule following the tune itself.
    #[test]
    fn the_leaned_distribution_is_the_prior_on_the_model() {
        let v = Vocab::DEFAULT;
        let n = v.size();
        let on = |p: i32| v.index(Event::On(Pitch::new(p).unwrap()));
        // A uniform model over three steps of C4, G4 (a leap up), then anything.
        let logp = vec![-(n as f32).ln(); 3 * n];
        let targets = [on(60) as i32, on(67) as i32];
        let key = Some(crate::melody::Key::C_MAJOR);
        let same = leaned(&logp, &targets, key, Prior::NONE, v);
        assert!(same.iter().zip(&logp).all(|(a, b)| (a - b).abs() < 1e-6), "no prior, no change");
        let prior = Prior { key: 1.0, leap: 2.0 };
        let out = leaned(&logp, &targets, key, prior, v);
        for row in out.chunks(n) {
            let total: f64 = row.iter().map(|&l| (l as f64).exp()).sum();
            assert!((total - 1.0).abs() < 1e-5, "each step is a distribution: {total}");
        }
        // Step 0: only the key rule; C sharp is 1 nat below C.
        assert!((out[on(60)] - out[on(61)] - 1.0).abs() < 1e-5);
        // Step 2, after the leap: A4 (up again) loses the leap's 2 nats against F4 (back down).
        let step2 = &out[2 * n..];
        assert!((step2[on(65)] - step2[on(69)] - 2.0).abs() < 1e-5);
        assert!((step2[on(65)] - step2[on(66)] - 1.0).abs() < 1e-5, "F sharp: only outside the key");
    }
}
