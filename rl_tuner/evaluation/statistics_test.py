"""Tests of the composition statistics against the original's metrics.json.

The fast path (`statistics`) is checked against the golden outputs of the
original code and against the one-note-at-a-time oracle
(`rl_tuner.testing.reference_statistics`).
"""

import math

import numpy as np
import pytest

from rl_tuner.evaluation import statistics
from rl_tuner.music import music_theory
from rl_tuner.testing import reference_statistics
from rl_tuner.testing import synthetic_compositions

# The count the original got wrong (defect 3).
IN_KEY_KEY = 'num_in_key_preferred_intervals'
IN_KEY_LINE = '\tAvg. num in key preferred intervals per composition:'


@pytest.fixture
def golden(golden_metrics):
  return golden_metrics


def _nan_list(values):
  return np.array([math.nan if v is None else v for v in values])


def _count_in_key_intervals(compositions):
  """(fifths, thirds) within the C major tonic triad, counted directly.

  An interval from the last pitch (holds and rests skipped) to the next
  pitch: a fifth (7 semitones) from C or G, or a major third (4) from C or
  E.
  """
  c_notes, e_notes, g_notes = {2, 14, 26}, {6, 18, 30}, {9, 21, 33}
  fifths = thirds = 0
  for notes in compositions:
    prev = None
    for note in notes:
      if note >= 2:
        if prev is not None:
          step = abs(note - prev)
          fifths += step == 7 and prev in c_notes | g_notes
          thirds += step == 4 and prev in c_notes | e_notes
        prev = note
  return fifths, thirds


def test_stat_dict_matches_the_original(golden):
  stats = statistics.compute_composition_stats_for_compositions(
      golden['compositions'])
  expected = golden['stat_dict']
  # The original's keys, in its order; the rhythm counts come in addition.
  assert [k for k in stats if k not in statistics.EXTRA_COUNT_KEYS] == list(
      expected)
  assert set(stats) - set(expected) == set(statistics.EXTRA_COUNT_KEYS)
  for key, value in expected.items():
    if key.startswith('autocorrelation'):
      np.testing.assert_allclose(stats[key], _nan_list(value), rtol=0,
                                 atol=1e-12)
      assert int(np.isnan(stats[key]).sum()) == (
          golden['nan_autocorrelation_counts'][key[-1]])
    elif key != IN_KEY_KEY:
      assert stats[key] == value, key
      assert type(stats[key]) is int


def test_in_key_thirds_are_counted(golden):
  """Defect 3: the original counted in-key fifths only."""
  stats = statistics.compute_composition_stats_for_compositions(
      golden['compositions'])
  fifths, thirds = _count_in_key_intervals(golden['compositions'])
  assert golden['stat_dict'][IN_KEY_KEY] == fifths == 93
  assert stats[IN_KEY_KEY] == fifths + thirds
  assert thirds > 0


def test_per_composition_stats_match_the_original(golden):
  stats, per_comp = statistics.compute_composition_stats_for_compositions(
      golden['compositions'], per_composition=True)
  expected = golden['per_composition_stats']
  for key in expected[0]:
    values = [row[key] for row in expected]
    if key.startswith('autocorrelation'):
      np.testing.assert_allclose(per_comp[key], _nan_list(values), rtol=0,
                                 atol=1e-12)
    elif key != IN_KEY_KEY:
      np.testing.assert_array_equal(per_comp[key], values, err_msg=key)
      assert per_comp[key].sum() == stats[key]
  fifths = [_count_in_key_intervals([c])[0] for c in golden['compositions']]
  thirds = [_count_in_key_intervals([c])[1] for c in golden['compositions']]
  np.testing.assert_array_equal([row[IN_KEY_KEY] for row in expected], fifths)
  np.testing.assert_array_equal(per_comp[IN_KEY_KEY],
                                np.add(fifths, thirds))


def test_stat_string_matches_the_original(golden):
  stats = statistics.compute_composition_stats_for_compositions(
      golden['compositions'])
  text = statistics.get_stat_dict_string(stats)
  expected = golden['stat_string']
  # Only the in-key preferred interval average differs (defect 3).
  per_comp = stats[IN_KEY_KEY] / stats['num_compositions']
  assert f'{IN_KEY_LINE}0.465\n' in expected
  assert text == expected.replace(f'{IN_KEY_LINE}0.465\n',
                                  f'{IN_KEY_LINE}{per_comp}\n')
  # With the original's count the text is identical.
  original_counts = dict(stats, **{IN_KEY_KEY: golden['stat_dict'][
      IN_KEY_KEY]})
  assert statistics.get_stat_dict_string(original_counts) == expected
  short = statistics.get_stat_dict_string(stats, print_interval_stats=False)
  assert short == text[:text.index('\tAvg. num octave')]
  assert short.endswith('\n\n')


@pytest.mark.parametrize('kwargs', [
    {},
    {'config': music_theory.MusicTheoryConfig(labels='encoding')},
    {'config': music_theory.MusicTheoryConfig.for_key('A', 'minor')},
    {'key': music_theory.MusicTheoryConfig.for_key('G').key, 'tonic_note': 21},
    {'tonic_note': 21},
])
def test_vectorized_equals_reference_on_random_compositions(kwargs):
  compositions, _ = synthetic_compositions.random_compositions(
      150, length=32, seed=3)
  fast, fast_per = statistics.compute_composition_stats_for_compositions(
      compositions, per_composition=True, chunk_size=64, **kwargs)
  slow, slow_per = reference_statistics.compute_composition_stats_reference(
      compositions, per_composition=True, **kwargs)
  reference_statistics.assert_same_stats(fast, slow)
  for key in fast_per:
    np.testing.assert_array_equal(fast_per[key], slow_per[key])
  # Every statistic is exercised.
  assert all(fast[k] > 0 for k in statistics.COUNT_KEYS), fast


def test_other_lengths_and_key_change_results():
  compositions, _ = synthetic_compositions.random_compositions(40, 20, seed=5)
  reference_statistics.assert_same_stats(
      statistics.compute_composition_stats_for_compositions(compositions),
      reference_statistics.compute_composition_stats_reference(compositions))
  c_major = statistics.compute_composition_stats_for_compositions(compositions)
  g_major = statistics.compute_composition_stats_for_compositions(
      compositions, config=music_theory.MusicTheoryConfig.for_key('G'))
  assert c_major['total_notes'] == 40 * 20
  assert c_major['notes_not_in_key'] != g_major['notes_not_in_key']
  with pytest.raises(ValueError):
    statistics.compute_composition_stats_for_compositions(
        compositions, key=(0, 1), config=music_theory.DEFAULT_CONFIG)


class _FakeTuner:
  """Plays fixed compositions; the generate_compositions contract."""

  def __init__(self, compositions):
    self.compositions = np.asarray(compositions)
    self.calls = []

  def generate_compositions(self, num_compositions, composition_length):
    self.calls.append((num_compositions, composition_length))
    return self.compositions[:num_compositions, :composition_length]


def test_compute_composition_stats_asks_the_model(golden):
  tuner = _FakeTuner(golden['compositions'])
  stats = statistics.compute_composition_stats(tuner, num_compositions=200,
                                               composition_length=32)
  assert tuner.calls == [(200, 32)]
  assert stats['notes_in_motif'] == golden['stat_dict']['notes_in_motif']
  with pytest.raises(ValueError, match='shape'):
    statistics.compute_composition_stats(tuner, num_compositions=300)


def test_rhythm_counts_by_hand():
  # Classes: 0 hold, 1 rest, >= 2 a note that starts on that step.
  compositions = [
      [0, 0, 14, 0, 16, 1, 18, 18],  # 2 silent steps, then 4 onsets
      [14, 16, 18, 19, 21, 23, 25, 26],  # every step starts a note
      [1, 0, 0, 1, 1, 0, 0, 1],  # never a note: all 8 steps silent
  ]
  stats, per_comp = statistics.compute_composition_stats_for_compositions(
      compositions, per_composition=True)
  np.testing.assert_array_equal(per_comp['num_note_onsets'], [4, 8, 0])
  np.testing.assert_array_equal(per_comp['num_leading_silent_steps'],
                                [2, 0, 8])
  assert stats['num_note_onsets'] == 12
  reference_statistics.assert_same_stats(stats,
                     reference_statistics.compute_composition_stats_reference(
                         compositions))


# G4 (class 21), the tonic of G major; C4 is class 14.
_G4 = 21


def _two_on_g_one_on_c():
  """Two melodies start on G4, one on C4: the start statistic tells the
  tonics apart (2 against 1), and G major's F# (class 32) the keys."""
  g_walk = [_G4, 23, 25, 26, 28, 30, 32, 33] * 4
  c_walk = [14, 16, 18, 19, 21, 23, 25, 26] * 4
  g_held = [_G4, 0, 23, 0, 25, 26, 1, 32] * 4
  return np.array([g_walk, g_held, c_walk])


@pytest.mark.parametrize('key', [None,
                                 music_theory.MusicTheoryConfig.for_key('G')
                                 .key])
def test_compute_composition_stats_passes_an_explicit_tonic_note_on(key):
  # With or without key=, an explicit tonic_note= reaches the statistics
  # (Magenta's rl_tuner_eval_metrics.compute_composition_stats takes both).
  compositions = _two_on_g_one_on_c()
  tuner = _FakeTuner(compositions)
  stats = statistics.compute_composition_stats(
      tuner, num_compositions=3, composition_length=32, key=key,
      tonic_note=_G4)
  expected = reference_statistics.compute_composition_stats_reference(
      compositions, key=key, tonic_note=_G4)
  reference_statistics.assert_same_stats(stats, expected)
  assert stats['num_starting_tonic'] == 2
  # The default tonic, C4, gives another answer: the test can tell.
  on_c = statistics.compute_composition_stats(
      tuner, num_compositions=3, composition_length=32, key=key)
  assert on_c['num_starting_tonic'] == 1


def test_an_explicit_key_and_tonic_note_judge_intervals_by_that_tonic():
  # key= and tonic_note= together mean that key with that tonic's triad: the
  # interval statistics, not only the start, follow tonic_note (the oracle
  # shares stats_config, so it cannot tell; G major's own config can).
  compositions, _ = synthetic_compositions.random_compositions(
      150, length=32, seed=3)
  g_major = music_theory.MusicTheoryConfig.for_key('G')
  assert g_major.tonic == _G4
  explicit = statistics.compute_composition_stats_for_compositions(
      compositions, key=g_major.key, tonic_note=_G4)
  reference_statistics.assert_same_stats(explicit,
                     statistics.compute_composition_stats_for_compositions(
                         compositions, config=g_major))
  on_c = statistics.compute_composition_stats_for_compositions(
      compositions, key=g_major.key, tonic_note=14)
  assert on_c[IN_KEY_KEY] != explicit[IN_KEY_KEY]
  config, start_tonic = statistics.stats_config(g_major.key, _G4, None)
  assert (config.key, config.tonic, start_tonic) == (g_major.key, _G4, _G4)
