"""The batched rewards equal the scalar ones, step by step."""

import functools
import gzip
import json

import numpy as np
import pytest

from rl_tuner import rewards
from rl_tuner import rewards_batch
from rl_tuner import synthetic_compositions
from rl_tuner.composition import Composition

TOL = 1e-9
CONFIGS = {
    'c_major': rewards.DEFAULT_CONFIG,
    'encoding_labels': rewards.MusicTheoryConfig(labels='encoding'),
    'g_major': rewards.MusicTheoryConfig.for_key('G'),
    'a_minor_encoding': rewards.MusicTheoryConfig.for_key(
        'A', 'minor', labels='encoding'),
    'short_melody': rewards.MusicTheoryConfig(num_notes_in_melody=16),
}


@functools.lru_cache(maxsize=1)
def _golden_steps(path):
  with gzip.open(path, 'rt') as f:
    golden = json.load(f)
  return [(c['notes'], c['steps']) for c in golden['compositions']]


def _scalar_pass(notes, config):
  """Per step: terms, interval and leap state after, from the scalar code."""
  comp = Composition()
  out = []
  for action in notes:
    interval = rewards.detect_sequential_interval(comp, action, config)[0]
    repeating = rewards.detect_repeating_notes(comp, action, config)
    terms = rewards.music_theory_terms(comp, action, config)
    out.append((terms, interval, repeating, comp.leap_state))
    comp.append(action)
  return out


def _assert_batch_equals_scalar(compositions, config):
  compositions = np.asarray(compositions)
  batch, length = compositions.shape
  expected = [_scalar_pass(list(map(int, row)), config)
              for row in compositions]
  state = rewards_batch.LeapState.initial(batch)
  for t in range(length):
    history, action = compositions[:, :t], compositions[:, t]
    total, total_state = rewards_batch.music_theory_reward_batch(
        history, action, state, config)
    terms, new_state = rewards_batch.music_theory_terms(history, action,
                                                        state, config)
    interval, _ = rewards_batch.sequential_interval(history, action, config)
    repeating = rewards_batch.detect_repeating_notes(history, action, config)
    for field_a, field_b in zip(total_state, new_state):
      np.testing.assert_array_equal(field_a, field_b)
    for i in range(batch):
      want_terms, want_interval, want_repeating, want_state = expected[i][t]
      for name in rewards.MUSIC_THEORY_TERMS:
        assert terms[name][i] == pytest.approx(want_terms[name], abs=TOL), (
            i, t, name)
      # Same operations in the same order: the totals are bit-identical.
      assert total[i] == sum(want_terms.values()), (i, t)
      assert interval[i] == want_interval, (i, t)
      assert repeating[i] == want_repeating, (i, t)
    assert new_state.to_tuples() == [expected[i][t][3] for i in range(batch)]
    state = new_state


def test_batch_equals_golden_every_step(golden_dir):
  """All 300 golden compositions at once: terms, totals and leap states."""
  steps = _golden_steps(str(golden_dir / 'rewards.json.gz'))
  notes = np.array([n for n, _ in steps])
  state = rewards_batch.LeapState.initial(len(notes))
  for t in range(notes.shape[1]):
    total, _ = rewards_batch.music_theory_reward_batch(notes[:, :t],
                                                       notes[:, t], state)
    terms, state = rewards_batch.music_theory_terms(notes[:, :t], notes[:, t],
                                                    state)
    interval, _ = rewards_batch.sequential_interval(notes[:, :t], notes[:, t])
    leap_states = state.to_tuples()
    for i, (_, golden_steps) in enumerate(steps):
      step = golden_steps[t]
      for name in rewards.MUSIC_THEORY_TERMS:
        assert terms[name][i] == pytest.approx(step[name], abs=TOL), (i, t)
      assert interval[i] == step['interval']
      assert total[i] == pytest.approx(step['music_theory_total'], abs=TOL)
      assert list(leap_states[i]) == step['leap_state_after'], (i, t)


def test_batch_equals_scalar_on_golden_compositions(golden_dir):
  steps = _golden_steps(str(golden_dir / 'rewards.json.gz'))
  _assert_batch_equals_scalar([n for n, _ in steps[::3]],
                              rewards.DEFAULT_CONFIG)


@pytest.mark.parametrize('config_name', sorted(CONFIGS))
def test_batch_equals_scalar_on_random_compositions(config_name):
  compositions, _ = synthetic_compositions.random_compositions(
      60, length=32, seed=7)
  _assert_batch_equals_scalar(compositions, CONFIGS[config_name])


def test_beat_can_differ_from_the_length():
  # The tonic reward reads the beat, not the number of notes.
  notes = np.array([[14, 16], [14, 18]])
  state = rewards_batch.LeapState.initial(2)
  terms, _ = rewards_batch.music_theory_terms(notes, np.array([14, 15]),
                                              state, beat=0)
  np.testing.assert_array_equal(terms['tonic'], [3.0, 0.0])


def test_leap_state_round_trip():
  comps = [Composition(direction=1, leapt_from=14, steps_since_last_leap=3),
           Composition()]
  state = rewards_batch.LeapState.from_compositions(comps)
  np.testing.assert_array_equal(state.leapt_from, [14, rewards_batch.NO_NOTE])
  assert state.to_tuples() == [(1, 14, 3), (0, None, 0)]


def test_shape_errors():
  with pytest.raises(ValueError):
    rewards_batch.music_theory_reward_batch(
        np.zeros((3, 2), int), np.zeros(2, int),
        rewards_batch.LeapState.initial(3))
