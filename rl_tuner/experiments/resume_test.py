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
from rl_tuner.rewards import reward_api
from rl_tuner.run import checkpointer
from rl_tuner.run import runner as runner_lib
from rl_tuner.run import settings as settings_lib
from rl_tuner.testing import reward_files

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
  # Kept to be extended; resumed without it (it may change on resume).
  train_run.run(_settings(run_dir, note_rnn, training_steps=128,
                          keep_replay=True))
  shutil.rmtree(run_dir / 'tuned_note_rnn')
  train_run.run(_settings(run_dir, note_rnn, resume=True))
  resumed = _outputs(run_dir)
  _assert_same(resumed, uninterrupted)


def _snapshot(run_dir):
  """Every file of a run folder with its size and modification time."""
  found = {}
  for root, _, names in os.walk(run_dir):
    for name in names:
      path = os.path.join(root, name)
      info = os.stat(path)
      found[os.path.relpath(path, run_dir)] = (info.st_size,
                                               info.st_mtime_ns)
  return found


@pytest.fixture(scope='module')
def killed_after_a_checkpoint(workdir, note_rnn):
  """A run killed after its checkpoint at step 64 (settings as SETTINGS)."""
  run_dir = workdir / 'killed_for_settings'
  with pytest.MonkeyPatch.context() as monkeypatch:
    _kill_at_beat(monkeypatch, 40)
    with pytest.raises(Kill):
      train_run.run(_settings(run_dir, note_rnn))
  return run_dir


@pytest.mark.parametrize('changes,expected', [
    (dict(reward_weights='key=5', reward_scaler=0.5),
     ['reward_scaler: 0.1 -> 0.5', 'reward_weights.key: 1.0 -> 5.0']),
    (dict(algorithm='psi'), ['algorithm: "q" -> "psi"']),
    (dict(learning_rate=0.5, key='G', num_notes_in_melody=8),
     ['dqn_hparams.learning_rate: 0.001 -> 0.5', 'key: "C" -> "G"',
      'num_notes_in_melody: 16 -> 8']),
    (dict(seed=4, exploration_steps=50, output_every_nth=20),
     ['seed: 3 -> 4', 'exploration_steps: 100 -> 50',
      'output_every_nth: 40 -> 20']),
    (dict(reward_mode='key_and_tonic'),
     ['reward_mode: "music_theory_all" -> "key_and_tonic"',
      'reward_terms: ["key", "tonic", "repeating"']),
])
def test_resuming_with_other_settings_is_refused_listing_them_all(
    killed_after_a_checkpoint, note_rnn, changes, expected):
  run_dir = killed_after_a_checkpoint
  before = _snapshot(run_dir)
  with pytest.raises(settings_lib.UsageError) as error:
    train_run.run(_settings(run_dir, note_rnn, resume=True, **changes))
  message = str(error.value)
  assert '\n' not in message
  assert message.startswith('cannot resume from ') and 'q-64' in message
  for text in expected:
    assert text in message, message
  assert 'num_stat_compositions' in message  # What may change instead.
  assert _snapshot(run_dir) == before, 'the refused resume wrote something'


def test_resuming_from_another_note_rnn_is_refused(
    workdir, killed_after_a_checkpoint, note_rnn):
  other = str(workdir / 'other_note_rnn')
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
      seed=2).save(other)
  with pytest.raises(settings_lib.UsageError,
                     match=r'note_rnn: .*tiny_note_rnn \(sha256 \w+\) -> '
                     r'.*other_note_rnn \(sha256 \w+\)'):
    train_run.run(_settings(killed_after_a_checkpoint, other, resume=True))
  # The same Note RNN copied elsewhere is the same Note RNN.
  moved = str(workdir / 'moved_note_rnn')
  shutil.copytree(note_rnn, moved)
  rlt = train_run.make_tuner(_settings(killed_after_a_checkpoint, moved))
  assert rlt.note_rnn_identity['sha256'] == train_run.make_tuner(
      _settings(killed_after_a_checkpoint, note_rnn)).note_rnn_identity[
          'sha256']


def test_resuming_with_output_only_changes_is_accepted(
    workdir, note_rnn, uninterrupted):
  run_dir = workdir / 'output_only_changes'
  with pytest.MonkeyPatch.context() as monkeypatch:
    _kill_at_beat(monkeypatch, 45)
    with pytest.raises(Kill):
      train_run.run(_settings(run_dir, note_rnn))
  train_run.run(_settings(run_dir, note_rnn, resume=True, audio=False,
                          qpm=90.0, keep_replay=True, xla_updates=False))
  resumed = _outputs(run_dir)
  for key in ('histories', 'weights', 'table'):
    assert resumed[key] == uninterrupted[key], key


def test_a_checkpoint_without_recorded_settings_resumes_on_what_it_has(
    workdir, note_rnn, uninterrupted):
  """Checkpoints written before the settings were recorded: compared on
  their algorithm, reward mode and terms, melodies side by side."""
  run_dir = workdir / 'old_format'
  with pytest.MonkeyPatch.context() as monkeypatch:
    _kill_at_beat(monkeypatch, 45)
    with pytest.raises(Kill):
      train_run.run(_settings(run_dir, note_rnn))
  for path in checkpointer.list_checkpoints(
      checkpointer.checkpoint_root(str(run_dir))):
    state_path = os.path.join(path, checkpointer.STATE_FILE)
    with open(state_path) as f:
      state = json.load(f)
    del state['settings']
    with open(state_path, 'w') as f:
      json.dump(state, f)
  with pytest.raises(settings_lib.UsageError,
                     match='num_parallel_melodies: 2 -> 4'):
    train_run.run(_settings(run_dir, note_rnn, resume=True,
                            num_parallel_melodies=4, seed=9))
  train_run.run(_settings(run_dir, note_rnn, resume=True))
  _assert_same(_outputs(run_dir), uninterrupted)


FLAKY_REWARD = reward_files.FLAKY_REWARD


def _flaky_reward(workdir, name):
  """A reward file of its own (its own call counter): 'path:flaky'."""
  path = workdir / f'{name}.py'
  path.write_text(FLAKY_REWARD)
  return f'{path}:flaky'


@pytest.fixture(scope='module')
def uninterrupted_with_reward(workdir, note_rnn):
  run_dir = workdir / 'uninterrupted_flaky'
  train_run.run(_settings(run_dir, note_rnn, reward=(
      _flaky_reward(workdir, 'never_fails'),)))
  return _outputs(run_dir)


@pytest.mark.parametrize('fail_at,where,checkpoints', [
    # Call 1 is the check before the run, 2-17 the evaluation at step 0.
    (5, 'evaluation call 4, in the evaluation at env step 0', []),
    # Training beats and evaluations (every 40 steps) until the checkpoint
    # at 64; this call is the first of the evaluation at step 80.
    (74, 'evaluation call 33, in the evaluation at env step 80', ['q-64']),
    (70, 'training call 37, env step 74', ['q-64']),
])
def test_a_reward_failing_late_stops_resumably_and_resume_is_exact(
    workdir, note_rnn, uninterrupted_with_reward, monkeypatch, fail_at,
    where, checkpoints):
  run_dir = workdir / f'flaky_{fail_at}'
  spec = _flaky_reward(workdir, f'fails_at_{fail_at}')
  monkeypatch.setenv('FLAKY_FAIL_AT', str(fail_at))
  with pytest.raises(reward_api.RewardError) as error:
    train_run.run(_settings(run_dir, note_rnn, reward=(spec,)))
  message = str(error.value)
  assert '\n' not in message
  assert message.startswith(
      f"reward 'flaky' raised RuntimeError: broken at call {fail_at} "
      f'({where}); the run stopped'), message
  root = checkpointer.checkpoint_root(str(run_dir))
  assert [os.path.basename(p) for p in checkpointer.list_checkpoints(
      root)] == checkpoints
  files = _snapshot(run_dir)
  assert not [p for p in files if os.path.basename(p).startswith('.tmp')]
  assert not [p for p in files if not p.startswith(
      ('checkpoints', 'tensorboard', 'q.ckpt-'))], files
  monkeypatch.delenv('FLAKY_FAIL_AT')  # The reward is fixed.
  train_run.run(_settings(run_dir, note_rnn, reward=(spec,), resume=True))
  _assert_same(_outputs(run_dir), uninterrupted_with_reward)


def test_a_damaged_replay_segment_falls_back_to_the_checkpoint_before(
    workdir, note_rnn, uninterrupted, monkeypatch, caplog):
  # The newest checkpoint's networks read, its replay does not: the run
  # resumes from the checkpoint before (a ReplayStoreError is damage too).
  # pylint: disable=g-import-not-at-top
  from rl_tuner.replay import replay_store

  # pylint: enable=g-import-not-at-top
  run_dir = workdir / 'damaged_replay'
  _kill_at_beat(monkeypatch, 75)  # After the checkpoint at 128.
  with pytest.raises(Kill):
    train_run.run(_settings(run_dir, note_rnn))
  monkeypatch.undo()
  root = checkpointer.checkpoint_root(str(run_dir))
  assert [os.path.basename(p) for p in checkpointer.list_checkpoints(
      root)][-2:] == ['q-96', 'q-128']
  *_, (_, _, newest_segment) = replay_store.segments(root)
  with open(newest_segment, 'r+b') as f:
    f.truncate(os.path.getsize(newest_segment) // 2)
  with caplog.at_level(logging.WARNING):
    train_run.run(_settings(run_dir, note_rnn, resume=True))
  assert any('q-128' in r.getMessage() and 'damaged' in r.getMessage() and
             'replay segment' in r.getMessage() for r in caplog.records)
  _assert_same(_outputs(run_dir), uninterrupted)
