"""Start-up of the bin/ tools: quiet, --help exits 0 fast, bad flags exit 2."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model

BIN = pathlib.Path(__file__).resolve().parent
TOOLS = sorted(p.stem for p in BIN.glob('*.py')
               if not p.stem.endswith(('_test', '_testing'))
               and p.stem != 'script_setup')
# Lines that mean TensorFlow's start-up noise reached the user.
NOISE = ('cuda', 'CUDA', 'oneDNN', 'absl::InitializeLog', 'Sharding callback',
         'I0000', 'W0000', 'E0000', 'ffmpeg', 'AVX')


def _env():
  env = dict(os.environ)
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)  # As on a user's machine.
  return env


def test_every_tool_runs_through_script_setup():
  # script_setup.run gives --help exit 0 and unparsable flags exit 2;
  # importing script_setup first keeps TensorFlow's start-up quiet.
  for tool in TOOLS:
    source = (BIN / f'{tool}.py').read_text()
    assert 'script_setup.run(main)' in source, tool
    lines = source.splitlines()
    setup = lines.index(next(line for line in lines
                             if line.startswith('import script_setup')))
    first_library = min(
        i for i, line in enumerate(lines)
        if line.startswith(('from absl', 'from note_rnn', 'from rl_tuner',
                            'import numpy', 'import tensorflow')))
    assert setup < first_library, tool


@pytest.mark.parametrize('tool', ['rl_tuner_train', 'note_rnn_create_dataset'])
def test_help_exits_0(tool):
  run = subprocess.run([sys.executable, str(BIN / f'{tool}.py'), '--help'],
                       capture_output=True, text=True, env=_env(),
                       timeout=120, check=False)
  assert run.returncode == 0, run.stderr[-2000:]
  assert '--seed' in run.stdout


@pytest.mark.parametrize('tool', TOOLS)
def test_help_loads_neither_tensorflow_nor_note_seq(tool):
  # Every tool: the libraries that define or default its flags import
  # TensorFlow, Keras, note_seq and Ray only in the functions that use them.
  code = (
      'import runpy, sys\n'
      f'sys.path.insert(0, {str(BIN)!r})\n'
      f'sys.argv = [{str(BIN / (tool + ".py"))!r}, "--help"]\n'
      'try:\n'
      f'  runpy.run_path(sys.argv[0], run_name="__main__")\n'
      'except SystemExit as e:\n'
      '  print("exit", e.code)\n'
      'print(sorted(m for m in ("tensorflow", "note_seq", "keras", "ray")\n'
      '             if m in sys.modules))\n')
  run = subprocess.run([sys.executable, '-c', code], capture_output=True,
                       text=True, env=_env(), timeout=120, check=False)
  assert run.stdout.strip().splitlines()[-2:] == ['exit 0', '[]'], (
      run.stdout[-2000:], run.stderr[-2000:])
  # --help, not only --helpfull, lists the flags the tool defines.
  own_flags = re.findall(r"flags\.DEFINE_\w+\(\s*'(\w+)'",
                         (BIN / f'{tool}.py').read_text())
  listed = set(re.findall(r'^\s+--(?:\[no\])?(\w+)', run.stdout, re.M))
  assert set(own_flags) <= listed, sorted(set(own_flags) - listed)


@pytest.mark.parametrize('flag', ['--nosuchflag=1',
                                  '--flagfile=no_such_file.flags'])
def test_a_flag_absl_cannot_parse_exits_2(flag):
  run = subprocess.run([sys.executable, str(BIN / 'rl_tuner_train.py'), flag],
                       capture_output=True, text=True, env=_env(),
                       timeout=120, check=False)
  assert run.returncode == 2, run.stderr[-2000:]


def test_a_run_shows_only_the_tools_own_lines(tmp_path):
  checkpoint = str(tmp_path / 'tiny')
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
      seed=1).save(checkpoint)
  run = subprocess.run(
      [sys.executable, str(BIN / 'rl_tuner_train.py'),
       f'--output_dir={tmp_path / "run"}',
       f'--note_rnn_checkpoint_file={checkpoint}', '--training_steps=64',
       '--output_every_nth=32', '--num_eval_compositions=2',
       '--num_stat_compositions=8', '--minibatch_size=8',
       '--max_experience=100', '--seed=0'],
      capture_output=True, text=True, env=_env(), timeout=240, check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  noisy = [line for line in run.stderr.splitlines()
           if any(mark in line for mark in NOISE)]
  assert not noisy, noisy
  assert 'Plan: q learning for 64 environment steps' in run.stderr
  assert 'Statistics of 8 melodies' in run.stderr
  assert 'Done: 64 environment steps' in run.stdout
  # The statistics report and the melody go to files, not the log.
  assert 'Total compositions' not in run.stderr
  assert 'Generated sequence' not in run.stderr


@pytest.mark.parametrize('tool', TOOLS)
def test_a_stray_positional_argument_is_one_line_and_exit_2(tool, tmp_path):
  # `rl_tuner_report.py runs/quickstart` (the folder without --dir=): no
  # page of help and exit 1, and nothing written. No tool takes
  # positional arguments; script_setup.run refuses them for all.
  run = subprocess.run([sys.executable, str(BIN / f'{tool}.py'),
                        'runs/quickstart'], capture_output=True, text=True,
                       env=_env(), cwd=tmp_path, timeout=120, check=False)
  assert run.returncode == 2, run.stderr[-2000:]
  assert run.stderr.strip().splitlines() == [
      f"{tool}: error: unexpected argument 'runs/quickstart': this tool "
      'takes only flags, as --name=value (--help lists them)']
  assert not run.stdout and not os.listdir(tmp_path)
