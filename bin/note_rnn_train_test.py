"""Tests of bin/note_rnn_train.py: flag checks and one end-to-end run."""

import json
import os
import pathlib
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import numpy as np
import pytest

import script_testing
from note_rnn import model as model_lib
from note_rnn import sequence_example_io as sio
from note_rnn import training

SCRIPT = pathlib.Path(__file__).resolve().parent / 'note_rnn_train.py'
REPO_ROOT = SCRIPT.parent.parent
# Seconds a subprocess run may take before the test fails.
SUBPROCESS_TIMEOUT_S = 120
TINY = ('rnn_layer_sizes=[8],batch_size=4,skip_first_n_losses=2,'
        'max_sequence_length=32')

FLAGS = flags.FLAGS


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, 'note_rnn_train') as module:
    yield module


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  folder = tmp_path_factory.mktemp('data')
  rng = np.random.default_rng(0)
  melodies = [rng.integers(0, 38, 40).tolist() for _ in range(12)]
  train_path, eval_path = folder / 'train.tfrecord', folder / 'eval.tfrecord'
  sio.write_sequence_examples(str(train_path), melodies[:9])
  sio.write_sequence_examples(str(eval_path), melodies[9:])
  return train_path, eval_path


def _run_main(tool, argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(FLAGS(['note_rnn_train.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


def test_main_rejects_bad_flags_with_one_line(tool, data, tmp_path,
                                              capsys):
  train = f'--sequence_example_file={data[0]}'
  run = f'--run_dir={tmp_path / "run"}'
  steps = '--num_training_steps=5'
  cases = [
      ([run, steps], '--sequence_example_file is required'),
      ([f'--sequence_example_file={tmp_path / "nope"}', run, steps],
       'is not a file'),
      ([train, run, steps, f'--eval_sequence_example_file={tmp_path}/x'],
       '--eval_sequence_example_file'),
      ([train, steps], '--run_dir is required'),
      ([train, run], '--num_training_steps'),
      ([train, run, steps, '--hparams=learning_rat=0.1'],
       'unknown hparam \'learning_rat\'; valid names: rnn_layer_sizes'),
      ([train, run, steps, '--hparams=batch_size=0'], 'batch_size'),
      ([train, run, steps, '--eval_every_n=0'], '--eval_every_n'),
      ([train, run, steps, f'--init_checkpoint={tmp_path / "none"}'],
       '--init_checkpoint'),
  ]
  for argv, message in cases:
    rc, _, err = _run_main(tool, argv, capsys)
    assert rc == tool.EXIT_USAGE, argv
    assert message in err, (argv, err)
    assert len(err.strip().splitlines()) == 1
    assert err.startswith('note_rnn_train: error: ')
  assert not (tmp_path / 'run').exists()


def test_main_trains_and_refuses_a_changed_resume(tool, data, tmp_path,
                                                  capsys):
  argv = [f'--sequence_example_file={data[0]}', f'--run_dir={tmp_path}',
          '--num_training_steps=3', f'--hparams={TINY}']
  rc, _, err = _run_main(tool, argv, capsys)
  assert rc == 0, err
  with open(tmp_path / training.METRICS_FILE, encoding='utf-8') as f:
    assert json.load(f)['step'] == 3
  rc, _, err = _run_main(tool, argv[:-1] + [f'--hparams={TINY},l2_reg=0'],
                         capsys)
  assert rc == tool.EXIT_USAGE
  assert 'other hparams: l2_reg=2.5e-05 (requested 0.0)' in err


def test_script_end_to_end(data, tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  result = subprocess.run(
      [sys.executable, str(SCRIPT), f'--sequence_example_file={data[0]}',
       f'--eval_sequence_example_file={data[1]}', f'--run_dir={tmp_path}',
       '--num_training_steps=6', '--log_every_n=3', '--eval_every_n=3',
       f'--hparams={TINY}', '--seed=2'],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True,
      timeout=SUBPROCESS_TIMEOUT_S, check=False)
  assert result.returncode == 0, result.stderr
  assert 'step 6/6: loss ' in result.stderr
  assert 'steps/s, ETA ' in result.stderr
  assert 'eval at step 6: loss ' in result.stderr
  with open(tmp_path / training.METRICS_FILE, encoding='utf-8') as f:
    metrics = json.load(f)
  assert metrics['step'] == 6 and metrics['seed'] == 2
  assert metrics['command_line'][0].endswith('note_rnn_train.py')
  assert [e['step'] for e in metrics['eval_history']] == [3, 6]
  best = model_lib.NoteRNN.load(str(tmp_path / training.BEST_DIR))
  assert best.layer_sizes == (8,)
