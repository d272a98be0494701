"""bin/rl_tuner_train.py given bad inputs or a full disk: one line, exit 2.

Each case runs the script's main in this process (TensorFlow is imported
once) and checks the single `rl_tuner_train: error:` line names the path,
that nothing else reached stderr, and that the output directory is absent
or exactly as it was. bin/rl_tuner_train_test.py kills a real process.
"""

import errno
import os
import pathlib

from absl import flags
from absl.testing import flagsaver
import numpy as np
import pytest
import script_testing

from note_rnn.data import sequence_example_io
from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from note_rnn.runtime import outputs
from rl_tuner.experiments import train_run
from rl_tuner.run import checkpointer
from rl_tuner.run import settings as settings_lib
from rl_tuner.testing import reward_files

SCRIPT = pathlib.Path(__file__).resolve().parent / 'rl_tuner_train.py'
FLAGS = flags.FLAGS
TINY = dict(training_steps=32, output_every_nth=32, num_eval_compositions=2,
            num_stat_compositions=4, minibatch_size=8, max_experience=100,
            seed=0)


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, 'rl_tuner_train') as module:
    yield module


@pytest.fixture(scope='module')
def files(tmp_path_factory):
  """Good and bad inputs, by name."""
  root = tmp_path_factory.mktemp('inputs')
  rng = np.random.default_rng(0)
  paths = {name: root / name for name in (
      'random.ckpt', 'garbage.ckpt', 'empty_folder', 'random.mid',
      'random.tfrecord', 'a_file', 'tiny_note_rnn', 'one_checkpoint')}
  paths['random.ckpt'].write_bytes(rng.bytes(4096))
  paths['garbage.ckpt'].write_text('model_checkpoint_path: "nowhere"\n')
  paths['empty_folder'].mkdir()
  paths['random.mid'].write_bytes(b'MThd' + rng.bytes(200))
  paths['random.tfrecord'].write_bytes(rng.bytes(2048))
  paths['a_file'].write_text('not a folder')
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
      seed=1).save(str(paths['tiny_note_rnn']))
  # A run killed after its only checkpoint, whose data file is then cut.
  train_run.run(settings_lib.TrainSettings(
      output_dir=str(paths['one_checkpoint']),
      note_rnn_checkpoint_file=str(paths['tiny_note_rnn']),
      **dict(TINY, num_stat_compositions=0)))
  (checkpoint,) = checkpointer.list_checkpoints(
      checkpointer.checkpoint_root(str(paths['one_checkpoint'])))
  data = [n for n in os.listdir(checkpoint) if '.data-' in n][0]
  with open(os.path.join(checkpoint, data), 'r+b') as f:
    f.truncate(100)
  return {name: str(path) for name, path in paths.items()}


def _listing(path):
  if not os.path.exists(path):
    return None
  return sorted(os.path.relpath(os.path.join(root, name), path)
                for root, dirs, names in os.walk(path)
                for name in dirs + names)


def _run(tool, capsys, flags_, output_dir):
  """Runs main; returns (exit code, stderr lines, listing before, after)."""
  before = _listing(output_dir)
  argv = ['rl_tuner_train.py'] + [f'--{k}={v}' for k, v in flags_.items()]
  with flagsaver.flagsaver():
    code = tool.main(FLAGS(argv))
  err = capsys.readouterr().err.strip().splitlines()
  return code, err, before, _listing(output_dir)


def _assert_one_line(tool, capsys, flags_, output_dir, *expected):
  code, err, before, after = _run(tool, capsys, flags_, output_dir)
  assert code == 2, err
  assert len(err) == 1, err
  assert err[0].startswith('rl_tuner_train: error: '), err
  for text in expected:
    assert text in err[0], err
  assert after == before, 'the output directory changed'


def _flags(files, output_dir, **overrides):
  values = dict(TINY, output_dir=output_dir,
                note_rnn_checkpoint_file=files['tiny_note_rnn'])
  values.update(overrides)
  return values


@pytest.mark.parametrize('name,flag_values,expected', [
    ('random_checkpoint', dict(note_rnn_checkpoint_file='random.ckpt'),
     ['random.ckpt', 'not an sstable']),
    ('garbage_checkpoint', dict(note_rnn_checkpoint_file='garbage.ckpt'),
     ['garbage.ckpt']),
    ('empty_folder', dict(note_rnn_checkpoint_file='empty_folder'),
     ['empty_folder', 'no Note RNN checkpoint found']),
    ('wrong_shape', dict(note_rnn_hparams='rnn_layer_sizes=[16]'),
     ['tiny_note_rnn', 'has shape [38, 32]', 'rnn_layer_sizes=[16]']),
    ('corrupt_primer', dict(priming_mode='single_midi',
                            midi_primer='random.mid'),
     ['--midi_primer', 'random.mid']),
    ('random_training_data', dict(priming_mode='random_midi',
                                  training_data_path='random.tfrecord'),
     ['--training_data_path', 'random.tfrecord',
      'not a readable TFRecord file']),
])
def test_a_bad_input_is_one_line_and_no_output(tool, capsys, files, tmp_path,
                                               name, flag_values, expected):
  output_dir = str(tmp_path / name)
  flag_values = {k: files.get(v, v) for k, v in flag_values.items()}
  _assert_one_line(tool, capsys, _flags(files, output_dir, **flag_values),
                   output_dir, *expected)
  assert not os.path.exists(output_dir)


def test_an_output_dir_that_is_a_file_is_one_line(tool, capsys, files):
  for output_dir in (files['a_file'], os.path.join(files['a_file'], 'run')):
    _assert_one_line(tool, capsys, _flags(files, output_dir), files['a_file'],
                     f'--output_dir={output_dir}', 'is a file')


def test_a_read_only_output_dir_is_one_line(tool, capsys, files, tmp_path):
  with script_testing.read_only_dir(tmp_path) as read_only:
    for output_dir in (read_only, os.path.join(read_only, 'run')):
      _assert_one_line(tool, capsys, _flags(files, output_dir), read_only,
                       f'--output_dir={output_dir}', 'cannot ')


def test_resume_with_the_only_checkpoint_cut_is_one_line(tool, capsys, files):
  run_dir = files['one_checkpoint']
  _assert_one_line(
      tool, capsys, dict(_flags(files, run_dir), resume=True), run_dir,
      'cannot resume: cannot read checkpoint', 'q-32')


def test_a_full_disk_is_one_line_that_says_resume(tool, capsys, files,
                                                  tmp_path, monkeypatch):
  real_save = checkpointer.save

  def full(*args, **kwargs):
    del args, kwargs
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
  monkeypatch.setattr(checkpointer, 'save', full)
  output_dir = str(tmp_path / 'full')
  code, err, _, after = _run(tool, capsys, _flags(files, output_dir),
                             output_dir)
  assert code == 2
  assert err == [('rl_tuner_train: error: ' + outputs.disk_full_message(
      'the run', resumable=True))], err
  assert 'checkpoints' in after  # Nothing half-written is left in it.
  assert not [n for n in after if os.path.basename(n).startswith('.tmp-')]
  monkeypatch.setattr(checkpointer, 'save', real_save)


def test_sequence_example_errors_name_the_file(files):
  with pytest.raises(sequence_example_io.SequenceExampleFileError,
                     match='random.tfrecord: not a readable TFRecord'):
    sequence_example_io.read_class_sequences(files['random.tfrecord'])


FLAKY_REWARD = reward_files.FLAKY_REWARD


def test_a_reward_failing_late_is_one_line_and_the_run_resumes(
    tool, capsys, files, tmp_path, monkeypatch):
  # A reward file not named .py. Melodies of 8 notes, evaluations of 2
  # melodies every 16 steps: call 1 is the check before the run, 2-9 the
  # evaluation at step 0, 10-25 the first 16 steps, 26-33 the evaluation
  # at step 16; the checkpoint at step 16 follows; call 40 is at step 23.
  reward = tmp_path / 'flaky.txt'
  reward.write_text(FLAKY_REWARD)
  output_dir = str(tmp_path / 'flaky')
  flag_values = _flags(files, output_dir, reward=f'{reward}:flaky',
                       training_steps=48, output_every_nth=16,
                       num_notes_in_melody=8)
  monkeypatch.setenv('FLAKY_FAIL_AT', '40')
  code, err, _, after = _run(tool, capsys, flag_values, output_dir)
  assert code == 2
  assert err == [
      "rl_tuner_train: error: reward 'flaky' raised RuntimeError: broken at "
      'call 40 (training call 23, env step 23); the run stopped; fix the '
      'reward, then --resume continues from its checkpoint at env step 16'
  ], err
  assert [n for n in after if not n.startswith('tensorboard')] == [
      'checkpoints', 'checkpoints/q-16',
      'checkpoints/q-16/ckpt.data-00000-of-00001',
      'checkpoints/q-16/ckpt.index', 'checkpoints/q-16/training_state.json',
      'checkpoints/replay',
      'checkpoints/replay/replay-000000000000-000000000016.npz',
      'q.ckpt-16.pointer'], after
  monkeypatch.delenv('FLAKY_FAIL_AT')  # The reward is fixed.
  code, err, _, after = _run(tool, capsys, dict(flag_values, resume=True),
                             output_dir)
  assert code is None and not err, err  # main returns None on success.
  assert train_run.load_summary(output_dir)['env_steps'] == 48


@pytest.mark.parametrize('code,expected', [
    ('import sys\nsys.exit(0)\n', 'exited with status 0 while loading'),
    ('raise ValueError("no chords")\n',
     'raised ValueError while loading: no chords'),
])
def test_a_reward_file_that_exits_or_raises_on_import_is_one_line(
    tool, capsys, files, tmp_path, code, expected):
  reward = tmp_path / 'rewards.py'
  reward.write_text(code)
  output_dir = str(tmp_path / 'run')
  _assert_one_line(tool, capsys,
                   _flags(files, output_dir, reward=f'{reward}:f'),
                   output_dir, f'reward file {reward} {expected}')
  assert not os.path.exists(output_dir)
