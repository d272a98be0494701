"""Tests of bin/note_rnn_export.py."""

import json
import pathlib
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import numpy as np
import output_checks_testing
import pytest
import script_testing
import tensorflow as tf

from note_rnn.model import note_rnn_model as model_lib

SCRIPT = pathlib.Path(__file__).resolve().parent / 'note_rnn_export.py'


def _tf1_checkpoint(path, seed=0):
  """A TF1-named (paper naming) one-layer Note RNN of 8 units."""
  rng = np.random.default_rng(seed)
  graph = tf.Graph()
  with graph.as_default():
    scope = 'rnn_model/RNN/MultiRNNCell/Cell0/LSTMCell/'
    values = {scope + 'W_0': rng.normal(size=(46, 32)),
              scope + 'B': rng.normal(size=(32,)),
              'rnn_model/fully_connected/weights': rng.normal(size=(8, 38)),
              'rnn_model/fully_connected/bias': rng.normal(size=(38,))}
    for name, value in values.items():
      tf.compat.v1.get_variable(name, initializer=value.astype(np.float32))
    with tf.compat.v1.Session(graph=graph) as session:
      session.run(tf.compat.v1.global_variables_initializer())
      tf.compat.v1.train.Saver().save(session, str(path))


def test_exports_a_tf1_checkpoint_with_metadata(tmp_path):
  _tf1_checkpoint(tmp_path / 'model.ckpt')
  info = tmp_path / 'info.json'
  info.write_text(json.dumps({'steps': 7}))
  out = tmp_path / 'exported'
  run = subprocess.run(
      [sys.executable, str(SCRIPT), f'--checkpoint={tmp_path / "model.ckpt"}',
       f'--output_dir={out}', f'--metadata_json=training={info}',
       '--note=test export'], capture_output=True, text=True, timeout=300,
      check=False)
  assert run.returncode == 0, run.stderr[-2000:]
  original = model_lib.NoteRNN.load(str(tmp_path / 'model.ckpt'))
  exported = model_lib.NoteRNN.load(str(out))
  for a, b in zip(original.get_weights(), exported.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert exported.metadata['training'] == {'steps': 7}
  assert exported.metadata['note'] == 'test export'
  assert 'model.ckpt' in exported.metadata['exported_from']


def test_missing_checkpoint_exits_2(tmp_path):
  run = subprocess.run(
      [sys.executable, str(SCRIPT), f'--checkpoint={tmp_path / "none"}',
       f'--output_dir={tmp_path / "out"}'], capture_output=True, text=True,
      timeout=300, check=False)
  assert run.returncode == 2
  assert run.stderr.strip().splitlines()[-1].startswith(
      'note_rnn_export: error: ')


# --- Unusable output locations: one line, exit 2, nothing written.


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, 'note_rnn_export') as module:
    yield module


@pytest.mark.parametrize('below', [False, True])
def test_output_dir_that_is_a_file_fails_before_reading(tool, tmp_path,
                                                        capsys, monkeypatch,
                                                        below):
  target = tmp_path / 'file'
  target.write_text('data')
  output_dir = target / 'sub' if below else target

  def must_not_read(*unused_args, **unused_kwargs):
    raise AssertionError('the checkpoint was read before --output_dir was '
                         'checked')
  monkeypatch.setattr(tool, 'export', must_not_read)
  with flagsaver.flagsaver():
    rc = tool.main(flags.FLAGS([
        'note_rnn_export.py', f'--checkpoint={tmp_path / "model.ckpt"}',
        f'--output_dir={output_dir}']))
  captured = capsys.readouterr()
  line = output_checks_testing.assert_one_line_error(
      rc, captured.err, 'note_rnn_export', f'--output_dir={output_dir}')
  assert 'is a file, not a directory' in line
  assert not captured.out and target.read_text() == 'data'


def test_script_read_only_output_dir_fails_before_reading(tmp_path):
  with output_checks_testing.read_only_dir() as (parent, read_only):
    before = output_checks_testing.snapshot(read_only)
    output_dir = read_only / 'exported'
    rc, out, err = output_checks_testing.run_as_nobody(
        SCRIPT, [f'--checkpoint={tmp_path / "model.ckpt"}',
                 f'--output_dir={output_dir}'], cwd=parent, timeout=300)
    line = output_checks_testing.assert_one_line_error(
        rc, err, 'note_rnn_export', f'--output_dir={output_dir}')
    assert 'Permission denied' in line
    assert not out
    assert output_checks_testing.snapshot(read_only) == before
