"""Magenta's entry module `rl_tuner_eval_metrics` answers every name.

The statistics are tested beside their homes (evaluation/statistics_test.py,
reports/table1_test.py, testing/reference_statistics_test.py); here, that
the entry module hands out those very objects, as Magenta code calls them.
"""

import pytest

from rl_tuner import rl_tuner_eval_metrics as metrics
from rl_tuner.evaluation import statistics
from rl_tuner.reports import table1

# Home -> the names the entry module re-exports from it.
HOMES = {
    statistics: ('AUTOCORRELATION_KEYS', 'INTERVAL_STAT_CODES', 'COUNT_KEYS',
                 'EXTRA_COUNT_KEYS', 'PER_COMPOSITION_KEYS',
                 'DEFAULT_CHUNK_SIZE',
                 'compute_composition_stats_for_compositions',
                 'compute_composition_stats', 'get_stat_dict_string'),
    table1: ('TABLE1_ROWS', 'EXTRA_ROWS', 'PAPER_TABLE1',
             'ORIGINAL_CODE_TABLE1', 'PAPER_MODEL_NAMES', 'table1_summary',
             'json_ready', 'table1_to_json', 'table1_markdown'),
}


@pytest.mark.parametrize('home, name', [(home, name)
                                        for home, names in HOMES.items()
                                        for name in names])
def test_each_name_is_its_home_s_object(home, name):
  assert getattr(metrics, name) is getattr(home, name)


def test_a_magenta_style_call_gives_the_table():
  compositions = [[14, 16, 18, 19, 21, 23, 25, 26] * 4,
                  [14, 0, 0, 0, 18, 1, 21, 0] * 4]
  stat_dict = metrics.compute_composition_stats_for_compositions(compositions)
  assert stat_dict['num_compositions'] == 2
  assert stat_dict['total_notes'] == 64
  assert stat_dict['num_starting_tonic'] == 2
  assert metrics.get_stat_dict_string(stat_dict).startswith(
      'Total compositions: 2.0\n')
  summary = metrics.table1_summary(stat_dict)
  assert summary['compositions_starting_with_tonic'] == 1.0
  assert '| Compositions starting with tonic | 100% |' in (
      metrics.table1_markdown({'ours': summary}))
