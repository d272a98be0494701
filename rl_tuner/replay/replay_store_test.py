"""Tests of the replay buffer's incremental segments on disk."""

import os

import numpy as np
import pytest

from rl_tuner.replay import replay_buffer
from rl_tuner.replay import replay_store

CAPACITY = 10
STATE = 3


def _add(buffer, first, count):
  """Adds transitions numbered first..first+count-1; values encode numbers."""
  numbers = np.arange(first, first + count)
  buffer.add_batch(
      observation=numbers % 38, state=np.repeat(numbers[:, None], STATE, 1),
      action=numbers % 7, reward=numbers * 0.5,
      new_observation=(numbers + 1) % 38,
      new_state=np.repeat(numbers[:, None] + 0.25, STATE, 1),
      new_reward_state=np.repeat(numbers[:, None] - 0.25, STATE, 1))


def _buffer():
  return replay_buffer.ReplayBuffer(CAPACITY, STATE, STATE)


def _same(a, b):
  assert a.add_count == b.add_count and len(a) == len(b)
  for name in replay_buffer.FIELD_NAMES:
    np.testing.assert_array_equal(a.gather(np.arange(len(a)))[name],
                                  b.gather(np.arange(len(b)))[name])


def test_segments_rebuild_the_ring_at_every_checkpoint(tmp_path):
  live = _buffer()
  snapshots = {}
  added = 0
  for count in (4, 3, 9, 2, 15, 1):  # Wraps the ring several times.
    _add(live, added, count)
    added += count
    replay_store.save(live, str(tmp_path))
    copy = _buffer()
    _add(copy, 0, added)
    snapshots[added] = copy
  # Each save wrote only what was new (at most a capacity).
  spans = [(first, end) for first, end, _ in replay_store.segments(
      str(tmp_path))]
  assert spans == [(0, 4), (4, 7), (7, 16), (16, 18), (23, 33), (33, 34)]
  # The latest and an older checkpoint are both rebuilt slot for slot.
  for count in (34, 33):
    restored = _buffer()
    _add(restored, 0, 5)  # Whatever it held is replaced.
    replay_store.restore(restored, str(tmp_path), count)
    _same(restored, snapshots[count])


def test_restore_drops_later_segments_and_prune_keeps_what_is_needed(
    tmp_path):
  live = _buffer()
  _add(live, 0, 6)
  replay_store.save(live, str(tmp_path))
  _add(live, 6, 6)
  replay_store.save(live, str(tmp_path))  # A killed run's later segment.
  restored = _buffer()
  replay_store.restore(restored, str(tmp_path), 6)
  assert [(f, e) for f, e, _ in replay_store.segments(str(tmp_path))] == [
      (0, 6)]
  _add(restored, 6, 14)
  replay_store.save(restored, str(tmp_path))
  # The oldest kept checkpoint is at 20: it needs [10, 20) only.
  replay_store.prune(str(tmp_path), 20, CAPACITY)
  assert [(f, e) for f, e, _ in replay_store.segments(str(tmp_path))] == [
      (10, 20)]
  again = _buffer()
  replay_store.restore(again, str(tmp_path), 20)
  _same(again, restored)


def test_a_missing_or_damaged_segment_is_an_error_naming_it(tmp_path):
  live = _buffer()
  for start in (0, 4, 8):
    _add(live, start, 4)
    replay_store.save(live, str(tmp_path))
  paths = [p for _, _, p in replay_store.segments(str(tmp_path))]
  with open(paths[1], 'wb') as f:
    f.write(b'not an npz')
  with pytest.raises(replay_store.ReplayStoreError,
                     match='cannot read replay segment .*replay-0+4-0+8'):
    replay_store.restore(_buffer(), str(tmp_path), 12)
  os.remove(paths[1])
  with pytest.raises(replay_store.ReplayStoreError,
                     match='does not continue the replay at transition 4'):
    replay_store.restore(_buffer(), str(tmp_path), 12)


@pytest.mark.parametrize('keep', [0.5, 0.9, 0.1])
def test_a_segment_cut_short_is_an_error_naming_it(tmp_path, keep):
  # A real segment cut short (a full disk, a copy stopped half-way) is no
  # zip archive any more; that is damage like any other, not a crash.
  live = _buffer()
  for start in (0, 4):
    _add(live, start, 4)
    replay_store.save(live, str(tmp_path))
  path = replay_store.segments(str(tmp_path))[-1][2]
  with open(path, 'r+b') as f:
    f.truncate(int(os.path.getsize(path) * keep))
  with pytest.raises(replay_store.ReplayStoreError,
                     match='cannot read replay segment .*replay-0+4-0+8'):
    replay_store.restore(_buffer(), str(tmp_path), 8)


def test_a_dropped_replay_leaves_a_record_and_is_never_restored(tmp_path):
  live = _buffer()
  _add(live, 0, 6)
  replay_store.save(live, str(tmp_path))
  _add(live, 6, 3)
  replay_store.save(live, str(tmp_path))
  assert replay_store.dropped(str(tmp_path)) is None
  size = replay_store.folder_bytes(str(tmp_path / replay_store.SUBDIR))
  assert replay_store.drop(str(tmp_path)) == (9, size)
  assert sorted(os.listdir(tmp_path)) == [replay_store.DROPPED_NAME]
  assert replay_store.dropped(str(tmp_path))['transitions'] == 9
  # Not an empty buffer silently: an error that says why.
  with pytest.raises(replay_store.ReplayStoreError,
                     match='was dropped when the run finished.*'
                     '--keep_replay'):
    replay_store.restore(_buffer(), str(tmp_path), 9)
  assert replay_store.drop(str(tmp_path)) is None  # Nothing left to drop.
