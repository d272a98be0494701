"""Supervised training and evaluation of the Note RNN on melody TFRecords.

The recipe is the paper's (Jaques et al. 2017, section 5 and the original
`rl_tuner_ops.default_hparams()`), with every number in `NoteRNNHParams`:

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

A run lives in one folder, `run_dir`:

  checkpoint/            the latest state, replaced atomically:
    model/               `NoteRNN.save` of the weights (NoteRNN.load reads it)
    optimizer_state.npz  the optimizer's variables (slots and step counter)
    training_state.json  step, seeds, histories, best eval loss, settings
  best/                  `NoteRNN.save` of the weights with the lowest eval
                         loss (only with an eval file)
  tensorboard/train, tensorboard/eval   TensorBoard scalars
  metrics.json           summary of the run (see `train`)

Calling `train` again with the same `run_dir` resumes from `checkpoint/`:
weights, optimizer slots, step and best eval loss are restored and the
training data are fast-forwarded past the batches already used, so an
interrupted run ends with the same weights as an uninterrupted one.
"""

import collections
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time
import weakref

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from note_rnn import encoding
from note_rnn import hparams as hparams_lib
from note_rnn import model as model_lib
from note_rnn import sequence_example_io

# Optimizer names accepted by `train`.
OPTIMIZER_ADAGRAD = 'adagrad'
OPTIMIZER_ADAM = 'adam'
OPTIMIZERS = (OPTIMIZER_ADAGRAD, OPTIMIZER_ADAM)
DEFAULT_OPTIMIZER = OPTIMIZER_ADAGRAD
# Starting value of Adagrad's squared-gradient accumulators (TF1's default).
ADAGRAD_INITIAL_ACCUMULATOR = 0.1
# Seed of a new run when none is given.
DEFAULT_SEED = 0
# Default intervals, in training steps.
DEFAULT_EVAL_EVERY_N = 1000
DEFAULT_CHECKPOINT_EVERY_N = 1000
DEFAULT_LOG_EVERY_N = 100

# Names inside run_dir.
CHECKPOINT_DIR = 'checkpoint'
BEST_DIR = 'best'
TENSORBOARD_DIR = 'tensorboard'
METRICS_FILE = 'metrics.json'
# Names inside a checkpoint folder.
MODEL_DIR = 'model'
OPTIMIZER_STATE_FILE = 'optimizer_state.npz'
TRAINING_STATE_FILE = 'training_state.json'
# Where the previous checkpoint waits while a new one is renamed into place.
_PREVIOUS_CHECKPOINT_DIR = CHECKPOINT_DIR + '.previous'
# Version of the training_state.json layout.
TRAINING_STATE_VERSION = 1


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
  labels = tf.cast(labels, tf.int64)
  cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels, logits=logits)
  correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1), labels), tf.float32)
  return cross_entropy, correct


def l2_penalty(model):
  """Sum over the weight matrices (not biases) of ||W||^2 / 2 (scalar)."""
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
  rate = learning_rate_schedule(hparams)
  if name == OPTIMIZER_ADAGRAD:
    return keras.optimizers.Adagrad(
        learning_rate=rate,
        initial_accumulator_value=ADAGRAD_INITIAL_ACCUMULATOR)
  if name == OPTIMIZER_ADAM:
    return keras.optimizers.Adam(learning_rate=rate)
  raise ValueError(
      f'unknown optimizer {name!r}; valid: {", ".join(OPTIMIZERS)}')


def _current_learning_rate(optimizer, step):
  rate = optimizer.learning_rate
  return float(rate) if not callable(rate) else float(rate(step))


# --- Compiled steps ----------------------------------------------------------

_BATCH_SIGNATURE = (
    tf.TensorSpec([None, None, encoding.NUM_CLASSES], tf.float32),  # inputs
    tf.TensorSpec([None, None], tf.int64),  # labels
    tf.TensorSpec([None], tf.int32),  # lengths
)


def make_train_step(model, optimizer):
  """Compiles one training step of `model` with `optimizer`.

  The returned function takes a batch (inputs float32 [B, T, 38], labels
  int64 [B, T], lengths int32 [B]), any B and T without retracing, applies one
  clipped gradient step and returns a dict of float32 scalars:
  cross_entropy_sum and correct_sum over the counted steps, num_counted
  (their number), loss (mean cross-entropy), l2_penalty (l2_reg times the
  penalty), total_loss (the optimized loss) and grad_norm (before clipping).

  Args:
    model: NoteRNN (its hparams give skip_first_n_losses, l2_reg, clip_norm).
    optimizer: Keras optimizer; built here on the model's variables.
  """
  hparams = model.hparams
  variables = list(model.trainable_variables)
  optimizer.build(variables)

  @tf.function(input_signature=_BATCH_SIGNATURE)
  def train_step(inputs, labels, lengths):
    with tf.GradientTape() as tape:
      logits, _ = model.sequence_logits(inputs, lengths=lengths)
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
  function = _EVAL_FUNCTIONS.get(model)
  if function is None:
    # A weak reference, so that the cache entry does not keep `model` alive.
    model_ref = weakref.ref(model)

    @tf.function(input_signature=_BATCH_SIGNATURE +
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


# --- Run folder --------------------------------------------------------------


@dataclasses.dataclass
class TrainingState:
  """Everything besides weights and optimizer slots that a resume needs."""

  step: int = 0
  seed: int = DEFAULT_SEED
  optimizer: str = DEFAULT_OPTIMIZER
  hparams: dict = dataclasses.field(default_factory=dict)
  sequence_example_file: str = ''
  eval_sequence_example_file: str = ''
  init_checkpoint: str = ''
  best_eval_loss: float | None = None
  best_eval_step: int | None = None
  evals_without_improvement: int = 0
  stopped_early: bool = False
  wall_time_s: float = 0.0
  # [{'step', 'loss', 'accuracy', 'log_perplexity', 'learning_rate'}, ...]
  train_history: list = dataclasses.field(default_factory=list)
  # [{'step', 'loss', 'accuracy', 'log_perplexity', 'num_steps'}, ...]
  eval_history: list = dataclasses.field(default_factory=list)

  def to_json(self):
    values = dataclasses.asdict(self)
    values['format_version'] = TRAINING_STATE_VERSION
    return json.dumps(values, indent=2)

  @classmethod
  def from_json(cls, text):
    values = json.loads(text)
    version = values.pop('format_version', None)
    if version != TRAINING_STATE_VERSION:
      raise TrainingError(f'training state version {version} is not '
                          f'{TRAINING_STATE_VERSION}')
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def latest_checkpoint_dir(run_dir):
  """The folder of the run's latest complete checkpoint, or None."""
  for name in (CHECKPOINT_DIR, _PREVIOUS_CHECKPOINT_DIR):
    path = os.path.join(run_dir, name)
    if os.path.isfile(os.path.join(path, TRAINING_STATE_FILE)):
      return path
  return None


def _write_checkpoint(run_dir, model, optimizer, state):
  """Writes model, optimizer variables and state; swaps them in atomically."""
  os.makedirs(run_dir, exist_ok=True)
  prefix = f'.{CHECKPOINT_DIR}.tmp-'
  for entry in os.listdir(run_dir):  # Left by an interrupted write.
    if entry.startswith(prefix):
      shutil.rmtree(os.path.join(run_dir, entry), ignore_errors=True)
  staging = tempfile.mkdtemp(dir=run_dir, prefix=prefix)
  try:
    model.save(os.path.join(staging, MODEL_DIR),
               metadata={'step': state.step, 'seed': state.seed,
                         'optimizer': state.optimizer,
                         'sequence_example_file':
                             state.sequence_example_file})
    arrays = {_slot_key(i): np.asarray(v.numpy())
              for i, v in enumerate(optimizer.variables)}
    with open(os.path.join(staging, OPTIMIZER_STATE_FILE), 'wb') as f:
      np.savez(f, **arrays)
    # Written last: a folder with this file is a complete checkpoint.
    encoding.write_file_atomically(
        os.path.join(staging, TRAINING_STATE_FILE),
        state.to_json().encode('utf-8'))
    current = os.path.join(run_dir, CHECKPOINT_DIR)
    previous = os.path.join(run_dir, _PREVIOUS_CHECKPOINT_DIR)
    if os.path.isdir(current):
      shutil.rmtree(previous, ignore_errors=True)
      os.rename(current, previous)
    os.rename(staging, current)
    shutil.rmtree(previous, ignore_errors=True)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise


def _slot_key(index):
  # Keras makes optimizer variable names unique per process (adagrad_1/...),
  # so the state is keyed by position; shapes are checked on restore.
  return f'variable_{index:03d}'


def _restore_optimizer(path, optimizer):
  variables = list(optimizer.variables)
  with np.load(path) as arrays:
    expected = [_slot_key(i) for i in range(len(variables))]
    if sorted(arrays.files) != expected or any(
        arrays[k].shape != tuple(v.shape) for k, v in zip(expected, variables)):
      raise TrainingError(
          f'optimizer state {path} does not fit this optimizer (it holds '
          f'{len(arrays.files)} variables; expected shapes '
          f'{[tuple(v.shape) for v in variables]})')
    for key, variable in zip(expected, variables):
      variable.assign(arrays[key])


def _write_json(path, values):
  encoding.write_file_atomically(
      path, (json.dumps(values, indent=2, default=_json_default) + '\n')
      .encode('utf-8'))


def _json_default(value):
  if isinstance(value, np.generic):
    return value.item()
  raise TypeError(f'not JSON-serializable: {value!r}')


# --- Training loop -----------------------------------------------------------


def _resolve_hparams(base, requested):
  """Applies `requested` (NoteRNNHParams, override string or None) to base."""
  if requested is None:
    return base
  if isinstance(requested, str):
    return base.parse(requested)
  if isinstance(requested, hparams_lib.NoteRNNHParams):
    return requested
  raise TypeError(f'hparams must be NoteRNNHParams, str or None; got '
                  f'{type(requested).__name__}')


def _differences(stored, requested):
  a, b = stored.to_dict(), requested.to_dict()
  return ', '.join(f'{k}={a[k]!r} (requested {b[k]!r})'
                   for k in a if a[k] != b[k])


def _format_duration(seconds):
  if not math.isfinite(seconds):
    return '?'
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return f'{hours}:{minutes:02d}:{seconds:02d}'


def _check_file(path, what):
  if not path or not os.path.isfile(path):
    raise TrainingError(f'{what} not found: {path!r}')


def _eval_record(step, result):
  return {'step': step, 'loss': result['loss'],
          'accuracy': result['accuracy'],
          'log_perplexity': result['log_perplexity'],
          'num_steps': result['num_steps']}


def train(sequence_example_file, run_dir, num_training_steps,
          eval_sequence_example_file=None, hparams=None, seed=None,
          init_checkpoint=None, optimizer=None,
          eval_every_n=DEFAULT_EVAL_EVERY_N,
          checkpoint_every_n=DEFAULT_CHECKPOINT_EVERY_N,
          log_every_n=DEFAULT_LOG_EVERY_N,
          stop_after_evals_without_improvement=0, command_line=None):
  """Trains a Note RNN (or resumes training it) and writes the run folder.

  Args:
    sequence_example_file: training TFRecord of melody SequenceExamples.
    run_dir: folder of the run (see the module docstring); an existing
      checkpoint in it is resumed.
    num_training_steps: total gradient steps of the run (not of this call).
    eval_sequence_example_file: optional evaluation TFRecord; evaluated every
      `eval_every_n` steps and at the end, and `run_dir/best` kept.
    hparams: NoteRNNHParams, or a 'name=value,...' override string applied to
      the base hparams (the resumed run's, else the init checkpoint's, else
      `default_hparams()`), or None for the base itself. A resumed run's
      hparams cannot change.
    seed: int seeding the weight initialization, TensorFlow, NumPy and the
      data order; None: the resumed run's seed, else DEFAULT_SEED.
    init_checkpoint: any path `NoteRNN.load` reads; a new run starts from
      its weights (fine-tuning). Ignored when resuming.
    optimizer: one of OPTIMIZERS; None: the resumed run's, else
      DEFAULT_OPTIMIZER.
    eval_every_n: steps between evaluations.
    checkpoint_every_n: steps between checkpoints (one is always written at
      the end).
    log_every_n: steps between progress lines and training summaries.
    stop_after_evals_without_improvement: stop once this many evaluations in
      a row did not lower the best eval loss (0: never stop early).
    command_line: list of str recorded in metrics.json; default sys.argv.

  Returns:
    The dict written to run_dir/metrics.json: step, num_training_steps,
    finished, stopped_early, train (metrics over the last `log_every_n`
    steps: loss, accuracy, log_perplexity, perplexity,
    mean_log_likelihood_per_step, num_steps counted, plus learning_rate and
    l2_penalty), eval (the last evaluation, see `evaluate`, or None),
    best_eval ({'step', 'loss'} or None), eval_history, steps_per_second
    (this call, first compiled step excluded), wall_time_s (all calls),
    wall_time_s_this_call, command_line, hparams, seed, optimizer and files.

  Raises:
    TrainingError: missing input file, a run_dir that does not fit the
      request, or an empty training file.
    ValueError: bad hparams (unknown names are listed) or arguments.
    FileNotFoundError, note_rnn.CheckpointError: unusable init_checkpoint.
  """
  start_time = time.monotonic()
  run_dir = os.fspath(run_dir)
  sequence_example_file = os.fspath(sequence_example_file)
  _check_file(sequence_example_file, 'training sequence_example_file')
  if eval_sequence_example_file:
    eval_sequence_example_file = os.fspath(eval_sequence_example_file)
    _check_file(eval_sequence_example_file, 'eval_sequence_example_file')
  for name, value in (('num_training_steps', num_training_steps),
                      ('eval_every_n', eval_every_n),
                      ('checkpoint_every_n', checkpoint_every_n),
                      ('log_every_n', log_every_n)):
    if not isinstance(value, int) or value < 1:
      raise ValueError(f'{name} must be a positive int; got {value!r}')
  if stop_after_evals_without_improvement < 0:
    raise ValueError('stop_after_evals_without_improvement must be >= 0')
  if optimizer is not None and optimizer not in OPTIMIZERS:
    raise ValueError(f'unknown optimizer {optimizer!r}; valid: '
                     f'{", ".join(OPTIMIZERS)}')
  if os.path.exists(run_dir) and not os.path.isdir(run_dir):
    raise TrainingError(f'run_dir {run_dir} exists and is not a folder')

  checkpoint_dir = latest_checkpoint_dir(run_dir)
  if checkpoint_dir:
    model, state = _resume(checkpoint_dir, hparams, seed, optimizer,
                           sequence_example_file, init_checkpoint)
  else:
    model, state = _start(hparams, seed, optimizer, sequence_example_file,
                          init_checkpoint)
  state.eval_sequence_example_file = eval_sequence_example_file or ''

  metrics_path = os.path.join(run_dir, METRICS_FILE)
  done = state.step >= num_training_steps or (
      state.stopped_early and stop_after_evals_without_improvement > 0)
  if done:
    logging.info('Run %s is already %s at step %d (asked for %d steps); '
                 'nothing to train.', run_dir,
                 'stopped early' if state.stopped_early else 'done',
                 state.step, num_training_steps)
    if os.path.isfile(metrics_path):
      with open(metrics_path, encoding='utf-8') as f:
        return json.load(f)

  run = _Run(model, state, run_dir, checkpoint_dir, num_training_steps,
             log_every_n, start_time)
  if not done:
    logging.info('Training %r for %d steps into %s (optimizer %s, seed %d, '
                 'hparams %s)', model, num_training_steps, run_dir,
                 state.optimizer, state.seed, model.hparams.to_dict())
  while not done and state.step < num_training_steps:
    run.train_one_step()
    last = state.step == num_training_steps
    if state.step % log_every_n == 0 or last:
      run.log_progress()
    stop = False
    if eval_sequence_example_file and (state.step % eval_every_n == 0 or
                                       last):
      run.evaluate(eval_sequence_example_file)
      if (stop_after_evals_without_improvement and
          state.evals_without_improvement >=
          stop_after_evals_without_improvement):
        state.stopped_early = stop = True
        logging.info('Stopping early at step %d: %d evaluations without a '
                     'lower eval loss (best %.4f at step %d).', state.step,
                     state.evals_without_improvement, state.best_eval_loss,
                     state.best_eval_step)
    if stop or last or state.step % checkpoint_every_n == 0:
      run.checkpoint()
    if stop:
      break
  if run.steps_this_call == 0 and eval_sequence_example_file:
    # Nothing trained (metrics.json was lost): report the checkpoint.
    run.last_eval = evaluate(model, eval_sequence_example_file)

  metrics = run.metrics(num_training_steps, metrics_path)
  metrics.update(
      command_line=list(sys.argv if command_line is None else command_line),
      files={'training': sequence_example_file,
             'eval': eval_sequence_example_file or None,
             'init_checkpoint': state.init_checkpoint or None,
             'checkpoint': os.path.join(run_dir, CHECKPOINT_DIR),
             'best': (os.path.join(run_dir, BEST_DIR)
                      if state.best_eval_step is not None else None)},
      tensorflow_version=tf.__version__)
  _write_json(metrics_path, metrics)
  logging.info('Finished at step %d/%d in %s (%s steps/s). Metrics: %s',
               state.step, num_training_steps,
               _format_duration(metrics['wall_time_s_this_call']),
               (f'{metrics["steps_per_second"]:.2f}'
                if metrics['steps_per_second'] else '?'), metrics_path)
  return metrics


class _Run:
  """The state of one `train` call: compiled step, data, writers, timers."""

  def __init__(self, model, state, run_dir, checkpoint_dir,
               num_training_steps, log_every_n, start_time):
    hp = model.hparams
    self.model, self.state, self.run_dir = model, state, run_dir
    self.num_training_steps = num_training_steps
    keras.utils.set_random_seed(state.seed)
    self.optimizer = make_optimizer(hp, state.optimizer)
    self.train_step = make_train_step(model, self.optimizer)
    if checkpoint_dir:
      _restore_optimizer(os.path.join(checkpoint_dir, OPTIMIZER_STATE_FILE),
                         self.optimizer)
      restored_step = int(self.optimizer.iterations.numpy())
      if restored_step != state.step:
        raise TrainingError(
            f'checkpoint {checkpoint_dir} is inconsistent: optimizer step '
            f'{restored_step} != state step {state.step}')
    dataset = sequence_example_io.make_training_dataset(
        state.sequence_example_file, hp.batch_size, hp.max_sequence_length,
        shuffle=True, seed=state.seed, repeat=True)
    if state.step:
      # The data order is a function of the seed: skipping the batches
      # already used puts the run where an uninterrupted one would be.
      logging.info('Resuming %s at step %d: skipping the %d batches already '
                   'trained on.', run_dir, state.step, state.step)
      dataset = dataset.skip(state.step)
    self.batches = iter(dataset)
    self.writers = {
        kind: tf.summary.create_file_writer(
            os.path.join(run_dir, TENSORBOARD_DIR, kind))
        for kind in ('train', 'eval')}
    # Per-step sums of the last `log_every_n` steps (floats).
    self.window = collections.deque(maxlen=log_every_n)
    self.last_eval = None
    self.steps_this_call = 0
    self.start_time = start_time
    self.first_step_end = None
    self.wall_mark = start_time  # Wall time before it is in state.
    self.log_time, self.log_step = time.monotonic(), state.step

  def train_one_step(self):
    """Takes one gradient step on the next batch."""
    try:
      batch = next(self.batches)
    except StopIteration:
      raise TrainingError(
          f'no melody in {self.state.sequence_example_file}') from None
    values = {k: float(v) for k, v in self.train_step(*batch).items()}
    self.state.step += 1
    self.steps_this_call += 1
    if self.first_step_end is None:
      self.first_step_end = time.monotonic()
    if not math.isfinite(values['total_loss']):
      raise FloatingPointError(
          f'training loss is {values["total_loss"]} at step '
          f'{self.state.step}; lower the learning rate (optimizer '
          f'{self.state.optimizer})')
    self.window.append(values)

  def log_progress(self):
    """Logs a progress line and writes the training scalars."""
    state = self.state
    now = time.monotonic()
    rate = (state.step - self.log_step) / max(now - self.log_time, 1e-9)
    self.log_time, self.log_step = now, state.step
    metrics = _window_metrics(self.window)
    learning_rate = _current_learning_rate(self.optimizer, state.step)
    state.train_history.append({
        'step': state.step, 'loss': metrics['loss'],
        'accuracy': metrics['accuracy'],
        'log_perplexity': metrics['log_perplexity'],
        'learning_rate': learning_rate})
    last = self.window[-1]
    with self.writers['train'].as_default(step=state.step):
      for key in ('loss', 'accuracy', 'log_perplexity'):
        tf.summary.scalar(key, metrics[key])
      tf.summary.scalar('learning_rate', learning_rate)
      tf.summary.scalar('l2_penalty', last['l2_penalty'])
      tf.summary.scalar('grad_norm', last['grad_norm'])
      tf.summary.scalar('steps_per_second', rate)
    remaining = self.num_training_steps - state.step
    logging.info(
        'step %d/%d: loss %.4f, accuracy %.4f, log-perplexity %.4f, lr '
        '%.3g | %.2f steps/s, ETA %s', state.step, self.num_training_steps,
        metrics['loss'], metrics['accuracy'], metrics['log_perplexity'],
        learning_rate, rate,
        _format_duration(remaining / rate if rate > 0 else math.inf))

  def evaluate(self, eval_file):
    """Evaluates, records the result and keeps `best/` up to date."""
    state, model = self.state, self.model
    result = evaluate(model, eval_file)
    self.last_eval = result
    state.eval_history.append(_eval_record(state.step, result))
    improved = (state.best_eval_loss is None or
                result['loss'] < state.best_eval_loss)
    if improved:
      state.best_eval_loss = result['loss']
      state.best_eval_step = state.step
      state.evals_without_improvement = 0
      model.save(os.path.join(self.run_dir, BEST_DIR),
                 metadata={'step': state.step, 'eval': result,
                           'seed': state.seed})
    else:
      state.evals_without_improvement += 1
    with self.writers['eval'].as_default(step=state.step):
      for key in ('loss', 'accuracy', 'log_perplexity'):
        tf.summary.scalar(key, result[key])
    logging.info(
        'eval at step %d: loss %.4f, accuracy %.4f, log-perplexity %.4f '
        'over %d steps (best %.4f at step %d)', state.step, result['loss'],
        result['accuracy'], result['log_perplexity'], result['num_steps'],
        state.best_eval_loss, state.best_eval_step)

  def checkpoint(self):
    """Writes the latest checkpoint (model, optimizer, state)."""
    now = time.monotonic()
    self.state.wall_time_s += now - self.wall_mark
    self.wall_mark = now
    _write_checkpoint(self.run_dir, self.model, self.optimizer, self.state)
    for writer in self.writers.values():
      writer.flush()

  def metrics(self, num_training_steps, metrics_path):
    """The summary dict of `train` (without command line and files)."""
    state = self.state
    end = time.monotonic()
    timed_steps = self.steps_this_call - 1  # The first step compiles.
    steps_per_second = None
    if timed_steps > 0 and end > self.first_step_end:
      steps_per_second = timed_steps / (end - self.first_step_end)
    if self.window:
      train_metrics = _window_metrics(self.window)
      train_metrics['learning_rate'] = _current_learning_rate(
          self.optimizer, state.step)
      train_metrics['l2_penalty'] = self.window[-1]['l2_penalty']
    elif os.path.isfile(metrics_path):
      with open(metrics_path, encoding='utf-8') as f:
        train_metrics = json.load(f).get('train')
    else:
      train_metrics = None
    last_eval = self.last_eval
    if last_eval is None and state.eval_history:
      last_eval = state.eval_history[-1]
    return {
        'step': state.step,
        'num_training_steps': num_training_steps,
        'finished': state.step >= num_training_steps or state.stopped_early,
        'stopped_early': state.stopped_early,
        'train': train_metrics,
        'eval': last_eval,
        'best_eval': (None if state.best_eval_step is None else
                      {'step': state.best_eval_step,
                       'loss': state.best_eval_loss}),
        'eval_history': state.eval_history,
        'steps_per_second': steps_per_second,
        'wall_time_s': state.wall_time_s + (end - self.wall_mark),
        'wall_time_s_this_call': end - self.start_time,
        'hparams': self.model.hparams.to_dict(),
        'seed': state.seed,
        'optimizer': state.optimizer,
    }


def _window_metrics(window):
  cross_entropy = sum(v['cross_entropy_sum'] for v in window)
  correct = sum(v['correct_sum'] for v in window)
  count = sum(v['num_counted'] for v in window)
  return summarize(cross_entropy, correct, count)


def _start(hparams, seed, optimizer, sequence_example_file, init_checkpoint):
  """Model and state of a new run."""
  seed = DEFAULT_SEED if seed is None else int(seed)
  if init_checkpoint:
    loaded = model_lib.NoteRNN.load(init_checkpoint)
    hp = _resolve_hparams(loaded.hparams, hparams)
    if tuple(hp.rnn_layer_sizes) != loaded.layer_sizes:
      raise TrainingError(
          f'init_checkpoint {init_checkpoint} has layer sizes '
          f'{list(loaded.layer_sizes)}; hparams ask for '
          f'{list(hp.rnn_layer_sizes)}')
    model = model_lib.NoteRNN(hp)
    model.copy_weights_from(loaded)
    logging.info('Starting from %s', loaded.source)
  else:
    hp = _resolve_hparams(hparams_lib.default_hparams(), hparams)
    keras.utils.set_random_seed(seed)
    model = model_lib.NoteRNN(hp, seed=seed)
  state = TrainingState(
      seed=seed, optimizer=optimizer or DEFAULT_OPTIMIZER,
      hparams=hp.to_dict(), sequence_example_file=sequence_example_file,
      init_checkpoint=os.fspath(init_checkpoint) if init_checkpoint else '')
  return model, state


def _resume(checkpoint_dir, hparams, seed, optimizer, sequence_example_file,
            init_checkpoint):
  """Model and state of the run whose latest checkpoint is checkpoint_dir."""
  with open(os.path.join(checkpoint_dir, TRAINING_STATE_FILE),
            encoding='utf-8') as f:
    state = TrainingState.from_json(f.read())
  stored = hparams_lib.NoteRNNHParams.from_dict(state.hparams)
  requested = _resolve_hparams(stored, hparams)
  if requested != stored:
    raise TrainingError(
        f'cannot resume the run in {os.path.dirname(checkpoint_dir)} with '
        f'other hparams: {_differences(stored, requested)}; use a new '
        'run_dir (or --init_checkpoint to fine-tune from it)')
  if seed is not None and int(seed) != state.seed:
    raise TrainingError(
        f'the run in {os.path.dirname(checkpoint_dir)} uses seed '
        f'{state.seed}; cannot resume it with seed {seed}')
  if optimizer is not None and optimizer != state.optimizer:
    raise TrainingError(
        f'the run in {os.path.dirname(checkpoint_dir)} uses optimizer '
        f'{state.optimizer}; cannot resume it with {optimizer}')
  if os.path.abspath(sequence_example_file) != os.path.abspath(
      state.sequence_example_file):
    logging.warning('Resuming with training file %s; the run started with '
                    '%s (the data position is kept as a batch count).',
                    sequence_example_file, state.sequence_example_file)
    state.sequence_example_file = sequence_example_file
  if init_checkpoint:
    logging.info('Resuming: --init_checkpoint %s is ignored.',
                 init_checkpoint)
  model = model_lib.NoteRNN.load(os.path.join(checkpoint_dir, MODEL_DIR),
                                 hparams=stored)
  return model, state
