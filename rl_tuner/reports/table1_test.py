"""Tests of the paper's Table 1 made of a stat_dict, by hand and golden."""

import json
import math

import pytest

from rl_tuner.evaluation import statistics
from rl_tuner.reports import table1


@pytest.fixture
def golden(golden_dir):
  with open(golden_dir / 'metrics.json') as f:
    return json.load(f)


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
  summary = table1.table1_summary(stat_dict)
  assert list(summary) == list(table1.TABLE1_ROWS)
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
  assert json.loads(table1.table1_to_json(summary))[
      'mean_autocorrelation_lag3'] is None


def test_rhythm_rows_by_hand():
  # Classes: 0 hold, 1 rest, >= 2 a note that starts on that step.
  compositions = [
      [0, 0, 14, 0, 16, 1, 18, 18],  # 2 silent steps, then 4 onsets
      [14, 16, 18, 19, 21, 23, 25, 26],  # every step starts a note
      [1, 0, 0, 1, 1, 0, 0, 1],  # never a note: all 8 steps silent
  ]
  stats = statistics.compute_composition_stats_for_compositions(compositions)
  summary = table1.table1_summary(stats)
  assert summary['note_onsets'] == 12 / 24
  assert summary['leading_silent_steps'] == 10 / 3
  text = table1.table1_markdown({'Q': summary})
  assert '| Steps that start a note (not in the paper) | 50% |' in text
  assert '| Silent steps before the first note (not in the paper) | 3.33 |' in (
      text)


def test_table1_of_golden_matches_the_report(golden):
  summary = table1.table1_summary(golden['stat_dict'])
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
  assert set(table1.PAPER_TABLE1) == {'note_rnn', 'q', 'psi', 'g'}
  assert table1.PAPER_TABLE1['note_rnn']['notes_excessively_repeated'] == (
      0.633)
  assert table1.PAPER_TABLE1['g']['mean_autocorrelation_lag1'] == 0.55
  assert table1.PAPER_TABLE1['q']['notes_in_repeated_motif'] == 0.0011
  assert table1.PAPER_TABLE1['psi']['leaps_resolved'] == 0.900
  for column in table1.PAPER_TABLE1.values():
    assert list(column) == list(table1.TABLE1_ROWS)


def test_table1_markdown():
  ours = dict.fromkeys(table1.TABLE1_ROWS, 0.5)
  ours['mean_autocorrelation_lag1'] = -0.158
  ours['notes_in_repeated_motif'] = math.nan
  text = table1.table1_markdown({'Note RNN': ours, 'Mine': ours})
  lines = text.splitlines()
  assert lines[0] == '| metric | Note RNN | Mine |'
  assert lines[2] == '| Notes excessively repeated | 50% (63.3%) | 50% |'
  assert lines[3] == '| Mean autocorrelation lag 1 | -0.158 (-0.16) | -0.158 |'
  assert lines[-1] == '| Notes in repeated motif | n/a (0.007%) | n/a |'
  assert len(lines) == 2 + len(table1.TABLE1_ROWS)
  no_paper = table1.table1_markdown({'Q': ours}, include_paper=False)
  assert '(' not in no_paper
  mapped = table1.table1_markdown({'tuned': ours},
                                   paper_columns={'tuned': 'g'})
  assert '50% (28.7%)' in mapped
