"""Supervised training of the Note RNN on melody TFRecords: `train`.

The recipe (loss, learning-rate schedule, optimizer, clipping) is the
paper's and lives in `note_rnn.training_steps`, with `evaluate`; the run
folder (checkpoints, their state, resume) in `note_rnn.training_checkpoints`.
Both modules' public names are re-exported here.

A run lives in one folder, `run_dir`: checkpoint/ (and checkpoint.previous/,
the one before), best/, tensorboard/ and metrics.json.

`train` checks its inputs (`note_rnn.training_inputs`: every record of the
TFRecord files is read, the first ones parsed as melodies, in either record
layout of `note_rnn.example_layouts`) and that run_dir can be written before it
builds a model or writes anything. Calling it again with the same run_dir
resumes from the latest checkpoint, exactly: weights, optimizer slots,
step, best eval loss and the losses of the last `log_every_n` steps are
restored, the training data are fast-forwarded past the batches already
used, and the TensorBoard points logged after the checkpoint are dropped,
so a run killed at any step ends with the same weights, histories and
TensorBoard curves as an uninterrupted one.
"""

import collections
import json
import math
import os
import sys
import time

from absl import logging
import numpy as np

from note_rnn.model import hparams as hparams_lib
from note_rnn.runtime import durations
from note_rnn.runtime import event_log
from note_rnn.runtime import outputs
from note_rnn.training import training_checkpoints as ckpt
from note_rnn.training import training_inputs
from note_rnn.training import training_steps

# TensorFlow, Keras, the model and the TFRecord reader are imported by the
# functions that use them: note_rnn_train --help, which reads the defaults
# here, need not load TensorFlow.

# Seed of a new run when none is given.
DEFAULT_SEED = 0
# Default intervals, in training steps.
DEFAULT_EVAL_EVERY_N = 1000
DEFAULT_CHECKPOINT_EVERY_N = 1000
DEFAULT_LOG_EVERY_N = 100

# The input check, re-exported from note_rnn.training_inputs.
RECORDS_PARSED_UP_FRONT = training_inputs.RECORDS_PARSED_UP_FRONT
check_sequence_example_file = training_inputs.check_sequence_example_file

# The recipe, re-exported from note_rnn.training_steps.
TrainingError = training_steps.TrainingError
OPTIMIZER_ADAGRAD = training_steps.OPTIMIZER_ADAGRAD
OPTIMIZER_ADAM = training_steps.OPTIMIZER_ADAM
OPTIMIZERS = training_steps.OPTIMIZERS
DEFAULT_OPTIMIZER = training_steps.DEFAULT_OPTIMIZER
ADAGRAD_INITIAL_ACCUMULATOR = training_steps.ADAGRAD_INITIAL_ACCUMULATOR
loss_weights = training_steps.loss_weights
step_losses = training_steps.step_losses
l2_penalty = training_steps.l2_penalty
weight_matrices = training_steps.weight_matrices
learning_rate_schedule = training_steps.learning_rate_schedule
make_optimizer = training_steps.make_optimizer
current_learning_rate = training_steps.current_learning_rate
make_train_step = training_steps.make_train_step
summarize = training_steps.summarize
evaluate = training_steps.evaluate
# The run folder, re-exported from note_rnn.training_checkpoints.
TrainingState = ckpt.TrainingState
latest_checkpoint_dir = ckpt.latest_checkpoint_dir
checkpoint_dirs = ckpt.checkpoint_dirs
CHECKPOINT_DIR = ckpt.CHECKPOINT_DIR
PREVIOUS_CHECKPOINT_DIR = ckpt.PREVIOUS_CHECKPOINT_DIR
BEST_DIR = ckpt.BEST_DIR
TENSORBOARD_DIR = ckpt.TENSORBOARD_DIR
METRICS_FILE = ckpt.METRICS_FILE
MODEL_DIR = ckpt.MODEL_DIR
OPTIMIZER_STATE_FILE = ckpt.OPTIMIZER_STATE_FILE
TRAINING_STATE_FILE = ckpt.TRAINING_STATE_FILE
TRAINING_STATE_VERSION = ckpt.TRAINING_STATE_VERSION


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


def _eval_record(step, result):
  return {'step': step, 'loss': result['loss'],
          'accuracy': result['accuracy'],
          'log_perplexity': result['log_perplexity'],
          'num_steps': result['num_steps']}


def _write_json(path, values):
  outputs.write_file_atomically(
      path, (json.dumps(values, indent=2, default=_json_default) + '\n')
      .encode('utf-8'))


def _json_default(value):
  if isinstance(value, np.generic):
    return value.item()
  raise TypeError(f'not JSON-serializable: {value!r}')


def _check_arguments(num_training_steps, eval_every_n, checkpoint_every_n,
                     log_every_n, stop_after_evals_without_improvement,
                     optimizer):
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
    run_dir: folder of the run (see `note_rnn.training_checkpoints`); an
      existing checkpoint in it is resumed.
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
    TrainingError: a missing, damaged or empty input file, a run_dir whose
      checkpoints are all unreadable or that does not fit the request.
    note_rnn.outputs.OutputError: run_dir cannot be written.
    ValueError: bad hparams (unknown names are listed) or arguments.
    FileNotFoundError, note_rnn.CheckpointError: unusable init_checkpoint.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  start_time = time.monotonic()
  run_dir = os.fspath(run_dir)
  sequence_example_file = os.fspath(sequence_example_file)
  if eval_sequence_example_file:
    eval_sequence_example_file = os.fspath(eval_sequence_example_file)
  _check_arguments(num_training_steps, eval_every_n, checkpoint_every_n,
                   log_every_n, stop_after_evals_without_improvement,
                   optimizer)
  # Inputs and the output location are checked before a model is built or
  # anything is written.
  outputs.check_output_dir(run_dir, 'run_dir')
  check_sequence_example_file(sequence_example_file, 'sequence_example_file')
  if eval_sequence_example_file:
    check_sequence_example_file(eval_sequence_example_file,
                                'eval_sequence_example_file')

  ckpt.remove_stale_temporaries(run_dir)
  checkpoint = ckpt.load_latest_checkpoint(run_dir)
  if checkpoint:
    model, state = _resume(checkpoint, hparams, seed, optimizer,
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
  else:
    logging.info('Training %r for %d steps into %s (optimizer %s, seed %d, '
                 'hparams %s)', model, num_training_steps, run_dir,
                 state.optimizer, state.seed, model.hparams.to_dict())

  run = _Run(model, state, run_dir, checkpoint, num_training_steps,
             log_every_n, start_time)
  try:
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
  except BaseException:
    run.close(quiet=True)
    raise
  run.close()

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
               durations.format_duration(metrics['wall_time_s_this_call']),
               (f'{metrics["steps_per_second"]:.2f}'
                if metrics['steps_per_second'] else '?'), metrics_path)
  return metrics


class _Run:
  """The state of one `train` call: compiled step, data, writers, timers."""

  def __init__(self, model, state, run_dir, checkpoint, num_training_steps,
               log_every_n, start_time):
    # pylint: disable=g-import-not-at-top
    import keras
    import tensorflow as tf

    # Imported here (it imports TensorFlow): see the imports above.
    from note_rnn.data import sequence_example_io

    # pylint: enable=g-import-not-at-top
    hp = model.hparams
    self.model, self.state, self.run_dir = model, state, run_dir
    self.num_training_steps = num_training_steps
    keras.utils.set_random_seed(state.seed)
    self.optimizer = make_optimizer(hp, state.optimizer)
    self.train_step = make_train_step(model, self.optimizer, state.seed)
    # Resumed from checkpoint.previous: checkpoint/ is damaged, and the
    # next checkpoint replaces it rather than the one resumed from.
    self.discard_latest = bool(checkpoint) and (
        os.path.basename(checkpoint.path) == ckpt.PREVIOUS_CHECKPOINT_DIR)
    if checkpoint:
      ckpt.restore_optimizer(self.optimizer, checkpoint)
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
    # Per-step values of the last `log_every_n` steps (dicts of floats),
    # restored so that the next log line averages the same steps as an
    # uninterrupted run.
    self.window = collections.deque(state.train_window, maxlen=log_every_n)
    # Points a killed call logged after the checkpoint are logged again by
    # this one; a new run keeps none of an earlier attempt's.
    event_log.roll_back(
        os.path.join(run_dir, TENSORBOARD_DIR),
        state.checkpoint_wall_time if checkpoint else 0.0)
    self.writers = {
        kind: tf.summary.create_file_writer(
            os.path.join(run_dir, TENSORBOARD_DIR, kind))
        for kind in ckpt.TENSORBOARD_KINDS}
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
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    state = self.state
    now = time.monotonic()
    rate = (state.step - self.log_step) / max(now - self.log_time, 1e-9)
    self.log_time, self.log_step = now, state.step
    metrics = _window_metrics(self.window)
    learning_rate = current_learning_rate(self.optimizer, state.step)
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
        durations.format_duration(remaining / rate if rate > 0 else math.inf))

  def evaluate(self, eval_file):
    """Evaluates, records the result and keeps `best/` up to date."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
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
    """Writes the latest checkpoint (model, optimizer, state).

    The TensorBoard writers are flushed first and the time after that is
    recorded, so that a resume from this checkpoint keeps exactly the
    points logged before it.
    """
    for writer in self.writers.values():
      writer.flush()
    now = time.monotonic()
    self.state.wall_time_s += now - self.wall_mark
    self.wall_mark = now
    self.state.train_window = list(self.window)
    self.state.checkpoint_wall_time = time.time()
    ckpt.write_checkpoint(self.run_dir, self.model, self.optimizer,
                          self.state, discard_latest=self.discard_latest)
    self.discard_latest = False

  def close(self, quiet=False):
    """Flushes and closes the TensorBoard writers.

    Args:
      quiet: log a failure instead of raising it (an error is on its way).
    """
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    for writer in self.writers.values():
      try:
        writer.close()
      except (tf.errors.OpError, OSError) as e:
        if not quiet:
          raise
        logging.warning('Closing a TensorBoard writer failed: %s', e)

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
      train_metrics['learning_rate'] = current_learning_rate(
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
  # pylint: disable=g-import-not-at-top
  import keras

  # Imported here (it imports TensorFlow): see the imports above.
  from note_rnn.model import note_rnn_model as model_lib

  # pylint: enable=g-import-not-at-top
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


def _resume(checkpoint, hparams, seed, optimizer, sequence_example_file,
            init_checkpoint):
  """Model and state of the run whose latest usable checkpoint is given."""
  state, run_dir = checkpoint.state, os.path.dirname(checkpoint.path)
  stored = checkpoint.model.hparams
  requested = _resolve_hparams(stored, hparams)
  if requested != stored:
    raise TrainingError(
        f'cannot resume the run in {run_dir} with other hparams: '
        f'{_differences(stored, requested)}; use a new run_dir (or '
        '--init_checkpoint to fine-tune from it)')
  if seed is not None and int(seed) != state.seed:
    raise TrainingError(f'the run in {run_dir} uses seed {state.seed}; '
                        f'cannot resume it with seed {seed}')
  if optimizer is not None and optimizer != state.optimizer:
    raise TrainingError(
        f'the run in {run_dir} uses optimizer {state.optimizer}; cannot '
        f'resume it with {optimizer}')
  if os.path.abspath(sequence_example_file) != os.path.abspath(
      state.sequence_example_file):
    logging.warning('Resuming with training file %s; the run started with '
                    '%s (the data position is kept as a batch count).',
                    sequence_example_file, state.sequence_example_file)
    state.sequence_example_file = sequence_example_file
  if init_checkpoint:
    logging.info('Resuming: --init_checkpoint %s is ignored.',
                 init_checkpoint)
  return checkpoint.model, state
