"""Tests of loading TF1 / Magenta Note RNN checkpoints into the Keras model.

Golden tests compare with outputs of the original code (../shared); the
others write TF1-named checkpoints with `tf.compat.v1.train.Saver` and check
against a plain-numpy TF1 LSTMCell.
"""

import json
import os

from note_seq.protobuf import generator_pb2
import numpy as np
import pytest
import tensorflow as tf

from note_rnn.model import checkpoint_import
from note_rnn.model import hparams as hparams_lib
from note_rnn.model.note_rnn_model import NoteRNN

NUM_CLASSES = 38
TOLERANCE = 1e-5
V1 = tf.compat.v1.train.SaverDef.V1
V2 = tf.compat.v1.train.SaverDef.V2

PAPER_NAMES = ('rnn_model/RNN/MultiRNNCell/Cell{}/LSTMCell/W_0',
               'rnn_model/RNN/MultiRNNCell/Cell{}/LSTMCell/B',
               'rnn_model/fully_connected/weights',
               'rnn_model/fully_connected/bias')
LATER_NAMES = ('rnn_model/rnn/multi_rnn_cell/cell_{}/lstm_cell/kernel',
               'rnn_model/rnn/multi_rnn_cell/cell_{}/lstm_cell/bias',
               'rnn_model/fully_connected/weights',
               'rnn_model/fully_connected/bias')
BASIC_RNN_NAMES = ('rnn/multi_rnn_cell/cell_{}/basic_lstm_cell/kernel',
                   'rnn/multi_rnn_cell/cell_{}/basic_lstm_cell/bias',
                   'fully_connected/weights',
                   'fully_connected/biases')


def _onehot(classes):
  return np.eye(NUM_CLASSES, dtype=np.float32)[np.asarray(classes)]


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _tf1_reference(layers, dense, classes):
  """Plain-numpy TF1 LSTMCell stack from a zero state, float64.

  Args:
    layers: [(W [in + u, 4u], b [4u])] per layer, gate blocks (i, j, f, o).
    dense: (weights [u_last, 38], bias [38]).
    classes: [T] ints.

  Returns:
    (logits [T, 38], final state [sum 2u] as [c, h] per layer).
  """
  c = [np.zeros(b.shape[0] // 4) for _, b in layers]
  h = [np.zeros(b.shape[0] // 4) for _, b in layers]
  logits = []
  for cls in classes:
    x = np.eye(NUM_CLASSES)[cls]
    for k, (w, b) in enumerate(layers):
      z = np.concatenate([x, h[k]]) @ w + b
      i, j, f, o = np.split(z, 4)
      c[k] = _sigmoid(f + 1.0) * c[k] + _sigmoid(i) * np.tanh(j)
      h[k] = _sigmoid(o) * np.tanh(c[k])
      x = h[k]
    logits.append(x @ dense[0] + dense[1])
  return np.array(logits), np.concatenate(
      [a for pair in zip(c, h) for a in pair])


def _random_tf1_weights(layer_sizes, seed=0, dense_rows=None):
  """Random TF1-layout weights; biases U(-0.5, 0.5) so each block matters."""
  rng = np.random.default_rng(seed)
  layers, in_size = [], NUM_CLASSES
  for units in layer_sizes:
    layers.append((rng.normal(0, 0.4, (in_size + units, 4 * units)),
                   rng.uniform(-0.5, 0.5, 4 * units)))
    in_size = units
  dense = (rng.normal(0, 0.4, (dense_rows or in_size, NUM_CLASSES)),
           rng.uniform(-0.5, 0.5, NUM_CLASSES))
  cast = lambda a: a.astype(np.float32)
  return [(cast(w), cast(b)) for w, b in layers], tuple(map(cast, dense))


def _tf1_variables(layers, dense, names):
  kernel, bias, dense_kernel, dense_bias = names
  variables = {}
  for k, (w, b) in enumerate(layers):
    variables[kernel.format(k)] = w
    variables[bias.format(k)] = b
  variables[dense_kernel], variables[dense_bias] = dense
  return variables


def _write_tf1_checkpoint(prefix, variables, version=V2):
  """Writes {name: array} with a TF1 Saver in a graph; returns the path."""
  with tf.Graph().as_default():
    var_list = {name: tf.compat.v1.Variable(value, name=f'v{i}')
                for i, (name, value) in enumerate(variables.items())}
    saver = tf.compat.v1.train.Saver(var_list=var_list, write_version=version)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      return saver.save(session, str(prefix), write_meta_graph=False)


def _assert_matches_reference(model, layers, dense, classes):
  want_logits, want_state = _tf1_reference(layers, dense, classes)
  logits, state = model.sequence_logits(_onehot([classes]))
  np.testing.assert_allclose(logits[0], want_logits, atol=TOLERANCE, rtol=0)
  np.testing.assert_allclose(state[0], want_state, atol=TOLERANCE, rtol=0)


CLASSES = [0, 14, 0, 1, 1, 16, 2, 37, 0, 0, 19, 1]


# --- Golden outputs of the original code ------------------------------------

def _check_golden(model, golden):
  sequences = golden['sequences']
  for sequence in sequences:
    inputs = _onehot([sequence['inputs']])
    want_logits = np.array(sequence['logits'])
    want_state = np.array(sequence['final_state'])
    logits, state = model.sequence_logits(inputs)
    assert np.abs(logits[0] - want_logits).max() <= TOLERANCE
    assert np.abs(state[0] - want_state).max() <= TOLERANCE
    state = model.zero_state(1)
    for t in range(inputs.shape[1]):
      step_logits, state = model.step(inputs[:, t], state)
      assert np.abs(step_logits[0] - want_logits[t]).max() <= TOLERANCE
    assert np.abs(state[0] - want_state).max() <= TOLERANCE
  # All sequences as one padded batch: final states after each real end.
  lengths = [len(s['inputs']) for s in sequences]
  padded = np.zeros((len(sequences), max(lengths)), np.int64)
  for b, sequence in enumerate(sequences):
    padded[b, :lengths[b]] = sequence['inputs']
  _, states = model.sequence_logits(_onehot(padded), lengths=lengths)
  for b, sequence in enumerate(sequences):
    assert np.abs(states[b] - sequence['final_state']).max() <= TOLERANCE


def test_paper_checkpoint_reproduces_original_logits(paper_checkpoint,
                                                     golden_dir):
  with open(golden_dir / 'note_rnn_logits.json', encoding='utf-8') as f:
    golden = json.load(f)
  model = NoteRNN.load(paper_checkpoint)
  assert model.layer_sizes == (100,)
  assert model.state_size == golden['state_size'] == 200
  assert 'V1' in model.source and 'paper names' in model.source
  _check_golden(model, golden)


def test_basic_rnn_bundle_reproduces_original_logits(basic_rnn_bundle,
                                                     golden_dir):
  with open(golden_dir / 'basic_rnn_logits.json', encoding='utf-8') as f:
    golden = json.load(f)
  model = NoteRNN.load(basic_rnn_bundle)
  assert model.layer_sizes == (32, 32)
  assert model.state_size == 128
  assert 'generator bundle' in model.source
  _check_golden(model, golden)


def test_paper_checkpoint_with_wrong_hparams(paper_checkpoint):
  hp = hparams_lib.basic_rnn_hparams()
  with pytest.raises(checkpoint_import.CheckpointError,
                     match=r'1 LSTM layer.*\[512, 512\].*W_0 \[138, 400\]'):
    NoteRNN.load(paper_checkpoint, hparams=hp)


# --- Checkpoints written here by TF1 Savers ---------------------------------

@pytest.mark.parametrize('names, layer_sizes, version', [
    (PAPER_NAMES, (20,), V1),
    (PAPER_NAMES, (20,), V2),
    (LATER_NAMES, (20, 12), V1),
    (LATER_NAMES, (20, 12), V2),
    (BASIC_RNN_NAMES, (12, 20), V2),
])
def test_tf1_checkpoint_matches_numpy_tf1_lstm(tmp_path, names, layer_sizes,
                                               version):
  layers, dense = _random_tf1_weights(layer_sizes)
  variables = _tf1_variables(layers, dense, names)
  # Optimizer slots and bookkeeping that the reader must ignore.
  first = names[0].format(0)
  variables[first + '/Adam'] = np.ones_like(variables[first])
  variables['rnn_model/rnn_model/' + names[1].format(0) + '/Adagrad'] = (
      np.ones_like(variables[names[1].format(0)]))
  variables['global_step'] = np.int64(7)
  variables['beta1_power'] = np.float32(0.9)
  path = _write_tf1_checkpoint(tmp_path / 'model.ckpt', variables, version)
  model = NoteRNN.load(path)
  assert model.layer_sizes == layer_sizes
  _assert_matches_reference(model, layers, dense, CLASSES)
  # The directory works too (through its `checkpoint` state file).
  assert NoteRNN.load(tmp_path).layer_sizes == layer_sizes


def test_generator_bundle_written_here(tmp_path):
  layers, dense = _random_tf1_weights((8, 8), seed=3)
  (tmp_path / 'ckpt').mkdir()
  path = _write_tf1_checkpoint(
      tmp_path / 'ckpt' / 'model.ckpt',
      _tf1_variables(layers, dense, BASIC_RNN_NAMES), V1)
  bundle = generator_pb2.GeneratorBundle()
  bundle.generator_details.id = 'basic_rnn'
  with open(path, 'rb') as f:
    bundle.checkpoint_file.append(f.read())
  bundle.metagraph_file = b''
  bundle_path = tmp_path / 'basic.mag'
  bundle_path.write_bytes(bundle.SerializeToString())
  model = NoteRNN.load(bundle_path)
  assert "'basic_rnn'" in model.source
  _assert_matches_reference(model, layers, dense, CLASSES)
  # Without the .mag extension the file is recognized by its content.
  os.rename(bundle_path, tmp_path / 'bundle.bin')
  assert NoteRNN.load(tmp_path / 'bundle.bin').layer_sizes == (8, 8)


def test_checkpoint_with_several_networks_needs_a_scope(tmp_path):
  q_layers, q_dense = _random_tf1_weights((6,), seed=1)
  r_layers, r_dense = _random_tf1_weights((6,), seed=2)
  variables = {}
  for scope, layers, dense in (('q_network', q_layers, q_dense),
                               ('reward_rnn', r_layers, r_dense)):
    names = tuple(f'{scope}/{n}' for n in BASIC_RNN_NAMES)
    variables.update(_tf1_variables(layers, dense, names))
  path = _write_tf1_checkpoint(tmp_path / 'rl.ckpt', variables)
  with pytest.raises(checkpoint_import.CheckpointError,
                     match="'q_network', 'reward_rnn'"):
    NoteRNN.load(path)
  model = NoteRNN.load(path, scope='reward_rnn')
  _assert_matches_reference(model, r_layers, r_dense, CLASSES)
  with pytest.raises(checkpoint_import.CheckpointError, match='target'):
    NoteRNN.load(path, scope='target')


def test_conversion_round_trip():
  layers, _ = _random_tf1_weights((5,))
  kernel, bias = layers[0]
  keras_kernel, recurrent, keras_bias = checkpoint_import.tf1_lstm_to_keras(
      kernel, bias, NUM_CLASSES)
  assert keras_kernel.shape == (38, 20) and recurrent.shape == (5, 20)
  np.testing.assert_array_equal(keras_kernel[:, 5:10], kernel[:38, 10:15])
  np.testing.assert_array_equal(keras_bias[5:10], bias[10:15] + 1.0)
  back_kernel, back_bias = checkpoint_import.keras_lstm_to_tf1(
      keras_kernel, recurrent, keras_bias)
  np.testing.assert_array_equal(back_kernel, kernel)
  np.testing.assert_allclose(back_bias, bias, atol=1e-7)


# --- Errors -----------------------------------------------------------------

def test_missing_path(tmp_path):
  missing = tmp_path / 'nothing_here.ckpt'
  with pytest.raises(FileNotFoundError, match='nothing_here.ckpt'):
    NoteRNN.load(missing)
  (tmp_path / 'empty').mkdir()
  with pytest.raises(FileNotFoundError, match='no Note RNN checkpoint'):
    NoteRNN.load(tmp_path / 'empty')


def test_corrupt_file(tmp_path):
  path = tmp_path / 'corrupt.ckpt'
  path.write_bytes(b'\x00\x13 this is not a checkpoint \xff' * 20)
  with pytest.raises(ValueError) as info:
    NoteRNN.load(path)
  assert isinstance(info.value, checkpoint_import.CheckpointError)
  message = str(info.value)
  assert str(path) in message and 'cannot read checkpoint' in message
  assert 'sstable' in message  # the TF reader's own explanation


def test_unrelated_variables_are_listed(tmp_path):
  path = _write_tf1_checkpoint(
      tmp_path / 'other.ckpt',
      {'encoder/dense/kernel': np.zeros((3, 4), np.float32),
       'decoder/embedding': np.zeros((5,), np.float32)})
  with pytest.raises(checkpoint_import.CheckpointError) as info:
    NoteRNN.load(path)
  message = str(info.value)
  assert 'no Note RNN variables' in message
  assert 'encoder/dense/kernel' in message and 'decoder/embedding' in message


def test_dense_input_size_mismatch(tmp_path):
  layers, dense = _random_tf1_weights((16,), dense_rows=50)
  path = _write_tf1_checkpoint(
      tmp_path / 'bad.ckpt', _tf1_variables(layers, dense, LATER_NAMES))
  with pytest.raises(checkpoint_import.CheckpointError) as info:
    NoteRNN.load(path)
  message = str(info.value)
  assert 'rnn_model/fully_connected/weights' in message
  assert '[50, 38]' in message and '[16, 38]' in message


def test_input_size_other_than_38(tmp_path):
  rng = np.random.default_rng(0)
  variables = {
      'rnn/multi_rnn_cell/cell_0/lstm_cell/kernel':
          rng.normal(size=(40 + 8, 32)).astype(np.float32),
      'rnn/multi_rnn_cell/cell_0/lstm_cell/bias': np.zeros(32, np.float32),
      'fully_connected/weights': np.zeros((8, 38), np.float32),
      'fully_connected/biases': np.zeros(38, np.float32)}
  path = _write_tf1_checkpoint(tmp_path / 'lookback.ckpt', variables)
  with pytest.raises(checkpoint_import.CheckpointError) as info:
    NoteRNN.load(path)
  message = str(info.value)
  assert 'rnn/multi_rnn_cell/cell_0/lstm_cell/kernel' in message
  assert '[48, 32]' in message and '[46, 32]' in message


def test_hparams_layer_size_mismatch(tmp_path):
  layers, dense = _random_tf1_weights((16,))
  path = _write_tf1_checkpoint(
      tmp_path / 'm.ckpt', _tf1_variables(layers, dense, PAPER_NAMES), V1)
  hp = hparams_lib.default_hparams()  # 100 units
  with pytest.raises(checkpoint_import.CheckpointError) as info:
    NoteRNN.load(path, hparams=hp)
  message = str(info.value)
  assert 'rnn_model/RNN/MultiRNNCell/Cell0/LSTMCell/W_0' in message
  assert '[54, 64]' in message and '[138, 400]' in message


def test_unsupported_rnn_variables_are_named(tmp_path):
  layers, dense = _random_tf1_weights((4,))
  variables = _tf1_variables(layers, dense, LATER_NAMES)
  peephole = 'rnn_model/rnn/multi_rnn_cell/cell_0/lstm_cell/w_f_diag'
  variables[peephole] = np.zeros(4, np.float32)
  path = _write_tf1_checkpoint(tmp_path / 'peep.ckpt', variables)
  with pytest.raises(checkpoint_import.CheckpointError, match=peephole):
    NoteRNN.load(path)


def test_directory_with_several_checkpoints(tmp_path):
  layers, dense = _random_tf1_weights((4,))
  variables = _tf1_variables(layers, dense, PAPER_NAMES)
  for name in ('a.ckpt', 'b.ckpt'):
    _write_tf1_checkpoint(tmp_path / name, variables, V1)
  os.remove(tmp_path / 'checkpoint')  # no state file: ambiguous
  with pytest.raises(checkpoint_import.CheckpointError) as info:
    NoteRNN.load(tmp_path)
  assert 'a.ckpt' in str(info.value) and 'b.ckpt' in str(info.value)


def test_a_training_run_folder_loads_its_best_else_its_latest_model(
    tmp_path, caplog):
  from note_rnn.model import hparams as hparams_lib  # pylint: disable=g-import-not-at-top
  from note_rnn.model import note_rnn_model as model_lib  # pylint: disable=g-import-not-at-top
  from note_rnn.training import training_checkpoints  # pylint: disable=g-import-not-at-top
  assert checkpoint_import.RUN_BEST_MODEL == training_checkpoints.BEST_DIR
  assert checkpoint_import.RUN_LATEST_MODEL == os.path.join(
      training_checkpoints.CHECKPOINT_DIR, training_checkpoints.MODEL_DIR)
  hp = hparams_lib.default_hparams().replace(rnn_layer_sizes=(4,))
  latest = model_lib.NoteRNN(hp, seed=1)
  latest.save(str(tmp_path / 'checkpoint' / 'model'))
  with caplog.at_level('INFO'):
    loaded = model_lib.NoteRNN.load(str(tmp_path))
  assert 'latest checkpoint' in caplog.text
  for a, b in zip(loaded.get_weights(), latest.get_weights()):
    np.testing.assert_array_equal(a, b)
  best = model_lib.NoteRNN(hp, seed=2)
  best.save(str(tmp_path / 'best'))
  loaded = model_lib.NoteRNN.load(str(tmp_path))
  for a, b in zip(loaded.get_weights(), best.get_weights()):
    np.testing.assert_array_equal(a, b)
