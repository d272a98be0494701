"""Tests of Table 1 over seeds: mean ± sd against numpy, and the marks."""

import math

import numpy as np
import pytest

from rl_tuner.experiments import reproduction
from rl_tuner.reports import mean_sd
from rl_tuner.reports import reproduction_table
from rl_tuner.reports import table1

MODELS = ('note_rnn', 'q', 'g', 'pure_rl')
ROWS = list(table1.TABLE1_ROWS) + list(table1.EXTRA_ROWS)


def _per_seed(seeds, rng, spread=0.05):
  """Per-seed tables scattered around the paper's values (or 0.5)."""
  return {seed: {model: {
      row: float(table1.PAPER_TABLE1.get(model, {}).get(row, 0.5) +
                 rng.normal(0.0, spread)) for row in ROWS}
                 for model in MODELS} for seed in seeds}


@pytest.mark.parametrize('seeds', [(0, 1), (3, 1, 2)])
def test_mean_and_sample_sd_over_seeds_match_numpy(seeds):
  per_seed = _per_seed(seeds, np.random.default_rng(len(seeds)))
  means = reproduction_table.aggregate(per_seed)
  assert list(means) == list(MODELS)
  for model in MODELS:
    assert list(means[model]) == ROWS
    for row in ROWS:
      values = np.array([per_seed[s][model][row] for s in seeds])
      stat = means[model][row]
      assert stat['n'] == len(seeds)
      assert stat['mean'] == pytest.approx(values.mean(), rel=1e-12)
      assert stat['sd'] == pytest.approx(values.std(ddof=1), rel=1e-12)


def test_an_undefined_seed_value_is_left_out_of_mean_and_sd():
  per_seed = _per_seed((0, 1, 2), np.random.default_rng(0))
  per_seed[1]['q']['leaps_resolved'] = math.nan  # No leap in that seed.
  stat = reproduction_table.aggregate(per_seed)['q']['leaps_resolved']
  values = [per_seed[0]['q']['leaps_resolved'],
            per_seed[2]['q']['leaps_resolved']]
  assert stat['n'] == 2
  assert stat['mean'] == pytest.approx(np.mean(values))
  assert stat['sd'] == pytest.approx(np.std(values, ddof=1))


def test_the_mark_rule_at_its_boundary():
  def stat(mean, sd):
    return {'mean': mean, 'sd': sd, 'n': 3}
  assert not reproduction_table.is_marked(1.0, stat(0.0, 0.5))  # = 2 sd.
  assert reproduction_table.is_marked(1.0, stat(0.0, 0.4999))
  assert reproduction_table.is_marked(-1.0, stat(0.0, 0.4999))
  assert not reproduction_table.is_marked(1.0, stat(0.0, None))  # One seed.
  assert not reproduction_table.is_marked(None, stat(0.0, 0.1))  # No paper.
  assert reproduction_table.is_marked(0.1, stat(0.0, 0.0))
  assert not reproduction_table.is_marked(0.0, stat(0.0, 0.0))


def test_a_cell_is_marked_exactly_when_the_paper_lies_beyond_two_sd():
  seeds = (0, 1, 2)
  per_seed = _per_seed(seeds, np.random.default_rng(7))
  means = reproduction_table.aggregate(per_seed)
  paper_models = reproduction.paper_models(MODELS)
  assert paper_models == {'note_rnn': 'note_rnn', 'q': 'q', 'g': 'g',
                          'pure_rl': None}
  expected = set()
  for model in ('note_rnn', 'q', 'g'):  # RL only has no paper column.
    for row in table1.TABLE1_ROWS:  # The extra rows have no paper value.
      values = np.array([per_seed[s][model][row] for s in seeds])
      paper = table1.PAPER_TABLE1[model][row]
      if abs(paper - values.mean()) > 2 * values.std(ddof=1):
        expected.add((model, row))
  marks = reproduction_table.marked_cells(means, paper_models)
  assert {(m['model'], m['row']) for m in marks} == expected
  # The random spread leaves some cells marked and most not.
  assert 0 < len(expected) < 3 * len(table1.TABLE1_ROWS) // 2
  for mark in marks:
    assert mark['paper'] == table1.PAPER_TABLE1[mark['model']][mark['row']]
    assert mark['mean'] == means[mark['model']][mark['row']]['mean']

  markdown, listed = reproduction_table.markdown(
      means, list(seeds), reproduction.TITLES, paper_models,
      references=[table1.ORIGINAL_CODE_TABLE1])
  assert listed == marks
  lines = markdown.splitlines()
  assert lines[0].startswith('Each cell: ours as mean ± sd over seeds 0, 1, '
                             '2 (sample sd, n - 1) / the original code')
  assert lines[2] == '| metric | Note RNN | Q | G | RL only |'
  for row, (label, kind) in table1.TABLE1_ROWS.items():
    cells = [line for line in lines if line.startswith(f'| {label} |')][0]
    cells = cells.strip('|').split(' | ')[1:]
    for model, cell in zip(MODELS, cells):
      ours = mean_sd.format_mean_sd(means[model][row], kind)
      assert cell.startswith(ours), (cell, ours)
      assert cell.endswith(reproduction_table.MARK) == (
          (model, row) in expected), (model, row, cell)
  footnote = lines[-1]
  assert footnote.startswith('† The paper')
  assert footnote.count('; ') == len(marks) - 1


def test_a_cell_shows_mean_sd_then_original_then_paper():
  per_seed = {0: {'q': {'leaps_resolved': 0.80}},
              1: {'q': {'leaps_resolved': 0.84}}}
  means = reproduction_table.aggregate(per_seed)
  assert means['q']['leaps_resolved']['sd'] == pytest.approx(
      np.std([0.80, 0.84], ddof=1))
  markdown, marks = reproduction_table.markdown(
      means, [0, 1], reproduction.TITLES, {'q': 'q'},
      references=[table1.ORIGINAL_CODE_TABLE1])
  # 91.1% lies 3.2 sd (2.8%) above 82%.
  assert '| Leaps resolved | 82% ± 2.8% / 89% (91.1%) † |' in markdown
  assert [(m['model'], m['row']) for m in marks] == [('q', 'leaps_resolved')]
  assert markdown.splitlines()[-1] == (
      '† The paper\'s value lies more than 2 sd from our mean (|paper - '
      'mean| > 2 sd): Q, leaps resolved (ours 82% ± 2.8%, paper 91.1%).')


def test_history_band_is_mean_and_sample_sd_at_the_common_steps():
  histories = [{'steps': [0, 10, 20], 'music_theory': [1.0, 2.0, 4.0]},
               {'steps': [0, 10, 20], 'music_theory': [3.0, 2.5, 0.0]},
               {'steps': [0, 10], 'music_theory': [2.0, 6.0]}]  # Shorter.
  steps, mean, sd = reproduction.history_band(histories, 'music_theory')
  assert steps == [0, 10]
  values = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, 6.0]])
  np.testing.assert_allclose(mean, values.mean(axis=0))
  np.testing.assert_allclose(sd, values.std(axis=0, ddof=1))
  steps, mean, sd = reproduction.history_band(histories[:1], 'music_theory')
  assert steps == [0, 10, 20] and sd is None
  np.testing.assert_allclose(mean, [1.0, 2.0, 4.0])


@pytest.mark.parametrize('seeds, message', [
    ([], '--seeds: no seed given'),
    (['0', 'x'], "--seeds: 'x' is not an integer"),
    (['1', '-2'], '--seeds: -2 is negative'),
    (['1', '1'], '--seeds: a seed is given twice'),
])
def test_unusable_seeds_are_refused_naming_the_flag(seeds, message):
  with pytest.raises(reproduction.train_run.UsageError) as error:
    reproduction.check_seeds(seeds)
  assert str(error.value) == message
  assert reproduction.check_seeds(['2', ' 0']) == [2, 0]
