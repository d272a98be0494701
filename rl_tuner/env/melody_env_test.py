"""The melody environment's rewards equal the one-melody reference.

Every reward mode, several keys and both label conventions, B = 1 and
B = 16 (and all melodies at once), step by step against `rewards` (the
original's computation), on the golden compositions and on random melodies
that exercise every rule; the leap rule's table in every reachable state.
"""

import functools
import gzip
import json

import numpy as np
import pytest

from note_rnn.model import sampling
from rl_tuner.env import melody_env
from rl_tuner.rewards import reward_api
from rl_tuner.testing import reference_rewards as rewards
from rl_tuner.testing import synthetic_compositions
from rl_tuner.testing.composition import Composition

TOL = 1e-9
CONFIGS = {
    'c_major': rewards.DEFAULT_CONFIG,
    'c_major_encoding_labels': rewards.MusicTheoryConfig(labels='encoding'),
    'g_major': rewards.MusicTheoryConfig.for_key('G'),
    'a_minor': rewards.MusicTheoryConfig.for_key('A', 'minor'),
    'd_minor_encoding_labels': rewards.MusicTheoryConfig.for_key(
        'D', 'minor', labels='encoding'),
    'short_melody': rewards.MusicTheoryConfig(num_notes_in_melody=16),
}
BUILT_IN_MODES = [m for m in reward_api.REWARD_MODES
                  if m not in reward_api.CUSTOM_MODES]


@functools.lru_cache(maxsize=1)
def _golden_notes(path):
  with gzip.open(path, 'rt') as f:
    golden = json.load(f)
  return np.array([c['notes'] for c in golden['compositions']])


def _leap_tuple(env, i):
  direction, leapt_from, steps = (int(a[i]) for a in env.leap)
  return (direction, None if leapt_from == melody_env.NO_NOTE else leapt_from,
          steps)


def _assert_env_equals_reference(melodies, mode, config, scaler=0.7,
                                 seed=0):
  """Steps B melodies through the env and each through the reference."""
  melodies = np.asarray(melodies)
  batch, length = melodies.shape
  rng = np.random.default_rng(seed)
  reward_set = reward_api.reward_set(mode, reward_scaler=scaler)
  env = melody_env.MelodyEnv(batch, config, reward_set.bind())
  previous = rng.integers(0, 38, batch)
  env.reset(previous)
  compositions = [Composition() for _ in range(batch)]
  for t in range(length):
    actions = melodies[:, t]
    logits = rng.normal(size=(batch, 38))
    got = env.step(actions, logits)
    for i in range(batch):
      want = rewards.collect_reward(compositions[i], int(previous[i]),
                                    int(actions[i]), logits[i], mode, scaler,
                                    config)
      where = (mode, t, i)
      assert got.total[i] == pytest.approx(want.total, abs=TOL), where
      assert got.note_rnn[i] == pytest.approx(want.note_rnn, abs=TOL), where
      # Same float operations in the same order: exactly equal.
      assert got.music_theory[i] == want.music_theory, where
      if 'leap' in reward_set.term_names:
        assert _leap_tuple(env, i) == compositions[i].leap_state, where
      compositions[i].append(int(actions[i]))
    previous = actions


@pytest.mark.parametrize('config_name', sorted(CONFIGS))
@pytest.mark.parametrize('mode', BUILT_IN_MODES)
def test_every_mode_equals_the_reference_b16(mode, config_name):
  melodies, _ = synthetic_compositions.random_compositions(
      16, length=32, seed=7)
  _assert_env_equals_reference(melodies, mode, CONFIGS[config_name])


@pytest.mark.parametrize('config_name', ['c_major',
                                         'd_minor_encoding_labels'])
@pytest.mark.parametrize('mode', BUILT_IN_MODES)
def test_every_mode_equals_the_reference_b1(mode, config_name):
  melodies, _ = synthetic_compositions.random_compositions(
      6, length=32, seed=11)
  for row in melodies:
    _assert_env_equals_reference(row[None], mode, CONFIGS[config_name])


@pytest.mark.parametrize('config_name', ['c_major', 'a_minor'])
@pytest.mark.parametrize('mode', BUILT_IN_MODES)
def test_golden_compositions_equal_the_reference(golden_dir, mode,
                                                 config_name):
  notes = _golden_notes(str(golden_dir / 'rewards.json.gz'))
  _assert_env_equals_reference(notes[::5], mode, CONFIGS[config_name])
  _assert_env_equals_reference(notes[:1], mode, CONFIGS[config_name])


def test_terms_match_the_golden_file_for_all_300_at_once(golden_dir):
  """Each music-theory term of every golden step, all melodies at once."""
  with gzip.open(golden_dir / 'rewards.json.gz', 'rt') as f:
    golden = json.load(f)
  notes = np.array([c['notes'] for c in golden['compositions']])
  reward_set = reward_api.reward_set('music_theory_only')
  env = melody_env.MelodyEnv(len(notes), rewards.DEFAULT_CONFIG,
                             reward_set.bind())
  for t in range(notes.shape[1]):
    interval = env.interval(notes[:, t])
    parts = env.step(notes[:, t])
    for i, comp in enumerate(golden['compositions']):
      step = comp['steps'][t]
      for k, name in enumerate(reward_set.term_names):
        assert parts.terms[k, i] == pytest.approx(step[name], abs=TOL)
      assert interval[i] == step['interval']
      assert parts.total[i] == pytest.approx(step['music_theory_total'],
                                             abs=TOL)
      assert list(_leap_tuple(env, i)) == step['leap_state_after'], (i, t)


def test_features_follow_melodies_longer_than_the_buffer():
  # 200 steps grows the note buffer past its first size; repeated motifs
  # far apart are still found.
  motif = [14, 16, 18, 19, 21, 0, 1, 18]
  melody = np.array((motif + [2, 30, 5, 33] * 2) * 12 + motif)[None]
  env = melody_env.MelodyEnv(1, rewards.DEFAULT_CONFIG)
  found = []
  for t in range(melody.shape[1]):
    found.append(bool(env.repeated_motif(melody[:, t])[0]))
    env.step(melody[:, t])
  comp = Composition()
  expected = []
  for note in melody[0]:
    expected.append(rewards.detect_repeated_motif(comp, int(note))[0])
    comp.append(int(note))
  assert found == expected
  assert sum(found) >= 12


def test_repeated_motif_needs_its_earlier_occurrence_wholly_before_it():
  # The earlier motif must end before the last seven notes (the original
  # searches composition[:-7]). Melodies of period 7 hold, 7 steps back, an
  # eight-note copy of the motif that shares its first note: no repeat,
  # until the copy 14 steps back is whole (step 21). Period 8 repeats for
  # real from step 15; periods 6 and 9 and one-note runs fill the batch.
  pitches = [14, 16, 18, 19, 21, 23, 25, 26, 28]
  melodies = np.array([
      (pitches[:7] * 5)[:32],
      (pitches[2:9] * 5)[:32],
      (pitches[:8] * 4)[:32],
      (pitches[:6] * 6)[:32],
      (pitches[:9] * 4)[:32],
      [14, 1, 16, 0] * 8,
  ])
  batch, length = melodies.shape
  env = melody_env.MelodyEnv(batch, rewards.DEFAULT_CONFIG)
  found = np.zeros((batch, length), bool)
  for t in range(length):
    found[:, t] = env.repeated_motif(melodies[:, t])
    env.step(melodies[:, t])
  expected = np.zeros((batch, length), bool)
  for i in range(batch):
    comp = Composition()
    for t, note in enumerate(melodies[i]):
      expected[i, t] = rewards.detect_repeated_motif(comp, int(note))[0]
      comp.append(int(note))
  np.testing.assert_array_equal(found, expected)
  # The overlapping window (steps 15-20 of period 7) is no repeat; a full
  # period later (step 21 on) it is.
  assert not expected[:2, :21].any()
  assert expected[:2, 21:].all()
  assert expected[2, 15:].all() and not expected[2, :15].any()


def test_beat_can_differ_from_the_length():
  # The tonic reward reads the beat, not the number of notes.
  reward_set = reward_api.reward_set('key_and_tonic')
  env = melody_env.MelodyEnv(2, rewards.DEFAULT_CONFIG, reward_set.bind())
  env.load([[14, 16], [14, 18]], beat=0)
  parts = env.step(np.array([14, 15]))
  np.testing.assert_array_equal(parts.terms[1], [3.0, 0.0])


def test_load_rebuilds_the_features():
  melodies, _ = synthetic_compositions.random_compositions(4, 20, seed=3)
  stepped = melody_env.MelodyEnv(4, rewards.DEFAULT_CONFIG)
  for t in range(20):
    stepped.step(melodies[:, t])
  loaded = melody_env.MelodyEnv(4, rewards.DEFAULT_CONFIG)
  loaded.load(melodies)
  probe = np.array([14, 0, 1, 21])
  for name in ('interval', 'repeats_excessively', 'motif_unique_notes',
               'repeated_motif'):
    np.testing.assert_array_equal(getattr(stepped, name)(probe),
                                  getattr(loaded, name)(probe))


def test_log_softmax_is_float64_and_normalised():
  logits = np.array([[0.0, 1.0, 2.0] + [0.0] * 35], np.float32)
  log_probs = sampling.log_softmax(logits)
  assert log_probs.dtype == np.float64
  assert np.exp(log_probs).sum() == pytest.approx(1.0, abs=1e-12)
  assert log_probs[0, 2] - log_probs[0, 1] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize('config_name', ['c_major', 'a_minor'])
def test_leap_table_equals_the_reference_in_every_reachable_state(
    config_name):
  """Every pending leap (none, or up or down from each pitch), last pitch
  (or none yet), steps on both sides of the 6-step threshold and action,
  through the environment's table against rewards.detect_leap_up_back."""
  config = CONFIGS[config_name]
  pitches = list(range(2, 38))
  leaps = [(0, None)] + [(d, p) for d in (1, -1) for p in pitches]
  cases = [(direction, leapt_from, last, steps, action)
           for direction, leapt_from in leaps
           for last in [None] + pitches if direction == 0 or last is not None
           for steps in (6, 7) for action in range(38)]
  direction, leapt_from, last, steps, actions = (
      np.array([melody_env.NO_NOTE if v is None else v for v in column])
      for column in zip(*cases))
  env = melody_env.MelodyEnv(len(cases), config)
  # A rest stands for a melody with no pitch yet.
  env.load(np.where(last == melody_env.NO_NOTE, 1, last)[:, None],
           leap=melody_env.LeapState(direction, leapt_from, steps))
  outcome = env.leap_outcome(actions)
  env.commit_leap(actions)
  for i, (d, origin, note, count, action) in enumerate(cases):
    composition = Composition(notes=[1 if note is None else note])
    composition.direction, composition.leapt_from = d, origin
    composition.steps_since_last_leap = count
    want = rewards.detect_leap_up_back(composition, action, config)
    assert (outcome[i], _leap_tuple(env, i)) == (
        want, composition.leap_state), cases[i]
