"""Tests of note_rnn.training: loss terms, one step by hand, runs and resume."""

import collections
import io
import json
import math
import os
import pathlib

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
import tensorflow as tf

from note_rnn import encoding
from note_rnn.data import dataset_runner
from note_rnn.data import example_layouts
from note_rnn.data import sequence_example_io as sio
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib
from note_rnn.runtime import event_log
from note_rnn.training import training

TESTDATA_DIR = pathlib.Path(__file__).resolve().parent.parent.parent / 'testdata'
# A network small enough for many short runs.
TINY = ('rnn_layer_sizes=[16],batch_size=8,skip_first_n_losses=4,'
        'max_sequence_length=64')
TINY_HPARAMS = hparams_lib.default_hparams().parse(TINY)


def _tiny_model(seed=0, **changes):
  return model_lib.NoteRNN(TINY_HPARAMS.replace(**changes), seed=seed)


def _weights_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope='module')
def synthetic_files(tmp_path_factory):
  """Training (24) and eval (6) melodies of a noisy repeating pattern."""
  folder = tmp_path_factory.mktemp('synthetic')
  rng = np.random.default_rng(0)

  def melody():
    base = int(rng.integers(2, 20))
    pattern = [base, 0, base + 2, 0, base + 4, 1, base + 5, 0]
    return [pattern[t % 8] for t in range(int(rng.integers(30, 70)))]

  train_path = str(folder / 'train.tfrecord')
  eval_path = str(folder / 'eval.tfrecord')
  sio.write_sequence_examples(train_path, [melody() for _ in range(24)])
  sio.write_sequence_examples(eval_path, [melody() for _ in range(6)])
  return train_path, eval_path


def _train(files, run_dir, steps, **kwargs):
  kwargs.setdefault('hparams', TINY)
  kwargs.setdefault('log_every_n', 5)
  return training.train(files[0], str(run_dir), steps, **kwargs)


# --- Loss terms --------------------------------------------------------------


def test_loss_weights_mask_padding_and_skipped_steps():
  weights = training.loss_weights(tf.constant([5, 3, 1]), 6, 2).numpy()
  np.testing.assert_array_equal(weights, [[0, 0, 1, 1, 1, 0],
                                          [0, 0, 1, 0, 0, 0],
                                          [0, 0, 0, 0, 0, 0]])


def _constant_model(dense_bias):
  """Zero weights except the output bias: logits == dense_bias everywhere."""
  model = _tiny_model()
  weights = [np.zeros(v.shape, np.float32) for v in model.variables]
  weights[-1] = np.asarray(dense_bias, np.float32)
  model.set_weights(weights)
  return model


def _batch(melodies, length=None):
  """(inputs, labels, lengths) of class sequences, padded like the dataset."""
  steps = max(len(m) - 1 for m in melodies) if length is None else length
  inputs = np.zeros((len(melodies), steps, encoding.NUM_CLASSES), np.float32)
  labels = np.zeros((len(melodies), steps), np.int64)
  for b, melody in enumerate(melodies):
    inputs[b, :len(melody) - 1] = encoding.classes_to_onehot(melody[:-1])
    labels[b, :len(melody) - 1] = melody[1:]
  lengths = np.array([len(m) - 1 for m in melodies], np.int32)
  return tf.constant(inputs), tf.constant(labels), tf.constant(lengths)


def test_train_step_loss_by_hand_on_a_constant_model():
  # logits = b for every step, so the cross-entropy of label k is
  # logsumexp(b) - b[k]. With b = log(p), p = (0.5, 0.25, 0.25/36 each
  # other), the cross-entropy is -log p[k]: log 2 for class 0, log 4 for 1.
  probabilities = np.full(encoding.NUM_CLASSES, 0.25 / 36)
  probabilities[:2] = [0.5, 0.25]
  model = _constant_model(np.log(probabilities))
  # Labels (next classes) with skip 4: melody a counts t = 4, 5 (labels 0,
  # 1); melody b (4 steps) counts nothing; the padding of b is ignored.
  melodies = [[20, 0, 0, 1, 0, 0, 1], [20, 5, 5, 5, 5]]
  step = training.make_train_step(
      model, training.make_optimizer(model.hparams))
  result = {k: float(v) for k, v in step(*_batch(melodies)).items()}
  expected = (math.log(2) + math.log(4)) / 2
  assert result['num_counted'] == 2
  assert result['loss'] == pytest.approx(expected, rel=1e-6)
  # Class 0 is the argmax everywhere: one of the two labels is hit.
  assert result['correct_sum'] == 1
  assert result['l2_penalty'] == 0  # All kernels are zero.
  assert result['total_loss'] == pytest.approx(expected, rel=1e-6)
  # Another batch and sequence length does not compile the step again.
  step(*_batch([[20, 0, 1], [3, 4, 5], [6, 7, 8]]))
  assert step.experimental_get_tracing_count() == 1


def test_l2_penalty_counts_kernels_not_biases():
  model = _tiny_model()
  model.set_weights([np.ones(v.shape, np.float32) for v in model.variables])
  kernel_entries = sum(int(np.prod(v.shape)) for v in model.variables
                       if len(v.shape) == 2)
  assert float(training.l2_penalty(model)) == kernel_entries / 2
  assert [v.shape.rank for v in training.weight_matrices(model)] == [2] * 3


def test_one_step_equals_clipped_adagrad_by_hand(synthetic_files):
  hp = TINY_HPARAMS.replace(clip_norm=0.01, l2_reg=0.01)
  model = model_lib.NoteRNN(hp, seed=3)
  before = model.get_weights()
  batch = next(iter(sio.make_training_dataset(
      synthetic_files[0], 8, 64, shuffle=False, repeat=False)))
  # Reference: loss, gradient and one Adagrad step written out directly.
  with tf.GradientTape() as tape:
    logits, _ = model.sequence_logits(batch[0], lengths=batch[2])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(batch[1], logits)
    mask = training.loss_weights(batch[2], tf.shape(batch[1])[1], 4)
    kernels = [v for v in model.variables if v.shape.rank == 2]
    loss = (tf.reduce_sum(ce * mask) / tf.reduce_sum(mask) + 0.01 *
            sum(tf.reduce_sum(k * k) / 2 for k in kernels))
  grads = tape.gradient(loss, model.variables)
  norm = np.sqrt(sum(np.sum(g.numpy() ** 2) for g in grads))
  assert norm > 0.01  # So the clip is active.
  expected = []
  for w, g in zip(before, grads):
    g = g.numpy() * 0.01 / norm
    accumulator = training.ADAGRAD_INITIAL_ACCUMULATOR + g * g
    expected.append(w - 0.5 * g / np.sqrt(accumulator + 1e-7))

  step = training.make_train_step(model, training.make_optimizer(hp))
  result = step(*batch)
  assert float(result['grad_norm']) == pytest.approx(norm, rel=1e-4)
  assert float(result['total_loss']) == pytest.approx(float(loss), rel=1e-5)
  for got, want in zip(model.get_weights(), expected):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def _eval_mode_loss(model, batch, skip):
  """Mean cross-entropy of the counted steps, as evaluation computes it."""
  logits, _ = model.sequence_logits(batch[0], lengths=batch[2])
  cross_entropy, _ = training.step_losses(logits, batch[1])
  weights = training.loss_weights(batch[2], tf.shape(batch[1])[1], skip)
  return float(tf.reduce_sum(cross_entropy * weights) /
               tf.reduce_sum(weights))


def test_dropout_changes_training_steps_not_evaluation(synthetic_files):
  batch = next(iter(sio.make_training_dataset(
      synthetic_files[0], 8, 64, shuffle=False, repeat=False)))

  def first_step(keep, seed=0):
    model = _tiny_model(seed=3, dropout_keep_prob=keep)
    eval_loss = _eval_mode_loss(model, batch, 4)
    step = training.make_train_step(
        model, training.make_optimizer(model.hparams), seed=seed)
    result = {k: float(v) for k, v in step(*batch).items()}
    return model, eval_loss, result

  plain, plain_eval, plain_step = first_step(1.0)
  dropped, dropped_eval, dropped_step = first_step(0.5)
  # Keep 1.0: the training forward pass is the evaluation one.
  assert plain_step['loss'] == pytest.approx(plain_eval, rel=1e-6)
  # Keep 0.5: same weights, same evaluation loss, another training loss.
  assert dropped_eval == plain_eval
  assert abs(dropped_step['loss'] - dropped_eval) > 1e-3
  assert not _weights_equal(dropped.get_weights(), plain.get_weights())
  # Seeded masks: the same step again gives the same numbers and weights;
  # another seed other ones.
  again, _, again_step = first_step(0.5)
  assert again_step == dropped_step
  assert _weights_equal(again.get_weights(), dropped.get_weights())
  _, _, other_step = first_step(0.5, seed=1)
  assert other_step['loss'] != dropped_step['loss']
  # Evaluation and generation stay deterministic after training.
  first = training.evaluate(dropped, synthetic_files[1])
  assert training.evaluate(dropped, synthetic_files[1]) == first
  inputs = batch[0][:, 0]
  logits, state = dropped.step(inputs, dropped.zero_state(8))
  logits_again, state_again = dropped.step(inputs, dropped.zero_state(8))
  np.testing.assert_array_equal(logits.numpy(), logits_again.numpy())
  np.testing.assert_array_equal(state.numpy(), state_again.numpy())


def test_resume_with_dropout_is_exact(synthetic_files, tmp_path):
  hparams = TINY + ',dropout_keep_prob=0.5'
  straight = _train(synthetic_files, tmp_path / 'straight', 12,
                    hparams=hparams)
  _train(synthetic_files, tmp_path / 'resumed', 5, hparams=hparams)
  resumed = _train(synthetic_files, tmp_path / 'resumed', 12,
                   hparams=hparams)
  assert resumed['hparams']['dropout_keep_prob'] == 0.5
  _train(synthetic_files, tmp_path / 'no_dropout', 12)

  def weights(name):
    return model_lib.NoteRNN.load(
        str(tmp_path / name / training.CHECKPOINT_DIR)).get_weights()

  assert _weights_equal(weights('straight'), weights('resumed'))
  assert resumed['train'] == straight['train']
  assert not _weights_equal(weights('straight'), weights('no_dropout'))
  # The hparam is kept on resume and cannot change.
  with pytest.raises(training.TrainingError, match='dropout_keep_prob=0.5'):
    _train(synthetic_files, tmp_path / 'resumed', 14,
           hparams='dropout_keep_prob=1.0')


def test_learning_rate_decays_in_steps():
  schedule = training.learning_rate_schedule(hparams_lib.default_hparams())
  rates = [float(schedule(step)) for step in (0, 999, 1000, 2500)]
  np.testing.assert_allclose(rates, [0.5, 0.5, 0.425, 0.5 * 0.85 ** 2],
                             rtol=1e-6)
  constant = hparams_lib.default_hparams().replace(
      exponentially_decay_learning_rate=False)
  assert training.learning_rate_schedule(constant) == 0.0002


def _adagrad_step_size(hp, iterations, name=training.OPTIMIZER_ADAGRAD):
  """The rate one update of `make_optimizer(hp)` uses at step `iterations`.

  A fresh optimizer is built on one variable v = 0, its step counter set to
  `iterations`, and one gradient g = 1 applied. Adagrad's update is
  v -= lr * g / sqrt(accumulator + eps) with accumulator = 0.1 + g^2 = 1.1
  and eps = 1e-7, so lr = -v * sqrt(1.1 + 1e-7).
  """
  variable = tf.Variable([0.0])
  optimizer = training.make_optimizer(hp, name)
  optimizer.build([variable])
  optimizer.iterations.assign(iterations)
  optimizer.apply_gradients([(tf.constant([1.0]), variable)])
  assert int(optimizer.iterations.numpy()) == iterations + 1
  accumulator = training.ADAGRAD_INITIAL_ACCUMULATOR + 1.0
  return -float(variable.numpy()[0]) * math.sqrt(accumulator + 1e-7)


def test_optimizer_applies_the_decayed_learning_rate():
  """The update itself uses 0.5 * 0.85 ** floor(step / decay_steps).

  With decay_steps = 4 (staircase): steps 0..3 -> 0.5; 4 and 5 -> 0.5 *
  0.85 = 0.425 (not 0.5 * 0.85 ** 1.25 at step 5); 7 -> 0.425; 8 -> 0.5 *
  0.85 ** 2 = 0.36125. An optimizer given the initial rate (a float)
  instead of the schedule would step by 0.5 everywhere.
  """
  hp = TINY_HPARAMS.replace(decay_steps=4)
  assert (hp.initial_learning_rate, hp.decay_rate,
          hp.exponentially_decay_learning_rate) == (0.5, 0.85, True)
  expected = {0: 0.5, 3: 0.5, 4: 0.425, 5: 0.425, 7: 0.425, 8: 0.36125}
  for step, rate in expected.items():
    assert _adagrad_step_size(hp, step) == pytest.approx(rate, rel=1e-5), step
    # The rate that training logs is the one the update uses.
    optimizer = training.make_optimizer(hp)
    optimizer.build([tf.Variable([0.0])])
    optimizer.iterations.assign(step)
    assert training.current_learning_rate(optimizer, step) == (
        pytest.approx(rate, rel=1e-6)), step
  # Without decay, the constant learning_rate (0.0002) at every step.
  constant = hp.replace(exponentially_decay_learning_rate=False)
  for step in (0, 4, 8):
    assert _adagrad_step_size(constant, step) == pytest.approx(
        0.0002, rel=1e-5)


def test_unknown_optimizer_is_rejected():
  with pytest.raises(ValueError, match='adagrad, adam'):
    training.make_optimizer(TINY_HPARAMS, 'sgd')


# --- Evaluation --------------------------------------------------------------


def _numpy_metrics(model, melodies, skip, max_length):
  """Masked mean cross-entropy and accuracy, one melody at a time, numpy."""
  losses, hits = [], []
  for melody in melodies:
    melody = melody[:max_length + 1]
    logits, _ = model.sequence_logits(
        encoding.classes_to_onehot(melody[:-1])[None])
    logits = logits.numpy()[0].astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    for t, label in enumerate(melody[1:]):
      if t >= skip:
        losses.append(-log_p[t, label])
        hits.append(np.argmax(logits[t]) == label)
  return np.mean(losses), np.mean(hits), len(losses)


def test_evaluate_matches_numpy_and_ignores_batch_size(synthetic_files):
  model = _tiny_model(seed=5)
  melodies = sio.read_class_sequences(synthetic_files[1])
  result = training.evaluate(model, synthetic_files[1], batch_size=4)
  loss, accuracy, count = _numpy_metrics(model, melodies, 4, 64)
  assert result['num_steps'] == count
  assert result['num_melodies'] == len(melodies)
  assert result['loss'] == pytest.approx(loss, rel=1e-5)
  assert result['accuracy'] == pytest.approx(accuracy)
  assert result['log_perplexity'] == result['loss']
  assert result['mean_log_likelihood_per_step'] == -result['loss']
  loss0, _, count0 = _numpy_metrics(model, melodies, 0, 64)
  assert result['without_skip']['num_steps'] == count0
  assert result['without_skip']['loss'] == pytest.approx(loss0, rel=1e-5)
  # Batch size does not change the result; truncate=False counts all steps.
  other = training.evaluate(model, synthetic_files[1], batch_size=1)
  assert other['loss'] == pytest.approx(result['loss'], rel=1e-6)
  full = training.evaluate(model, synthetic_files[1], truncate=False,
                           skip_first_n_losses=0)
  assert full['num_steps'] == sum(len(m) - 1 for m in melodies)
  assert full['max_length'] is None


# --- Runs --------------------------------------------------------------------


@pytest.fixture(scope='module')
def testdata_run(tmp_path_factory):
  """200 steps on the dataset made from testdata/, with eval."""
  data_dir = tmp_path_factory.mktemp('testdata_dataset')
  dataset_runner.create_dataset(str(TESTDATA_DIR), str(data_dir),
                                 num_workers=1, progress_stream=io.StringIO())
  files = (str(data_dir / dataset_runner.TRAINING_FILENAME),
           str(data_dir / dataset_runner.EVAL_FILENAME))
  run_dir = tmp_path_factory.mktemp('run')
  hparams = 'rnn_layer_sizes=[16],batch_size=8,max_sequence_length=128'
  metrics = training.train(
      files[0], str(run_dir), 200, eval_sequence_example_file=files[1],
      hparams=hparams, seed=0, eval_every_n=50, checkpoint_every_n=100,
      log_every_n=50, command_line=['train', '--test'])
  initial = model_lib.NoteRNN(
      hparams_lib.default_hparams().parse(hparams), seed=0)
  return files, run_dir, metrics, training.evaluate(initial, files[1])


def test_training_lowers_the_eval_loss(testdata_run):
  _, _, metrics, initial = testdata_run
  assert initial['loss'] == pytest.approx(math.log(38), rel=0.05)
  assert metrics['eval']['loss'] < 0.7 * initial['loss']
  assert metrics['eval']['accuracy'] > initial['accuracy']
  assert [e['step'] for e in metrics['eval_history']] == [50, 100, 150, 200]
  losses = [e['loss'] for e in metrics['eval_history']]
  assert metrics['best_eval']['loss'] == min(losses)


def test_run_folder_contents(testdata_run):
  files, run_dir, metrics, _ = testdata_run
  with open(run_dir / training.METRICS_FILE, encoding='utf-8') as f:
    assert json.load(f) == json.loads(json.dumps(metrics))
  assert metrics['step'] == 200 and metrics['finished']
  assert metrics['command_line'] == ['train', '--test']
  assert metrics['hparams']['rnn_layer_sizes'] == [16]
  assert metrics['optimizer'] == training.DEFAULT_OPTIMIZER
  assert metrics['train']['num_steps'] > 0
  assert metrics['train']['mean_log_likelihood_per_step'] == pytest.approx(
      -metrics['train']['loss'])
  assert metrics['steps_per_second'] > 0
  assert metrics['wall_time_s'] > 0
  # The checkpoint's model and the best model load, and the best model's
  # eval loss is the recorded one.
  latest = model_lib.NoteRNN.load(str(run_dir / training.CHECKPOINT_DIR))
  assert latest.layer_sizes == (16,)
  assert latest.metadata['step'] == 200
  best = model_lib.NoteRNN.load(str(run_dir / training.BEST_DIR))
  assert best.metadata['step'] == metrics['best_eval']['step']
  assert training.evaluate(best, files[1])['loss'] == pytest.approx(
      metrics['best_eval']['loss'], rel=1e-6)
  for kind in ('train', 'eval'):
    events = os.listdir(run_dir / training.TENSORBOARD_DIR / kind)
    assert any(name.startswith('events.') for name in events)


def test_resume_is_exact_and_deterministic(synthetic_files, tmp_path):
  straight = _train(synthetic_files, tmp_path / 'straight', 20)
  first = _train(synthetic_files, tmp_path / 'resumed', 10)
  assert first['step'] == 10
  resumed = _train(synthetic_files, tmp_path / 'resumed', 20)
  assert resumed['step'] == 20
  # The training history continues where the first call stopped.
  state_path = (tmp_path / 'resumed' / training.CHECKPOINT_DIR /
                training.TRAINING_STATE_FILE)
  with open(state_path, encoding='utf-8') as f:
    history = json.load(f)['train_history']
  assert [h['step'] for h in history] == [5, 10, 15, 20]
  other_seed = _train(synthetic_files, tmp_path / 'seed1', 1, seed=1)

  def weights(name):
    return model_lib.NoteRNN.load(
        str(tmp_path / name / training.CHECKPOINT_DIR)).get_weights()

  # Two runs with one seed (one of them interrupted) give equal weights.
  assert _weights_equal(weights('straight'), weights('resumed'))
  assert not _weights_equal(weights('straight'), weights('seed1'))
  assert resumed['train']['loss'] == pytest.approx(straight['train']['loss'])
  assert other_seed['seed'] == 1
  # A finished run only reports.
  assert _train(synthetic_files, tmp_path / 'straight', 20) == straight


def test_resume_refuses_other_settings(synthetic_files, tmp_path):
  _train(synthetic_files, tmp_path / 'run', 5)
  with pytest.raises(training.TrainingError, match='batch_size=8'):
    _train(synthetic_files, tmp_path / 'run', 10, hparams=TINY +
           ',batch_size=4')
  with pytest.raises(training.TrainingError, match='seed 0'):
    _train(synthetic_files, tmp_path / 'run', 10, seed=7)
  with pytest.raises(training.TrainingError, match='adagrad'):
    _train(synthetic_files, tmp_path / 'run', 10, optimizer='adam')


def test_init_checkpoint_starts_from_its_weights(synthetic_files,
                                                testdata_run, tmp_path):
  source_dir = str(testdata_run[1] / training.CHECKPOINT_DIR)
  source = model_lib.NoteRNN.load(source_dir)
  metrics = _train(synthetic_files, tmp_path / 'tuned', 1, hparams=None,
                   init_checkpoint=source_dir, seed=3)
  assert metrics['files']['init_checkpoint'] == source_dir
  # hparams come from the init checkpoint (the testdata run's).
  assert metrics['hparams'] == source.hparams.to_dict()
  tuned = model_lib.NoteRNN.load(
      str(tmp_path / 'tuned' / training.CHECKPOINT_DIR))
  # One clipped Adagrad step of rate 0.5 moves no weight by more than 0.5,
  # far less than a fresh initialization differs.
  for a, b in zip(source.get_weights(), tuned.get_weights()):
    assert 0 < np.max(np.abs(a - b)) <= 0.5 + 1e-6
  with pytest.raises(training.TrainingError, match='layer sizes'):
    _train(synthetic_files, tmp_path / 'bad', 1,
           hparams='rnn_layer_sizes=[8]', init_checkpoint=source_dir)


def test_early_stopping(synthetic_files, tmp_path):
  # A rate too small to change the loss: no evaluation improves on the first.
  metrics = _train(synthetic_files, tmp_path / 'run', 50,
                   eval_sequence_example_file=synthetic_files[1],
                   hparams=TINY + ',initial_learning_rate=1e-30',
                   eval_every_n=1, stop_after_evals_without_improvement=2)
  assert metrics['stopped_early'] and metrics['finished']
  assert metrics['step'] == 3
  assert metrics['best_eval']['step'] == 1
  again = _train(synthetic_files, tmp_path / 'run', 50,
                 eval_sequence_example_file=synthetic_files[1],
                 stop_after_evals_without_improvement=2)
  assert again['step'] == 3


def test_bad_inputs(synthetic_files, tmp_path):
  with pytest.raises(training.TrainingError, match='not found'):
    training.train(str(tmp_path / 'missing.tfrecord'), str(tmp_path / 'r'), 5)
  with pytest.raises(ValueError, match='valid names: rnn_layer_sizes'):
    _train(synthetic_files, tmp_path / 'r', 5, hparams='no_such_hparam=1')
  with pytest.raises(ValueError, match='num_training_steps'):
    _train(synthetic_files, tmp_path / 'r', 0)
  empty = str(tmp_path / 'empty.tfrecord')
  sio.write_sequence_examples(empty, [])
  with pytest.raises(training.TrainingError, match='no melody'):
    training.evaluate(_tiny_model(), empty)


def test_papers_note_rnn_evaluates_and_fine_tunes(paper_checkpoint,
                                                  testdata_run, tmp_path):
  files = testdata_run[0]
  paper = model_lib.NoteRNN.load(str(paper_checkpoint))
  result = training.evaluate(paper, files[0])
  # 9 melodies: 8 of 127 steps and one cut to 192, minus 32 skipped each.
  assert result['num_steps'] == 8 * (127 - 32) + (192 - 32)
  # Measured: loss 0.758, accuracy 0.774 (a fresh network: 3.64, ~0.03).
  assert result['loss'] < 1.0 and result['accuracy'] > 0.7
  metrics = _train((files[0],), tmp_path / 'tuned', 2, hparams='batch_size=4',
                   init_checkpoint=str(paper_checkpoint))
  assert metrics['hparams']['rnn_layer_sizes'] == [100]
  assert metrics['train']['loss'] < 1.5


# --- Interrupted runs --------------------------------------------------------

# Keys of metrics.json and training_state.json that are timings or paths.
_TIMING_KEYS = ('steps_per_second', 'wall_time_s', 'wall_time_s_this_call',
                'files', 'checkpoint_wall_time')


class _Killed(Exception):
  """Stands for the process being killed."""


def _kill_after_step(monkeypatch, step):
  """Makes the next `train` call die right after training step `step`."""
  original = training._Run.train_one_step

  def train_one_step(run):
    original(run)
    if run.state.step == step:
      raise _Killed(step)

  monkeypatch.setattr(training._Run, 'train_one_step', train_one_step)


def _without_timings(values):
  return {k: v for k, v in values.items() if k not in _TIMING_KEYS}


def _read_json(path):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def _tensorboard_points(run_dir):
  """({(kind, tag, step): times written}, {(kind, tag, step): value})."""
  counts, values = collections.Counter(), {}
  for path in event_log.event_files(run_dir / training.TENSORBOARD_DIR):
    kind = os.path.basename(os.path.dirname(path))
    for record in tf.data.TFRecordDataset(path):
      event = event_pb2.Event.FromString(record.numpy())
      for value in event.summary.value:
        key = (kind, value.tag, event.step)
        counts[key] += 1
        values[key] = float(tf.make_ndarray(value.tensor))
  return counts, values


def test_killed_run_resumes_exactly(synthetic_files, tmp_path, monkeypatch):
  """A run killed twice, resumed each time by the same call, ends as one
  that never stopped: weights, best model, metrics, histories and
  TensorBoard points are equal, and TensorBoard holds each point once.

  The first kill (step 13) resumes from the step-12 checkpoint, not a
  multiple of log_every_n; the second (step 19) comes after the train point
  at 15 and the eval point at 18, the latter logged after the step-16
  checkpoint, so the resume logs it again.
  """
  kwargs = dict(eval_sequence_example_file=synthetic_files[1],
                hparams=TINY + ',decay_steps=4', log_every_n=5,
                checkpoint_every_n=4, eval_every_n=6, command_line=['t'])
  straight = _train(synthetic_files, tmp_path / 'straight', 20, **kwargs)
  for kill_step, checkpoint_step in ((13, 12), (19, 16)):
    with monkeypatch.context() as patch:
      _kill_after_step(patch, kill_step)
      with pytest.raises(_Killed):
        _train(synthetic_files, tmp_path / 'killed', 20, **kwargs)
    state = _read_json(tmp_path / 'killed' / training.CHECKPOINT_DIR /
                       training.TRAINING_STATE_FILE)
    assert state['step'] == checkpoint_step
  counts, _ = _tensorboard_points(tmp_path / 'killed')
  assert counts[('train', 'loss', 15)] == counts[('eval', 'loss', 18)] == 1
  resumed = _train(synthetic_files, tmp_path / 'killed', 20, **kwargs)

  def load(name, folder=training.CHECKPOINT_DIR):
    return model_lib.NoteRNN.load(str(tmp_path / name / folder)).get_weights()

  assert _weights_equal(load('straight'), load('killed'))
  assert _weights_equal(load('straight', training.BEST_DIR),
                        load('killed', training.BEST_DIR))
  assert _without_timings(resumed) == _without_timings(straight)
  assert _read_json(tmp_path / 'killed' / training.METRICS_FILE)['train'] == (
      _read_json(tmp_path / 'straight' / training.METRICS_FILE)['train'])
  states = [_without_timings(_read_json(
      tmp_path / name / training.CHECKPOINT_DIR /
      training.TRAINING_STATE_FILE)) for name in ('straight', 'killed')]
  assert [h['step'] for h in states[1]['train_history']] == [5, 10, 15, 20]
  assert states[0] == states[1]
  counts, values = _tensorboard_points(tmp_path / 'killed')
  assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
  straight_counts, straight_values = _tensorboard_points(
      tmp_path / 'straight')
  assert counts == straight_counts
  for key, value in values.items():
    if key[1] != 'steps_per_second':
      assert value == straight_values[key], key


def test_a_new_run_drops_tensorboard_points_of_an_attempt_without_checkpoint(
    synthetic_files, tmp_path, monkeypatch):
  with monkeypatch.context() as patch:
    _kill_after_step(patch, 7)
    with pytest.raises(_Killed):
      _train(synthetic_files, tmp_path / 'run', 8, checkpoint_every_n=100)
  assert not (tmp_path / 'run' / training.CHECKPOINT_DIR).exists()
  assert _tensorboard_points(tmp_path / 'run')[0][('train', 'loss', 5)] == 1
  _train(synthetic_files, tmp_path / 'run', 8)
  counts, _ = _tensorboard_points(tmp_path / 'run')
  assert counts[('train', 'loss', 5)] == counts[('train', 'loss', 8)] == 1


def test_bad_input_files_fail_before_anything_is_written(synthetic_files,
                                                          tmp_path):
  noise = tmp_path / 'noise.tfrecord'
  noise.write_bytes(np.random.default_rng(0).bytes(3000))
  good = pathlib.Path(synthetic_files[0]).read_bytes()
  truncated = tmp_path / 'truncated.tfrecord'
  truncated.write_bytes(good[:-5])  # The last record is cut short.
  not_melodies = tmp_path / 'examples.tfrecord'
  with tf.io.TFRecordWriter(str(not_melodies)) as writer:
    writer.write(tf.train.Example().SerializeToString())
  empty = tmp_path / 'empty.tfrecord'
  sio.write_sequence_examples(str(empty), [])
  run_dir = tmp_path / 'run'
  cases = [
      (noise, 'not a readable TFRecord file (corrupted record at 0'),
      (truncated, 'not a readable TFRecord file (truncated record'),
      (not_melodies, "record 0 is not a melody example (no 'inputs' "
                     "feature list (Magenta layout) nor 'melody_classes' "
                     "feature (compact layout))"),
      (empty, 'no melody in'),
  ]
  for path, message in cases:
    for argument in ('sequence_example_file', 'eval_sequence_example_file'):
      files = {'sequence_example_file': synthetic_files[0],
               'eval_sequence_example_file': synthetic_files[1],
               argument: str(path)}
      with pytest.raises(training.TrainingError) as raised:
        training.train(files['sequence_example_file'], str(run_dir), 5,
                       eval_sequence_example_file=files[
                           'eval_sequence_example_file'], hparams=TINY)
      text = str(raised.value)
      assert f'{argument} {path}' in text and message in text, text
      assert len(text.splitlines()) == 1
      assert not run_dir.exists()
  assert training.check_sequence_example_file(synthetic_files[0]) == 24
  run_file = tmp_path / 'run_file'
  run_file.write_text('x')
  with pytest.raises(ValueError, match='run_dir=.*is a file'):
    _train(synthetic_files, run_file, 5)
  assert run_file.read_text() == 'x'


def test_compact_shards_train_exactly_as_the_magenta_file(synthetic_files,
                                                          tmp_path):
  # The same melodies in the compact layout, as two shards named by a glob.
  melodies = sio.read_class_sequences(synthetic_files[0])
  for index, part in enumerate((melodies[:12], melodies[12:])):
    sio.write_sequence_examples(
        str(tmp_path / f'train.tfrecord-{index:05d}-of-00002'), part,
        example_layouts.COMPACT)
  pattern = str(tmp_path / 'train.tfrecord-*')
  assert training.check_sequence_example_file(pattern) == 24
  magenta = _train(synthetic_files, tmp_path / 'magenta', 6)
  compact = _train((pattern,), tmp_path / 'compact', 6)
  assert compact['train']['loss'] == magenta['train']['loss']
  assert _weights_equal(
      model_lib.NoteRNN.load(str(tmp_path / 'magenta' /
                                 training.CHECKPOINT_DIR)).get_weights(),
      model_lib.NoteRNN.load(str(tmp_path / 'compact' /
                                 training.CHECKPOINT_DIR)).get_weights())
  with pytest.raises(training.TrainingError, match='not found'):
    training.check_sequence_example_file(str(tmp_path / 'none-*'))
