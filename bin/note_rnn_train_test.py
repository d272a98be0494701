"""Tests of bin/note_rnn_train.py: flags, bad inputs, outputs, kill, resume."""

import collections
import errno
import json
import os
import pathlib
import signal
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import numpy as np
import output_checks_testing
import pytest
import script_testing
from tensorboard.compat.proto import event_pb2
import tensorflow as tf

from note_rnn.data import sequence_example_io as sio
from note_rnn.model import note_rnn_model as model_lib
from note_rnn.runtime import event_log
from note_rnn.runtime import outputs
from note_rnn.training import training

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
      ([train, run, steps, '--dropout_keep_prob=0'], '--dropout_keep_prob'),
      ([train, run, steps, '--dropout_keep_prob=1.5'], '--dropout_keep_prob'),
      ([train, run, steps, f'--init_checkpoint={tmp_path / "none"}'],
       '--init_checkpoint'),
      ([train, run, steps, '--resume'], 'holds no checkpoint to resume'),
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


def test_main_dropout_flag_sets_the_hparam(tool, data, tmp_path, capsys):
  argv = [f'--sequence_example_file={data[0]}', f'--run_dir={tmp_path}',
          '--num_training_steps=2',
          f'--hparams={TINY},dropout_keep_prob=0.9', '--dropout_keep_prob=0.5']
  rc, _, err = _run_main(tool, argv, capsys)
  assert rc == 0, err
  with open(tmp_path / training.METRICS_FILE, encoding='utf-8') as f:
    assert json.load(f)['hparams']['dropout_keep_prob'] == 0.5
  saved = model_lib.NoteRNN.load(str(tmp_path / training.CHECKPOINT_DIR))
  assert saved.hparams.dropout_keep_prob == 0.5
  # Resuming with another value is refused like any other hparam change.
  rc, _, err = _run_main(tool, argv[:-1] + ['--num_training_steps=3',
                                           '--dropout_keep_prob=1'], capsys)
  assert rc == tool.EXIT_USAGE
  assert 'dropout_keep_prob=0.5 (requested 1.0)' in err


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


def _noise_file(path):
  path.write_bytes(np.random.default_rng(0).bytes(4000))
  return path


def test_main_rejects_bad_inputs_before_writing(tool, data, tmp_path, capsys,
                                                monkeypatch):
  """Random bytes as either input, or a --run_dir that is a file: one line,
  exit 2, before a model is built, and nothing written."""
  noise = _noise_file(tmp_path / 'noise.tfrecord')
  (tmp_path / 'run_file').write_text('kept')
  built = []
  monkeypatch.setattr(model_lib.NoteRNN, '__init__',
                      lambda *args, **kwargs: built.append(args))
  train = f'--sequence_example_file={data[0]}'
  evaluate = f'--eval_sequence_example_file={data[1]}'
  run = f'--run_dir={tmp_path / "run"}'
  cases = [
      ([f'--sequence_example_file={noise}', evaluate, run],
       f'sequence_example_file {noise}: not a readable TFRecord file'),
      ([train, f'--eval_sequence_example_file={noise}', run],
       f'eval_sequence_example_file {noise}: not a readable TFRecord file'),
      ([train, evaluate, f'--run_dir={tmp_path / "run_file"}'],
       f'--run_dir={tmp_path / "run_file"}: is a file, not a directory'),
  ]
  before = output_checks_testing.snapshot(tmp_path)
  for argv, message in cases:
    rc, _, err = _run_main(tool, argv + ['--num_training_steps=5'], capsys)
    output_checks_testing.assert_one_line_error(rc, err, 'note_rnn_train',
                                                message)
  assert not built
  assert output_checks_testing.snapshot(tmp_path) == before


def test_script_read_only_run_dir_fails_before_reading(data):
  with output_checks_testing.read_only_dir() as (parent, read_only):
    inputs = []
    for path in data:
      inputs.append(parent / path.name)
      inputs[-1].write_bytes(path.read_bytes())
    output_checks_testing.make_traversable(parent)
    before = output_checks_testing.snapshot(read_only)
    rc, out, err = output_checks_testing.run_as_nobody(
        SCRIPT, [f'--sequence_example_file={inputs[0]}',
                 f'--eval_sequence_example_file={inputs[1]}',
                 f'--run_dir={read_only}', '--num_training_steps=5',
                 f'--hparams={TINY}'], cwd=parent,
        timeout=SUBPROCESS_TIMEOUT_S)
    line = output_checks_testing.assert_one_line_error(
        rc, err, 'note_rnn_train', f'--run_dir={read_only}')
    assert 'Permission denied' in line
    assert not out
    assert output_checks_testing.snapshot(read_only) == before


def test_main_disk_full_is_one_line_and_resumable(tool, data, tmp_path,
                                                  capsys, monkeypatch):
  """ENOSPC while the step-4 checkpoint is written: one line saying the run
  resumes, the step-2 checkpoint intact, no temporary left; the same command
  then finishes the run."""
  write = outputs.write_file_atomically

  def write_file_atomically(path, contents):
    if (path.endswith(training.TRAINING_STATE_FILE) and
        json.loads(contents)['step'] == 4):
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    return write(path, contents)

  argv = [f'--sequence_example_file={data[0]}', f'--run_dir={tmp_path}',
          '--num_training_steps=6', '--checkpoint_every_n=2',
          f'--hparams={TINY}']
  with monkeypatch.context() as patch:
    patch.setattr(outputs, 'write_file_atomically', write_file_atomically)
    rc, _, err = _run_main(tool, argv, capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_train', outputs.disk_full_message(
          f'--run_dir={tmp_path}', resumable=True))
  assert 'last complete checkpoint is intact' in line
  state_path = tmp_path / training.CHECKPOINT_DIR / training.TRAINING_STATE_FILE
  with open(state_path, encoding='utf-8') as f:
    assert json.load(f)['step'] == 2
  assert not [name for name in os.listdir(tmp_path) if name.startswith('.')]
  rc, _, err = _run_main(tool, argv + ['--resume'], capsys)
  assert rc == 0, err
  with open(tmp_path / training.METRICS_FILE, encoding='utf-8') as f:
    assert json.load(f)['step'] == 6


# Runs the tool, SIGKILLing itself right after training step $KILL_AT_STEP.
_KILLED_RUN = script_testing.LOAD_TOOL_IN_CHILD + """
run_class = module.training._Run
train_one_step = run_class.train_one_step
def killed_after(run):
  train_one_step(run)
  if run.state.step == int(os.environ['KILL_AT_STEP']):
    os.kill(os.getpid(), signal.SIGKILL)
run_class.train_one_step = killed_after
from absl import app
app.run(module.main)
"""


def _tensorboard_counts(run_dir):
  counts = collections.Counter()
  for path in event_log.event_files(run_dir / training.TENSORBOARD_DIR):
    kind = os.path.basename(os.path.dirname(path))
    for record in tf.data.TFRecordDataset(path):
      event = event_pb2.Event.FromString(record.numpy())
      counts.update((kind, v.tag, event.step) for v in event.summary.value)
  return counts


@pytest.mark.slow
def test_script_killed_by_sigkill_resumes_exactly(tool, data, tmp_path,
                                                  capsys):
  """SIGKILL after step 11 (checkpoints every 4, logs every 3): the same
  command ends with the weights and TensorBoard points of a run that was
  never killed, each point once."""
  def argv(run_dir):
    return [f'--sequence_example_file={data[0]}',
            f'--eval_sequence_example_file={data[1]}', f'--run_dir={run_dir}',
            '--num_training_steps=14', '--checkpoint_every_n=4',
            '--log_every_n=3', '--eval_every_n=5', f'--hparams={TINY}']

  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', KILL_AT_STEP='11')
  killed = subprocess.run(
      [sys.executable, '-c', _KILLED_RUN, str(SCRIPT)] +
      argv(tmp_path / 'killed'), cwd=REPO_ROOT, env=env, capture_output=True,
      text=True, timeout=SUBPROCESS_TIMEOUT_S, check=False)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
  for name in ('killed', 'straight'):
    rc, _, err = _run_main(tool, argv(tmp_path / name), capsys)
    assert rc == 0, err
  weights = [model_lib.NoteRNN.load(
      str(tmp_path / name / training.CHECKPOINT_DIR)).get_weights()
             for name in ('killed', 'straight')]
  assert all(np.array_equal(a, b) for a, b in zip(*weights))
  counts = _tensorboard_counts(tmp_path / 'killed')
  assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
  assert counts == _tensorboard_counts(tmp_path / 'straight')
