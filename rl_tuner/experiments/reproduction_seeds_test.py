"""Tests of the reproduction over several seeds, at a tiny size.

In a file of their own: test files run on parallel workers, and
reproduction_test.py already holds a long end-to-end run.
"""

import json
import os
import pathlib

import numpy as np
import pytest

from note_rnn import audio
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib
from rl_tuner.experiments import reproduction
from rl_tuner.experiments import sweep
from rl_tuner.experiments import sweep_ray
from rl_tuner.experiments import sweep_results
from rl_tuner.experiments import train_run
from rl_tuner.reports import report_page
from rl_tuner.reports import reproduction_table
from rl_tuner.reports import table1

CONFIGS = pathlib.Path(__file__).resolve().parent.parent.parent / 'configs'


def _tiny_checkpoint(tmp_path):
  checkpoint = tmp_path / 'tiny_note_rnn'
  model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                    seed=3).save(str(checkpoint))
  return checkpoint


def test_several_seeds_give_mean_sd_marks_and_bands(tmp_path):
  out = tmp_path / 'paper'
  overrides = {'note_rnn_checkpoint_file': str(_tiny_checkpoint(tmp_path)),
               'training_steps': 24, 'exploration_steps': 12,
               'output_every_nth': 12, 'max_experience': 64,
               'minibatch_size': 8, 'num_eval_compositions': 8}
  record = reproduction.reproduce(
      str(out), str(CONFIGS), ('q',), overrides=overrides,
      num_compositions=20, seeds=[0, 1], compare_with_original_code=True,
      audio_options=audio.AudioOptions(enabled=False))
  # Each (model, seed) trained once, into its own folder, with its seed.
  assert set(record['runs']) == {'q/seed_0', 'q/seed_1'}
  assert all(run['trained_now'] for run in record['runs'].values())
  for seed in (0, 1):
    summary = train_run.load_summary(str(out / 'q' / f'seed_{seed}'))
    assert summary['settings']['seed'] == seed
  assert not (out / 'q' / 'summary.json').exists()
  assert record['seeds'] == [0, 1] and 'seed' not in record

  table = json.loads((out / 'table1.json').read_text())
  assert table['seeds'] == [0, 1]
  per_seed = table['ours_per_seed']
  for seed in ('0', '1'):  # The tables each seed's evaluation gave.
    for model in ('note_rnn', 'q'):
      assert per_seed[seed][model] == json.loads(table1.table1_to_json(
          record['per_seed'][seed][model]['table1']))
  # The untuned Note RNN composes with each seed's generator.
  assert per_seed['0']['note_rnn'] != per_seed['1']['note_rnn']
  expected_marks = set()
  lines = (out / 'table1.md').read_text().splitlines()
  for model in ('note_rnn', 'q'):
    for row, (label, kind) in table1.TABLE1_ROWS.items():
      values = [per_seed[s][model][row] for s in ('0', '1')]
      stat = table['ours'][model][row]
      if None in values:  # Undefined in a seed (no leap, say).
        continue
      assert stat['mean'] == pytest.approx(np.mean(values), rel=1e-9)
      assert stat['sd'] == pytest.approx(np.std(values, ddof=1), rel=1e-9)
      assert record['models'][model]['table1_mean_sd'][row] == stat
      paper = table1.PAPER_TABLE1[model][row]
      if abs(paper - stat['mean']) > 2 * stat['sd']:
        expected_marks.add((model, row))
      line = [x for x in lines if x.startswith(f'| {label} |')][0]
      assert sweep_results.format_mean_sd(stat, kind) + ' / ' in line
  assert {(m['model'], m['row']) for m in table['marked']} == expected_marks
  assert record['marked'] == table['marked']
  assert lines[0].startswith('Each cell: ours as mean ± sd over seeds 0, 1')
  assert lines[-1].startswith('† The paper') == bool(expected_marks)

  # Figure 2 from both seeds' histories; samples of the first seed.
  for name in ('figure2a_log_p.png', 'figure2b_music_theory.png',
               'samples_piano_roll.png'):
    assert (out / name).is_file(), name
  for seed in ('0', '1'):
    assert len(record['per_seed'][seed]['q']['history']['steps']) == 3
  assert (record['models']['q']['samples'] ==
          record['per_seed']['0']['q']['samples'])
  # The page shows the mean ± sd cells, the marks and the seeds.
  html, context = report_page.build(str(out))
  assert 'melodies per seed (seeds 0, 1;' in html
  cells = [cell['value'] for row in context['table']['rows']
           for cell in row['cells']]
  assert all(' ± ' in cell or cell == 'n/a' for cell in cells)
  assert sum(cell.endswith(reproduction_table.MARK) for cell in cells) == (
      len(expected_marks))
  assert 'id="table1-marks"' in html

  # A re-run finds every (model, seed) complete and trains nothing.
  again = reproduction.train_all(('q',), str(out), str(CONFIGS), overrides,
                                 seeds=[0, 1])
  assert set(again) == {'q/seed_0', 'q/seed_1'}
  assert not any(run['trained_now'] for run in again.values())


def test_ray_trains_every_model_and_seed_where_the_reproduction_looks(
    tmp_path, monkeypatch):
  planned = []

  def run_trials(trials, output_dir, kept=(), **unused_kwargs):
    del output_dir, kept
    planned.extend(trials)
    return {t.name: {'state': sweep.DONE, 'error': None} for t in trials}
  monkeypatch.setattr(sweep_ray, 'run_trials', run_trials)
  # A relative --output_dir stays relative in every trial's settings, so
  # the runs' summaries and reproduction.json name no machine path.
  monkeypatch.chdir(tmp_path)
  names = sweep_ray.train_reproduction_runs(
      ('q', 'g'), 'paper', str(CONFIGS), {'training_steps': 10},
      seeds=[0, 2])
  assert names == ['q_seed_0', 'g_seed_0', 'q_seed_2', 'g_seed_2']
  for trial in planned:
    settings = trial.settings
    assert settings.output_dir == os.path.join(
        'paper', settings.algorithm, f'seed_{settings.seed}')
    assert settings.output_dir == reproduction.run_dir(
        'paper', settings.algorithm, settings.seed, [0, 2])
    assert trial.name == f'{settings.algorithm}_seed_{settings.seed}'
  # One seed: the single-seed folders and names.
  planned.clear()
  assert sweep_ray.train_reproduction_runs(
      ('q',), 'paper', str(CONFIGS), {'training_steps': 10, 'seed': 4}) == [
          'q']
  assert planned[0].settings.output_dir == os.path.join('paper', 'q')
  assert planned[0].settings.seed == 4
