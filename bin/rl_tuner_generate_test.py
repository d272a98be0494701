"""End-to-end tests of bin/rl_tuner_generate.py on a tiny tuned run.

bin/rl_tuner_train.py tunes a tiny random Note RNN with G learning (the
algorithm whose policy needs all three networks) for 64 steps; the generate
CLI then composes from that run in separate processes, two at a time.
"""

import errno
import json
import os
import pathlib
import shutil
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
from note_rnn import generation
from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from note_rnn.runtime import outputs
from rl_tuner import rl_tuner as rl_tuner_lib

BIN = pathlib.Path(__file__).resolve().parent
TRAIN = BIN / 'rl_tuner_train.py'
GENERATE = BIN / 'rl_tuner_generate.py'
TIMEOUT_S = 240
PARALLEL_RUNS = 2
UNITS = 8
STEPS = 64
NUM_OUTPUTS = 3
NUM_STEPS = 16
SEED = 5


class _Run:
  """A CLI process whose output goes to files."""

  def __init__(self, script, args, log_dir, name):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
    self.stdout_path = log_dir / f'{name}.out'
    self.stderr_path = log_dir / f'{name}.err'
    with open(self.stdout_path, 'w') as out, open(self.stderr_path,
                                                   'w') as err:
      self.process = subprocess.Popen([sys.executable, str(script)] + args,
                                      stdout=out, stderr=err, cwd=log_dir,
                                      env=env)

  def wait(self):
    self.returncode = self.process.wait(timeout=TIMEOUT_S)
    self.stdout = self.stdout_path.read_text()
    self.stderr = self.stderr_path.read_text()
    return self


def _run_all(cases, log_dir):
  """Runs {name: (script, args)}, at most PARALLEL_RUNS at a time."""
  pending, running, done = list(cases.items()), {}, {}
  while pending or running:
    while pending and len(running) < PARALLEL_RUNS:
      name, (script, args) = pending.pop(0)
      running[name] = _Run(script, args, log_dir, name)
    name = next(iter(running))
    done[name] = running.pop(name).wait()
  return done


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  return tmp_path_factory.mktemp('rl_tuner_generate')


@pytest.fixture(scope='module')
def run_dir(workdir):
  """A finished rl_tuner_train run of G learning on a tiny Note RNN."""
  checkpoint = workdir / 'tiny_note_rnn'
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(UNITS,)),
      seed=2).save(str(checkpoint))
  output_dir = workdir / 'run'
  args = [f'--output_dir={output_dir}',
          f'--note_rnn_checkpoint_file={checkpoint}', '--algorithm=g',
          f'--training_steps={STEPS}', '--exploration_steps=32',
          '--exploration_mode=egreedy', '--output_every_nth=32',
          '--num_eval_compositions=4', '--num_stat_compositions=0',
          '--minibatch_size=8', '--max_experience=200',
          '--learning_rate=0.01', '--seed=0']
  run = _Run(TRAIN, args, workdir, 'train').wait()
  assert run.returncode == 0, run.stderr[-3000:]
  return output_dir


@pytest.fixture(scope='module')
def runs(workdir, run_dir):
  common = [f'--num_outputs={NUM_OUTPUTS}', f'--num_steps={NUM_STEPS}',
            f'--seed={SEED}']
  not_a_run = workdir / 'not_a_run'
  not_a_run.mkdir()
  cases = {
      'sample': [f'--run_dir={run_dir}'] + common,
      'argmax': [f'--run_dir={run_dir}', '--sampling=argmax',
                 f'--output_dir={workdir / "argmax"}', '--noaudio',
                 '--qpm=120'] + common,
      'missing': [f'--run_dir={workdir / "missing"}'],
      'not_a_run': [f'--run_dir={not_a_run}'],
      'bad_qpm': [f'--run_dir={run_dir}', '--qpm=0',
                  f'--output_dir={workdir / "bad_qpm"}'],
  }
  return _run_all({name: (GENERATE, args) for name, args in cases.items()},
                  workdir)


def _restored_tuner(run_dir, output_dir):
  """The run's tuner rebuilt in this process, independently of the CLI."""
  rlt = rl_tuner_lib.RLTuner(
      str(output_dir), algorithm='g',
      note_rnn_checkpoint_file=str(run_dir / 'tuned_note_rnn'),
      dqn_hparams={'minibatch_size': 8, 'discount_rate': 0.5})
  # To compose: the finished run dropped its replay.
  rlt.restore_from_directory(str(run_dir), restore_replay=False)
  return rlt


def _read_result(directory):
  return json.loads((directory / 'melodies.json').read_text())


@pytest.mark.parametrize('case', ['sample', 'argmax'])
def test_writes_midi_png_and_json(runs, run_dir, workdir, case):
  run = runs[case]
  assert run.returncode == 0, run.stderr[-3000:]
  out = run_dir / 'generated' if case == 'sample' else workdir / 'argmax'
  assert f'Wrote {NUM_OUTPUTS} melodies (g, checkpoint g-{STEPS})' in (
      run.stdout)
  result = _read_result(out)
  assert result['algorithm'] == 'g'
  assert result['checkpoint'] == f'g-{STEPS}'
  assert result['env_steps'] == STEPS
  assert result['sampling'] == case
  melodies = result['melodies']
  assert len(melodies) == NUM_OUTPUTS
  assert all(len(m) == NUM_STEPS for m in melodies)
  assert all(0 <= c < encoding.NUM_CLASSES for m in melodies for c in m)
  assert result['midi_files'] == [f'melody_{i:03d}.mid' for i in
                                  range(NUM_OUTPUTS)]
  for name, classes in zip(result['midi_files'], melodies):
    sequence = encoding.midi_file_to_note_sequence(str(out / name))
    played = [n.pitch for n in sorted(sequence.notes,
                                      key=lambda n: n.start_time)]
    assert played == [encoding.class_to_pitch(c) for c in classes if c >= 2]
  with open(out / 'piano_roll.png', 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  # Audio: a WAV of each melody's length at 80 qpm by default; the argmax
  # run has --noaudio and --qpm=120 (its MIDI files' tempo).
  if case == 'sample':
    assert result['wav_files'] == [f'melody_{i:03d}.wav' for i in
                                   range(NUM_OUTPUTS)]
    assert result['audio']['renderer'] in ('fluidsynth', 'builtin')
    description = result['audio']['description']
    assert (f'Audio: WAV beside each MIDI file ({description}, 80 qpm)'
            in run.stdout)
    for name, classes in zip(result['wav_files'], melodies):
      samples, rate = audio.read_wav(out / name)
      assert len(samples) == audio.num_samples(NUM_STEPS, 80, rate)
      assert np.abs(samples).max() > 0.1 or not any(c >= 2 for c in classes)
  else:
    assert result['wav_files'] == [] and result['audio'] is None
    assert not list(out.glob('*.wav'))
    assert result['qpm'] == 120
    sequence = encoding.midi_file_to_note_sequence(
        str(out / 'melody_000.mid'))
    assert sequence.tempos[0].qpm == pytest.approx(120)


@pytest.mark.parametrize('case', ['sample', 'argmax'])
def test_melodies_are_the_restored_tuners(runs, run_dir, workdir, tmp_path,
                                          case):
  """Same run, checkpoint and seed in this process: the same melodies."""
  out = run_dir / 'generated' if case == 'sample' else workdir / 'argmax'
  rlt = _restored_tuner(run_dir, tmp_path)
  rlt.rng = np.random.default_rng(SEED)
  expected = rlt.generate_compositions(NUM_OUTPUTS, NUM_STEPS,
                                       sample=case == 'sample')
  assert _read_result(out)['melodies'] == expected.tolist()


def test_argmax_policy_is_g_plus_reward_rnn_logits(runs, workdir, run_dir,
                                                   tmp_path):
  """Replays each argmax melody with the restored networks' own steps.

  The policy of G learning is argmax(G(s, .) + Reward RNN logits(s, .)).
  The priming note is random, so every one of the 38 is tried from the
  zero state; one of them must reproduce the whole melody.
  """
  rlt = _restored_tuner(run_dir, tmp_path)
  q_net, prior_net = rlt.q_network, rlt.reward_rnn
  tuned = note_rnn_model.NoteRNN.load(str(run_dir / 'tuned_note_rnn'))
  for a, b in zip(tuned.get_weights(), q_net.get_weights()):
    np.testing.assert_array_equal(a, b)
  candidates = np.arange(encoding.NUM_CLASSES)
  for melody in _read_result(workdir / 'argmax')['melodies']:
    observations = candidates
    q_state = np.zeros((len(candidates), q_net.state_size), np.float32)
    r_state = np.zeros((len(candidates), prior_net.state_size), np.float32)
    matches = np.ones(len(candidates), bool)
    for note in melody:
      inputs = encoding.classes_to_onehot(observations)
      g_values, q_state = q_net.step(inputs, q_state)
      prior, r_state = prior_net.step(inputs, r_state)
      chosen = np.argmax(g_values.numpy() + prior.numpy(), axis=-1)
      matches &= chosen == note
      observations = np.full(len(candidates), note)
    assert matches.any(), melody


@pytest.mark.parametrize('case,message', [
    ('missing', 'run directory not found: '),
    ('not_a_run', 'is not an rl_tuner_train run: no summary.json'),
    ('bad_qpm', '--qpm must be > 0; got 0.0'),
])
def test_bad_input_exits_2_with_one_line(runs, case, message):
  run = runs[case]
  assert run.returncode == 2, run.stderr[-3000:]
  lines = run.stderr.strip().splitlines()
  errors = [line for line in lines if 'rl_tuner_generate: error:' in line]
  assert len(errors) == 1 and lines[-1] == errors[0]
  assert message in errors[0]
  assert 'Traceback' not in run.stderr


# --- Failures: one line, exit 2, no traceback, no (empty) output folder.

TOOL = 'rl_tuner_generate'


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(GENERATE, 'rl_tuner_generate') as module:
    yield module


@pytest.fixture(name='run_copy')
def fixture_run_copy(run_dir, tmp_path):
  """A copy of the finished run, free to damage."""
  copy = tmp_path / 'run'
  shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns('generated'))
  return copy


def _run_main(tool, argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(flags.FLAGS(['rl_tuner_generate.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


def test_truncated_checkpoint_exits_2_without_output(tool, run_copy, capsys):
  newest = run_copy / 'checkpoints' / f'g-{STEPS}'
  data, = newest.glob('ckpt.data-*')
  with open(data, 'r+b') as f:
    f.truncate(data.stat().st_size // 2)
  rc, out, err = _run_main(tool, [f'--run_dir={run_copy}'], capsys)
  output_checks_testing.assert_one_line_error(rc, err, TOOL, newest)
  assert not out
  assert not (run_copy / 'generated').exists()


def test_missing_checkpoint_name_leaves_no_empty_folder(tool, run_copy,
                                                        capsys):
  rc, _, err = _run_main(tool, [f'--run_dir={run_copy}',
                                '--checkpoint_name=g-1'], capsys)
  output_checks_testing.assert_one_line_error(rc, err, TOOL, 'g-1')
  assert not (run_copy / 'generated').exists()


@pytest.mark.parametrize('below', [False, True])
def test_output_dir_that_is_a_file_fails_before_loading(
    tool, run_copy, tmp_path, capsys, monkeypatch, below):
  target = tmp_path / 'file'
  target.write_text('data')
  output_dir = target / 'sub' if below else target

  def must_not_load(*unused_args, **unused_kwargs):
    raise AssertionError('the run was loaded before --output_dir was checked')
  monkeypatch.setattr(tool.train_run, 'load_tuner', must_not_load)
  rc, out, err = _run_main(tool, [f'--run_dir={run_copy}',
                                  f'--output_dir={output_dir}'], capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, TOOL, f'--output_dir={output_dir}')
  assert 'is a file, not a directory' in line
  assert not out and target.read_text() == 'data'


def test_disk_full_removes_the_partial_output(tool, run_copy, capsys,
                                              monkeypatch):
  def fill_the_disk(unused_melodies, path, **unused_kwargs):
    with open(path, 'wb') as f:
      f.write(b'half a file')
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
  monkeypatch.setattr(generation, 'plot_piano_roll', fill_the_disk)
  output_dir = run_copy / 'generated'
  rc, _, err = _run_main(tool, [f'--run_dir={run_copy}',
                                f'--num_outputs={NUM_OUTPUTS}',
                                f'--num_steps={NUM_STEPS}'], capsys)
  line = output_checks_testing.assert_one_line_error(rc, err, TOOL,
                                                     output_dir)
  assert line == f'{TOOL}: error: ' + outputs.disk_full_message(
      f'--output_dir={output_dir}', resumable=False)
  # The MIDI files written before the PNG went with the folder.
  assert not output_dir.exists()


def test_read_only_run_dir_fails_before_loading(run_dir):
  with output_checks_testing.read_only_dir() as (parent, _):
    run = parent / 'run'
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns('generated'))
    output_checks_testing.make_traversable(run)
    before = output_checks_testing.snapshot(run)
    run.chmod(0o555)
    try:
      rc, out, err = output_checks_testing.run_as_nobody(
          GENERATE, [f'--run_dir={run}', f'--num_outputs={NUM_OUTPUTS}'],
          cwd=parent, timeout=TIMEOUT_S)
      line = output_checks_testing.assert_one_line_error(
          rc, err, TOOL, f'--output_dir={run / "generated"}')
      assert 'Permission denied' in line
      assert not out
      assert output_checks_testing.snapshot(run) == before
    finally:
      run.chmod(0o755)
