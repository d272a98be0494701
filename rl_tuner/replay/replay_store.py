"""The replay buffer on disk, written incrementally with the checkpoints.

A resumed run continues exactly only if it samples from the same replay
memory, but the whole buffer (up to `max_experience` transitions of a few
KiB each) is too big to write at every checkpoint. So each checkpoint writes
only the transitions added since the previous one, as a segment file

  <output_dir>/checkpoints/replay/replay-<first>-<end>.npz

holding the transitions numbered [first, end) in the order they were added
(`ReplayBuffer.add_count` numbers them). A checkpoint at add count N is
restored from the segments covering [max(0, N - capacity), N): every
transition goes back to the ring slot it had (number % capacity). Segments
no kept checkpoint needs are deleted; segments past the checkpoint resumed
from (written by the run that was killed) are deleted on restore.

A finished run has no use for its replay unless it is to train further, so
`drop` deletes it and leaves a record, `<checkpoints>/replay_dropped.json`;
a run with that record restores its networks but not its replay, and is
never trained further.
"""

import io
import json
import os
import re
import shutil
import tempfile
import zipfile

import numpy as np

from note_rnn.runtime import outputs
from rl_tuner.replay import replay_buffer

SUBDIR = 'replay'
# Beside SUBDIR once the replay is dropped: what was dropped.
DROPPED_NAME = 'replay_dropped.json'
_NAME_RE = re.compile(r'^replay-(?P<first>\d+)-(?P<end>\d+)\.npz$')


class ReplayStoreError(ValueError):
  """Segments that cannot rebuild the buffer; the message names the path."""


def _root(checkpoint_root):
  return os.path.join(checkpoint_root, SUBDIR)


def segments(checkpoint_root):
  """[(first, end, path)] of the stored segments, by first number."""
  root = _root(checkpoint_root)
  if not os.path.isdir(root):
    return []
  found = []
  for entry in os.listdir(root):
    match = _NAME_RE.match(entry)
    if match:
      found.append((int(match.group('first')), int(match.group('end')),
                    os.path.join(root, entry)))
  return sorted(found)


def save(buffer, checkpoint_root):
  """Writes the transitions added since the newest stored segment.

  Args:
    buffer: the ReplayBuffer.
    checkpoint_root: the run's checkpoints directory.

  Returns:
    The segment's path, or None when nothing was added.
  """
  count = buffer.add_count
  stored_end = max((end for _, end, _ in segments(checkpoint_root)
                    if end <= count), default=0)
  first = max(stored_end, count - buffer.capacity)
  if first >= count:
    return None
  arrays = buffer.export_range(first, count)
  data = io.BytesIO()
  np.savez(data, **arrays)
  path = os.path.join(_root(checkpoint_root),
                      f'replay-{first:012d}-{count:012d}.npz')
  outputs.write_file_atomically(path, data.getvalue())
  return path


def restore(buffer, checkpoint_root, add_count):
  """Refills `buffer` as it was at `add_count`; drops later segments.

  Raises:
    ReplayStoreError: a needed segment is missing or damaged, or the
      replay was dropped (`drop`).
  """
  record = dropped(checkpoint_root)
  if record is not None:
    raise ReplayStoreError(
        f'the replay of {os.path.dirname(checkpoint_root)} was dropped when '
        f'the run finished ({record.get("transitions", "?")} transitions); '
        'it can compose but not train further (bin/rl_tuner_train.py '
        '--keep_replay keeps it)')
  first_needed = max(0, add_count - buffer.capacity)
  covered = first_needed
  pieces = []
  for first, end, path in segments(checkpoint_root):
    if first >= add_count:
      os.remove(path)  # Written after this checkpoint by a killed run.
      continue
    if end <= first_needed:
      continue
    if first > covered or end > add_count:
      raise ReplayStoreError(
          f'replay segment {path} does not continue the replay at '
          f'transition {covered} (checkpoint at {add_count})')
    pieces.append((first, end, path))
    covered = end
  if covered != add_count:
    raise ReplayStoreError(
        f'replay segments in {_root(checkpoint_root)} end at transition '
        f'{covered}; the checkpoint needs them up to {add_count}')
  buffer.clear()
  for first, end, path in pieces:
    try:
      with np.load(path) as npz:
        arrays = {name: npz[name] for name in replay_buffer.FIELD_NAMES}
    except (OSError, ValueError, KeyError, EOFError,
            zipfile.BadZipFile) as e:  # A cut file is no zip archive.
      raise ReplayStoreError(f'cannot read replay segment {path}: {e}') from e
    start = max(first, first_needed)
    buffer.import_range(start, end,
                        {name: a[start - first:] for name, a in arrays.items()})
  buffer.add_count = add_count


def prune(checkpoint_root, oldest_count, capacity):
  """Deletes segments the checkpoint at `oldest_count` no longer needs."""
  first_needed = max(0, oldest_count - capacity)
  for _, end, path in segments(checkpoint_root):
    if end <= first_needed:
      os.remove(path)


def folder_bytes(path):
  """Bytes of the files under `path` (0 if it does not exist)."""
  total = 0
  for root, _, names in os.walk(path):
    for name in names:
      try:
        total += os.path.getsize(os.path.join(root, name))
      except OSError:
        pass
  return total


def dropped(checkpoint_root):
  """The record `drop` left (a dict), or None if the replay was not dropped.

  A record that does not read still means dropped (an empty dict).
  """
  path = os.path.join(checkpoint_root, DROPPED_NAME)
  if not os.path.isfile(path):
    return None
  try:
    with open(path, encoding='utf-8') as f:
      record = json.load(f)
  except (OSError, ValueError):
    return {}
  return record if isinstance(record, dict) else {}


def drop(checkpoint_root):
  """Deletes the stored replay of a finished run; records that it did.

  Safe whenever it is killed: the record is written first (atomically), so
  a run holding it is never trained on an empty or partial replay; the
  folder is then renamed to a `.tmp-` name in `checkpoint_root` (what a
  resumed run removes as a stale temporary) and deleted.

  Returns:
    (transitions, bytes) dropped, or None when there was no replay folder.
  """
  root = _root(checkpoint_root)
  if not os.path.isdir(root):
    return None
  transitions = sum(end - first for first, end, _ in
                    segments(checkpoint_root))
  size = folder_bytes(root)
  outputs.write_file_atomically(
      os.path.join(checkpoint_root, DROPPED_NAME),
      (json.dumps({'format': 'rl_tuner dropped replay',
                   'transitions': transitions, 'bytes': size,
                   'keep_it_with': '--keep_replay'}, indent=1) +
       '\n').encode('utf-8'))
  trash = tempfile.mkdtemp(prefix=outputs.TMP_PREFIX + 'dropped-',
                           dir=checkpoint_root)
  os.rename(root, os.path.join(trash, SUBDIR))
  shutil.rmtree(trash, ignore_errors=True)
  return transitions, size
