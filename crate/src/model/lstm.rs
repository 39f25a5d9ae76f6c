//! A stacked LSTM in the Melody RNN lineage, with a fused cell: each layer is one weight matrix
//! over `[x, h]`, so a generation step is one matmul per layer instead of eight.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::sigmoid;

use super::{InputEmbedding, LstmConfig, ModelError};

impl LstmConfig {
    pub fn init(&self, device: &Device) -> Result<LstmModel, ModelError> {
        let vocab = self.check()?;
        let cells = (0..self.layers)
            .map(|l| FusedCell::new(if l == 0 { self.embed } else { self.hidden }, self.hidden, device))
            .collect();
        Ok(LstmModel {
            input: InputEmbedding::new(vocab, self.embed, &self.lookback, device),
            cells,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(self.hidden, vocab.size()).init(device),
        })
    }
}

/// One LSTM layer. Gates are laid out `[input, forget, cell, output]` along the last axis.
#[derive(Module, Debug)]
pub struct FusedCell {
    /// [in + hidden, 4·hidden]: rows for `x` first, then for `h`.
    pub weight: Param<Tensor<2>>,
    pub bias: Param<Tensor<1>>,
    pub input_size: usize,
    pub hidden: usize,
}

impl FusedCell {
    fn new(input_size: usize, hidden: usize, device: &Device) -> Self {
        let k = 1.0 / (hidden as f64).sqrt();
        let weight = Tensor::<2>::random([input_size + hidden, 4 * hidden], Distribution::Uniform(-k, k), device);
        // Forget gate starts open (bias 1) so early training keeps memory (Jozefowicz et al. 2015).
        let mut bias = vec![0.0f32; 4 * hidden];
        bias[hidden..2 * hidden].fill(1.0);
        let bias = Tensor::<1>::from_floats(bias.as_slice(), device);
        FusedCell { weight: Param::from_tensor(weight), bias: Param::from_tensor(bias), input_size, hidden }
    }

    fn gates(&self, z: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = self.hidden;
        let i = sigmoid(z.clone().slice(s![.., 0..h]));
        let f = sigmoid(z.clone().slice(s![.., h..2 * h]));
        let g = z.clone().slice(s![.., 2 * h..3 * h]).tanh();
        let o = sigmoid(z.slice(s![.., 3 * h..4 * h]));
        let c = f * c + i * g;
        let h = o * c.clone().tanh();
        (h, c)
    }

    /// One step: `x` [B, in] → new (h, c).
    fn step(&self, x: Tensor<2>, h: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let z = Tensor::cat(vec![x, h], 1).matmul(self.weight.val()) + self.bias.val().unsqueeze::<2>();
        self.gates(z, c)
    }
}

#[derive(Module, Debug)]
pub struct LstmModel {
    pub input: InputEmbedding,
    pub cells: Vec<FusedCell>,
    pub dropout: Dropout,
    pub head: Linear,
}

/// Hidden and cell state of every layer.
pub struct LstmState {
    h: Vec<Tensor<2>>,
    c: Vec<Tensor<2>>,
}

impl LstmState {
    /// The same values cut off from the autodiff graph: truncated backpropagation through time.
    pub fn detach(self) -> Self {
        LstmState {
            h: self.h.into_iter().map(|h| h.detach()).collect(),
            c: self.c.into_iter().map(|c| c.detach()).collect(),
        }
    }
}

impl LstmModel {
    pub fn start(&self, batch: usize, device: &Device) -> LstmState {
        let zeros = |cell: &FusedCell| Tensor::<2>::zeros([batch, cell.hidden], device);
        LstmState { h: self.cells.iter().map(zeros).collect(), c: self.cells.iter().map(zeros).collect() }
    }

    /// Teacher-forced pass over `tokens` [B, T] → logits [B, T, V] and the final state.
    ///
    /// Time-major: each step looks up its own inputs and runs every layer. Slicing a [B, T, ·]
    /// activation per step instead would make the backward pass quadratic in T (every slice's
    /// gradient is a full-size tensor).
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        columns: Tensor<3, Int>,
        state: Option<LstmState>,
    ) -> (Tensor<3>, LstmState) {
        self.forward_resetting(tokens, columns, None, state)
    }

    /// [`forward`](Self::forward) over rows that hold several tunes end to end: where `keep`
    /// [B, T] is 0 the state is zeroed before the step, so each tune starts as it would alone.
    pub fn forward_resetting(
        &self,
        tokens: Tensor<2, Int>,
        columns: Tensor<3, Int>,
        keep: Option<Tensor<2>>,
        state: Option<LstmState>,
    ) -> (Tensor<3>, LstmState) {
        let [b, t] = tokens.dims();
        let mut state = state.unwrap_or_else(|| self.start(b, &tokens.device()));
        let mut out = Vec::with_capacity(t);
        for step in 0..t {
            if let Some(keep) = &keep {
                let k = keep.clone().slice(s![.., step..step + 1]);
                state.h = state.h.into_iter().map(|h| h * k.clone()).collect();
                state.c = state.c.into_iter().map(|c| c * k.clone()).collect();
            }
            let x = self
                .input
                .step(tokens.clone().slice(s![.., step..step + 1]), columns.clone().slice(s![.., step..step + 1, ..]));
            let (h, next) = self.step_train(x, state);
            state = next;
            out.push(h.unsqueeze_dim::<3>(1));
        }
        (self.head.forward(self.dropout.forward(Tensor::cat(out, 1))), state)
    }

    /// Every layer for one step, with dropout between layers: input [B, D] → top h [B, H].
    fn step_train(&self, mut x: Tensor<2>, state: LstmState) -> (Tensor<2>, LstmState) {
        let mut next = LstmState { h: Vec::with_capacity(self.cells.len()), c: Vec::with_capacity(self.cells.len()) };
        for (cell, (h, c)) in self.cells.iter().zip(state.h.into_iter().zip(state.c)) {
            let (h, c) = cell.step(self.dropout.forward(x), h, c);
            x = h.clone();
            next.h.push(h);
            next.c.push(c);
        }
        (x, next)
    }

    /// One generation step: input embedding `x` [B, D] → logits [B, V].
    pub fn step(&self, x: Tensor<2>, state: LstmState) -> (Tensor<2>, LstmState) {
        let (h, state) = self.step_train(x, state);
        (self.head.forward(h), state)
    }
}
