"""The input check of Note RNN training: are these files melody TFRecords?

`check_sequence_example_file` reads a training or evaluation file (or the
shards a glob names) before a model is built, so a damaged or wrong file
fails in a second with one line, not hours into training. Either record
layout (`note_rnn.example_layouts`) is accepted.
"""

import re

import numpy as np

from note_rnn import encoding
from note_rnn.training import training_steps

# TensorFlow and protobuf are imported by the functions that use them:
# note_rnn_train --help, which imports this module, need not load them.

TrainingError = training_steps.TrainingError
# Records of an input file parsed as melodies before training starts.
RECORDS_PARSED_UP_FRONT = 16


def check_sequence_example_file(path, name='sequence_example_file'):
  """Checks that `path` names readable TFRecords of melody examples.

  `path` is one file or a glob of shards (sorted), in either record layout
  (`note_rnn.example_layouts`; all files in one). Every record is read
  (framing and checksums, so a damaged file fails now, not hours into
  training) and the first `RECORDS_PARSED_UP_FRONT` of each file are
  parsed as melodies. Writes nothing and builds no model.

  Args:
    path: the TFRecord file, or a glob of its shards.
    name: what the file is (an argument or flag name), for the message.

  Returns:
    Number of records (melodies) in the file(s).

  Raises:
    TrainingError: one line naming `name` and `path`: the file is missing,
      unreadable or damaged, a record is not a melody example, the shards
      mix layouts, or there is no record.
  """
  # Imported here (it imports TensorFlow): --help need not load it.
  # pylint: disable=g-import-not-at-top
  from note_rnn.data import sequence_example_io

  # pylint: enable=g-import-not-at-top
  if not path:
    raise TrainingError(f'{name} not found: {path!r}')
  try:
    paths = sequence_example_io.expand_paths(path)
  except (FileNotFoundError, ValueError) as e:
    raise TrainingError(f'{name} not found: {path!r}') from e
  count = sum(_check_one_file(p, f'{name} {p}') for p in paths)
  if len(paths) > 1:
    try:
      sequence_example_io.dataset_layout(paths)
    except sequence_example_io.SequenceExampleFileError as e:
      raise TrainingError(f'{name} {path}: {e}') from e
  if not count:
    raise TrainingError(f'no melody in {name} {path}')
  return count


def _check_one_file(path, where):
  """Records in one TFRecord file, its first records parsed as melodies."""
  # pylint: disable=g-import-not-at-top
  from google.protobuf import message as protobuf_message
  import tensorflow as tf

  # Imported here (it imports TensorFlow): --help need not load it.
  from note_rnn.data import sequence_example_io

  # pylint: enable=g-import-not-at-top
  dataset = tf.data.TFRecordDataset(path)
  try:
    records = dataset.take(RECORDS_PARSED_UP_FRONT)
    for index, record in enumerate(records.as_numpy_iterator()):
      try:
        _, labels = sequence_example_io.parse_melody_example(record)
      except (ValueError, IndexError, protobuf_message.DecodeError) as e:
        raise TrainingError(f'{where}: record {index} is not a melody '
                            f'example ({_first_line(e)})') from e
      if labels.size and not (0 <= labels.min() and
                              labels.max() < encoding.NUM_CLASSES):
        raise TrainingError(
            f'{where}: record {index} has a label outside [0, '
            f'{encoding.NUM_CLASSES})')
    return int(dataset.reduce(np.int64(0), lambda n, _: n + 1))
  except tf.errors.OpError as e:
    raise TrainingError(f'{where}: not a readable TFRecord file '
                        f'({_op_error_text(e)})') from e


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def _op_error_text(error):
  """A TensorFlow op error's message without the op and function names."""
  text = _first_line(error.message).split('}} ')[-1]
  return re.sub(r'\s*\[Op:\w+\].*$', '', text)
