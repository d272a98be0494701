"""End-to-end tests of bin/rl_tuner_reproduce.py (subprocesses)."""

import pathlib
import subprocess
import sys

from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib

SCRIPT = pathlib.Path(__file__).resolve().parent / 'rl_tuner_reproduce.py'


def _run(*args):
  return subprocess.run([sys.executable, str(SCRIPT), *args],
                        capture_output=True, text=True, timeout=300,
                        check=False)


def test_reduced_reproduction_runs_end_to_end(tmp_path):
  checkpoint = tmp_path / 'tiny'
  model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                    seed=0).save(str(checkpoint))
  out = tmp_path / 'out'
  run = _run(f'--output_dir={out}', f'--note_rnn_checkpoint_file={checkpoint}',
             '--algorithms=q', '--training_steps=64', '--num_compositions=20',
             '--compare_with_original_code')
  assert run.returncode == 0, run.stderr[-3000:]
  table = (out / 'table1.md').read_text()
  assert table.startswith('Each cell: ours / the original code on this '
                          'machine (paper)')
  # Cells carry three figures for the paper's models: "x / y (z)".
  q_row = [line for line in table.splitlines()
           if line.startswith('| Notes in motif')][0]
  assert q_row.count(' / ') == 2 and q_row.count('(') == 2
  assert (out / 'q' / 'summary.json').is_file()


def test_unknown_algorithm_exits_2_with_one_line(tmp_path):
  run = _run(f'--output_dir={tmp_path}', '--algorithms=sarsa')
  assert run.returncode == 2
  assert run.stderr.strip().splitlines()[-1].startswith(
      "rl_tuner_reproduce: error: unknown algorithm 'sarsa'")


def test_unusable_seeds_exit_2_with_one_line_and_write_nothing(tmp_path):
  out = tmp_path / 'out'
  run = _run(f'--output_dir={out}', '--seeds=0,-1', '--ray')
  assert run.returncode == 2
  assert run.stderr.strip().splitlines()[-1] == (
      'rl_tuner_reproduce: error: --seeds: -1 is negative')
  assert not out.exists()
