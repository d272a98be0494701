"""Assigning the original's attributes on a built tuner: in force, or refused.

Magenta code sets attributes such as `rlt.reward_scaler = 2.0` on a built
tuner, and the original read them on its next call. Each live attribute
must then behave exactly as if the tuner had been built with the value;
each fixed one must raise, naming the constructor argument.
"""

import numpy as np
import pytest

from rl_tuner.rl_tuner_test import make_tuner
from rl_tuner.run import settings as settings_lib

_RNG = np.random.default_rng(3)
# 32 (previous note, note, Reward RNN logits) cases.
CASES = [(int(_RNG.integers(2, 38)), int(_RNG.integers(0, 38)),
          _RNG.normal(size=38)) for _ in range(32)]


def _rewards(rlt):
  """collect_reward over CASES, each on a melody of 8 notes played so far."""
  values = []
  for previous, note, logits in CASES:
    rlt.reset_composition()
    rlt.composition = [14, 16, 18, 19, 21, 0, 1, previous]
    values.append(rlt.collect_reward(np.eye(38)[previous], np.eye(38)[note],
                                     logits))
  return np.array(values)


@pytest.mark.parametrize('name, value, base, changes', [
    ('reward_scaler', 2.0, {}, True),
    ('reward_scaler', 0.25, {'reward_weights': 'key=3'}, True),
    ('reward_scaler', 2.0, {'algorithm': 'g'}, True),
    ('reward_mode', 'scale', {}, True),
    ('reward_mode', 'music_theory_basic', {'reward_weights': 'tonic=2'},
     True),
    # g leaves log p out of its reward whatever the mode, as when built.
    ('reward_mode', 'music_theory_all', {'algorithm': 'g'}, False),
])
def test_reward_attribute_takes_effect_from_the_next_call(tmp_path, name,
                                                          value, base,
                                                          changes):
  assigned = make_tuner(tmp_path / 'a', **base)
  before = _rewards(assigned)
  setattr(assigned, name, value)
  built = make_tuner(tmp_path / 'b', **{**base, name: value})
  expected = _rewards(built)
  np.testing.assert_array_equal(_rewards(assigned), expected)
  assert np.array_equal(before, expected) != changes
  assert assigned.reward_set == built.reward_set
  assert getattr(assigned, name) == getattr(built, name)
  assert assigned.settings.reward_scaler == built.settings.reward_scaler


def test_reward_scaler_change_is_recorded_in_the_histories(tmp_path):
  rlt = make_tuner(tmp_path, num_parallel_melodies=2)
  rlt.train(num_steps=100, exploration_period=50)
  rlt.reward_scaler = 3.0
  rlt.train(num_steps=100, exploration_period=50)
  block = rlt.term_rewards_batched['key'][-1]
  assert rlt.history.shares(np.ones(len(rlt.reward_set.terms)))['key'] == 3.0
  assert np.isfinite(block)


def test_exploration_and_observation_attributes_reach_the_agent(tmp_path):
  rlt = make_tuner(tmp_path)
  rlt.exploration_mode = 'boltzmann'
  rlt.stochastic_observations = True
  assert rlt.agent.exploration_mode == 'boltzmann'
  assert rlt.agent.stochastic_observations
  assert rlt.settings.exploration_mode == 'boltzmann'
  # Boltzmann samples: a uniform score row gives varied notes.
  actions, _ = rlt.agent.choose(np.zeros((200, 38)), epsilon=0.0)
  assert len(set(actions.tolist())) > 10
  with pytest.raises(settings_lib.UsageError, match='exploration_mode'):
    rlt.exploration_mode = 'softmax'


def test_output_every_nth_sets_the_evaluation_period(tmp_path):
  rlt = make_tuner(tmp_path, output_every_nth=1000)
  rlt.output_every_nth = 40
  rlt.train(num_steps=80, exploration_period=40)
  assert len(rlt.eval_avg_reward) == 3  # Before training, at 40 and at 80.
  assert rlt.runner.output_every_nth == 40


@pytest.mark.parametrize('name, value', [
    ('algorithm', 'psi'), ('dqn_hparams', None), ('priming_mode', 'x'),
    ('midi_primer', 'a.mid'), ('training_file_list', ['a']),
    ('num_notes_in_melody', 16), ('note_rnn_type', 'basic_rnn'),
    ('num_parallel_melodies', 4), ('seed', 3), ('input_size', 38),
    ('num_actions', 38), ('music_theory_config', None),
])
def test_fixed_attribute_refuses_assignment_naming_the_argument(
    tmp_path, name, value):
  rlt = make_tuner(tmp_path)
  before = getattr(rlt, name)
  with pytest.raises(settings_lib.UsageError,
                     match=f'RLTuner.{name} cannot change.*pass {name}='):
    setattr(rlt, name, value)
  assert getattr(rlt, name) is before
