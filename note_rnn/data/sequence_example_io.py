"""TFRecords of melody training examples in Magenta's SequenceExample layout.

A melody of N classes (see `note_rnn.encoding`) becomes one
`tf.train.SequenceExample` with an empty context and two feature lists of
N - 1 steps each, as Magenta's `make_sequence_example` and
`OneHotEventSequenceEncoderDecoder.encode` write them:

  'inputs'  step t: float list of length 38, the one-hot vector of class t
  'labels'  step t: int64 list of length 1, class t + 1 (the next class)

so the model reads class t and is trained to predict class t + 1. The full
melody is recovered as [argmax(inputs[0])] + labels.

The compact layout (`note_rnn.example_layouts`) stores the same melody as a
`tf.train.Example` whose int64 feature 'melody_classes' holds its N
classes; every reader here reads both layouts (`record_layout` tells them
apart) and gives the same arrays for the same melody.
"""

import glob
import os
import tempfile

import numpy as np
import tensorflow as tf

from note_rnn import encoding
from note_rnn.data import example_layouts

# Feature-list names of Magenta's melody SequenceExamples.
INPUTS_KEY = 'inputs'
LABELS_KEY = 'labels'
# A melody needs one input step and one label, i.e. two classes, to train on.
MIN_CLASSES_PER_MELODY = 2
# Records the training input function keeps in its shuffle buffer.
DEFAULT_SHUFFLE_BUFFER_SIZE = 10000
# Permission bits of written files before the process umask applies.
_DEFAULT_FILE_MODE = 0o666

_SEQUENCE_FEATURES = {
    INPUTS_KEY: tf.io.FixedLenSequenceFeature(
        shape=[encoding.NUM_CLASSES], dtype=tf.float32),
    LABELS_KEY: tf.io.FixedLenSequenceFeature(shape=[], dtype=tf.int64),
}


def _checked_classes(classes):
  """The melody's classes as ints; fewer than two or one outside [0, 38)
  raise ValueError / encoding.EncodingError."""
  classes = [int(c) for c in classes]
  if len(classes) < MIN_CLASSES_PER_MELODY:
    raise ValueError(
        f'a training melody needs at least {MIN_CLASSES_PER_MELODY} classes; '
        f'got {len(classes)}')
  bad = [c for c in classes if not 0 <= c < encoding.NUM_CLASSES]
  if bad:
    raise encoding.EncodingError(
        f'classes must lie in [0, {encoding.NUM_CLASSES}); got {bad[0]}')
  return classes


def make_sequence_example(classes):
  """Builds the training example of one melody.

  Args:
    classes: sequence of N >= 2 class ints in [0, 38), one per sixteenth note.

  Returns:
    A `tf.train.SequenceExample` with N - 1 'inputs' steps (one-hot floats of
    classes[:-1]) and N - 1 'labels' steps (int64 classes[1:]).

  Raises:
    ValueError: fewer than two classes.
    encoding.EncodingError: a class outside [0, 38).
  """
  classes = _checked_classes(classes)
  onehot = encoding.classes_to_onehot(classes[:-1], dtype=np.float32)
  inputs = [tf.train.Feature(float_list=tf.train.FloatList(value=row))
            for row in onehot]
  labels = [tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
            for label in classes[1:]]
  return tf.train.SequenceExample(
      feature_lists=tf.train.FeatureLists(feature_list={
          INPUTS_KEY: tf.train.FeatureList(feature=inputs),
          LABELS_KEY: tf.train.FeatureList(feature=labels),
      }))


def make_compact_example(classes):
  """The compact-layout example of one melody: its N >= 2 classes as int64.

  Raises:
    ValueError: fewer than two classes.
    encoding.EncodingError: a class outside [0, 38).
  """
  classes = _checked_classes(classes)
  return tf.train.Example(features=tf.train.Features(feature={
      example_layouts.CLASSES_KEY: tf.train.Feature(
          int64_list=tf.train.Int64List(value=classes))}))


def make_example(classes, layout=example_layouts.DEFAULT):
  """One melody's record in `layout` (see `note_rnn.example_layouts`)."""
  if example_layouts.check(layout, 'layout') == example_layouts.COMPACT:
    return make_compact_example(classes)
  return make_sequence_example(classes)


def record_layout(serialized):
  """The layout of one serialized record: MAGENTA or COMPACT.

  Raises:
    ValueError: the record is neither (not a melody example).
  """
  # An Example reads as a SequenceExample whose context is its features.
  example = tf.train.SequenceExample.FromString(bytes(serialized))
  if INPUTS_KEY in example.feature_lists.feature_list:
    return example_layouts.MAGENTA
  if example_layouts.CLASSES_KEY in example.context.feature:
    return example_layouts.COMPACT
  raise ValueError(
      f'no {INPUTS_KEY!r} feature list (Magenta layout) nor '
      f'{example_layouts.CLASSES_KEY!r} feature (compact layout)')


def parse_melody_example(serialized):
  """Decodes one record of either layout into (inputs, labels).

  Returns:
    (inputs, labels): float32 [T, 38] one-hot of classes[:-1] and int64 [T]
    classes[1:], T = N - 1, as `parse_sequence_example` gives.

  Raises:
    ValueError: not a melody record of either layout.
  """
  if record_layout(serialized) == example_layouts.MAGENTA:
    return parse_sequence_example(serialized)
  classes = np.array(tf.train.Example.FromString(bytes(
      serialized)).features.feature[example_layouts.CLASSES_KEY]
                     .int64_list.value, np.int64)
  if classes.size and not (0 <= classes.min() and
                           classes.max() < encoding.NUM_CLASSES):
    raise ValueError(f'a class lies outside [0, {encoding.NUM_CLASSES})')
  if classes.size < 1:
    return np.zeros((0, encoding.NUM_CLASSES), np.float32), classes
  return (encoding.classes_to_onehot(classes[:-1], dtype=np.float32)
          .reshape(-1, encoding.NUM_CLASSES), classes[1:])


def serialize_sequence_example(example):
  """Serializes with a fixed map order, so equal examples give equal bytes."""
  return example.SerializeToString(deterministic=True)


def parse_sequence_example(serialized):
  """Decodes one serialized melody example into numpy arrays.

  Args:
    serialized: bytes of a `tf.train.SequenceExample` (or the proto itself).

  Returns:
    (inputs, labels): float32 array [T, 38] and int64 array [T], T = N - 1.

  Raises:
    ValueError: the example lacks the two feature lists, their lengths differ,
      or an input step is not 38 floats long.
  """
  if isinstance(serialized, tf.train.SequenceExample):
    example = serialized
  else:
    example = tf.train.SequenceExample.FromString(bytes(serialized))
  feature_lists = example.feature_lists.feature_list
  for key in (INPUTS_KEY, LABELS_KEY):
    if key not in feature_lists:
      raise ValueError(f'SequenceExample has no {key!r} feature list')
  input_steps = feature_lists[INPUTS_KEY].feature
  label_steps = feature_lists[LABELS_KEY].feature
  if len(input_steps) != len(label_steps):
    raise ValueError(
        f'SequenceExample has {len(input_steps)} input steps but '
        f'{len(label_steps)} label steps')
  inputs = np.zeros((len(input_steps), encoding.NUM_CLASSES), np.float32)
  for t, feature in enumerate(input_steps):
    values = feature.float_list.value
    if len(values) != encoding.NUM_CLASSES:
      raise ValueError(
          f'input step {t} has {len(values)} values, expected '
          f'{encoding.NUM_CLASSES}')
    inputs[t] = values
  labels = np.array([f.int64_list.value[0] for f in label_steps], np.int64)
  return inputs, labels


def example_to_classes(serialized):
  """The full melody (N class ints) stored in one serialized record of
  either layout."""
  inputs, labels = parse_melody_example(serialized)
  if not len(labels):
    return []
  first = int(encoding.onehot_to_classes(inputs[0]))
  return [first] + [int(label) for label in labels]


def write_sequence_examples(path, class_sequences,
                            layout=example_layouts.DEFAULT):
  """Writes one example per melody to a TFRecord file, atomically.

  The records go to a temporary file in the destination folder, which is
  renamed to `path` once complete, so readers never see a partial file.

  Args:
    path: destination TFRecord path; its folder is created if missing.
    class_sequences: iterable of melodies, each a sequence of >= 2 classes.
    layout: `note_rnn.example_layouts` MAGENTA (default) or COMPACT.

  Returns:
    Number of records written.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-',
                             suffix=os.path.basename(path))
  os.close(fd)
  # mkstemp creates the file private (0600); give it the usual umask mode.
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, _DEFAULT_FILE_MODE & ~umask)
  count = 0
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for classes in class_sequences:
        writer.write(serialize_sequence_example(make_example(classes,
                                                             layout)))
        count += 1
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  return count


class SequenceExampleFileError(ValueError):
  """A TFRecord file that is damaged or holds no melody SequenceExamples."""


def read_class_sequences(path):
  """Reads every melody of a TFRecord file as a list of class ints.

  Args:
    path: TFRecord file written by `write_sequence_examples` in either
      layout (or Magenta's melody_rnn dataset tool with the 38-class
      encoding).

  Returns:
    List of melodies in file order, each a list of N class ints.

  Raises:
    FileNotFoundError: no such file.
    SequenceExampleFileError: a damaged record or one that is not a melody
      SequenceExample; the message names the file and the record.
  """
  path = _as_path_list(path)[0]
  melodies = []
  try:
    for index, record in enumerate(tf.data.TFRecordDataset(path)):
      try:
        melodies.append(example_to_classes(record.numpy()))
      except Exception as e:  # pylint: disable=broad-except
        raise SequenceExampleFileError(
            f'{path}: record {index} is not a melody SequenceExample '
            f'({_first_line(e)})') from e
  except tf.errors.OpError as e:
    raise SequenceExampleFileError(
        f'{path}: not a readable TFRecord file after {len(melodies)} '
        f'records ({_first_line(e)})') from e
  return melodies


def _first_line(error):
  text = str(error).strip()
  text = text.splitlines()[0] if text else type(error).__name__
  # TensorFlow prefixes op errors with '{{function_node ...}}'.
  return text.split('}} ')[-1]


def count_records(path_or_paths):
  """Number of records in one or several TFRecord files.

  Raises:
    SequenceExampleFileError: a file is not a readable TFRecord file.
  """
  paths = _as_path_list(path_or_paths)
  try:
    return sum(1 for _ in tf.data.TFRecordDataset(paths))
  except tf.errors.OpError as e:
    raise SequenceExampleFileError(
        f'{", ".join(paths)}: not a readable TFRecord file '
        f'({_first_line(e)})') from e


def _as_path_list(path_or_paths):
  """Paths of one path, a glob (the shards of a dataset) or a list of them;
  a glob's matches sorted."""
  if isinstance(path_or_paths, (str, bytes, os.PathLike)):
    path_or_paths = [path_or_paths]
  paths = []
  for p in (os.fspath(p) for p in path_or_paths):
    if not os.path.isfile(p) and glob.has_magic(p):
      matches = sorted(m for m in glob.glob(p) if os.path.isfile(m))
      if not matches:
        raise FileNotFoundError(f'no TFRecord file matches {p}')
      paths.extend(matches)
    else:
      paths.append(p)
  if not paths:
    raise ValueError('no TFRecord path given')
  for p in paths:
    if not os.path.isfile(p):
      raise FileNotFoundError(f'TFRecord file not found: {p}')
  return paths


def expand_paths(path_or_paths):
  """The files a path, glob or list names (raises FileNotFoundError)."""
  return _as_path_list(path_or_paths)


def file_layout(path):
  """The layout of a TFRecord file's first record (MAGENTA if empty).

  Raises:
    SequenceExampleFileError: the file is unreadable, or its first record
      is not a melody example.
  """
  try:
    for record in tf.data.TFRecordDataset(path).take(1):
      return record_layout(record.numpy())
  except tf.errors.OpError as e:
    raise SequenceExampleFileError(
        f'{path}: not a readable TFRecord file ({_first_line(e)})') from e
  except Exception as e:  # pylint: disable=broad-except
    raise SequenceExampleFileError(
        f'{path}: record 0 is not a melody example ({_first_line(e)})') from e
  return example_layouts.DEFAULT


def dataset_layout(paths):
  """The one layout of every file in `paths` (SequenceExampleFileError if
  they mix layouts)."""
  layouts = {path: file_layout(path) for path in paths}
  if len(set(layouts.values())) > 1:
    raise SequenceExampleFileError(
        'the training files mix record layouts: ' + ', '.join(
            f'{p} ({layout})' for p, layout in layouts.items()))
  return next(iter(layouts.values()))


def _parse_magenta(serialized):
  _, sequence = tf.io.parse_single_sequence_example(
      serialized, sequence_features=_SEQUENCE_FEATURES)
  return sequence[INPUTS_KEY], sequence[LABELS_KEY]


def _parse_compact(serialized):
  features = tf.io.parse_single_example(
      serialized, {example_layouts.CLASSES_KEY: tf.io.VarLenFeature(
          tf.int64)})
  classes = tf.sparse.to_dense(features[example_layouts.CLASSES_KEY])
  return (tf.one_hot(classes[:-1], encoding.NUM_CLASSES, dtype=tf.float32),
          classes[1:])


def make_training_dataset(path_or_paths, batch_size, max_length, shuffle=True,
                          seed=None, repeat=True,
                          shuffle_buffer_size=DEFAULT_SHUFFLE_BUFFER_SIZE,
                          pad_to_max_length=False, drop_remainder=False):
  """Input pipeline of padded melody batches for training the Note RNN.

  Args:
    path_or_paths: one TFRecord path, a glob of shards or a list of them
      (read in that order, a glob's matches sorted), every file in one
      layout (`note_rnn.example_layouts`, found from the first record).
    batch_size: melodies per batch.
    max_length: longest sequence in steps (T = melody classes - 1); longer
      melodies keep their first `max_length` steps. None keeps every step.
    shuffle: shuffle records (buffer of `shuffle_buffer_size` records, the
      order changing every epoch).
    seed: shuffle seed; with a seed, two datasets built alike yield the same
      batches in the same order. None draws a fresh order.
    repeat: repeat the records forever (epochs follow one another).
    shuffle_buffer_size: records held in the shuffle buffer.
    pad_to_max_length: pad every batch to `max_length` steps instead of to the
      longest melody of the batch (needs `max_length`).
    drop_remainder: drop a final batch smaller than `batch_size` (only
      matters with `repeat=False`).

  Returns:
    A `tf.data.Dataset` of (inputs, labels, lengths): inputs float32
    [B, T, 38] one-hot, labels int64 [B, T] next classes, lengths int32 [B]
    steps before padding. Padded steps are zeros in inputs and labels
    (label 0 there is padding, not a hold; mask with `lengths`).
  """
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1; got {batch_size}')
  if max_length is not None and max_length < 1:
    raise ValueError(f'max_length must be >= 1 or None; got {max_length}')
  if pad_to_max_length and max_length is None:
    raise ValueError('pad_to_max_length needs a max_length')
  paths = _as_path_list(path_or_paths)
  parse_layout = (_parse_compact if dataset_layout(paths) ==
                  example_layouts.COMPACT else _parse_magenta)

  def parse(serialized):
    inputs, labels = parse_layout(serialized)
    if max_length is not None:
      inputs = inputs[:max_length]
      labels = labels[:max_length]
    length = tf.shape(labels, out_type=tf.int32)[0]
    return inputs, labels, length

  dataset = tf.data.TFRecordDataset(paths)
  if shuffle:
    dataset = dataset.shuffle(shuffle_buffer_size, seed=seed,
                              reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                        deterministic=True)
  steps = max_length if pad_to_max_length else None
  dataset = dataset.padded_batch(
      batch_size,
      padded_shapes=([steps, encoding.NUM_CLASSES], [steps], []),
      padding_values=(0.0, tf.constant(0, tf.int64), 0),
      drop_remainder=drop_remainder)
  options = tf.data.Options()
  options.deterministic = True
  return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
