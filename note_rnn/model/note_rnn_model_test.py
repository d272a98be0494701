"""Tests of the Keras Note RNN: shapes, equations, masking, copies, saves."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from note_rnn.model import checkpoint_import
from note_rnn.model import hparams as hparams_lib
from note_rnn.model.note_rnn_model import NoteRNN

NUM_CLASSES = 38


def _model(layer_sizes=(16,), seed=0):
  hp = hparams_lib.default_hparams().replace(rnn_layer_sizes=layer_sizes)
  return NoteRNN(hp, seed=seed)


def _onehot(classes):
  return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(classes)]


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _keras_reference(weights, layer_sizes, inputs, state):
  """Plain-numpy Keras LSTMCell stack; inputs [B, T, 38], state [B, S]."""
  weights = [w.astype(np.float64) for w in weights]
  offsets = np.cumsum([0] + [2 * u for u in layer_sizes])
  c = [state[:, o:o + u] for o, u in zip(offsets, layer_sizes)]
  h = [state[:, o + u:o + 2 * u] for o, u in zip(offsets, layer_sizes)]
  logits = []
  for t in range(inputs.shape[1]):
    x = inputs[:, t]
    for layer in range(len(layer_sizes)):
      kernel, recurrent, bias = weights[3 * layer:3 * layer + 3]
      z = x @ kernel + h[layer] @ recurrent + bias
      i, f, g, o = np.split(z, 4, axis=1)
      c[layer] = _sigmoid(f) * c[layer] + _sigmoid(i) * np.tanh(g)
      h[layer] = _sigmoid(o) * np.tanh(c[layer])
      x = h[layer]
    logits.append(x @ weights[-2] + weights[-1])
  state = np.concatenate([a for pair in zip(c, h) for a in pair], axis=1)
  return np.stack(logits, axis=1), state


def test_shapes_and_zero_state():
  model = _model((16, 8))
  assert model.state_size == 2 * (16 + 8)
  assert model.num_classes == NUM_CLASSES
  assert model.layer_sizes == (16, 8)
  assert NoteRNN().state_size == 200
  zero = model.zero_state(3)
  assert zero.dtype == tf.float32
  assert zero.shape == (3, 48)
  assert not np.any(zero.numpy())
  logits, state = model.step(_onehot([1, 2, 3]), zero)
  assert logits.shape == (3, NUM_CLASSES) and state.shape == (3, 48)


def test_variables_have_a_fixed_documented_order():
  model = _model((16, 8))
  assert model.variable_names == [
      'lstm_0/kernel', 'lstm_0/recurrent_kernel', 'lstm_0/bias',
      'lstm_1/kernel', 'lstm_1/recurrent_kernel', 'lstm_1/bias',
      'dense/kernel', 'dense/bias']
  assert [tuple(v.shape) for v in model.variables] == [
      (38, 64), (16, 64), (64,), (16, 32), (8, 32), (32,), (8, 38), (38,)]
  assert list(model.trainable_variables) == list(model.variables)
  other = _model((16, 8), seed=5)
  assert ([tuple(v.shape) for v in other.variables] ==
          [tuple(v.shape) for v in model.variables])


def test_seeded_init_is_reproducible_with_forget_bias_one():
  a, b, c = _model(seed=3), _model(seed=3), _model(seed=4)
  for x, y in zip(a.get_weights(), b.get_weights()):
    np.testing.assert_array_equal(x, y)
  assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])
  bias = a.get_weights()[2]
  np.testing.assert_array_equal(bias[16:32], 1.0)  # forget-gate block
  assert not np.any(bias[:16]) and not np.any(bias[32:])


def test_forward_pass_matches_numpy_keras_lstm():
  model = _model((12, 9), seed=1)
  rng = np.random.default_rng(0)
  # Make biases non-trivial so every bias block matters.
  weights = [w + rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
             if w.ndim == 1 else w for w in model.get_weights()]
  model.set_weights(weights)
  inputs = _onehot(rng.integers(0, NUM_CLASSES, (3, 7)))
  state = rng.normal(0, 0.5, (3, model.state_size)).astype(np.float32)
  want_logits, want_state = _keras_reference(weights, (12, 9), inputs, state)
  logits, final = model.sequence_logits(inputs, state)
  np.testing.assert_allclose(logits, want_logits, atol=1e-5, rtol=0)
  np.testing.assert_allclose(final, want_state, atol=1e-5, rtol=0)
  for t in range(inputs.shape[1]):
    step_logits, state = model.step(inputs[:, t], state)
    np.testing.assert_allclose(step_logits, want_logits[:, t], atol=1e-5,
                               rtol=0)
  np.testing.assert_allclose(state, want_state, atol=1e-5, rtol=0)


def test_lengths_freeze_state_after_the_last_real_step():
  model = _model((10, 6), seed=2)
  rng = np.random.default_rng(1)
  lengths = [5, 2, 0, 7]
  inputs = _onehot(rng.integers(0, NUM_CLASSES, (4, 7)))
  logits, final = model.sequence_logits(inputs, lengths=lengths)
  bias = model.get_weights()[-1]
  for b, length in enumerate(lengths):
    alone_logits, alone_final = model.sequence_logits(inputs[b:b + 1, :length])
    np.testing.assert_allclose(final[b], alone_final[0], atol=1e-6)
    np.testing.assert_allclose(logits[b, :length], alone_logits[0], atol=1e-6)
    np.testing.assert_allclose(
        logits[b, length:], np.broadcast_to(bias, (7 - length, 38)),
        atol=1e-6)
  assert not np.any(final[2].numpy())


def test_step_is_traced_once_inside_tf_function():
  model = _model()
  traces = []

  @tf.function
  def act(inputs, state):
    traces.append(1)
    return model.step(inputs, state)

  state = model.zero_state(2)
  for note in range(5):
    _, state = act(tf.constant(_onehot([note, note + 1])), state)
  assert len(traces) == 1
  model.step(_onehot([0]), model.zero_state(1))  # another batch size
  model.step(np.eye(38)[[1]], np.zeros((1, model.state_size)))  # float64
  # pylint: disable=protected-access
  assert model._step_fn.experimental_get_tracing_count() == 1
  for length in (3, 4, 9):
    model.sequence_logits(_onehot([[1] * length]))
  assert model._sequence_fn.experimental_get_tracing_count() == 1


def test_gradients_reach_every_variable():
  model = _model((8, 8))
  inputs = _onehot([[2, 3, 4, 5], [6, 7, 8, 9]])
  with tf.GradientTape() as tape:
    logits, _ = model.sequence_logits(inputs, lengths=[4, 3])
    loss = tf.reduce_sum(tf.square(logits))
  grads = tape.gradient(loss, model.trainable_variables)
  assert all(g is not None and np.any(g.numpy()) for g in grads)


def _dropout_model(layer_sizes, keep, seed=0):
  hp = hparams_lib.default_hparams().replace(rnn_layer_sizes=layer_sizes,
                                             dropout_keep_prob=keep)
  return NoteRNN(hp, seed=seed)


def test_output_dropout_scales_kept_units_and_spares_the_state():
  # One layer of 38 units with an identity dense layer: the logits are the
  # layer's outputs, so each is either dropped (0) or scaled by 1 / keep.
  model = _dropout_model((NUM_CLASSES,), keep=0.5, seed=4)
  weights = model.get_weights()
  weights[-2] = np.eye(NUM_CLASSES, dtype=np.float32)
  weights[-1] = np.zeros(NUM_CLASSES, np.float32)
  model.set_weights(weights)
  rng = np.random.default_rng(2)
  inputs = _onehot(rng.integers(0, NUM_CLASSES, (6, 20)))
  plain, plain_state = model.sequence_logits(inputs)
  seed = tf.constant([7, 0], tf.int64)
  dropped, dropped_state = model.sequence_logits(inputs, dropout_seed=seed)
  plain, dropped = plain.numpy(), dropped.numpy()
  kept = dropped != 0
  np.testing.assert_allclose(dropped[kept], 2.0 * plain[kept], rtol=1e-6)
  assert 0.4 < 1.0 - kept.mean() < 0.6  # About half the units dropped.
  # The recurrence uses the undropped outputs: same final state.
  np.testing.assert_array_equal(dropped_state.numpy(), plain_state.numpy())
  # The masks are a function of the seed; another seed, other masks.
  again, _ = model.sequence_logits(inputs, dropout_seed=seed)
  np.testing.assert_array_equal(again.numpy(), dropped)
  other, _ = model.sequence_logits(inputs, dropout_seed=[7, 1])
  assert not np.array_equal(other.numpy(), dropped)
  # With lengths: padded steps stay as without dropout.
  masked, _ = model.sequence_logits(inputs, lengths=[20, 3, 0, 5, 20, 1],
                                    dropout_seed=seed)
  np.testing.assert_array_equal(masked.numpy()[1, 3:], 0.0)


def test_dropout_is_for_training_only():
  two = _dropout_model((12, 10), keep=0.5, seed=1)
  reference = _model((12, 10), seed=1)
  reference.copy_weights_from(two)
  inputs = _onehot([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]])
  # Without a seed (evaluation, generation): the network without dropout.
  for _ in range(2):
    logits, state = two.sequence_logits(inputs, lengths=[6, 4])
    want_logits, want_state = reference.sequence_logits(inputs,
                                                        lengths=[6, 4])
    np.testing.assert_array_equal(logits.numpy(), want_logits.numpy())
    np.testing.assert_array_equal(state.numpy(), want_state.numpy())
    step_logits, step_state = two.step(inputs[:, 0], two.zero_state(2))
    want_logits, want_state = reference.step(inputs[:, 0],
                                             reference.zero_state(2))
    np.testing.assert_array_equal(step_logits.numpy(), want_logits.numpy())
    np.testing.assert_array_equal(step_state.numpy(), want_state.numpy())
  # With a seed: the first layer's state is untouched, the second layer
  # reads the first one's dropped outputs.
  _, dropped_state = two.sequence_logits(inputs, lengths=[6, 4],
                                         dropout_seed=[3, 5])
  _, plain_state = two.sequence_logits(inputs, lengths=[6, 4])
  np.testing.assert_array_equal(dropped_state.numpy()[:, :24],
                                plain_state.numpy()[:, :24])
  assert not np.array_equal(dropped_state.numpy()[:, 24:],
                            plain_state.numpy()[:, 24:])
  # Keep 1.0 ignores the seed.
  logits, _ = reference.sequence_logits(inputs, dropout_seed=[3, 5])
  np.testing.assert_array_equal(logits.numpy(),
                                reference.sequence_logits(inputs)[0].numpy())


def test_dropout_keep_prob_round_trips_through_a_save(tmp_path):
  model = _dropout_model((8,), keep=0.5)
  model.save(str(tmp_path / 'm'))
  assert NoteRNN.load(str(tmp_path / 'm')).hparams.dropout_keep_prob == 0.5
  # A save from before the hparam existed loads with keep 1.0.
  config_path = tmp_path / 'm' / checkpoint_import.SAVE_CONFIG_NAME
  config = json.loads(config_path.read_text())
  del config['hparams']['dropout_keep_prob']
  config_path.write_text(json.dumps(config))
  assert NoteRNN.load(str(tmp_path / 'm')).hparams.dropout_keep_prob == 1.0


def test_copy_weights_and_clone_are_independent():
  source, target = _model(seed=1), _model(seed=2)
  target.copy_weights_from(source)
  for x, y in zip(source.get_weights(), target.get_weights()):
    np.testing.assert_array_equal(x, y)
  clone = source.clone()
  assert clone.hparams == source.hparams
  clone.variables[0].assign_add(tf.ones_like(clone.variables[0]))
  assert not np.array_equal(clone.get_weights()[0], source.get_weights()[0])
  with pytest.raises(ValueError, match=r'\(16,\).*\(8,\)'):
    _model((8,)).copy_weights_from(source)
  with pytest.raises(ValueError, match='lstm_0/kernel'):
    source.set_weights([np.zeros((1, 1))] + source.get_weights()[1:])


def test_rejects_other_class_counts():
  with pytest.raises(ValueError, match='one_hot_length'):
    NoteRNN(hparams_lib.default_hparams().replace(one_hot_length=40))


def test_save_load_round_trip_is_bitwise(tmp_path):
  hp = hparams_lib.default_hparams().parse('rnn_layer_sizes=[8,5],l2_reg=0.5')
  model = NoteRNN(hp, seed=7)
  path = model.save(tmp_path / 'saved', metadata={'step': 12, 'note': 'x'})
  loaded = NoteRNN.load(path)
  assert loaded.hparams == hp
  assert loaded.metadata == {'step': 12, 'note': 'x'}
  assert 'Note RNN save' in loaded.source
  for x, y in zip(model.get_weights(), loaded.get_weights()):
    assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
  with open(tmp_path / 'saved' / 'note_rnn.json', encoding='utf-8') as f:
    config = json.load(f)
  assert config['format_version'] == 1
  assert config['num_classes'] == 38 and config['layer_sizes'] == [8, 5]
  # The json file itself and a directory holding the save load too.
  assert NoteRNN.load(tmp_path / 'saved' / 'note_rnn.json').layer_sizes == (
      8, 5)
  assert NoteRNN.load(tmp_path).layer_sizes == (8, 5)


def test_save_replaces_an_existing_save(tmp_path):
  path = tmp_path / 'model'
  _model((4,), seed=1).save(path)
  second = _model((6,), seed=2)
  second.save(path)
  loaded = NoteRNN.load(path)
  assert loaded.layer_sizes == (6,)
  np.testing.assert_array_equal(loaded.get_weights()[0],
                                second.get_weights()[0])
  assert sorted(os.listdir(tmp_path)) == ['model']  # no staging leftovers


def test_save_refuses_to_replace_other_things(tmp_path):
  other = tmp_path / 'other'
  other.mkdir()
  (other / 'precious.txt').write_text('keep me')
  with pytest.raises(FileExistsError, match='not a Note RNN save'):
    _model().save(other)
  assert (other / 'precious.txt').read_text() == 'keep me'
  with pytest.raises(ValueError, match='JSON'):
    _model().save(tmp_path / 'new', metadata={'bad': object()})
  assert sorted(os.listdir(tmp_path)) == ['other']


def test_load_with_mismatching_hparams_names_variable_and_shapes(tmp_path):
  _model((8,)).save(tmp_path / 'm')
  hp = hparams_lib.default_hparams().replace(rnn_layer_sizes=(9,))
  with pytest.raises(checkpoint_import.CheckpointError) as info:
    NoteRNN.load(tmp_path / 'm', hparams=hp)
  message = str(info.value)
  assert 'lstm_0/kernel' in message
  assert '[38, 32]' in message and '[38, 36]' in message
  loaded = NoteRNN.load(tmp_path / 'm', hparams=hp.replace(
      rnn_layer_sizes=(8,), batch_size=3))
  assert loaded.hparams.batch_size == 3


def test_load_without_path_needs_the_embedded_model(monkeypatch, tmp_path):
  monkeypatch.setattr(checkpoint_import, 'DEFAULT_MODEL_DIR',
                      str(tmp_path / 'default_model'))
  with pytest.raises(FileNotFoundError, match='no embedded default'):
    NoteRNN.load()
  _model((5,), seed=4).save(tmp_path / 'default_model')
  assert NoteRNN.load().layer_sizes == (5,)


def test_tf_train_checkpoint_of_the_module(tmp_path):
  model, other = _model(seed=1), _model(seed=2)
  prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / 'ckpt'))
  tf.train.Checkpoint(model=other).read(prefix).assert_consumed()
  for x, y in zip(model.get_weights(), other.get_weights()):
    np.testing.assert_array_equal(x, y)
