//! Generation: the one sampler, for every engine (`engine::Engine`) and every front end.
//!
//! It checks the request, places a primer on its bar grid, fills "any" key and style from what
//! the model learned, lays out every step's inputs and the form plan, draws the sampling noise
//! from the seed — `T·g` with `g` Gumbel noise, so that `argmax(logits + T·g)` samples
//! `softmax(logits / T)` — runs the engine bar by bar, and decodes what it sampled. The same
//! seed on the same engine always gives the same melody.

use thiserror::Error;

use crate::encoding::{Conditioning, Event, StepInputs, TrainedOn, decode};
use crate::engine::{Engine, EngineError, Job};
use crate::form::{Plan, Take};
use crate::melody::{Melody, MelodyError, Meter};
use crate::request::{Origin, Phase, Request, RequestError, Response, Score};
use crate::rng::Rng;
use crate::theory;
use crate::theory::metrics::MelodyMetrics;
use crate::theory::prior::Prior;

#[derive(Debug, Error)]
pub enum GenerateError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Melody(#[from] MelodyError),
    #[error("this model does not read a form plan; leave the form automatic")]
    NoForm,
    #[error("cancelled")]
    Cancelled,
}

/// Called between bars: progress, and the moment to cancel (in a browser, also the moment to
/// let other work in).
#[allow(async_fn_in_trait)]
pub trait Progress {
    /// `done` of `total` bars generated; `false` stops the generation.
    async fn bar(&mut self, done: u32, total: u32) -> bool;
}

/// No progress to report, never cancelled.
impl Progress for () {
    async fn bar(&mut self, _: u32, _: u32) -> bool {
        true
    }
}

/// What the sampler made: one melody per candidate, and how its labels came about.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// In the order of the batch: candidate 0 is the melody a single-candidate request makes.
    pub melodies: Vec<Melody>,
    /// Each melody's figures (`theory::metrics::measure`), measured once for its score and its
    /// response.
    pub metrics: Vec<MelodyMetrics>,
    /// Each melody's score.
    pub scores: Vec<Score>,
    /// Each melody's generated steps as the model's classes (the primer's not included): what
    /// a model tuned on its own samples learns from.
    pub classes: Vec<Vec<usize>>,
    /// What the model was told.
    pub conditioning: Conditioning,
    pub key_from: Origin,
    pub style_from: Origin,
    pub meter_from: Origin,
    /// The form followed: as asked, or drawn (one letter a bar); `None` for a model that
    /// shapes its melodies itself.
    pub form: Option<String>,
    pub form_from: Origin,
    /// The plan the model was given, bar by bar from step 0 (the primer's bars included).
    pub plan: Option<Plan>,
    pub primer_steps: u32,
    pub total_steps: u32,
}

/// Other streams than the notes' noise, so filling "any" or drawing a form changes no draw of
/// theirs.
const LABEL_STREAM: u64 = 0x00A1_1CE5_ED0F_A11C;
const FORM_STREAM: u64 = 0xF0F0_4A4B_4A4B_0F0F;

/// The noise stream of candidate `b`; candidate 0's is the seed's own.
fn stream(seed: u32, b: usize) -> u64 {
    (seed as u64).wrapping_add((b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The primer on its bar grid, and the meter that grid is of: the asked meter, or the one the
/// primer's rhythm suggests (`Phase::Auto`), else none (to be drawn).
fn place_primer(
    request: &Request,
    mut primer: Melody,
    trained: &TrainedOn,
) -> Result<(Melody, Option<Meter>), GenerateError> {
    let grid = match request.phase {
        Phase::Auto if !primer.is_empty() => trained.rhythm.estimate(primer.notes(), request.meter),
        _ => None,
    };
    let Some(grid) = grid else {
        // As given: on the asked meter's grid, or 4/4's for a primer.
        let meter = request.meter.or((!primer.is_empty()).then_some(Request::DEFAULT_METER));
        primer.meter = meter.unwrap_or(Request::DEFAULT_METER);
        return Ok((primer, meter));
    };
    let mut placed = primer.starting_at(grid.phase)?;
    placed.meter = grid.meter;
    Ok((placed, Some(grid.meter)))
}

/// Generates `request.candidates` melodies with `engine`; `trained` is the model's record,
/// `prior` the rules' lean at the theory strength the engine's weights were blended at
/// (`Prior::at`; `Prior::NONE` to sample the model alone).
pub async fn generate<E: Engine>(
    engine: &E,
    trained: &TrainedOn,
    request: &Request,
    prior: Prior,
    progress: &mut impl Progress,
) -> Result<Generation, GenerateError> {
    let primer = request.validate()?;
    if request.form.is_some() && !engine.lookback().form {
        return Err(GenerateError::NoForm);
    }
    let vocab = engine.vocab();
    let (primer, meter) = place_primer(request, primer, trained)?;
    let primer_key =
        (!primer.is_empty()).then(|| primer.key.or_else(|| theory::estimate_key(primer.notes()))).flatten();
    let key = request.key.or(primer_key);
    let c = trained.resolve(meter, key, request.style, &mut Rng::new(request.seed as u64 ^ LABEL_STREAM));
    let meter_from = match (request.meter, meter) {
        (Some(_), _) => Origin::Asked,
        (None, Some(_)) => Origin::Estimated,
        (None, None) if trained.meters.is_empty() => Origin::Asked,
        (None, None) => Origin::Drawn,
    };
    let bar = c.meter.steps_per_bar();
    let primer_events = vocab.encode_primer(&primer, bar, request.primer_bars.unwrap_or(0));
    let key_from = match (request.key, primer_key) {
        (Some(_), _) => Origin::Asked,
        (None, Some(_)) => Origin::Estimated,
        (None, None) if c.key.is_some() => Origin::Drawn,
        (None, None) => Origin::Estimated,
    };
    let style_from = if request.style.is_some() { Origin::Asked } else { Origin::Drawn };

    // The form plan: the primer's own, then the asked form's, or one drawn from how the
    // training tunes reuse their bars (automatic, for a model that reads plans).
    let primer_bars = primer_events.len() as u32 / bar;
    let mut plan = Plan::derive(&primer_events, bar as usize);
    let form = match &request.form {
        Some(form) => {
            let shifted = |take: Take| Take { bar: take.bar + primer_bars, ..take };
            plan.sources.extend(form.plan(request.bars).sources.into_iter().map(|s| s.map(shifted)));
            Some(form.to_string())
        }
        None if engine.lookback().form && !trained.form.is_empty() => {
            let drawn =
                trained.form.draw(primer_bars + request.bars, bar, &mut Rng::new(request.seed as u64 ^ FORM_STREAM));
            plan.sources.extend_from_slice(&drawn.sources[primer_bars as usize..]);
            plan.letters()
        }
        None => None,
    };
    let planned = request.form.is_some() || form.is_some();
    let plan = planned.then_some(plan);
    let total = primer_events.len() + (request.bars * bar) as usize;
    let inputs = StepInputs::new(&c, engine.lookback(), plan.as_ref(), total);
    let form_from = if request.form.is_some() { Origin::Asked } else { Origin::Drawn };
    let primer_classes: Vec<usize> = primer_events.iter().map(|&e| vocab.index(e)).collect();
    let batch = request.candidates as usize;
    let steps = total - primer_events.len();
    // The key's rule is the same every step: it rides on the noise, so every engine keeps it.
    let key_bias = prior.key_bias(c.key, vocab);
    let mut noise = Vec::with_capacity(batch * steps * vocab.size());
    for b in 0..batch {
        let mut rng = Rng::new(stream(request.seed, b));
        for _ in 0..steps {
            noise.extend(key_bias.iter().map(|&k| request.temperature * rng.gumbel() + k));
        }
    }
    let job = Job { inputs: &inputs, primer: &primer_classes, noise: &noise, batch, leap: prior.leap };

    let mut run = engine.start(&job).await?;
    for done in 1..=request.bars {
        engine.advance(&mut run, &job, primer_events.len() + (done * bar) as usize).await?;
        if !progress.bar(done, request.bars).await {
            return Err(GenerateError::Cancelled);
        }
    }
    let sampled = engine.finish(run, &job).await?;

    let mut melodies = Vec::with_capacity(sampled.len());
    let mut metrics = Vec::with_capacity(sampled.len());
    let mut scores = Vec::with_capacity(sampled.len());
    let mut classes = Vec::with_capacity(sampled.len());
    for s in sampled {
        let mut events = primer_events.clone();
        for &c in &s.classes {
            events.push(vocab.event(c).ok_or(EngineError::BadClass(c))?);
        }
        // A primer's notes stay as given: a hold straight after it would lengthen its last note
        // (a tie nobody wrote, over the bar line Continue or Regenerate keeps), so it is a rest.
        if !primer_events.is_empty() && events.get(primer_events.len()) == Some(&Event::Hold) {
            events[primer_events.len()] = Event::Off;
        }
        let m = melody(&events, request, &c)?;
        let measured = theory::metrics::measure(m.notes());
        scores.push(Score::new(s.log_likelihood, s.classes.len(), &measured));
        metrics.push(measured);
        melodies.push(m);
        classes.push(s.classes);
    }
    Ok(Generation {
        melodies,
        metrics,
        scores,
        classes,
        conditioning: c,
        key_from,
        style_from,
        meter_from,
        form,
        form_from,
        plan,
        primer_steps: primer_events.len() as u32,
        total_steps: total as u32,
    })
}

fn melody(events: &[Event], request: &Request, c: &Conditioning) -> Result<Melody, GenerateError> {
    let notes = decode(events);
    // "Any key" still needs one: for the key signature of the MIDI file and to tell the user.
    let key = c.key.or_else(|| theory::estimate_key(&notes));
    Ok(Melody::new(notes, Request::check_tempo(request.tempo)?, c.meter, key)?)
}

impl Generation {
    /// The candidates' indices, best first (by score; the batch order among equals).
    pub fn ranked(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.melodies.len()).collect();
        order.sort_by(|&a, &b| self.scores[b].total.total_cmp(&self.scores[a].total));
        order
    }

    /// Candidate `i` as the front ends receive it; `theory` is the strength the engine's model
    /// was blended at.
    pub fn response(&self, i: usize, request: &Request, engine: &impl Engine, theory: f32, ms: f64) -> Response {
        let m = &self.melodies[i];
        Response {
            notes: m.notes().to_vec(),
            key: m.key,
            key_from: self.key_from,
            style: self.conditioning.style,
            style_from: self.style_from,
            meter: m.meter,
            meter_from: self.meter_from,
            form: self.form.clone(),
            form_from: self.form_from,
            tempo: request.tempo,
            seed: request.seed,
            temperature: request.temperature,
            // An f32 read as a double shows 0.35 as 0.3499999940…: the strength to 3 decimals.
            theory: (theory as f64 * 1000.0).round() / 1000.0,
            steps_per_bar: m.meter.steps_per_bar(),
            total_steps: self.total_steps,
            primer_steps: self.primer_steps,
            metrics: self.metrics[i].clone(),
            engine: engine.name(),
            backend: engine.backend(),
            midi: crate::midi::export(m),
            share: crate::share::encode(m, self.total_steps, request.tempo),
            abc: crate::abc::write(m, self.total_steps, request.tempo, &format!("tunesmith, seed {}", request.seed)),
            candidate: i as u32,
            score: self.scores[i],
            ms,
        }
    }
}

#[cfg(all(test, feature = "burn"))]
mod tests {
    use super::*;
    use crate::encoding::{Lookback, Vocab};
    use crate::engine::Backend;
    use crate::engine::burn::BurnEngine;
    use crate::engine::int8::Int8Engine;
    use crate::form::Form;
    use crate::melody::{Note, Pitch, Step};
    use crate::model::packed::PackedLstm;
    use crate::model::{LstmConfig, ModelSpec, PitchRange};
    use burn::prelude::*;

    fn engines(lookback: Lookback) -> (BurnEngine, Int8Engine) {
        let device = Device::flex();
        device.seed(3);
        let config = LstmConfig {
            range: PitchRange::from(Vocab::DEFAULT),
            embed: 8,
            hidden: 16,
            layers: 2,
            dropout: 0.0,
            lookback,
        };
        let spec = ModelSpec::Lstm(config.clone());
        let model = crate::model::build(&spec, &device).unwrap();
        let crate::model::MelodyModel::Lstm(lstm) = &model else { unreachable!() };
        let int8 = Int8Engine::new(PackedLstm::from_lstm(lstm).unwrap(), &config).unwrap();
        (BurnEngine::new(model, &spec, device, Backend::Cpu).unwrap(), int8)
    }

    fn run<E: Engine>(engine: &E, request: &Request) -> Result<Generation, GenerateError> {
        burn::tensor::read_sync(generate(engine, &TrainedOn::default(), request, Prior::NONE, &mut ()))
    }

    fn primer() -> Vec<Note> {
        let n = |p, on, d| Note { pitch: Pitch::new(p).unwrap(), onset: Step(on), duration: Step(d) };
        vec![n(60, 0, 4), n(64, 4, 2)]
    }

    #[test]
    fn continuations_keep_the_primer_and_repeat_per_seed() {
        for (burn, int8) in
            [engines(Lookback::default()), engines(Lookback { bars: vec![1, 2], half: false, form: true })]
        {
            let request = Request { bars: 2, seed: 9, primer: primer(), phase: Phase::File, ..Request::default() };
            for g in [run(&burn, &request).unwrap(), run(&int8, &request).unwrap()] {
                assert_eq!(g.primer_steps, 16);
                assert_eq!(g.total_steps, 48);
                let m = &g.melodies[0];
                assert_eq!(&m.notes()[..2], &primer()[..], "the primer's notes, lengths too");
                assert!(m.notes()[2..].iter().all(|n| n.onset.0 >= 16), "new notes start after it");
                assert!(m.end().0 <= 48);
            }
            assert_eq!(run(&burn, &request).unwrap(), run(&burn, &request).unwrap());
            assert_eq!(run(&int8, &request).unwrap(), run(&int8, &request).unwrap());
            let other = Request { seed: 10, ..request.clone() };
            assert_ne!(run(&int8, &other).unwrap().melodies, run(&int8, &request).unwrap().melodies);
            // Rests after the primer are kept when asked: the continuation starts at bar 3.
            let longer = Request { primer_bars: Some(2), ..request.clone() };
            for g in [run(&burn, &longer).unwrap(), run(&int8, &longer).unwrap()] {
                assert_eq!((g.primer_steps, g.total_steps), (32, 64));
                let m = &g.melodies[0];
                assert_eq!(&m.notes()[..2], &primer()[..]);
                assert!(m.notes()[2..].iter().all(|n| n.onset.0 >= 32));
            }
            // A note that fills the primer's last bar keeps its length, whatever comes next.
            let whole = vec![Note { pitch: Pitch::new(62).unwrap(), onset: Step(0), duration: Step(16) }];
            for seed in 0..24 {
                let r = Request { bars: 1, seed, primer: whole.clone(), phase: Phase::File, ..Request::default() };
                assert_eq!(run(&int8, &r).unwrap().melodies[0].notes()[0], whole[0], "seed {seed}");
            }
            let bad = Request { bars: 0, ..request.clone() };
            assert!(matches!(run(&int8, &bad), Err(GenerateError::Request(RequestError::Bars(0)))));
        }
    }

    /// With the prior's nats far above any logit, both engines keep both rules: every new note
    /// in the asked key, every leap answered (the primer's last, a sixth up, too). Without the
    /// prior the same untrained model breaks both.
    #[test]
    fn the_prior_keeps_its_rules_on_every_engine() {
        use crate::melody::Key;
        use crate::theory::metrics::{in_key, measure};
        let (burn, int8) = engines(Lookback::default());
        let n = |p, on| Note { pitch: Pitch::new(p).unwrap(), onset: Step(on), duration: Step(2) };
        let request = Request {
            bars: 4,
            seed: 11,
            candidates: 8,
            key: Some(Key::C_MAJOR),
            primer: vec![n(60, 0), n(69, 2)],
            phase: Phase::File,
            ..Request::default()
        };
        let strict = Prior { key: 50.0, leap: 50.0 };
        let broken = |g: &Generation| {
            let mut out = (0, 0);
            for m in &g.melodies {
                out.0 += m.notes()[2..].iter().filter(|n| !in_key(Key::C_MAJOR, n.pitch)).count();
                let measured = measure(m.notes());
                out.1 += measured.leaps - measured.leaps_resolved;
            }
            out
        };
        for (name, strict, none) in [
            ("burn", sample(&burn, &request, strict), sample(&burn, &request, Prior::NONE)),
            ("int8", sample(&int8, &request, strict), sample(&int8, &request, Prior::NONE)),
        ] {
            assert_eq!(broken(&strict), (0, 0), "{name}");
            let (outside, unanswered) = broken(&none);
            assert!(outside > 0 && unanswered > 0, "{name}: the test can fail ({outside}, {unanswered})");
        }
    }

    fn sample<E: Engine>(engine: &E, request: &Request, prior: Prior) -> Generation {
        burn::tensor::read_sync(generate(engine, &TrainedOn::default(), request, prior, &mut ())).unwrap()
    }

    #[test]
    fn candidates_share_a_batch_and_the_first_is_the_single_melody() {
        let (burn, int8) = engines(Lookback { bars: vec![1], half: false, form: true });
        let one = Request { bars: 2, seed: 5, form: Some(Form::parse("AB").unwrap()), ..Request::default() };
        let four = Request { candidates: 4, ..one.clone() };
        for (single, many) in [
            (run(&burn, &one).unwrap(), run(&burn, &four).unwrap()),
            (run(&int8, &one).unwrap(), run(&int8, &four).unwrap()),
        ] {
            assert_eq!(many.melodies.len(), 4);
            assert_eq!(many.melodies[0], single.melodies[0]);
            assert!(many.melodies[1..].iter().any(|m| *m != many.melodies[0]));
        }
    }

    #[test]
    fn candidates_are_scored_and_ranked() {
        let (burn, int8) = engines(Lookback { bars: vec![1], half: false, form: true });
        let request = Request { bars: 2, seed: 7, candidates: 6, ..Request::default() };
        let greedy = Request { temperature: 0.0, candidates: 1, ..request.clone() };
        for engine in [run(&burn, &request).unwrap(), run(&int8, &request).unwrap()] {
            let ranked = engine.ranked();
            let mut sorted = ranked.clone();
            sorted.sort();
            assert_eq!(sorted, (0..6).collect::<Vec<_>>());
            for pair in ranked.windows(2) {
                assert!(engine.scores[pair[0]].total >= engine.scores[pair[1]].total);
            }
            for s in &engine.scores {
                assert!(s.log_likelihood < 0.0 && s.log_likelihood > -10.0, "{s:?}");
                assert!((0.0..=1.0).contains(&s.theory), "{s:?}");
                assert!((s.total - s.log_likelihood - crate::request::THEORY_WEIGHT * s.theory).abs() < 1e-12);
            }
        }
        // Greedy steps take the likeliest class, which has at least 1/V of the probability.
        let floor = -(int8.vocab().size() as f64).ln();
        for g in [run(&burn, &greedy).unwrap(), run(&int8, &greedy).unwrap()] {
            assert!(g.scores[0].log_likelihood >= floor - 1e-6, "{:?} vs {floor}", g.scores[0]);
        }
    }

    #[test]
    fn a_form_needs_a_model_that_reads_one() {
        let (_, int8) = engines(Lookback::default());
        let request = Request { form: Some(Form::parse("AABA").unwrap()), ..Request::default() };
        assert!(matches!(run(&int8, &request), Err(GenerateError::NoForm)));
    }

    struct StopAfter(u32);
    impl Progress for StopAfter {
        async fn bar(&mut self, done: u32, _: u32) -> bool {
            done < self.0
        }
    }

    #[test]
    fn a_generation_stops_between_bars_when_asked() {
        let (_, int8) = engines(Lookback::default());
        let request = Request { bars: 8, ..Request::default() };
        let stopped =
            burn::tensor::read_sync(generate(&int8, &TrainedOn::default(), &request, Prior::NONE, &mut StopAfter(3)));
        assert!(matches!(stopped, Err(GenerateError::Cancelled)));
    }
}
