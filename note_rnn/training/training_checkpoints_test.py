"""Tests of note_rnn.training_checkpoints: the run folder and its fallback."""

import json
import logging
import os
import shutil

import numpy as np
import pytest

from note_rnn.data import sequence_example_io as sio
from note_rnn.model import note_rnn_model as model_lib
from note_rnn.training import training
from note_rnn.training import training_checkpoints as ckpt

TINY = ('rnn_layer_sizes=[8],batch_size=4,skip_first_n_losses=2,'
        'max_sequence_length=32')


@pytest.fixture(scope='module')
def train_file(tmp_path_factory):
  path = tmp_path_factory.mktemp('data') / 'train.tfrecord'
  rng = np.random.default_rng(1)
  sio.write_sequence_examples(
      str(path), [rng.integers(0, 38, 30).tolist() for _ in range(10)])
  return str(path)


def _train(train_file, run_dir, steps):
  return training.train(train_file, str(run_dir), steps, hparams=TINY,
                        log_every_n=3, checkpoint_every_n=2,
                        command_line=['t'])


@pytest.fixture(scope='module')
def runs(train_file, tmp_path_factory):
  """A 6-step run, and a 4-step one (checkpoints at 2 and 4) to resume."""
  folder = tmp_path_factory.mktemp('runs')
  _train(train_file, folder / 'straight', 6)
  _train(train_file, folder / 'at4', 4)
  return folder


def _weights(run_dir):
  return model_lib.NoteRNN.load(
      str(run_dir / ckpt.CHECKPOINT_DIR)).get_weights()


def _copy(runs, tmp_path):
  run_dir = tmp_path / 'run'
  shutil.copytree(runs / 'at4', run_dir)
  return run_dir


def test_state_round_trip_and_version_1():
  state = ckpt.TrainingState(step=3, seed=2, optimizer='adam',
                             train_window=[{'loss': 0.1}],
                             checkpoint_wall_time=12.5)
  assert ckpt.TrainingState.from_json(state.to_json()) == state
  # A version-1 state (no window, no wall time) still resumes.
  old = json.loads(state.to_json())
  del old['train_window'], old['checkpoint_wall_time']
  old['format_version'] = 1
  again = ckpt.TrainingState.from_json(json.dumps(old))
  assert again.train_window == [] and again.checkpoint_wall_time is None
  with pytest.raises(ValueError, match='version 9'):
    ckpt.TrainingState.from_json(json.dumps({'format_version': 9}))


def test_checkpoints_keep_the_previous_one(runs):
  current = ckpt.read_checkpoint(str(runs / 'at4' / ckpt.CHECKPOINT_DIR))
  previous = ckpt.read_checkpoint(
      str(runs / 'at4' / ckpt.PREVIOUS_CHECKPOINT_DIR))
  assert (current.state.step, previous.state.step) == (4, 2)
  assert current.state.checkpoint_wall_time > (
      previous.state.checkpoint_wall_time)
  assert sorted(os.listdir(runs / 'at4')) == [
      'checkpoint', 'checkpoint.previous', 'metrics.json', 'tensorboard']


def test_stale_temporaries_are_removed_on_start(train_file, runs, tmp_path):
  run_dir = _copy(runs, tmp_path)
  stale = [run_dir / '.checkpoint.tmp-abc', run_dir / '.checkpoint.tmp-x-old',
           run_dir / '.best.tmp-y']
  for folder in stale:
    folder.mkdir()
    (folder / 'training_state.json').write_text('{')
  stale += [run_dir / '.tmp-abcmetrics.json',
            run_dir / 'tensorboard' / 'train' / '.tmp-events.out.tfevents.1']
  for path in stale[3:]:
    path.write_bytes(b'partial')
  metrics = _train(train_file, run_dir, 6)
  assert metrics['step'] == 6
  assert not [path for path in stale if os.path.lexists(path)]
  assert not [name for name in os.listdir(run_dir) if name.startswith('.')]


@pytest.mark.parametrize('damage', ['bad_json', 'truncated_weights',
                                    'truncated_optimizer', 'missing_state'])
def test_damaged_newest_checkpoint_falls_back_to_the_previous(
    damage, train_file, runs, tmp_path, caplog):
  run_dir = _copy(runs, tmp_path)
  newest = run_dir / ckpt.CHECKPOINT_DIR
  if damage == 'bad_json':
    damaged = newest / ckpt.TRAINING_STATE_FILE
    damaged.write_text('{"step": 4, "seed')
  elif damage == 'truncated_weights':
    damaged = newest / ckpt.MODEL_DIR
    data = next((damaged).glob('weights.data-*'))
    data.write_bytes(data.read_bytes()[:10])
  elif damage == 'truncated_optimizer':
    damaged = newest / ckpt.OPTIMIZER_STATE_FILE
    damaged.write_bytes(damaged.read_bytes()[:100])
  else:
    damaged = newest / ckpt.TRAINING_STATE_FILE
    damaged.unlink()
  with caplog.at_level(logging.WARNING):
    _train(train_file, run_dir, 3)
  warnings = [r.getMessage() for r in caplog.records
              if 'Checkpoint unusable' in r.getMessage()]
  assert len(warnings) == 1 and str(damaged) in warnings[0], warnings
  assert 'step 2' in warnings[0]
  # The damaged checkpoint was replaced; the one resumed from is kept.
  assert [ckpt.read_checkpoint(str(path)).state.step
          for path in ckpt.checkpoint_dirs(run_dir)] == [3, 2]
  # Resumed from step 2, the run still ends exactly as the straight one.
  assert _train(train_file, run_dir, 6)['step'] == 6
  assert all(np.array_equal(a, b) for a, b in
             zip(_weights(run_dir), _weights(runs / 'straight')))


def test_no_usable_checkpoint_is_one_error_naming_the_file(train_file, runs,
                                                          tmp_path):
  run_dir = _copy(runs, tmp_path)
  for name in (ckpt.CHECKPOINT_DIR, ckpt.PREVIOUS_CHECKPOINT_DIR):
    (run_dir / name / ckpt.TRAINING_STATE_FILE).write_text('{"step": 4, "s')
  before = sorted(p.name for p in run_dir.rglob('*'))
  with pytest.raises(training.TrainingError) as raised:
    _train(train_file, run_dir, 6)
  message = str(raised.value)
  assert len(message.splitlines()) == 1
  assert str(run_dir / ckpt.CHECKPOINT_DIR / ckpt.TRAINING_STATE_FILE) in (
      message)
  assert 'Unterminated string' in message
  assert sorted(p.name for p in run_dir.rglob('*')) == before


def test_a_failed_write_leaves_the_checkpoints_as_they_were(
    train_file, runs, tmp_path, monkeypatch):
  run_dir = _copy(runs, tmp_path)
  checkpoint = ckpt.read_checkpoint(str(run_dir / ckpt.CHECKPOINT_DIR))
  optimizer = training.make_optimizer(checkpoint.model.hparams)
  optimizer.build(list(checkpoint.model.trainable_variables))

  def full_disk(*unused_args):
    raise OSError(28, 'No space left on device')

  monkeypatch.setattr(ckpt.outputs, 'write_file_atomically', full_disk)
  with pytest.raises(OSError):
    ckpt.write_checkpoint(str(run_dir), checkpoint.model, optimizer,
                          checkpoint.state)
  assert ckpt.read_checkpoint(str(run_dir / ckpt.CHECKPOINT_DIR)).state.step \
      == 4
  assert not [name for name in os.listdir(run_dir) if name.startswith('.')]
