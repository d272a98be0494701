"""A killed RL Tuner run, resumed, ends exactly as an uninterrupted one.

Runs go through `train_run.run` in this process with a tiny Note RNN; a
"kill" is an exception raised at a chosen point, after which nothing of the
run executes (the resumed run must not rely on cleanup). bin/
rl_tuner_train_test.py kills a real process with SIGKILL.
"""

import json
import logging
import os
import shutil

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
import tensorflow as tf

from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from note_rnn.runtime import event_log
from rl_tuner.experiments import train_run
from rl_tuner.run import checkpointer
from rl_tuner.run import runner as runner_lib
from rl_tuner.run import settings as settings_lib

# 2 melodies of 16 notes: 32 environment steps a melody; blocks of 40, so
# checkpoints fall at 64, 96, 128, 160 (the next melody start) and 200.
SETTINGS = dict(
    training_steps=200, output_every_nth=40, num_notes_in_melody=16,
    num_parallel_melodies=2, exploration_steps=100, num_eval_compositions=4,
    num_stat_compositions=10, minibatch_size=8, max_experience=50, seed=3)
BEATS = SETTINGS['training_steps'] // SETTINGS['num_parallel_melodies']
TIMING_KEYS = ('train_seconds_this_run', 'wall_seconds_this_run')


class Kill(BaseException):
  """Stands for SIGKILL: nothing catches it."""


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  return tmp_path_factory.mktemp('resume')


@pytest.fixture(scope='module')
def note_rnn(workdir):
  path = str(workdir / 'tiny_note_rnn')
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
      seed=1).save(path)
  return path


def _settings(output_dir, note_rnn, **overrides):
  return settings_lib.TrainSettings(
      output_dir=str(output_dir), note_rnn_checkpoint_file=note_rnn,
      **{**SETTINGS, **overrides})


def _points(run_dir):
  """[(tag, step, value)] of every TensorBoard point the run logged: a
  scalar's value, the encoded clips of an audio summary."""
  points = []
  for path in event_log.event_files(os.path.join(run_dir, 'tensorboard')):
    for record in tf.data.TFRecordDataset(path):
      event = event_pb2.Event.FromString(record.numpy())
      for value in event.summary.value:
        array = tf.make_ndarray(value.tensor)
        points.append((value.tag, event.step, float(array) if array.ndim == 0
                       else b''.join(array.ravel().tolist())))
  return points


def _outputs(run_dir):
  """What a run leaves that must not depend on interruptions."""
  run_dir = str(run_dir)
  with open(os.path.join(run_dir, 'summary.json')) as f:
    summary = json.load(f)
  for key in TIMING_KEYS + ('settings',):
    summary.pop(key)
  with np.load(os.path.join(run_dir, 'q.npz')) as npz:
    histories = {name: npz[name].tolist() for name in npz.files}
  with open(os.path.join(run_dir, 'q.mid'), 'rb') as f:
    midi = f.read()
  tuned = note_rnn_model.NoteRNN.load(os.path.join(run_dir, 'tuned_note_rnn'))
  with open(os.path.join(run_dir, 'table1.md')) as f:
    table = f.read()
  return dict(summary=summary, histories=histories, midi=midi, table=table,
              weights=[w.tolist() for w in tuned.get_weights()],
              points=sorted(_points(run_dir)),
              files=sorted(os.listdir(run_dir)))


@pytest.fixture(scope='module')
def uninterrupted(workdir, note_rnn):
  train_run.run(_settings(workdir / 'uninterrupted', note_rnn))
  return _outputs(workdir / 'uninterrupted')


def _kill_at_beat(monkeypatch, beat):
  """The next run dies as it starts its `beat`-th beat (1-based)."""
  original = runner_lib.Runner.beat
  calls = []

  def dying(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == beat:
      raise Kill()
    return original(self, *args, **kwargs)
  monkeypatch.setattr(runner_lib.Runner, 'beat', dying)


def _assert_same(resumed, uninterrupted):
  tags_steps = [(tag, step) for tag, step, _ in resumed['points']]
  assert len(tags_steps) == len(set(tags_steps)), 'duplicated TB points'
  for key in uninterrupted:
    assert resumed[key] == uninterrupted[key], key


@pytest.mark.parametrize('beat', [
    7,    # before the first checkpoint (at step 64, beat 32)
    45,   # after the block at 80 ended, before its checkpoint at 96
    63,   # right after the checkpoint at 96 and the start of new melodies
])
def test_a_run_killed_during_training_resumes_exactly(
    workdir, note_rnn, uninterrupted, monkeypatch, beat):
  run_dir = workdir / f'killed_at_{beat}'
  _kill_at_beat(monkeypatch, beat)
  with pytest.raises(Kill):
    train_run.run(_settings(run_dir, note_rnn))
  monkeypatch.undo()
  train_run.run(_settings(run_dir, note_rnn, resume=True))
  _assert_same(_outputs(run_dir), uninterrupted)


def test_a_run_killed_writing_its_outputs_resumes_exactly(
    workdir, note_rnn, uninterrupted, monkeypatch):
  run_dir = workdir / 'killed_in_outputs'

  def dying(*args, **kwargs):
    raise Kill()
  monkeypatch.setattr(train_run, 'write_statistics', dying)
  with pytest.raises(Kill):
    train_run.run(_settings(run_dir, note_rnn))
  assert os.path.isfile(run_dir / 'q.mid')
  monkeypatch.undo()
  train_run.run(_settings(run_dir, note_rnn, resume=True))
  resumed = _outputs(run_dir)
  assert 'q1.mid' not in resumed['files']
  _assert_same(resumed, uninterrupted)


def _damage_data(checkpoint):
  data = [name for name in os.listdir(checkpoint) if '.data-' in name][0]
  path = os.path.join(checkpoint, data)
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) // 2)


def _damage_state(checkpoint):
  path = os.path.join(checkpoint, checkpointer.STATE_FILE)
  with open(path) as f:
    text = f.read()
  with open(path, 'w') as f:
    f.write(text[:len(text) // 2])


@pytest.mark.parametrize('damage', [_damage_data, _damage_state])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(
    workdir, note_rnn, uninterrupted, monkeypatch, caplog, damage):
  run_dir = workdir / f'damaged_{damage.__name__}'
  _kill_at_beat(monkeypatch, 75)  # After the checkpoint at 128.
  with pytest.raises(Kill):
    train_run.run(_settings(run_dir, note_rnn))
  monkeypatch.undo()
  root = checkpointer.checkpoint_root(str(run_dir))
  newest = checkpointer.list_checkpoints(root)[-1]
  assert os.path.basename(newest) == 'q-128'
  damage(newest)
  # Temporaries a killed write left behind.
  os.makedirs(os.path.join(root, '.tmp-abc'))
  with open(os.path.join(str(run_dir), '.tmp-xyzq.mid'), 'w') as f:
    f.write('half')
  with caplog.at_level(logging.WARNING):
    train_run.run(_settings(run_dir, note_rnn, resume=True))
  assert any('q-128' in r.getMessage() and 'damaged' in r.getMessage()
             for r in caplog.records)
  resumed = _outputs(run_dir)
  assert not [n for n in resumed['files'] if n.startswith('.tmp-')]
  assert not [n for n in os.listdir(root) if n.startswith('.tmp-')]
  _assert_same(resumed, uninterrupted)


def test_no_usable_checkpoint_is_one_error_naming_the_file(
    workdir, note_rnn, monkeypatch):
  run_dir = workdir / 'all_damaged'
  _kill_at_beat(monkeypatch, 40)  # After the checkpoint at 64 only.
  with pytest.raises(Kill):
    train_run.run(_settings(run_dir, note_rnn))
  monkeypatch.undo()
  (only,) = checkpointer.list_checkpoints(
      checkpointer.checkpoint_root(str(run_dir)))
  _damage_state(only)
  with pytest.raises(settings_lib.UsageError,
                     match=r'cannot resume: cannot read .*q-64.*'
                           r'training_state\.json'):
    train_run.run(_settings(run_dir, note_rnn, resume=True))


def test_extending_a_finished_run_equals_one_longer_run(
    workdir, note_rnn, uninterrupted):
  run_dir = workdir / 'extended'
  train_run.run(_settings(run_dir, note_rnn, training_steps=128))
  shutil.rmtree(run_dir / 'tuned_note_rnn')
  train_run.run(_settings(run_dir, note_rnn, resume=True))
  resumed = _outputs(run_dir)
  _assert_same(resumed, uninterrupted)
