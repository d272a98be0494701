"""Tests of bin/note_rnn_evaluate.py."""

import json
import pathlib
import subprocess
import sys

from note_rnn import hparams as hparams_lib
from note_rnn import model as model_lib
from note_rnn import sequence_example_io

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
       f'--checkpoints=a={paths[1]},b={paths[2]}', f'--output_json={out}'],
      capture_output=True, text=True, timeout=300, check=False)
  assert run.returncode == 0, run.stderr[-2000:]
  assert '| metric | a | b |' in run.stdout
  figures = json.loads(out.read_text())
  # A melody of 48 classes gives 47 predictions; training counts those from
  # step 32 on.
  assert figures['a']['num_steps'] == (47 - 32) + (47 - 32)
  assert figures['a']['without_skip']['num_steps'] == 47 + 47
  assert figures['a']['loss'] != figures['b']['loss']


def test_bad_pair_exits_2(tmp_path):
  run = subprocess.run(
      [sys.executable, str(SCRIPT), f'--sequence_example_file={tmp_path}/x',
       '--checkpoints=nopath'], capture_output=True, text=True, timeout=300,
      check=False)
  assert run.returncode == 2
  assert 'takes name=path' in run.stderr
