"""The Note RNN training recipe: loss terms, optimizer, compiled steps.

The numbers are the paper's (Jaques et al. 2017, section 5 and the original
`rl_tuner_ops.default_hparams()`), all in `NoteRNNHParams`:

  * minibatches of `batch_size` melodies, each cut to its first
    `max_sequence_length` steps and padded to the longest in the batch;
  * loss = mean cross-entropy (nats) of the next class over the *counted*
    steps: the real (unpadded) steps t >= `skip_first_n_losses` of every
    melody, plus `l2_reg` * sum over weight matrices of ||W||^2 / 2 (biases
    are not penalized; `tf.nn.l2_loss` convention);
  * gradients rescaled to a global norm of at most `clip_norm`;
  * learning rate `initial_learning_rate * decay_rate ** floor(step /
    decay_steps)` when `exponentially_decay_learning_rate` (staircase, as
    Magenta's 2016 trainer), otherwise the constant `learning_rate`;
  * optimizer: Adagrad by default (`OPTIMIZER_ADAGRAD`) -- the paper's text
    says Adam, but its published checkpoint holds Adagrad accumulators, and
    the hparams' initial rate of 0.5 suits Adagrad while it makes Adam
    diverge; Adam (`OPTIMIZER_ADAM`) is available for other rates.

`make_train_step` compiles one gradient step, `evaluate` scores a model on
a TFRecord file. The training loop and run folder are `note_rnn.training`;
every name here is re-exported there.
"""

import math
import weakref

import numpy as np

from note_rnn import encoding

# TensorFlow, Keras and the TFRecord reader are imported by the functions
# that use them: --help of the tools that read the names here need not load
# TensorFlow.

# Optimizer names accepted by `make_optimizer` and `training.train`.
OPTIMIZER_ADAGRAD = 'adagrad'
OPTIMIZER_ADAM = 'adam'
OPTIMIZERS = (OPTIMIZER_ADAGRAD, OPTIMIZER_ADAM)
DEFAULT_OPTIMIZER = OPTIMIZER_ADAGRAD
# Starting value of Adagrad's squared-gradient accumulators (TF1's default).
ADAGRAD_INITIAL_ACCUMULATOR = 0.1


class TrainingError(ValueError):
  """Unusable training input: a bad file, or a run_dir that does not fit."""


# --- Loss terms --------------------------------------------------------------


def loss_weights(lengths, num_time_steps, skip_first_n_losses):
  """Which steps of a padded batch count in the loss.

  Args:
    lengths: int [B] real steps of each melody.
    num_time_steps: int T, padded length of the batch.
    skip_first_n_losses: int, leading steps of every melody not counted.

  Returns:
    float32 [B, T]: 1.0 where skip_first_n_losses <= t < lengths[b], else 0.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  real = tf.sequence_mask(lengths, num_time_steps)
  late = tf.range(num_time_steps) >= tf.cast(skip_first_n_losses, tf.int32)
  return tf.cast(tf.logical_and(real, late[tf.newaxis, :]), tf.float32)


def step_losses(logits, labels):
  """Per-step cross-entropy and correctness of the argmax prediction.

  Args:
    logits: float32 [B, T, 38].
    labels: int [B, T] next classes.

  Returns:
    (cross_entropy float32 [B, T] in nats, correct float32 [B, T] 1.0 where
    argmax(logits) == label).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  labels = tf.cast(labels, tf.int64)
  cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels, logits=logits)
  correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1), labels), tf.float32)
  return cross_entropy, correct


def l2_penalty(model):
  """Sum over the weight matrices (not biases) of ||W||^2 / 2 (scalar)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.add_n([tf.nn.l2_loss(v) for v in weight_matrices(model)])


def weight_matrices(model):
  """The kernels of `model` (every variable but the biases), in order."""
  return [v for name, v in zip(model.variable_names, model.variables)
          if not name.endswith('/bias')]


def learning_rate_schedule(hparams):
  """The learning rate as a function of the step (a Keras schedule or float).

  With `exponentially_decay_learning_rate`: initial_learning_rate *
  decay_rate ** floor(step / decay_steps); otherwise `learning_rate`.
  """
  import keras  # pylint: disable=g-import-not-at-top
  if hparams.exponentially_decay_learning_rate:
    return keras.optimizers.schedules.ExponentialDecay(
        hparams.initial_learning_rate, hparams.decay_steps,
        hparams.decay_rate, staircase=True)
  return hparams.learning_rate


def make_optimizer(hparams, name=DEFAULT_OPTIMIZER):
  """A Keras optimizer with the hparams' learning-rate schedule.

  Args:
    hparams: NoteRNNHParams.
    name: one of OPTIMIZERS.

  Returns:
    keras.optimizers.Optimizer (not yet built). Gradient clipping is done by
    the train step, not by the optimizer.
  """
  import keras  # pylint: disable=g-import-not-at-top
  rate = learning_rate_schedule(hparams)
  if name == OPTIMIZER_ADAGRAD:
    return keras.optimizers.Adagrad(
        learning_rate=rate,
        initial_accumulator_value=ADAGRAD_INITIAL_ACCUMULATOR)
  if name == OPTIMIZER_ADAM:
    return keras.optimizers.Adam(learning_rate=rate)
  raise ValueError(
      f'unknown optimizer {name!r}; valid: {", ".join(OPTIMIZERS)}')


def current_learning_rate(optimizer, step):
  """The learning rate (float) `optimizer` applies at `step`."""
  rate = optimizer.learning_rate
  return float(rate) if not callable(rate) else float(rate(step))


# --- Compiled steps ----------------------------------------------------------

def _batch_signature():
  """The input signature of the compiled steps: inputs, labels, lengths."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return (
      tf.TensorSpec([None, None, encoding.NUM_CLASSES], tf.float32),  # inputs
      tf.TensorSpec([None, None], tf.int64),  # labels
      tf.TensorSpec([None], tf.int32),  # lengths
  )


def make_train_step(model, optimizer, seed=0):
  """Compiles one training step of `model` with `optimizer`.

  The returned function takes a batch (inputs float32 [B, T, 38], labels
  int64 [B, T], lengths int32 [B]), any B and T without retracing, applies one
  clipped gradient step and returns a dict of float32 scalars:
  cross_entropy_sum and correct_sum over the counted steps, num_counted
  (their number), loss (mean cross-entropy), l2_penalty (l2_reg times the
  penalty), total_loss (the optimized loss) and grad_norm (before clipping).
  With `hparams.dropout_keep_prob` < 1 the forward pass drops LSTM outputs
  (`NoteRNN.sequence_logits`), with masks seeded by (`seed`, the
  optimizer's step count), so a resumed run draws the masks an
  uninterrupted one would; the figures returned are then those of the
  dropped-out network. With 1.0 the step is the one without dropout.

  Args:
    model: NoteRNN (its hparams give skip_first_n_losses, l2_reg, clip_norm,
      dropout_keep_prob).
    optimizer: Keras optimizer; built here on the model's variables.
    seed: int seed of the dropout masks (the run's seed).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  hparams = model.hparams
  variables = list(model.trainable_variables)
  optimizer.build(variables)
  use_dropout = hparams.dropout_keep_prob < 1.0

  @tf.function(input_signature=_batch_signature())
  def train_step(inputs, labels, lengths):
    dropout_seed = None
    if use_dropout:
      dropout_seed = tf.stack([tf.constant(int(seed), tf.int64),
                               tf.cast(optimizer.iterations, tf.int64)])
    with tf.GradientTape() as tape:
      logits, _ = model.sequence_logits(inputs, lengths=lengths,
                                        dropout_seed=dropout_seed)
      cross_entropy, correct = step_losses(logits, labels)
      weights = loss_weights(lengths, tf.shape(labels)[1],
                             hparams.skip_first_n_losses)
      num_counted = tf.reduce_sum(weights)
      cross_entropy_sum = tf.reduce_sum(cross_entropy * weights)
      loss = tf.math.divide_no_nan(cross_entropy_sum, num_counted)
      penalty = hparams.l2_reg * l2_penalty(model)
      total_loss = loss + penalty
    gradients = tape.gradient(total_loss, variables)
    clipped, grad_norm = tf.clip_by_global_norm(gradients, hparams.clip_norm)
    optimizer.apply_gradients(zip(clipped, variables))
    return {
        'cross_entropy_sum': cross_entropy_sum,
        'correct_sum': tf.reduce_sum(correct * weights),
        'num_counted': num_counted,
        'loss': loss,
        'l2_penalty': penalty,
        'total_loss': total_loss,
        'grad_norm': grad_norm,
    }

  return train_step


# One compiled evaluation function per model, built on first use.
_EVAL_FUNCTIONS = weakref.WeakKeyDictionary()


def _eval_function(model):
  """Compiled batch statistics of `model`: float64 [6] sums (see below)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  function = _EVAL_FUNCTIONS.get(model)
  if function is None:
    # A weak reference, so that the cache entry does not keep `model` alive.
    model_ref = weakref.ref(model)

    @tf.function(input_signature=_batch_signature() +
                 (tf.TensorSpec([], tf.int32),))
    def function(inputs, labels, lengths, skip_first_n_losses):
      logits, _ = model_ref().sequence_logits(inputs, lengths=lengths)
      cross_entropy, correct = step_losses(logits, labels)
      time_steps = tf.shape(labels)[1]
      sums = []
      for skip in (skip_first_n_losses, 0):
        weights = loss_weights(lengths, time_steps, skip)
        sums += [tf.reduce_sum(tf.cast(cross_entropy * weights, tf.float64)),
                 tf.reduce_sum(tf.cast(correct * weights, tf.float64)),
                 tf.reduce_sum(tf.cast(weights, tf.float64))]
      # [cross-entropy, correct, count] with skipping, then without.
      return tf.stack(sums)

    _EVAL_FUNCTIONS[model] = function
  return function


def summarize(cross_entropy_sum, correct_sum, num_steps):
  """Metrics from sums over counted steps.

  Returns:
    dict: loss (mean cross-entropy, nats per step), accuracy (fraction of
    argmax hits), log_perplexity (= loss), perplexity (exp(loss)),
    mean_log_likelihood_per_step (= -loss) and num_steps. With no step the
    means are NaN.
  """
  num_steps = int(round(num_steps))
  if num_steps == 0:
    loss = accuracy = math.nan
  else:
    loss = float(cross_entropy_sum) / num_steps
    accuracy = float(correct_sum) / num_steps
  return {
      'loss': loss,
      'accuracy': accuracy,
      'log_perplexity': loss,
      'perplexity': math.exp(loss) if loss < 700 else math.inf,
      'mean_log_likelihood_per_step': -loss,
      'num_steps': num_steps,
  }


def evaluate(model, sequence_example_file, batch_size=None,
             skip_first_n_losses=None, truncate=True):
  """Loss and accuracy of `model` over every melody of a TFRecord file.

  The steps counted are those of training: real steps t >= skip of each
  melody (of its first `max_sequence_length` steps when `truncate`). The
  same pass also counts every real step (no skipping).

  Args:
    model: NoteRNN.
    sequence_example_file: TFRecord path (or list of paths) of melody
      SequenceExamples (`note_rnn.sequence_example_io` layout).
    batch_size: melodies per batch; default `model.hparams.batch_size`.
      Only speed and memory depend on it.
    skip_first_n_losses: leading steps not counted; default the model's
      `hparams.skip_first_n_losses`.
    truncate: cut melodies to `hparams.max_sequence_length` steps as training
      does (True), or count every step of every melody (False).

  Returns:
    dict with the keys of `summarize` (loss, accuracy, log_perplexity,
    perplexity, mean_log_likelihood_per_step, num_steps) for the counted
    steps, plus num_melodies, skip_first_n_losses, max_length (None when not
    truncated) and 'without_skip': the `summarize` dict over every real step.

  Raises:
    FileNotFoundError: a file is missing.
    TrainingError: the file holds no melody.
  """
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf

  # Imported here (it imports TensorFlow): see the imports above.
  from note_rnn.data import sequence_example_io

  # pylint: enable=g-import-not-at-top
  hparams = model.hparams
  batch_size = batch_size or hparams.batch_size
  if skip_first_n_losses is None:
    skip_first_n_losses = hparams.skip_first_n_losses
  max_length = hparams.max_sequence_length if truncate else None
  dataset = sequence_example_io.make_training_dataset(
      sequence_example_file, batch_size, max_length, shuffle=False,
      repeat=False)
  function = _eval_function(model)
  skip = tf.constant(skip_first_n_losses, tf.int32)
  totals = np.zeros(6, np.float64)
  num_melodies = 0
  for inputs, labels, lengths in dataset:
    totals += function(inputs, labels, lengths, skip).numpy()
    num_melodies += int(lengths.shape[0])
  if not num_melodies:
    raise TrainingError(f'no melody in {sequence_example_file}')
  result = summarize(*totals[:3])
  result.update(num_melodies=num_melodies,
                skip_first_n_losses=int(skip_first_n_losses),
                max_length=max_length,
                without_skip=summarize(*totals[3:]))
  return result
