"""TensorBoard event files rolled back to a checkpoint on resume.

A run killed after its last checkpoint has already logged points past it;
the resumed run logs them again. `roll_back(logdir, wall_time)` removes from
a run's event files every event written after the checkpoint (by wall time,
which every event carries, so steps of any unit are handled alike), and a
record cut short by the kill. Each changed file is rewritten atomically, so
TensorBoard then shows each point once.
"""

import logging
import os

from note_rnn.runtime import outputs

# TensorFlow (and TensorBoard's protos) are imported by the functions that
# use them: the tools' --help, which import this module, need not load them.

logger = logging.getLogger(__name__)

EVENT_FILE_MARK = 'tfevents'


def event_files(logdir):
  """Paths of the TensorBoard event files under `logdir`, sorted."""
  found = []
  for root, _, files in os.walk(logdir):
    found.extend(os.path.join(root, name) for name in files
                 if EVENT_FILE_MARK in name
                 and not name.startswith(outputs.TMP_PREFIX))
  return sorted(found)


def _read_records(path):
  """(serialized records, whether the file ended in a damaged record)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  records = []
  try:
    for record in tf.data.TFRecordDataset(path):
      records.append(record.numpy())
  except tf.errors.DataLossError:
    return records, True
  return records, False


def _write_records(path, records):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  directory = os.path.dirname(path)
  tmp = os.path.join(directory, outputs.TMP_PREFIX + os.path.basename(path))
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for record in records:
        writer.write(record)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def roll_back(logdir, wall_time):
  """Drops events written after `wall_time` from every event file in logdir.

  Args:
    logdir: a TensorBoard log directory (searched recursively).
    wall_time: seconds since the epoch (time.time()) at which the checkpoint
      being resumed was saved; None does nothing.

  Returns:
    Number of events removed.
  """
  if wall_time is None or not os.path.isdir(logdir):
    return 0
  from tensorboard.compat.proto import event_pb2  # pylint: disable=g-import-not-at-top
  removed = 0
  for path in event_files(logdir):
    records, damaged = _read_records(path)
    kept = []
    for record in records:
      event = event_pb2.Event.FromString(record)
      if event.wall_time <= wall_time or event.HasField('file_version'):
        kept.append(record)
    dropped = len(records) - len(kept)
    if dropped or damaged:
      _write_records(path, kept)
      removed += dropped
  if removed:
    logger.info('Removed %d TensorBoard points logged after the checkpoint '
                'from %s', removed, logdir)
  return removed
