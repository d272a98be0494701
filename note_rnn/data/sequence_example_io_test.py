"""Tests of the melody SequenceExample format and the training input fn."""

import os

import numpy as np
import pytest
import tensorflow as tf

from note_rnn import encoding
from note_rnn.data import example_layouts
from note_rnn.data import sequence_example_io as sio

MELODY = [2 + 12, 0, 0, 0, 2 + 16, 0, 1, 1, 2 + 19, 0, 0, 0, 2 + 24]


def _random_melodies(lengths, seed=0):
  rng = np.random.RandomState(seed)
  return [rng.randint(0, encoding.NUM_CLASSES, size=n).tolist()
          for n in lengths]


def test_example_layout_matches_magenta():
  example = sio.make_sequence_example(MELODY)
  assert not example.context.feature
  feature_lists = example.feature_lists.feature_list
  assert sorted(feature_lists) == ['inputs', 'labels']
  inputs = feature_lists['inputs'].feature
  labels = feature_lists['labels'].feature
  assert len(inputs) == len(labels) == len(MELODY) - 1
  for t in range(len(MELODY) - 1):
    values = list(inputs[t].float_list.value)
    assert len(values) == encoding.NUM_CLASSES
    assert values[MELODY[t]] == 1.0 and sum(values) == 1.0
    assert list(labels[t].int64_list.value) == [MELODY[t + 1]]


def test_round_trip_through_bytes():
  serialized = sio.serialize_sequence_example(
      sio.make_sequence_example(MELODY))
  inputs, labels = sio.parse_sequence_example(serialized)
  assert inputs.dtype == np.float32 and labels.dtype == np.int64
  np.testing.assert_array_equal(
      inputs, encoding.classes_to_onehot(MELODY[:-1]))
  np.testing.assert_array_equal(labels, MELODY[1:])
  assert sio.example_to_classes(serialized) == MELODY


def test_serialization_is_deterministic():
  a = sio.serialize_sequence_example(sio.make_sequence_example(MELODY))
  b = sio.serialize_sequence_example(sio.make_sequence_example(list(MELODY)))
  assert a == b


def test_bad_melodies_are_rejected():
  with pytest.raises(ValueError, match='at least 2'):
    sio.make_sequence_example([5])
  with pytest.raises(encoding.EncodingError):
    sio.make_sequence_example([5, encoding.NUM_CLASSES])
  with pytest.raises(ValueError, match='no \'labels\''):
    example = sio.make_sequence_example(MELODY)
    del example.feature_lists.feature_list['labels']
    sio.parse_sequence_example(example.SerializeToString())


def test_write_and_read_files(tmp_path):
  melodies = _random_melodies([5, 17, 2, 64])
  path = tmp_path / 'sub' / 'melodies.tfrecord'
  assert sio.write_sequence_examples(str(path), melodies) == 4
  assert sio.read_class_sequences(path) == melodies
  assert sio.count_records(str(path)) == 4
  # Only the final file is left: the temporary one was renamed.
  assert os.listdir(tmp_path / 'sub') == ['melodies.tfrecord']
  # An empty list writes a valid empty file.
  empty = tmp_path / 'empty.tfrecord'
  assert sio.write_sequence_examples(str(empty), []) == 0
  assert sio.read_class_sequences(empty) == []


def test_failed_write_leaves_no_file(tmp_path):
  path = tmp_path / 'melodies.tfrecord'
  with pytest.raises(encoding.EncodingError):
    sio.write_sequence_examples(str(path), [[1, 2, 3], [1, 99]])
  assert os.listdir(tmp_path) == []


def _write(tmp_path, lengths, name='m.tfrecord', seed=0):
  melodies = _random_melodies(lengths, seed)
  path = str(tmp_path / name)
  sio.write_sequence_examples(path, melodies)
  return path, melodies


def test_dataset_pads_to_the_batch_max_and_truncates(tmp_path):
  path, melodies = _write(tmp_path, [6, 11, 30, 4, 9])
  dataset = sio.make_training_dataset(path, batch_size=2, max_length=16,
                                      shuffle=False, repeat=False)
  batches = list(dataset.as_numpy_iterator())
  assert len(batches) == 3
  inputs, labels, lengths = batches[0]
  assert inputs.dtype == np.float32 and labels.dtype == np.int64
  assert lengths.dtype == np.int32
  assert inputs.shape == (2, 10, encoding.NUM_CLASSES)
  assert labels.shape == (2, 10)
  np.testing.assert_array_equal(lengths, [5, 10])
  np.testing.assert_array_equal(inputs[0, :5],
                                encoding.classes_to_onehot(melodies[0][:-1]))
  np.testing.assert_array_equal(labels[0, :5], melodies[0][1:])
  assert not inputs[0, 5:].any() and not labels[0, 5:].any()
  # Batch 2: the 29-step melody keeps its first 16 steps.
  inputs, labels, lengths = batches[1]
  assert inputs.shape == (2, 16, encoding.NUM_CLASSES)
  np.testing.assert_array_equal(lengths, [16, 3])
  np.testing.assert_array_equal(labels[0], melodies[2][1:17])
  # The last, partial batch.
  assert batches[2][0].shape == (1, 8, encoding.NUM_CLASSES)
  # Fixed padding to max_length, and dropping the remainder.
  dataset = sio.make_training_dataset(path, batch_size=2, max_length=16,
                                      shuffle=False, repeat=False,
                                      pad_to_max_length=True,
                                      drop_remainder=True)
  shapes = [b[0].shape for b in dataset.as_numpy_iterator()]
  assert shapes == [(2, 16, encoding.NUM_CLASSES)] * 2


def test_dataset_without_max_length_keeps_every_step(tmp_path):
  path, _ = _write(tmp_path, [40, 3])
  dataset = sio.make_training_dataset(path, batch_size=2, max_length=None,
                                      shuffle=False, repeat=False)
  (_, labels, lengths), = list(dataset.as_numpy_iterator())
  assert labels.shape == (2, 39)
  np.testing.assert_array_equal(lengths, [39, 2])


def test_dataset_shuffle_is_seeded_and_repeats(tmp_path):
  path_a, _ = _write(tmp_path, range(3, 23), name='a.tfrecord', seed=1)
  path_b, _ = _write(tmp_path, range(23, 33), name='b.tfrecord', seed=2)

  def lengths(seed, batches=8):
    dataset = sio.make_training_dataset([path_a, path_b], batch_size=4,
                                        max_length=64, seed=seed)
    return [b[2].tolist() for b in dataset.take(batches).as_numpy_iterator()]

  first = lengths(seed=7)
  assert first == lengths(seed=7)
  assert first != lengths(seed=8)
  # 30 records, 32 melodies drawn: the stream repeats past one epoch, and
  # the first epoch holds every record once.
  epoch = sorted(sum(first, [])[:30])
  assert epoch == list(range(2, 32))
  unshuffled = sio.make_training_dataset([path_a, path_b], batch_size=4,
                                         max_length=64, shuffle=False)
  head = next(iter(unshuffled))[2].numpy().tolist()
  assert head == [2, 3, 4, 5]


def test_dataset_is_a_tf_data_dataset_with_static_feature_size(tmp_path):
  path, _ = _write(tmp_path, [5, 6])
  dataset = sio.make_training_dataset(path, batch_size=2, max_length=8)
  inputs_spec, labels_spec, lengths_spec = dataset.element_spec
  assert inputs_spec.shape.as_list() == [None, None, encoding.NUM_CLASSES]
  assert labels_spec.dtype == tf.int64
  assert lengths_spec.dtype == tf.int32


def test_dataset_arguments_are_checked(tmp_path):
  path, _ = _write(tmp_path, [5])
  with pytest.raises(FileNotFoundError):
    sio.make_training_dataset(str(tmp_path / 'nope.tfrecord'), 2, 8)
  with pytest.raises(ValueError, match='batch_size'):
    sio.make_training_dataset(path, 0, 8)
  with pytest.raises(ValueError, match='pad_to_max_length'):
    sio.make_training_dataset(path, 2, None, pad_to_max_length=True)


# --- The compact layout ------------------------------------------------------


def test_compact_example_holds_the_classes_and_parses_like_magenta():
  compact = sio.make_example(MELODY, example_layouts.COMPACT)
  assert list(compact.features.feature[example_layouts.CLASSES_KEY]
              .int64_list.value) == MELODY
  magenta = sio.serialize_sequence_example(sio.make_sequence_example(MELODY))
  serialized = sio.serialize_sequence_example(compact)
  assert sio.record_layout(magenta) == example_layouts.MAGENTA
  assert sio.record_layout(serialized) == example_layouts.COMPACT
  for got, want in zip(sio.parse_melody_example(serialized),
                       sio.parse_sequence_example(magenta)):
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
  assert sio.example_to_classes(serialized) == MELODY
  with pytest.raises(ValueError, match="nor 'melody_classes'"):
    sio.record_layout(tf.train.Example().SerializeToString())
  with pytest.raises(encoding.EncodingError):
    sio.make_example([2, 38], example_layouts.COMPACT)
  with pytest.raises(ValueError, match='layout must be one of'):
    sio.make_example(MELODY, 'sparse')


def test_compact_files_are_over_100_times_smaller_and_read_the_same(
    tmp_path):
  melodies = _random_melodies([512, 300, 64], seed=4)
  paths = {}
  for layout in example_layouts.LAYOUTS:
    paths[layout] = str(tmp_path / f'{layout}.tfrecord')
    assert sio.write_sequence_examples(paths[layout], melodies, layout) == 3
    assert sio.read_class_sequences(paths[layout]) == melodies
    assert sio.file_layout(paths[layout]) == layout
  sizes = {k: os.path.getsize(p) for k, p in paths.items()}
  # Magenta: 38 floats and a label per step; compact: ~1 byte per class.
  assert sizes['magenta'] > 160 * 873 and sizes['compact'] < 2 * 876
  assert sizes['magenta'] > 100 * sizes['compact']
  batches = {k: list(sio.make_training_dataset(p, 2, 400, shuffle=False,
                                                 repeat=False))
             for k, p in paths.items()}
  assert len(batches['magenta']) == len(batches['compact']) == 2
  for got, want in zip(batches['compact'], batches['magenta']):
    for a, b in zip(got, want):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
      assert a.dtype == b.dtype


def test_a_glob_reads_shards_in_order_and_layouts_may_not_mix(tmp_path):
  melodies = _random_melodies([20, 30, 40, 50], seed=5)
  for index in range(2):
    sio.write_sequence_examples(
        str(tmp_path / f'train.tfrecord-{index:05d}-of-00002'),
        melodies[2 * index:2 * index + 2], example_layouts.COMPACT)
  pattern = str(tmp_path / 'train.tfrecord-*')
  batch, = sio.make_training_dataset(pattern, 4, None, shuffle=False,
                                     repeat=False)
  assert batch[2].numpy().tolist() == [19, 29, 39, 49]
  assert sio.count_records(sio.expand_paths(pattern)) == 4
  with pytest.raises(FileNotFoundError, match='no TFRecord file matches'):
    sio.make_training_dataset(str(tmp_path / 'none-*'), 4, None)
  sio.write_sequence_examples(str(tmp_path / 'train.tfrecord-00002-of-x'),
                              melodies[:1])
  with pytest.raises(sio.SequenceExampleFileError, match='mix record layouts'):
    sio.make_training_dataset(pattern, 4, None)
