"""Tests of the original NoteRNNLoader's methods on the tuner's networks."""

import os

import numpy as np
import pytest
import tensorflow as tf

from note_rnn import audio
from note_rnn import encoding
from note_rnn.data import sequence_example_io
from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from rl_tuner import note_rnn_loader
from rl_tuner import rl_tuner as rl_tuner_lib

TINY = note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,), batch_size=4)
STATE_SIZE = 16  # [c, h] of 8 units.
# A primer melody: C4 E4 G4 held, a rest, C5 (classes: C4 = 14).
PRIMER = [14, 0, 18, 0, 21, 0, 0, 0, 1, 26, 0, 0]


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
  path = str(tmp_path_factory.mktemp('loader') / 'note_rnn')
  note_rnn_model.NoteRNN(TINY, seed=7).save(path)
  return path


def _tuner(output_dir, saved, **kwargs):
  return rl_tuner_lib.RLTuner(str(output_dir), note_rnn_checkpoint_dir=saved,
                              seed=0, **kwargs)


def _same_weights(a, b):
  return all(np.array_equal(x, y) for x, y in zip(a.get_weights(),
                                                   b.get_weights()))


def test_the_tuner_networks_are_loaders_with_unchanged_checkpoints(
    tmp_path, saved):
  rlt = _tuner(tmp_path, saved)
  for network, name in ((rlt.q_network, 'q_network'),
                        (rlt.target_q_network, 'target_q_network'),
                        (rlt.reward_rnn, 'reward_rnn')):
    assert isinstance(network, note_rnn_loader.NoteRNNLoader)
    assert network.scope == name
    assert network.checkpoint_dir == saved
  # The loader's names add no checkpointed object: a NoteRNN and a
  # NoteRNNLoader write the same variables under the same keys.
  keys = []
  for network in (note_rnn_model.NoteRNN(TINY),
                  note_rnn_loader.NoteRNNLoader(hparams=TINY)):
    prefix = tf.train.Checkpoint(net=network).write(
        str(tmp_path / type(network).__name__ / 'ckpt'))
    keys.append(sorted(name for name, _ in tf.train.list_variables(prefix)))
  assert keys[0] == keys[1]
  assert len([k for k in keys[0] if 'VARIABLE_VALUE' in k]) == 5


def test_state_value_is_the_tuners_running_state(tmp_path, saved):
  rlt = _tuner(tmp_path, saved, num_parallel_melodies=3)
  q, target, reward = rlt.q_network, rlt.target_q_network, rlt.reward_rnn
  assert q.batch_size == 3
  zero = q.get_zero_state()
  assert zero.shape == (3, STATE_SIZE) and not zero.any()
  assert q.cell.state_size == STATE_SIZE and q.cell.output_size == 8
  state = np.random.default_rng(1).normal(size=(3, STATE_SIZE))
  q.state_value = state
  np.testing.assert_array_equal(rlt._q_state, state.astype(np.float32))
  # action() plays from that state and leaves the next one there.
  observation = np.eye(38, dtype=np.float32)[[5, 9, 14]]
  rlt.action(observation, enable_random=False)
  _, expected = q.step(observation, state.astype(np.float32))
  np.testing.assert_allclose(q.state_value, expected.numpy(), atol=1e-6)
  # The Reward RNN's is the tuner's reward state; the target's its own.
  assert reward.state_value is rlt._reward_state
  assert target.state_value.shape == (1, STATE_SIZE)
  with pytest.raises(ValueError, match=r'shape \[3, 16\]'):
    q.state_value = np.zeros((2, STATE_SIZE))


def test_variables_call_and_variable_name_dict(tmp_path, saved):
  rlt = _tuner(tmp_path, saved)
  network = rlt.q_network
  listed = network.variables()
  assert isinstance(listed, list) and len(listed) == 5
  assert all(a is b for a, b in zip(listed, network.variables))
  names = network.get_variable_name_dict()
  assert list(names) == ['lstm_0__kernel', 'lstm_0__recurrent_kernel',
                         'lstm_0__bias', 'dense__kernel', 'dense__bias']
  # They are the keys NoteRNN.save writes the weights under.
  network.save(str(tmp_path / 'saved'))
  written = {name.split('/')[0] for name, _ in tf.train.list_variables(
      str(tmp_path / 'saved' / 'weights'))}
  assert set(names) <= written


def test_initialize_new_then_restore(tmp_path, saved):
  network = _tuner(tmp_path, saved).q_network
  original = note_rnn_model.NoteRNN.load(saved)
  assert _same_weights(network, original)
  network.initialize_new(session=None)
  assert not _same_weights(network, original)
  network.initialize_and_restore('ignored session')
  assert _same_weights(network, original)
  # An empty checkpoint_dir falls back to checkpoint_file, as the original.
  empty = tmp_path / 'empty'
  empty.mkdir()
  loader = note_rnn_loader.NoteRNNLoader(
      None, 'test', checkpoint_dir=str(empty), checkpoint_file=saved,
      hparams=TINY)
  loader.initialize_and_restore()
  assert _same_weights(loader, original)
  missing = note_rnn_loader.NoteRNNLoader(None, 'test', str(empty),
                                          hparams=TINY)
  with pytest.raises(FileNotFoundError, match='no Note RNN checkpoint'):
    missing.initialize_and_restore()
  # Neither: the embedded default Note RNN, as RLTuner.
  default = note_rnn_loader.NoteRNNLoader(None, 'test')
  default.initialize_and_restore()
  assert _same_weights(default, note_rnn_model.NoteRNN.load())


def test_prime_model_with_a_midi_primer(tmp_path, saved):
  primer = str(tmp_path / 'primer.mid')
  audio.classes_to_midi_file(PRIMER, primer)
  loader = note_rnn_loader.NoteRNNLoader(
      None, 'q_network', checkpoint_dir=saved, midi_primer=primer,
      hparams=TINY)
  loader.restore_initialize_prime(session=None)
  assert loader.primer.tolist() == PRIMER
  assert loader.steps_per_bar == 16
  logits, state = loader.sequence_logits(
      encoding.classes_to_onehot([PRIMER]), loader.get_zero_state())
  np.testing.assert_allclose(loader.state_value, state.numpy(), atol=1e-6)
  best = int(np.argmax(logits.numpy()[0, -1]))
  np.testing.assert_array_equal(loader.priming_note,
                                np.eye(38, dtype=np.float32)[best])
  no_primer = note_rnn_loader.NoteRNNLoader(hparams=TINY)
  with pytest.raises(ValueError, match='needs a readable midi_primer'):
    no_primer.prime_model()


def test_get_next_note_from_note_advances_the_state(saved):
  loader = note_rnn_loader.NoteRNNLoader.load(saved)
  start = np.random.default_rng(2).normal(size=(1, STATE_SIZE)).astype(
      np.float32)
  loader.state_value = start
  note = np.eye(38, dtype=np.float32)[20]
  logits, state = loader.step(note[None], start)
  result = loader.get_next_note_from_note(note)
  assert result.shape == (38,)
  assert int(np.argmax(result)) == int(np.argmax(logits.numpy()[0]))
  np.testing.assert_allclose(loader.state_value, state.numpy(), atol=1e-6)
  # The softmax helper: one-hot of the most probable class.
  np.testing.assert_array_equal(
      loader.get_note_from_softmax([0.1, 0.7, 0.2] + [0.0] * 35),
      np.eye(38, dtype=np.float32)[1])


def test_run_training_batch(tmp_path, saved):
  melodies = [[14, 0, 16, 18], [20, 0, 0, 1, 21, 23], [2, 3]]
  data = str(tmp_path / 'melodies.tfrecord')
  sequence_example_io.write_sequence_examples(data, melodies)
  loader = note_rnn_loader.NoteRNNLoader.load(saved)
  assert loader.run_training_batch() is None  # No training_file_list.
  loader = note_rnn_loader.NoteRNNLoader(
      training_file_list=data, hparams=TINY)
  softmax, states, lengths = loader.run_training_batch()
  assert softmax.shape == (3 * 192, 38)
  np.testing.assert_allclose(softmax.sum(axis=1), 1.0, atol=1e-5)
  assert lengths.tolist() == [4, 6, 2]
  assert states.shape == (3, STATE_SIZE)
  # Melody 1 alone, from a zero state: its final state and its softmax.
  logits, state = loader.sequence_logits(
      encoding.classes_to_onehot([melodies[1]]))
  np.testing.assert_allclose(states[1], state.numpy()[0], atol=1e-5)
  np.testing.assert_allclose(
      softmax[192:198], tf.nn.softmax(logits[0]).numpy(), atol=1e-5)


def test_clone_copies_weights_and_keeps_its_own_state(tmp_path, saved):
  rlt = _tuner(tmp_path, saved)
  copy = rlt.q_network.clone('copy')
  assert isinstance(copy, note_rnn_loader.NoteRNNLoader)
  assert _same_weights(copy, rlt.q_network)
  copy.state_value = np.ones((1, STATE_SIZE))
  assert not rlt.q_network.state_value.any()  # The tuner's, still zeros.


@pytest.mark.parametrize('name, hint', [
    ('softmax', 'sequence_logits'), ('melody_sequence', r'step\(inputs'),
    ('session', 'no TF1 session'), ('graph', 'no TF1 graph'),
    ('train_softmax', 'run_training_batch')])
def test_graph_pieces_name_their_replacement(saved, name, hint):
  loader = note_rnn_loader.NoteRNNLoader.load(saved)
  with pytest.raises(NotImplementedError, match=hint):
    getattr(loader, name)
  assert not hasattr(loader, name)


def test_build_graph_and_call_are_not_applicable(saved):
  loader = note_rnn_loader.NoteRNNLoader.load(saved)
  with pytest.raises(NotImplementedError, match='built when it is'):
    loader.build_graph()
  with pytest.raises(NotImplementedError, match='sequence_logits'):
    loader()
