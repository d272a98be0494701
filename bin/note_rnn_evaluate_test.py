"""Tests of bin/note_rnn_evaluate.py."""

import json
import pathlib
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import output_checks_testing
import pytest
import script_testing

from note_rnn.data import sequence_example_io
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib

SCRIPT = pathlib.Path(__file__).resolve().parent / 'note_rnn_evaluate.py'


def test_compares_two_models_on_one_file(tmp_path):
  melodies = [[14, 0, 16, 0, 18, 1, 19, 0] * 6, [21, 0, 19, 18, 16, 1] * 8]
  data = tmp_path / 'eval.tfrecord'
  sequence_example_io.write_sequence_examples(str(data), melodies)
  paths = {}
  for seed in (1, 2):
    paths[seed] = tmp_path / f'm{seed}'
    model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                      seed=seed).save(str(paths[seed]))
  out = tmp_path / 'figures.json'
  run = subprocess.run(
      [sys.executable, str(SCRIPT), f'--sequence_example_file={data}',
       f'--checkpoints=a={paths[1]},{paths[2]}', f'--output_json={out}'],
      capture_output=True, text=True, timeout=300, check=False)
  assert run.returncode == 0, run.stderr[-2000:]
  # A bare path is named after its last component.
  assert '| metric | a | m2 |' in run.stdout
  figures = json.loads(out.read_text())
  # A melody of 48 classes gives 47 predictions; training counts those from
  # step 32 on.
  assert figures['a']['num_steps'] == (47 - 32) + (47 - 32)
  assert figures['a']['without_skip']['num_steps'] == 47 + 47
  assert figures['a']['loss'] != figures['m2']['loss']


def test_per_collection_table_over_globs_and_named_files(tmp_path):
  folder = tmp_path / 'corpus'
  folder.mkdir()
  melodies = {
      'eval_a': [[14, 0, 16, 0, 18, 1, 19, 0] * 6],
      'eval_b': [[21, 0, 19, 18, 16, 1] * 8, [20, 0, 1] * 14],
      'heldout_c': [[30, 1, 28, 0] * 10],
  }
  for name, items in melodies.items():
    sequence_example_io.write_sequence_examples(
        str(folder / f'{name}.tfrecord'), items)
  models = {}
  for seed in (1, 2):
    models[seed] = tmp_path / f'm{seed}'
    model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                      seed=seed).save(str(models[seed]))
  out = tmp_path / 'figures.json'
  run = subprocess.run(
      [sys.executable, str(SCRIPT),
       f'--sequence_example_file={folder}/eval_*.tfrecord',
       f'--collections=other={folder / "heldout_c.tfrecord"}',
       f'--checkpoints=a={models[1]},b={models[2]}', f'--output_json={out}'],
      capture_output=True, text=True, timeout=300, check=False)
  assert run.returncode == 0, run.stderr[-2000:]
  assert ('| collection | melodies | steps | a nats/step | b nats/step | '
          'a accuracy | b accuracy |') in run.stdout
  figures = json.loads(out.read_text())
  assert list(figures['collections']) == ['eval_a', 'eval_b', 'other']
  assert figures['collections']['other']['file'] == str(
      folder / 'heldout_c.tfrecord')
  assert set(figures['checkpoints']) == {'a', 'b'}
  eval_b = figures['collections']['eval_b']['results']
  # 47 and 41 predictions; training counts those from step 32 on.
  assert eval_b['a']['num_melodies'] == 2
  assert eval_b['a']['num_steps'] == (47 - 32) + (41 - 32)
  assert eval_b['a']['loss'] != eval_b['b']['loss']
  row = next(line for line in run.stdout.splitlines()
             if line.startswith('| eval_b |'))
  cells = [c.strip() for c in row.strip('|').split('|')]
  assert cells[1:3] == ['2', str((47 - 32) + (41 - 32))]
  assert cells[3] == f'{eval_b["a"]["loss"]:.4f}'
  assert cells[6] == f'{eval_b["b"]["accuracy"]:.4f}'
  assert figures['table'] in run.stdout


def test_bad_pair_exits_2(tmp_path):
  run = subprocess.run(
      [sys.executable, str(SCRIPT), f'--sequence_example_file={tmp_path}/x',
       '--checkpoints==nopath'], capture_output=True, text=True, timeout=300,
      check=False)
  assert run.returncode == 2
  assert 'takes name=path or a path' in run.stderr


# --- Unusable --output_json locations: one line, exit 2, nothing written.


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, 'note_rnn_evaluate') as module:
    yield module


@pytest.mark.parametrize('case', ['directory', 'below_a_file'])
def test_unusable_output_json_fails_before_loading(tool, tmp_path, capsys,
                                                   monkeypatch, case):
  (tmp_path / 'file').write_text('data')
  (tmp_path / 'folder').mkdir()
  output_json = (tmp_path / 'folder' if case == 'directory'
                 else tmp_path / 'file' / 'figures.json')
  before = output_checks_testing.snapshot(tmp_path)

  def must_not_load(*unused_args, **unused_kwargs):
    raise AssertionError('a model was loaded before --output_json was '
                         'checked')
  monkeypatch.setattr(tool.evaluate, 'compare', must_not_load)
  with flagsaver.flagsaver():
    rc = tool.main(flags.FLAGS([
        'note_rnn_evaluate.py', f'--sequence_example_file={tmp_path / "x"}',
        f'--output_json={output_json}']))
  captured = capsys.readouterr()
  line = output_checks_testing.assert_one_line_error(
      rc, captured.err, 'note_rnn_evaluate', f'--output_json={output_json}')
  assert ('is a directory' if case == 'directory' else 'is a file') in line
  assert not captured.out
  assert output_checks_testing.snapshot(tmp_path) == before


def test_script_read_only_output_json_folder_fails_before_loading(tmp_path):
  with output_checks_testing.read_only_dir() as (parent, read_only):
    before = output_checks_testing.snapshot(read_only)
    output_json = read_only / 'figures.json'
    rc, out, err = output_checks_testing.run_as_nobody(
        SCRIPT, [f'--sequence_example_file={tmp_path / "x.tfrecord"}',
                 f'--output_json={output_json}'], cwd=parent, timeout=300)
    line = output_checks_testing.assert_one_line_error(
        rc, err, 'note_rnn_evaluate', f'--output_json={output_json}')
    assert 'Permission denied' in line
    assert not out
    assert output_checks_testing.snapshot(read_only) == before
