"""Tests of the RL Tuner: settings, training, composing, checkpoints, rewards.

Networks are tiny (one LSTM layer of 8 units, random weights), runs a few
hundred environment steps, so that the behaviour, not the music, is tested.
"""

import dataclasses
import functools
import gzip
import json
import os

import numpy as np
import pytest

from note_rnn import encoding
from note_rnn.data import sequence_example_io
from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from rl_tuner import rl_tuner as rl_tuner_lib
from rl_tuner import rl_tuner_eval_metrics
from rl_tuner.agents.dqn import dqn
from rl_tuner.agents.dqn import dqn_hparams as dqn_hparams_lib
from rl_tuner.testing import composition as composition_lib
from rl_tuner.testing import reference_rewards as rewards

NUM_CLASSES = 38
UNITS = 8
TINY = note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(UNITS,))


def _dqn(**changes):
  values = dict(minibatch_size=8, max_experience=1000, train_every_nth=5,
                discount_rate=0.5)
  values.update(changes)
  return dqn_hparams_lib.DQNHParams(**values)


def make_tuner(output_dir, **kwargs):
  """An RLTuner with tiny random-init networks (no checkpoint needed)."""
  kwargs.setdefault('dqn_hparams', _dqn())
  kwargs.setdefault('output_every_nth', 100)
  kwargs.setdefault('num_eval_compositions', 4)
  kwargs.setdefault('seed', 0)
  rlt = rl_tuner_lib.RLTuner(str(output_dir), note_rnn_hparams=TINY,
                             initialize_immediately=False, **kwargs)
  rlt.initialize_internal_models_graph_session(restore_from_checkpoint=False)
  return rlt


def _stored(rlt):
  """Every stored transition, oldest first (the buffer must not wrap)."""
  assert rlt.experience.add_count <= rlt.experience.capacity
  return rlt.experience.gather(np.arange(len(rlt.experience)))


def _expected_gradient_steps(num_steps, batch, train_every_nth, minibatch):
  """Gradient steps of `num_steps` environment steps, B melodies at a time.

  Environment step t (0-based) makes training call t; it trains when
  t % train_every_nth == 0 and the buffer already holds a minibatch. The
  transitions of a whole beat are stored before its B calls, so at call t
  the buffer holds B * (t // B + 1) transitions.
  """
  return sum(1 for t in range(num_steps)
             if t % train_every_nth == 0 and
             batch * (t // batch + 1) >= minibatch)


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
  """A tiny random Note RNN saved with NoteRNN.save."""
  path = tmp_path_factory.mktemp('note_rnn') / 'tiny'
  note_rnn_model.NoteRNN(TINY, seed=7).save(str(path))
  return str(path)


# --- Settings ----------------------------------------------------------------


@pytest.mark.parametrize('setting,valid', [
    ('algorithm', sorted(dqn.ALGORITHMS)),
    ('reward_mode', rewards.REWARD_MODES),
    ('exploration_mode', rl_tuner_lib.EXPLORATION_MODES),
    ('priming_mode', rl_tuner_lib.PRIMING_MODES),
    ('note_rnn_type', rl_tuner_lib.NOTE_RNN_TYPES),
])
def test_unknown_setting_lists_the_valid_values(tmp_path, setting, valid):
  with pytest.raises(ValueError) as error:
    rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False,
                         **{setting: 'bogus'})
  message = str(error.value)
  assert 'bogus' in message
  for value in valid:
    assert value in message


def test_single_midi_needs_an_existing_primer(tmp_path):
  with pytest.raises(ValueError, match='needs --midi_primer'):
    rl_tuner_lib.RLTuner(str(tmp_path), priming_mode='single_midi',
                         initialize_immediately=False)
  with pytest.raises(ValueError, match='midi_primer not found'):
    rl_tuner_lib.RLTuner(str(tmp_path), priming_mode='single_midi',
                         midi_primer=str(tmp_path / 'missing.mid'),
                         initialize_immediately=False)


def test_random_midi_needs_existing_training_files(tmp_path):
  with pytest.raises(ValueError, match='needs --training_data_path'):
    rl_tuner_lib.RLTuner(str(tmp_path), priming_mode='random_midi',
                         initialize_immediately=False)
  with pytest.raises(ValueError, match='missing.tfrecord'):
    rl_tuner_lib.RLTuner(str(tmp_path), priming_mode='random_midi',
                         training_file_list=str(tmp_path / 'missing.tfrecord'),
                         initialize_immediately=False)


def test_bad_sizes_are_rejected(tmp_path):
  with pytest.raises(ValueError, match='num_parallel_melodies'):
    rl_tuner_lib.RLTuner(str(tmp_path), num_parallel_melodies=0,
                         initialize_immediately=False)
  with pytest.raises(ValueError, match='input_size and num_actions'):
    rl_tuner_lib.RLTuner(str(tmp_path), input_size=10,
                         initialize_immediately=False)


def test_missing_checkpoint_file_is_a_helpful_error(tmp_path):
  missing = str(tmp_path / 'no_such_note_rnn.ckpt')
  with pytest.raises(FileNotFoundError) as error:
    rl_tuner_lib.RLTuner(str(tmp_path / 'out'),
                         note_rnn_checkpoint_file=missing)
  message = str(error.value)
  assert missing in message
  assert 'note_rnn_checkpoint_file' in message
  assert 'NoteRNN.save' in message


def test_loads_the_checkpoint_into_three_separate_networks(tmp_path,
                                                           tiny_checkpoint):
  rlt = rl_tuner_lib.RLTuner(str(tmp_path),
                             note_rnn_checkpoint_file=tiny_checkpoint)
  saved = note_rnn_model.NoteRNN.load(tiny_checkpoint).get_weights()
  networks = (rlt.q_network, rlt.target_q_network, rlt.reward_rnn)
  assert len({id(v) for n in networks for v in n.variables}) == 3 * len(saved)
  for network in networks:
    assert network.layer_sizes == (UNITS,)
    for expected, actual in zip(saved, network.get_weights()):
      np.testing.assert_array_equal(expected, actual)


# --- Training with every algorithm, exploration, priming and reward mode -----


@pytest.mark.parametrize('algorithm', sorted(dqn.ALGORITHMS))
def test_each_algorithm_trains(tmp_path, algorithm):
  steps, every = 300, 100
  rlt = make_tuner(tmp_path, algorithm=algorithm,
                   reward_mode='music_theory_all', output_every_nth=every)
  reward_before = rlt.reward_rnn.get_weights()
  q_before = rlt.q_network.get_weights()
  rlt.train(num_steps=steps, exploration_period=150)

  expected_mode = ('music_theory_only' if algorithm in ('g', 'pure_rl') else
                   'music_theory_all')
  assert rlt.reward_mode == expected_mode
  assert rlt.env_steps == steps
  assert rlt.actions_executed_so_far == steps
  assert len(rlt.experience) == steps
  blocks = steps // every
  for key in ('rewards_batched', 'music_theory_rewards_batched',
              'note_rnn_rewards_batched'):
    assert len(getattr(rlt, key)) == blocks
  for key in ('eval_avg_reward', 'eval_avg_music_theory_reward',
              'eval_avg_note_rnn_reward'):
    assert len(getattr(rlt, key)) == blocks + 1  # + the initial evaluation
  assert all(np.isfinite(getattr(rlt, key)).all()
             for key in rl_tuner_lib.HISTORY_KEYS if key != 'target_val_list')
  hp = rlt.dqn_hparams
  assert rlt.iteration == _expected_gradient_steps(
      steps, 1, hp.train_every_nth, hp.minibatch_size)
  # One target value per block: the mean over its gradient steps (NaN for a
  # block before the replay held a minibatch).
  assert len(rlt.target_val_list) == blocks
  assert np.isfinite(rlt.target_val_list[-1])

  # The training reward: log p is part of it except in pure RL, and g logs
  # music theory + log p as its total.
  music = np.array(rlt.music_theory_rewards_batched)
  note_rnn = np.array(rlt.note_rnn_rewards_batched)
  expected_total = music if algorithm == 'pure_rl' else music + note_rnn
  np.testing.assert_allclose(rlt.rewards_batched, expected_total, rtol=1e-6)

  for before, after in zip(reward_before, rlt.reward_rnn.get_weights()):
    np.testing.assert_array_equal(before, after)
  assert any(not np.array_equal(b, a)
             for b, a in zip(q_before, rlt.q_network.get_weights()))
      # One trace of the (fused) train step for the whole run.
  assert rlt.learner.train_steps.experimental_get_tracing_count() == 1


def test_greedy_actions_are_the_argmax_of_the_q_network(tmp_path):
  # Minibatch > steps: nothing is learned, the Q-network stays as it acted.
  rlt = make_tuner(tmp_path, dqn_hparams=_dqn(minibatch_size=500))
  rlt.train(num_steps=96, enable_random=False)
  assert rlt.iteration == 0
  stored = _stored(rlt)
  q_values, new_state = rlt.q_network.step(
      encoding.classes_to_onehot(stored['observation']), stored['state'])
  np.testing.assert_array_equal(stored['action'],
                                np.argmax(q_values.numpy(), axis=-1))
  np.testing.assert_array_equal(stored['action'], stored['new_observation'])
  np.testing.assert_allclose(stored['new_state'], new_state.numpy(),
                             atol=1e-6)


@pytest.mark.parametrize('mode,stochastic', [
    ('egreedy', False), ('egreedy', True), ('boltzmann', False)])
def test_exploration_modes(tmp_path, mode, stochastic):
  rlt = make_tuner(tmp_path, exploration_mode=mode,
                   stochastic_observations=stochastic)
  rlt.train(num_steps=200, exploration_period=50)
  stored = _stored(rlt)
  assert len(stored['action']) == 200
  # Consecutive transitions chain: the next observation is the note played.
  melody_steps = np.arange(200) % rlt.num_notes_in_melody != 0
  np.testing.assert_array_equal(
      stored['observation'][melody_steps],
      stored['new_observation'][np.roll(melody_steps, -1)])
  same = stored['action'] == stored['new_observation']
  if stochastic:
    # The action is the greedy one, the note played a sample of the policy.
    assert not same.all()
  else:
    # Defect 8: Boltzmann stored the argmax while playing a sampled note;
    # now the action stored is the note played, in every mode.
    assert same.all()


def _write_melodies(path):
  melodies = [[14, 0, 16, 0, 18, 1, 21, 0, 23, 0],
              [30, 0, 0, 28, 26, 0, 25, 23],
              [2, 5, 9, 12, 9, 5, 2, 1, 1, 0, 14],
              [20, 21, 22, 23, 24]]
  sequence_example_io.write_sequence_examples(str(path), melodies)
  return melodies


@pytest.mark.parametrize('priming_mode', rl_tuner_lib.PRIMING_MODES)
def test_priming_modes(tmp_path, testdata_dir, priming_mode):
  kwargs = {}
  if priming_mode == 'single_midi':
    kwargs['midi_primer'] = str(testdata_dir / 'primer.mid')
  elif priming_mode == 'random_midi':
    kwargs['training_file_list'] = [str(tmp_path / 'melodies.tfrecord')]
    melodies = _write_melodies(kwargs['training_file_list'][0])
  length = 16
  rlt = make_tuner(tmp_path / 'out', priming_mode=priming_mode,
                   num_notes_in_melody=length,
                   dqn_hparams=_dqn(minibatch_size=500), **kwargs)
  q_net = rlt.q_network
  # The priming data, from the untrained Q-network.
  if priming_mode == 'single_midi':
    sequence = encoding.midi_file_to_note_sequence(kwargs['midi_primer'])
    classes = rl_tuner_lib.primer_classes(sequence)
    logits, state = q_net.sequence_logits(
        encoding.classes_to_onehot([classes]))
    allowed = {(int(np.argmax(logits.numpy()[0, -1])),
                tuple(np.round(state.numpy()[0], 5)))}
  elif priming_mode == 'random_midi':
    assert rlt.priming_states.shape == (len(melodies), q_net.state_size)
    allowed = set()
    for melody in melodies:
      logits, state = q_net.sequence_logits(
          encoding.classes_to_onehot([melody]))
      allowed.add((int(np.argmax(logits.numpy()[0, -1])),
                   tuple(np.round(state.numpy()[0], 5))))
  rlt.train(num_steps=4 * length, exploration_period=10)
  stored = _stored(rlt)
  starts = np.arange(0, 4 * length, length)
  zero = np.zeros(q_net.state_size)
  seen = set()
  for start in starts:
    key = (int(stored['observation'][start]),
           tuple(np.round(stored['state'][start], 5)))
    seen.add(key)
    if priming_mode == 'random_note':
      # A random class from the zero state.
      np.testing.assert_array_equal(stored['state'][start], zero)
    else:
      assert key in allowed
  if priming_mode == 'single_midi':
    assert len(seen) == 1
  # Mid-melody states are the network's, not a priming state.
  assert not np.allclose(stored['state'][1], stored['state'][0])


@pytest.mark.parametrize('batch,scaler', [(1, 0.7), (4, 2.5)])
@pytest.mark.parametrize('mode', rewards.REWARD_MODES)
def test_each_reward_mode_trains_with_the_modes_rewards(tmp_path, mode, batch,
                                                        scaler):
  """The stored rewards are what rewards.collect_reward gives each note.

  The Reward RNN's logits at a step are its dense layer applied to the h
  part of the stored new_reward_state, so every reward can be recomputed
  from the replay buffer with the scalar reward code, melody by melody on
  its own transitions (each beat stores melodies 0..B-1 in order).
  """
  length, steps = 16, 64 * batch
  rlt = make_tuner(tmp_path, reward_mode=mode, reward_scaler=scaler,
                   num_notes_in_melody=length, output_every_nth=32 * batch,
                   num_parallel_melodies=batch)
  rlt.train(num_steps=steps, exploration_period=32 * batch)
  assert len(rlt.rewards_batched) == 2 and len(rlt.eval_avg_reward) == 3
  stored = _stored(rlt)
  assert len(stored['reward']) == steps
  _, _, _, dense_kernel, dense_bias = rlt.reward_rnn.get_weights()
  logits = stored['new_reward_state'][:, UNITS:] @ dense_kernel + dense_bias
  config = rlt.music_theory_config
  for melody in range(batch):
    mine = np.arange(melody, steps, batch)
    composition = composition_lib.Composition()
    expected = []
    for beat, t in enumerate(mine):
      if beat % length == 0:
        composition.reset()
      note = int(stored['new_observation'][t])
      parts = rewards.collect_reward(
          composition, int(stored['observation'][t]), note, logits[t], mode,
          scaler, config)
      expected.append(parts.total)
      composition.append(note)
    np.testing.assert_allclose(stored['reward'][mine], expected, rtol=1e-5,
                               atol=1e-4, err_msg=f'melody {melody}')


def test_random_note_covers_all_38_classes(tmp_path):
  """Defect 4: the original never drew the last class."""
  rlt = rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False,
                             seed=5)
  draws = np.array([rlt.get_random_note() for _ in range(3800)])
  assert draws.shape == (3800, NUM_CLASSES)
  assert (draws.sum(axis=1) == 1).all()
  counts = draws.sum(axis=0)
  assert (counts > 0).all() and counts[-1] > 0
  # Uniform: 100 expected per class; 5 sigma is about 50.
  assert counts.min() > 50 and counts.max() < 150


# --- Parallel melodies -------------------------------------------------------


def test_parallel_melodies_keep_the_single_stream_schedule(tmp_path):
  steps, hp = 200, _dqn(minibatch_size=16, train_every_nth=5)
  single = make_tuner(tmp_path / 'b1', dqn_hparams=hp)
  single.train(num_steps=steps, exploration_period=100)
  parallel = make_tuner(tmp_path / 'b4', dqn_hparams=hp,
                        num_parallel_melodies=4)
  parallel.train(num_steps=steps, exploration_period=100)

  expected = _expected_gradient_steps(steps, 1, 5, 16)
  # Steps 15, 20, ..., 195: the first at which t + 1 >= 16 and t % 5 == 0.
  assert expected == 37
  assert single.iteration == expected
  assert parallel.iteration == _expected_gradient_steps(steps, 4, 5, 16)
  assert parallel.iteration == single.iteration
  for rlt, beats in ((single, 200), (parallel, 50)):
    assert rlt.env_steps == steps
    assert rlt.actions_executed_so_far == beats
    assert rlt.experience.add_count == steps
    assert len(rlt.rewards_batched) == steps // 100
  # Four transitions per beat: the first beat's four melodies start from the
  # zero state, and each melody continues in its own stream.
  stored = _stored(parallel)
  np.testing.assert_array_equal(stored['state'][:4], 0.0)
  np.testing.assert_array_equal(stored['observation'][4:8],
                                stored['new_observation'][:4])
  np.testing.assert_allclose(stored['state'][4:8], stored['new_state'][:4])

  # Steps are rounded up to whole beats of four.
  parallel.train(num_steps=30, exploration_period=100)
  assert parallel.env_steps == steps + 32


# --- Evaluation --------------------------------------------------------------


def test_evaluation_leaves_training_state_alone(tmp_path):
  """Defect 13: evaluating advanced the exploration schedule."""
  rlt = make_tuner(tmp_path, num_parallel_melodies=2)
  rlt.train(num_steps=40, exploration_period=100)
  assert 0 < rlt.beat < rlt.num_notes_in_melody  # Melodies in progress.
  before = dict(
      actions=rlt.actions_executed_so_far,
      notes=np.array(rlt.env.notes), leap=[a.copy() for a in rlt.env.leap],
      q_state=rlt._q_state.copy(), reward_state=rlt._reward_state.copy(),
      previous=rlt.env.previous.copy(), env_steps=rlt.env_steps,
      stored=rlt.experience.add_count)
  num_evals = len(rlt.eval_avg_reward)
  note_rnn, music_theory = rlt.evaluate_model(num_trials=6)
  assert len(rlt.eval_avg_reward) == num_evals + 1
  assert rlt.eval_avg_reward[-1] == pytest.approx(note_rnn + music_theory)
  # log p of a note under 38 classes is negative; tiny random nets are near
  # uniform, log(1/38) = -3.64.
  assert -6.0 < note_rnn < 0.0
  assert rlt.actions_executed_so_far == before['actions']
  assert rlt.env_steps == before['env_steps']
  assert rlt.experience.add_count == before['stored']
  np.testing.assert_array_equal(rlt.env.notes, before['notes'])
  for field, old in zip(rlt.env.leap, before['leap']):
    np.testing.assert_array_equal(field, old)
  np.testing.assert_array_equal(rlt._q_state, before['q_state'])
  np.testing.assert_array_equal(rlt._reward_state, before['reward_state'])
  np.testing.assert_array_equal(rlt.env.previous, before['previous'])


# --- Checkpoints -------------------------------------------------------------


def test_save_restore_resume(tmp_path):
  every = 50
  settings = dict(output_every_nth=every, algorithm='psi', seed=11)
  rlt = make_tuner(tmp_path, **settings)
  rlt.train(num_steps=150, exploration_period=200)
  rlt.train(num_steps=100, exploration_period=200)
  root = tmp_path / rl_tuner_lib.CHECKPOINT_SUBDIR
  # One checkpoint per block, named <algorithm>-<env step>, taken when the
  # melodies in progress end (32 steps each: blocks ending at 50, 100 save
  # at 64, 128; at 200, at 150 + 64) or when `train` returns (150, 250);
  # newest 3 kept, written atomically (no staging directories left), with
  # the replay segments they need.
  assert sorted(os.listdir(root)) == ['psi-150', 'psi-214', 'psi-250',
                                      'replay']
  assert [os.path.basename(p) for p in rl_tuner_lib.list_checkpoints(
      str(root))] == ['psi-150', 'psi-214', 'psi-250']
  # Checkpoints hold the histories; the original's .npz is written on
  # request (and by save_model_and_figs as <name>.npz).
  assert not list(tmp_path.glob('*.npz'))
  rlt.save_stored_rewards('psi')
  assert os.path.isfile(tmp_path / 'psi-250.npz')

  # A tuner of another algorithm refuses the checkpoint, untouched.
  other = make_tuner(tmp_path, **dict(settings, algorithm='q'))
  q_weights = other.q_network.get_weights()
  with pytest.raises(ValueError, match="trained with algorithm 'psi'"):
    other.restore_from_directory()
  assert other.env_steps == 0
  for a, b in zip(q_weights, other.q_network.get_weights()):
    np.testing.assert_array_equal(a, b)

  restored = make_tuner(tmp_path, **dict(settings, seed=99))
  path = restored.restore_from_directory()
  assert os.path.basename(path) == 'psi-250'
  for name in ('q_network', 'target_q_network', 'reward_rnn'):
    for a, b in zip(getattr(rlt, name).get_weights(),
                    getattr(restored, name).get_weights()):
      np.testing.assert_array_equal(a, b)
  assert int(restored.learner.optimizer.iterations) == rlt.iteration
  for a, b in zip(rlt.learner.optimizer.variables,
                  restored.learner.optimizer.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  for key in ('env_steps', 'actions_executed_so_far', 'num_times_store_called',
              'num_times_train_called', 'iteration'):
    assert getattr(restored, key) == getattr(rlt, key), key
  for key in rl_tuner_lib.HISTORY_KEYS:
    value = getattr(restored, key)
    assert type(value) is list, key  # Defect 11: arrays could not grow.
    assert value == getattr(rlt, key), key
  assert len(restored.rewards_batched) == 5
  assert restored.rng.bit_generator.state == rlt.rng.bit_generator.state

  # The original's .npz history format loads as lists too.
  restored.restore_from_directory(reward_file_name='psi-250.npz')
  assert type(restored.eval_avg_reward) is list
  np.testing.assert_allclose(restored.eval_avg_reward, rlt.eval_avg_reward)

  # Training continues from step 250: no new initial evaluation, the
  # exploration schedule and histories carry on.
  restored.train(num_steps=100, exploration_period=200)
  assert restored.env_steps == 350
  assert restored.actions_executed_so_far == 350
  assert len(restored.rewards_batched) == 7
  assert len(restored.eval_avg_reward) == 8
  assert restored.rewards_batched[:5] == rlt.rewards_batched
  assert sorted(os.listdir(root)) == ['psi-250', 'psi-314', 'psi-350',
                                      'replay']


def test_failed_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
  rlt = make_tuner(tmp_path, output_every_nth=40)
  rlt.train(num_steps=40, exploration_period=40)
  root = tmp_path / rl_tuner_lib.CHECKPOINT_SUBDIR
  assert sorted(os.listdir(root)) == ['q-40', 'replay']
  rlt.env_steps = 80

  def fail(unused_path):
    raise OSError('disk full')

  monkeypatch.setattr(rlt._checkpoint, 'write', fail)
  with pytest.raises(OSError, match='disk full'):
    rlt.save_model('q')
  # No staging directory and no partial q-80 left behind.
  assert sorted(os.listdir(root)) == ['q-40', 'replay']
  monkeypatch.undo()
  restored = make_tuner(tmp_path)
  restored.restore_from_directory()
  assert restored.env_steps == 40


def test_restore_without_checkpoint_is_an_error(tmp_path):
  rlt = make_tuner(tmp_path)
  with pytest.raises(FileNotFoundError, match='no RL Tuner checkpoint'):
    rlt.restore_from_directory()


# --- Rewards through the RLTuner methods, against the original ---------------


@functools.lru_cache(maxsize=1)
def _golden_rewards(path):
  with gzip.open(path, 'rt') as f:
    return json.load(f)


@pytest.fixture
def golden_rewards(golden_dir):
  return _golden_rewards(str(golden_dir / 'rewards.json.gz'))


def test_reward_methods_reproduce_the_original(tmp_path, golden_rewards):
  """Golden pass 1 on the first 30 compositions, every step."""
  rlt = rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False)
  stateless = {
      'key': rlt.reward_key, 'tonic': rlt.reward_tonic,
      'repeating': rlt.reward_penalize_repeating,
      'autocorr': rlt.reward_penalize_autocorrelation,
      'motif': rlt.reward_motif, 'repeated_motif': rlt.reward_repeated_motif,
      'preferred_intervals': rlt.reward_preferred_intervals,
      'high_low_unique': rlt.reward_high_low_unique,
      'key_distribute_prob': rlt.reward_key_distribute_prob,
  }
  eye = np.eye(NUM_CLASSES)
  checked = 0
  for comp in golden_rewards['compositions'][:30]:
    rlt.reset_composition()
    notes = comp['notes']
    for beat, step in enumerate(comp['steps']):
      action = eye[notes[beat]]
      obs = eye[notes[beat - 1]] if beat else action
      where = (comp['index'], beat)
      for name, method in stateless.items():
        assert method(action) == pytest.approx(step[name], abs=1e-9), (
            where, name)
      assert rlt.reward_scale(obs, action) == pytest.approx(step['scale'],
                                                            abs=1e-9)
      # Defect 5: None in the original where the repeat penalty applies.
      expected = step['non_repeating']
      if expected is None:
        expected = rewards.REPEAT_PENALTY
      assert rlt.reward_non_repeating(action) == expected, where
      assert rlt.detect_sequential_interval(action)[0] == step['interval']
      assert rlt.reward_music_theory(action) == pytest.approx(
          step['music_theory_total'], abs=1e-9), where
      assert [rlt.composition_direction, rlt.leapt_from,
              rlt.steps_since_last_leap] == step['leap_state_after'], where
      rlt.composition = rlt.composition + [notes[beat]]
      rlt.beat += 1
      checked += 1
  assert checked == 30 * 32


def test_collect_reward_reproduces_the_original(tmp_path, golden_rewards):
  """Golden pass 2, mode music_theory_all, reward_scaler 0.7, all 300."""
  golden = golden_rewards['collect_reward']
  assert golden['reward_scaler'] == 0.7
  expected = golden['modes']['music_theory_all']
  rlt = rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False,
                             reward_scaler=0.7)
  eye = np.eye(NUM_CLASSES)
  for c, comp in enumerate(golden_rewards['compositions']):
    rlt.reset_composition()
    notes = comp['notes']
    for beat, note in enumerate(notes):
      action = eye[note]
      obs = eye[notes[beat - 1]] if beat else action
      scores = np.array(golden['reward_scores'][c][beat])
      assert rlt.reward_from_reward_rnn_scores(action, scores) == (
          pytest.approx(golden['note_rnn_rewards'][c][beat], abs=1e-9))
      reward = rlt.collect_reward(obs, action, scores)
      assert reward == pytest.approx(expected['rewards'][c][beat],
                                     abs=1e-9), (c, beat)
      rlt.composition.append(note)
      rlt.beat += 1
  assert rlt.note_rnn_reward_last_n == pytest.approx(
      expected['note_rnn_reward_last_n'], abs=1e-7, rel=0)
  assert rlt.music_theory_reward_last_n == pytest.approx(
      expected['music_theory_reward_last_n'], abs=1e-7, rel=0)


# --- Composing ---------------------------------------------------------------


def test_generate_music_sequence_writes_midi_and_png(tmp_path):
  rlt = make_tuner(tmp_path)
  notes, path = rlt.generate_music_sequence(
      title='tune', visualize_probs=True, prob_image_name='tune_probs.png',
      length=24)
  assert path == str(tmp_path / 'tune.mid')
  assert len(notes) == 24 and all(0 <= n < NUM_CLASSES for n in notes)
  with open(tmp_path / 'tune_probs.png', 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  sequence = encoding.midi_file_to_note_sequence(path)
  # Every class >= 2 starts a note of pitch 48 + class - 2, in order.
  played = [n.pitch for n in sorted(sequence.notes, key=lambda n: n.start_time)]
  assert played == [encoding.class_to_pitch(n) for n in notes if n >= 2]
  # A second sample does not overwrite the first.
  _, second = rlt.generate_music_sequence(title='tune', most_probable=True)
  assert second == str(tmp_path / 'tune1.mid')


def test_generate_compositions(tmp_path):
  rlt = make_tuner(tmp_path)
  compositions = rlt.generate_compositions(7, 20)
  assert compositions.shape == (7, 20)
  assert np.issubdtype(compositions.dtype, np.integer)
  assert compositions.min() >= 0 and compositions.max() < NUM_CLASSES
  assert rlt.generate_compositions(3).shape == (3, rlt.num_notes_in_melody)
  assert rlt.generate_compositions(0, 5).shape == (0, 5)


def test_evaluate_music_theory_metrics(tmp_path):
  rlt = make_tuner(tmp_path)
  state = rlt.rng.bit_generator.state
  stat_dict = rlt.evaluate_music_theory_metrics(num_compositions=12)
  assert stat_dict['num_compositions'] == 12
  # The statistics are those of the compositions the tuner generates.
  rlt.rng.bit_generator.state = state
  compositions = rlt.generate_compositions(12, rlt.num_notes_in_melody)
  expected = rl_tuner_eval_metrics.compute_composition_stats_for_compositions(
      compositions)
  assert set(stat_dict) == set(expected)
  for key, value in expected.items():
    if not isinstance(value, list):
      assert stat_dict[key] == pytest.approx(value, nan_ok=True), key


def test_action_and_priming_api(tmp_path):
  rlt = make_tuner(tmp_path)
  note = rlt.prime_internal_models()
  assert note.shape == (NUM_CLASSES,) and note.sum() == 1
  action, next_obs, scores = rlt.action(note, 100, enable_random=False)
  assert action.shape == next_obs.shape == scores.shape == (NUM_CLASSES,)
  np.testing.assert_array_equal(action, next_obs)
  assert rlt.actions_executed_so_far == 1
  zero = np.zeros(rlt.reward_rnn.state_size, np.float32)
  logits = rlt.get_reward_rnn_scores(note, zero)
  expected, _ = rlt.reward_rnn.step(note[None].astype(np.float32), zero[None])
  np.testing.assert_allclose(logits, expected.numpy()[0], rtol=1e-6)


def test_same_seed_gives_the_same_run(tmp_path):
  runs = []
  for name in ('a', 'b'):
    rlt = make_tuner(tmp_path / name, seed=3, output_every_nth=60,
                     exploration_mode='boltzmann')
    rlt.train(num_steps=120, exploration_period=60)
    runs.append(rlt)
  a, b = runs
  for key in rl_tuner_lib.HISTORY_KEYS:
    assert getattr(a, key) == getattr(b, key), key
  assert a.iteration == b.iteration > 0
  for x, y in zip(a.q_network.get_weights(), b.q_network.get_weights()):
    np.testing.assert_array_equal(x, y)
  other = make_tuner(tmp_path / 'c', seed=4, output_every_nth=60,
                     exploration_mode='boltzmann')
  other.train(num_steps=120, exploration_period=60)
  assert other.rewards_batched != a.rewards_batched


def test_evaluate_music_theory_metrics_honours_an_explicit_tonic_note(
    tmp_path):
  # Two melodies start on G4 (class 21), one on C4 (14), the run's tonic.
  g_walk = [21, 23, 25, 26, 28, 30, 32, 33] * 4
  melodies = np.array([g_walk, [21, 0, 23, 0, 25, 26, 1, 32] * 4,
                       [14, 16, 18, 19, 21, 23, 25, 26] * 4])
  rlt = rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False)
  rlt.generate_compositions = lambda n, length: melodies[:n, :length]
  run_s = rlt.evaluate_music_theory_metrics(num_compositions=3)
  on_g = rlt.evaluate_music_theory_metrics(num_compositions=3, tonic_note=21)
  assert (run_s['num_starting_tonic'], on_g['num_starting_tonic']) == (1, 2)
  # With key= too, both hold: G major with its tonic, as its own config.
  g_major = rewards.MusicTheoryConfig.for_key('G')
  explicit = rlt.evaluate_music_theory_metrics(
      num_compositions=3, key=g_major.key, tonic_note=21)
  expected = (
      rl_tuner_eval_metrics.compute_composition_stats_for_compositions(
          melodies, config=dataclasses.replace(rlt.music_theory_config,
                                               key=g_major.key, tonic=21)))
  for name in rl_tuner_eval_metrics.COUNT_KEYS:
    assert explicit[name] == expected[name], name
  assert explicit['num_starting_tonic'] == 2
