"""Tests of bin/rl_tuner_report.py on copies of the committed results."""

import json
import pathlib
import shutil

from absl import flags
from absl.testing import flagsaver
import output_checks_testing
import pytest
import script_testing

from note_rnn import audio

SCRIPT = pathlib.Path(__file__).resolve().parent / 'rl_tuner_report.py'
RESULTS = SCRIPT.parent.parent / 'docs' / 'results'
TOOL = 'rl_tuner_report'


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, TOOL) as module:
    yield module


def _run_main(tool, argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(flags.FLAGS([f'{TOOL}.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


def _bare_copy(tmp_path, name='embedded_model'):
  """A results folder as rl_tuner_reproduce wrote it before pages."""
  target = tmp_path / name
  shutil.copytree(RESULTS / name, target, ignore=shutil.ignore_patterns(
      '*.wav', '*_[0-9].png', 'audio.json', 'report.html'))
  return target


def test_writes_missing_audio_rolls_and_the_page(tool, tmp_path, capsys):
  directory = _bare_copy(tmp_path)
  midi_before = (directory / 'samples' / 'g_1.mid').read_bytes()
  rc, out, _ = _run_main(tool, [f'--dir={directory}', '--qpm=120',
                                '--audio_renderer=builtin'], capsys)
  assert rc == 0
  assert out.strip() == (f'Wrote {directory / "report.html"}; open it in a '
                         'browser.')
  record = json.loads((directory / 'samples' / 'audio.json').read_text())
  assert record['renderer'] == 'builtin' and record['qpm'] == 120
  assert len(record['files']) == 15
  for name in record['files']:
    samples, rate = audio.read_wav(directory / 'samples' / name)
    assert len(samples) == audio.num_samples(32, 120, rate)  # 4 s.
    assert (directory / 'samples' / name.replace('.wav', '.png')).is_file()
  assert (directory / 'samples' / 'g_1.mid').read_bytes() == midi_before
  page = (directory / 'report.html').read_text()
  assert page.count('<audio ') == 15
  assert 'data-seconds="4.0000"' in page and '120 quarter notes' in page

  # Again with other flags: existing files are kept, the page rewritten.
  (directory / 'report.html').unlink()
  rc, _, _ = _run_main(tool, [f'--dir={directory}', '--qpm=60'], capsys)
  assert rc == 0
  samples, _ = audio.read_wav(directory / 'samples' / 'q_0.wav')
  assert len(samples) == audio.num_samples(32, 120)
  assert 'data-seconds="4.0000"' in (directory / 'report.html').read_text()


@pytest.mark.parametrize('case,message', [
    ('missing', 'directory not found: '),
    ('empty', 'holds neither an rl_tuner_train run (summary.json) nor a '
              'reproduction (reproduction.json)'),
    ('no_table', 'has no table1.json'),
    ('bad_qpm', '--qpm must be > 0; got -1.0'),
    ('no_dir', '--dir is required'),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tool, tmp_path, capsys, case, message):
  directory = _bare_copy(tmp_path)
  if case == 'no_table':
    (directory / 'table1.json').unlink()
  before = output_checks_testing.snapshot(tmp_path)
  argv = {'missing': [f'--dir={tmp_path / "missing"}'],
          'empty': [f'--dir={directory / "samples"}'],
          'no_table': [f'--dir={directory}'],
          'bad_qpm': [f'--dir={directory}', '--qpm=-1'],
          'no_dir': []}[case]
  rc, out, err = _run_main(tool, argv, capsys)
  assert rc == 2 and not out
  assert err.strip() == f'{TOOL}: error: {err.strip().split(": ", 2)[2]}'
  assert message in err and len(err.strip().splitlines()) == 1
  assert output_checks_testing.snapshot(tmp_path) == before
