"""The tuner with its own rewards, exploration and statistics settings.

Tiny random networks (see rl_tuner_test); the behaviour, not the music.
"""

import numpy as np
import pytest

from rl_tuner import rl_tuner as rl_tuner_lib
from rl_tuner.rl_tuner_test import _dqn
from rl_tuner.rl_tuner_test import make_tuner
from rl_tuner.testing import reference_rewards as rewards

# Classes: 2 + MIDI pitch - 48; C4 = 14, F4 = 19, F#4 = 20, G4 = 21.
C4, F4, F_SHARP4, G4 = 14, 19, 20, 21


def high_notes(state, actions):
  """+1 for classes above middle C."""
  return (actions > C4).astype(float)


class PitchesSoFar:
  """Stateful: pitches this melody played before the action."""

  def reset(self, batch_size):
    self.count = np.zeros(batch_size)

  def __call__(self, state, actions):
    value = self.count.copy()
    self.count += actions >= 2
    return value


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('algorithm', ['q', 'psi', 'g', 'pure_rl'])
def test_user_rewards_work_with_every_algorithm(tmp_path, algorithm, batch):
  rlt = make_tuner(tmp_path, algorithm=algorithm, reward_mode='custom',
                   rewards=[high_notes, PitchesSoFar], reward_scaler=2.0,
                   reward_weights='high_notes=3', num_parallel_melodies=batch,
                   num_notes_in_melody=8, output_every_nth=24 * batch)
  log_p_in_reward = algorithm in ('q', 'psi')
  assert rlt.reward_mode == ('custom' if log_p_in_reward else 'custom_only')
  assert rlt.reward_set.term_names == (
      ('note_rnn',) * log_p_in_reward + ('high_notes', 'pitches_so_far'))
  rlt.train(num_steps=48 * batch, exploration_period=24 * batch)
  assert len(rlt.rewards_batched) == 2
  terms = rlt.term_rewards_batched
  assert set(terms) == set(rlt.reward_set.term_names)
  for block in range(2):
    # The terms' shares add up to the block's reward (g: plus log p).
    total = sum(values[block] for values in terms.values())
    assert total == pytest.approx(rlt.music_theory_rewards_batched[block] +
                                  rlt.note_rnn_rewards_batched[block] *
                                  log_p_in_reward)
    # Three times two for each of the block's notes above middle C.
    assert terms['high_notes'][block] / 6.0 == pytest.approx(
        round(terms['high_notes'][block] / 6.0))
  if log_p_in_reward:
    assert terms['note_rnn'] == pytest.approx(rlt.note_rnn_rewards_batched)
  # Evaluation records every term per note.
  for name, values in rlt.eval_avg_term_rewards.items():
    assert len(values) == 3, name
  assert sum(v[-1] for v in rlt.eval_avg_term_rewards.values()) == (
      pytest.approx(rlt.eval_avg_music_theory_reward[-1] +
                    rlt.eval_avg_note_rnn_reward[-1] * log_p_in_reward))
  # Stored rewards carry the weighted, scaled user terms.
  stored = rlt.experience.gather(np.arange(len(rlt.experience)))
  high = 2.0 * 3.0 * (stored['new_observation'] > C4)
  if not log_p_in_reward:
    assert np.all(stored['reward'] >= high - 1e-4)


def test_epsilon_at_the_start_half_way_and_after(tmp_path):
  rlt = make_tuner(tmp_path, num_parallel_melodies=2,
                   dqn_hparams=_dqn(random_action_probability=0.1))
  # 40 environment steps = 20 beats of 2 melodies.
  assert rlt.exploration_probability(20) == 1.0
  rlt.train(num_steps=20, exploration_period=40)
  assert rlt.exploration_probability() == pytest.approx(0.55)
  rlt.train(num_steps=20, exploration_period=40)
  assert rlt.exploration_probability() == pytest.approx(0.1)
  rlt.train(num_steps=40, exploration_period=40)
  assert rlt.exploration_probability() == pytest.approx(0.1)


def test_random_actions_after_exploration_follow_epsilon(tmp_path):
  """After the period, about random_action_probability of the actions are
  random: a planted 0 or 1 would show."""
  batch = 4
  rlt = make_tuner(tmp_path, num_parallel_melodies=batch,
                   exploration_mode='egreedy',
                   dqn_hparams=_dqn(random_action_probability=0.3,
                                    train_every_nth=10**6,
                                    max_experience=4000),
                   output_every_nth=10**6)
  steps = 2000
  rlt.train(num_steps=steps, exploration_period=8)  # Over in two beats.
  stored = rlt.experience.gather(np.arange(len(rlt.experience)))
  late = slice(16, steps)
  scores, _ = rlt.q_network.step(
      np.eye(38, dtype=np.float32)[stored['observation'][late]],
      stored['state'][late])
  greedy = np.argmax(scores.numpy(), axis=-1)
  differs = np.mean(greedy != stored['action'][late])
  # 0.3 * 37 / 38 = 0.29 expected; the sample of ~2000 has sd 0.01.
  assert 0.24 < differs < 0.34


def _melodies_telling_keys_apart():
  """G major walks with F#: in key in G, one note out of key in C."""
  walk = [G4, 23, 25, 26, 28, 30, 32, 33] * 4
  return np.array([walk, walk[::-1]])


def test_statistics_follow_the_runs_key_and_labels(tmp_path):
  melodies = _melodies_telling_keys_apart()
  stats = {}
  for name, config in [
      ('c', None),
      ('g', rewards.MusicTheoryConfig.for_key('G')),
      ('c_encoding', rewards.MusicTheoryConfig(labels='encoding'))]:
    rlt = rl_tuner_lib.RLTuner(str(tmp_path / name),
                               initialize_immediately=False,
                               music_theory_config=config)
    rlt.generate_compositions = lambda n, length: melodies[:n, :length]
    stats[name] = rlt.evaluate_music_theory_metrics(num_compositions=2)
  # F# (class 32) twice per melody in C major, never in G major.
  assert stats['c']['notes_not_in_key'] == 8
  assert stats['g']['notes_not_in_key'] == 0
  # Only the first melody starts on G, the tonic of G major.
  assert stats['g']['num_starting_tonic'] == 1
  assert stats['c']['num_starting_tonic'] == 0
  # The encoding's labels judge the same notes as the original's here.
  assert stats['c_encoding']['notes_not_in_key'] == 8
  # An explicit key still wins.
  rlt.generate_compositions = lambda n, length: melodies[:n, :length]
  explicit = rlt.evaluate_music_theory_metrics(
      num_compositions=2, key=rewards.MusicTheoryConfig.for_key('G').key)
  assert explicit['notes_not_in_key'] == 0


def test_statistics_follow_the_label_convention(tmp_path):
  # Class 0 three times in a row: under the original labels a NOTE_OFF, so
  # the third of each run follows two and repeats excessively (8 times);
  # under the encoding's a hold, which may repeat. Both count C4's 8th
  # occurrence in its run broken only by specials (more than 6).
  melodies = np.array([[C4, 0, 0, 0] * 8])
  counts = {}
  for labels in ('original', 'encoding'):
    rlt = rl_tuner_lib.RLTuner(
        str(tmp_path / labels), initialize_immediately=False,
        music_theory_config=rewards.MusicTheoryConfig(labels=labels))
    rlt.generate_compositions = lambda n, length: melodies[:n, :length]
    counts[labels] = rlt.evaluate_music_theory_metrics(
        num_compositions=1)['num_repeated_notes']
  assert counts == {'original': 9, 'encoding': 1}


def test_composition_attributes_drive_the_environment(tmp_path):
  """The original's one-melody attributes read and set melody 0."""
  rlt = rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False)
  rlt.composition = [C4, 16, 18]
  rlt.composition.append(C4 + 12)
  assert rlt.composition == [C4, 16, 18, C4 + 12]
  np.testing.assert_array_equal(rlt.env.notes, [[C4, 16, 18, C4 + 12]])
  assert rlt.beat == 0  # Set apart from the notes, as in the original.
  rlt.beat = 4
  # A pending leap up from class 24: a step down from C5 (26) to 25 does
  # not reach it, a step to 24 resolves it (+5).
  rlt.composition_direction, rlt.leapt_from = 1, 24
  assert rlt.reward_leap_up_back(25) == 0.0
  assert rlt.steps_since_last_leap == 1
  assert rlt.reward_leap_up_back(24) == 5.0
  assert (rlt.composition_direction, rlt.leapt_from) == (0, None)
  # The leap rule reads a table of every state: other values are refused.
  with pytest.raises(ValueError, match='composition_direction must be'):
    rlt.composition_direction = 2
  with pytest.raises(ValueError, match='leapt_from must be None or a class'):
    rlt.leapt_from = 38
  rlt.composition_direction, rlt.leapt_from = -1, 30
  assert (rlt.composition_direction, rlt.leapt_from) == (-1, 30)
  with pytest.raises(ValueError, match='num_parallel_melodies == 1'):
    parallel = rl_tuner_lib.RLTuner(str(tmp_path / 'b2'),
                                    initialize_immediately=False,
                                    num_parallel_melodies=2)
    parallel.composition = [C4]


def test_checkpoints_refuse_other_reward_terms(tmp_path):
  rlt = make_tuner(tmp_path, rewards=[high_notes])
  rlt.save_model('q')
  other = make_tuner(tmp_path)
  with pytest.raises(ValueError, match='reward terms'):
    other.restore_from_directory(str(tmp_path))
  same = make_tuner(tmp_path, rewards=[high_notes])
  same.restore_from_directory(str(tmp_path))
  assert set(same.term_rewards_batched) == set(rlt.reward_set.term_names)
