"""Tests of bin/note_rnn_generate.py: flag checks and one end-to-end run."""

import os
import pathlib
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import numpy as np
import output_checks_testing
import pytest
import script_testing

from note_rnn import audio
from note_rnn import encoding
from note_rnn.model import checkpoint_import
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib

SCRIPT = pathlib.Path(__file__).resolve().parent / 'note_rnn_generate.py'
REPO_ROOT = SCRIPT.parent.parent
# Seconds a subprocess run may take before the test fails.
SUBPROCESS_TIMEOUT_S = 120

FLAGS = flags.FLAGS


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, 'note_rnn_generate') as module:
    yield module


@pytest.fixture(scope='module')
def saved_model(tmp_path_factory):
  hp = hparams_lib.default_hparams().replace(rnn_layer_sizes=(8,))
  path = tmp_path_factory.mktemp('model') / 'tiny'
  return model_lib.NoteRNN(hp, seed=0).save(str(path))


def _run_main(tool, argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(FLAGS(['note_rnn_generate.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


def test_main_rejects_bad_input_with_one_line(tool, saved_model, tmp_path,
                                              capsys, monkeypatch):
  out = f'--output_dir={tmp_path / "out"}'
  model = f'--checkpoint={saved_model}'
  cases = [
      ([model], '--output_dir is required'),
      ([model, out, '--num_outputs=0'], '--num_outputs'),
      ([model, out, '--temperature=-1'], '--temperature'),
      ([model, out, f'--primer_midi={tmp_path / "nope.mid"}'],
       '--primer_midi'),
      ([f'--checkpoint={tmp_path / "missing"}', out],
       'Note RNN checkpoint not found'),
      ([model, out, '--num_steps=4',
        f'--primer_midi={REPO_ROOT / "testdata" / "primer.mid"}'],
       'must exceed the primer length'),
      ([model, out, f'--primer_midi={REPO_ROOT / "testdata" / "corrupt.mid"}'],
       'cannot read MIDI file'),
      ([model, out, '--audio_program=128'], '--audio_program must be'),
  ]
  for argv, message in cases:
    rc, _, err = _run_main(tool, argv, capsys)
    assert rc == tool.EXIT_USAGE, argv
    assert message in err, (argv, err)
    assert len(err.strip().splitlines()) == 1
    assert err.startswith('note_rnn_generate: error: ')
  # Without an embedded model, an empty --checkpoint says how to pass one.
  monkeypatch.setattr(checkpoint_import, 'DEFAULT_MODEL_DIR',
                      str(tmp_path / 'nothing_here'))
  rc, _, err = _run_main(tool, [out], capsys)
  assert rc == tool.EXIT_USAGE
  assert 'no embedded default Note RNN' in err


def test_script_end_to_end(saved_model, tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  result = subprocess.run(
      [sys.executable, str(SCRIPT), f'--checkpoint={saved_model}',
       '--num_outputs=4', '--num_steps=24', f'--output_dir={tmp_path}',
       '--temperature=0.8', '--seed=1', '--qpm=100'],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True,
      timeout=SUBPROCESS_TIMEOUT_S, check=False)
  assert result.returncode == 0, result.stderr
  lines = [l for l in result.stdout.splitlines() if l.startswith('melody_')]
  assert len(lines) == 4
  for index, line in enumerate(lines):
    name, classes = line.split(': ')
    assert name == f'melody_{index:03d}.mid'
    classes = [int(c) for c in classes.split()]
    assert len(classes) == 24
    assert all(0 <= c < encoding.NUM_CLASSES for c in classes)
    sequence = encoding.midi_file_to_note_sequence(str(tmp_path / name))
    assert sequence.notes[0].pitch == encoding.class_to_pitch(classes[0])
  assert (tmp_path / 'piano_roll.png').stat().st_size > 0
  assert 'Piano roll: ' in result.stdout
  # A WAV beside each MIDI file, 24 steps at --qpm=100 long.
  assert 'Audio: 4 WAV files beside the MIDI files (' in result.stdout
  assert ', 100 qpm)' in result.stdout
  for index in range(4):
    samples, rate = audio.read_wav(tmp_path / f'melody_{index:03d}.wav')
    assert len(samples) == audio.num_samples(24, 100, rate)
    assert np.abs(samples).max() > 0.1


# --- Unusable output locations: one line, exit 2, nothing written.


def _must_not_load(*unused_args, **unused_kwargs):
  raise AssertionError('the model was loaded before --output_dir was checked')


@pytest.mark.parametrize('below', [False, True])
def test_output_dir_that_is_a_file_fails_before_loading(
    tool, saved_model, tmp_path, capsys, monkeypatch, below):
  target = tmp_path / 'file'
  target.write_text('data')
  output_dir = target / 'sub' if below else target
  monkeypatch.setattr(tool, 'generate', _must_not_load)
  rc, out, err = _run_main(tool, [f'--checkpoint={saved_model}',
                                  f'--output_dir={output_dir}'], capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_generate', f'--output_dir={output_dir}')
  assert 'is a file, not a directory' in line
  assert not out and target.read_text() == 'data'


def test_script_read_only_output_dir_fails_before_loading():
  with output_checks_testing.read_only_dir() as (parent, read_only):
    before = output_checks_testing.snapshot(read_only)
    rc, out, err = output_checks_testing.run_as_nobody(
        SCRIPT, [f'--output_dir={read_only}', '--num_outputs=2'], cwd=parent,
        timeout=SUBPROCESS_TIMEOUT_S)
    line = output_checks_testing.assert_one_line_error(
        rc, err, 'note_rnn_generate', f'--output_dir={read_only}')
    assert 'Permission denied' in line
    assert not out
    assert output_checks_testing.snapshot(read_only) == before
