"""Tests of the composition statistics against the original's metrics.json."""

import json
import math

import numpy as np
import pytest

from rl_tuner.testing import reference_rewards as rewards
from rl_tuner import rl_tuner_eval_metrics as metrics
from rl_tuner.testing import synthetic_compositions

# The count the original got wrong (defect 3).
IN_KEY_KEY = 'num_in_key_preferred_intervals'
IN_KEY_LINE = '\tAvg. num in key preferred intervals per composition:'


@pytest.fixture
def golden(golden_dir):
  with open(golden_dir / 'metrics.json') as f:
    return json.load(f)


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
  stats = metrics.compute_composition_stats_for_compositions(
      golden['compositions'])
  expected = golden['stat_dict']
  # The original's keys, in its order; the rhythm counts come in addition.
  assert [k for k in stats if k not in metrics.EXTRA_COUNT_KEYS] == list(
      expected)
  assert set(stats) - set(expected) == set(metrics.EXTRA_COUNT_KEYS)
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
  stats = metrics.compute_composition_stats_for_compositions(
      golden['compositions'])
  fifths, thirds = _count_in_key_intervals(golden['compositions'])
  assert golden['stat_dict'][IN_KEY_KEY] == fifths == 93
  assert stats[IN_KEY_KEY] == fifths + thirds
  assert thirds > 0


def test_per_composition_stats_match_the_original(golden):
  stats, per_comp = metrics.compute_composition_stats_for_compositions(
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
  stats = metrics.compute_composition_stats_for_compositions(
      golden['compositions'])
  text = metrics.get_stat_dict_string(stats)
  expected = golden['stat_string']
  # Only the in-key preferred interval average differs (defect 3).
  per_comp = stats[IN_KEY_KEY] / stats['num_compositions']
  assert f'{IN_KEY_LINE}0.465\n' in expected
  assert text == expected.replace(f'{IN_KEY_LINE}0.465\n',
                                  f'{IN_KEY_LINE}{per_comp}\n')
  # With the original's count the text is identical.
  original_counts = dict(stats, **{IN_KEY_KEY: golden['stat_dict'][
      IN_KEY_KEY]})
  assert metrics.get_stat_dict_string(original_counts) == expected
  short = metrics.get_stat_dict_string(stats, print_interval_stats=False)
  assert short == text[:text.index('\tAvg. num octave')]
  assert short.endswith('\n\n')


def test_reference_path_matches_the_original(golden):
  stats = metrics.compute_composition_stats_reference(golden['compositions'])
  fast = metrics.compute_composition_stats_for_compositions(
      golden['compositions'])
  _assert_same_stats(stats, fast)
  assert stats[IN_KEY_KEY] == 93 + _count_in_key_intervals(
      golden['compositions'])[1]


def _assert_same_stats(a, b):
  assert list(a) == list(b)
  for key in a:
    if key.startswith('autocorrelation'):
      np.testing.assert_array_equal(a[key], b[key])  # NaN == NaN here
    else:
      assert a[key] == b[key], key


@pytest.mark.parametrize('kwargs', [
    {},
    {'config': rewards.MusicTheoryConfig(labels='encoding')},
    {'config': rewards.MusicTheoryConfig.for_key('A', 'minor')},
    {'key': rewards.MusicTheoryConfig.for_key('G').key, 'tonic_note': 21},
    {'tonic_note': 21},
])
def test_vectorized_equals_reference_on_random_compositions(kwargs):
  compositions, _ = synthetic_compositions.random_compositions(
      150, length=32, seed=3)
  fast, fast_per = metrics.compute_composition_stats_for_compositions(
      compositions, per_composition=True, chunk_size=64, **kwargs)
  slow, slow_per = metrics.compute_composition_stats_reference(
      compositions, per_composition=True, **kwargs)
  _assert_same_stats(fast, slow)
  for key in fast_per:
    np.testing.assert_array_equal(fast_per[key], slow_per[key])
  # Every statistic is exercised.
  assert all(fast[k] > 0 for k in metrics.COUNT_KEYS), fast


def test_other_lengths_and_key_change_results():
  compositions, _ = synthetic_compositions.random_compositions(40, 20, seed=5)
  _assert_same_stats(
      metrics.compute_composition_stats_for_compositions(compositions),
      metrics.compute_composition_stats_reference(compositions))
  c_major = metrics.compute_composition_stats_for_compositions(compositions)
  g_major = metrics.compute_composition_stats_for_compositions(
      compositions, config=rewards.MusicTheoryConfig.for_key('G'))
  assert c_major['total_notes'] == 40 * 20
  assert c_major['notes_not_in_key'] != g_major['notes_not_in_key']
  with pytest.raises(ValueError):
    metrics.compute_composition_stats_for_compositions(
        compositions, key=(0, 1), config=rewards.DEFAULT_CONFIG)


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
  stats = metrics.compute_composition_stats(tuner, num_compositions=200,
                                            composition_length=32)
  assert tuner.calls == [(200, 32)]
  assert stats['notes_in_motif'] == golden['stat_dict']['notes_in_motif']
  with pytest.raises(ValueError, match='shape'):
    metrics.compute_composition_stats(tuner, num_compositions=300)


def test_table1_summary_by_hand():
  stat_dict = {
      'autocorrelation1': [0.5, math.nan, -0.1],
      'autocorrelation2': [0.2, math.nan, 0.0],
      'autocorrelation3': [math.nan, math.nan, math.nan],
      'num_repeated_notes': 8, 'notes_not_in_key': 4, 'notes_in_motif': 16,
      'notes_in_repeated_motif': 2, 'num_starting_tonic': 1,
      'num_resolved_leaps': 3, 'num_leap_twice': 1, 'num_high_unique': 2,
      'num_low_unique': 0, 'num_compositions': 4, 'total_notes': 128,
  }
  summary = metrics.table1_summary(stat_dict)
  assert list(summary) == list(metrics.TABLE1_ROWS)
  assert summary['notes_excessively_repeated'] == 8 / 128
  assert summary['mean_autocorrelation_lag1'] == pytest.approx(0.2)  # NaN out
  assert summary['mean_autocorrelation_lag2'] == pytest.approx(0.1)
  assert math.isnan(summary['mean_autocorrelation_lag3'])
  assert summary['notes_not_in_key'] == 4 / 128
  assert summary['compositions_starting_with_tonic'] == 0.25
  assert summary['leaps_resolved'] == 0.75
  assert summary['compositions_with_unique_max_note'] == 0.5
  assert summary['compositions_with_unique_min_note'] == 0.0
  assert summary['notes_in_motif'] == 0.125
  assert summary['notes_in_repeated_motif'] == 2 / 128
  assert json.loads(metrics.table1_to_json(summary))[
      'mean_autocorrelation_lag3'] is None


def test_rhythm_counts_by_hand():
  # Classes: 0 hold, 1 rest, >= 2 a note that starts on that step.
  compositions = [
      [0, 0, 14, 0, 16, 1, 18, 18],  # 2 silent steps, then 4 onsets
      [14, 16, 18, 19, 21, 23, 25, 26],  # every step starts a note
      [1, 0, 0, 1, 1, 0, 0, 1],  # never a note: all 8 steps silent
  ]
  stats, per_comp = metrics.compute_composition_stats_for_compositions(
      compositions, per_composition=True)
  np.testing.assert_array_equal(per_comp['num_note_onsets'], [4, 8, 0])
  np.testing.assert_array_equal(per_comp['num_leading_silent_steps'],
                                [2, 0, 8])
  assert stats['num_note_onsets'] == 12
  summary = metrics.table1_summary(stats)
  assert summary['note_onsets'] == 12 / 24
  assert summary['leading_silent_steps'] == 10 / 3
  _assert_same_stats(stats,
                     metrics.compute_composition_stats_reference(compositions))
  text = metrics.table1_markdown({'Q': summary})
  assert '| Steps that start a note (not in the paper) | 50% |' in text
  assert '| Silent steps before the first note (not in the paper) | 3.33 |' in (
      text)


def test_table1_of_golden_matches_the_report(golden):
  summary = metrics.table1_summary(golden['stat_dict'])
  text = golden['stat_string']
  for row, line in [
      ('compositions_starting_with_tonic',
       'Percent compositions starting with tonic:'),
      ('leaps_resolved', 'Percent of leaps resolved:'),
      ('notes_in_motif', 'Percent notes in motif:'),
      ('notes_excessively_repeated', 'Percent notes excessively repeated:'),
      ('mean_autocorrelation_lag2', 'Average autocorrelation of lag2:')]:
    start = text.index(line) + len(line)
    assert summary[row] == float(text[start:text.index('\n', start)])


def test_paper_table1():
  assert set(metrics.PAPER_TABLE1) == {'note_rnn', 'q', 'psi', 'g'}
  assert metrics.PAPER_TABLE1['note_rnn']['notes_excessively_repeated'] == (
      0.633)
  assert metrics.PAPER_TABLE1['g']['mean_autocorrelation_lag1'] == 0.55
  assert metrics.PAPER_TABLE1['q']['notes_in_repeated_motif'] == 0.0011
  assert metrics.PAPER_TABLE1['psi']['leaps_resolved'] == 0.900
  for column in metrics.PAPER_TABLE1.values():
    assert list(column) == list(metrics.TABLE1_ROWS)


def test_table1_markdown():
  ours = dict.fromkeys(metrics.TABLE1_ROWS, 0.5)
  ours['mean_autocorrelation_lag1'] = -0.158
  ours['notes_in_repeated_motif'] = math.nan
  text = metrics.table1_markdown({'Note RNN': ours, 'Mine': ours})
  lines = text.splitlines()
  assert lines[0] == '| metric | Note RNN | Mine |'
  assert lines[2] == '| Notes excessively repeated | 50% (63.3%) | 50% |'
  assert lines[3] == '| Mean autocorrelation lag 1 | -0.158 (-0.16) | -0.158 |'
  assert lines[-1] == '| Notes in repeated motif | n/a (0.007%) | n/a |'
  assert len(lines) == 2 + len(metrics.TABLE1_ROWS)
  no_paper = metrics.table1_markdown({'Q': ours}, include_paper=False)
  assert '(' not in no_paper
  mapped = metrics.table1_markdown({'tuned': ours},
                                   paper_columns={'tuned': 'g'})
  assert '50% (28.7%)' in mapped
