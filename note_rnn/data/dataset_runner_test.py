"""Tests of note_rnn.dataset_runner: dead workers and outputs written together.

Worker processes import this module (for `crash_on_marker`), so it
stays free of TensorFlow at import; the tests import it where they need it.
"""

import errno
import io
import os
import pathlib
import shutil

import pytest

from note_rnn import encoding
from note_rnn.data import dataset_runner
from note_rnn.data import dataset_tasks
from note_rnn.data import source_files
from note_rnn.runtime import outputs

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
TESTDATA = REPO_ROOT / 'testdata'
# Text in a file name or a serialized NoteSequence that makes
# `crash_on_marker` kill its worker.
CRASH_MARKER = 'kill-the-worker'


def crash_on_marker(task):
  """Worker entry point that dies on a marked file or chunk of records.

  Args:
    task: as `dataset_tasks.run_task`.

  Returns:
    `dataset_tasks.run_task(task)`.
  """
  kind, payload, _ = task
  if kind == 'file':
    marked = CRASH_MARKER in payload.key
  else:
    marked = any(CRASH_MARKER.encode() in data for _, data in payload)
  if marked:
    os._exit(3)  # pylint: disable=protected-access
  return dataset_tasks.run_task(task)


def _write_note_sequences(path, sequences):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with tf.io.TFRecordWriter(str(path)) as writer:
    for sequence in sequences:
      writer.write(sequence.SerializeToString())


def test_a_record_that_kills_its_worker_fails_alone(tmp_path):
  """The chunk the record was in is split: only that record is lost."""
  c_major = encoding.midi_file_to_note_sequence(str(TESTDATA / 'c_major.mid'))
  marked = encoding.midi_file_to_note_sequence(str(TESTDATA / 'g_major.mid'))
  marked.sequence_metadata.title = CRASH_MARKER
  long_gap = encoding.midi_file_to_note_sequence(
      str(TESTDATA / 'long_gap.mid'))
  path = tmp_path / 'notes.tfrecord'
  _write_note_sequences(path, [c_major, marked, long_gap])
  progress = io.StringIO()
  # One worker: the chunk of 3 records kills it; its records then run
  # alone, one at a time, and the marked one kills it again.
  stats = dataset_runner.create_dataset(
      str(path), str(tmp_path / 'out'), eval_ratio=0.0, num_workers=1,
      progress_stream=progress, run_task=crash_on_marker)
  assert '3/3 records' in progress.getvalue()
  assert stats.files_read == 1 and not stats.failed_files
  assert stats.sequences == 3
  assert stats.sequences_skipped == {source_files.FILE_WORKER_CRASHED: 1}
  # c_major gives one melody, long_gap two.
  assert stats.melodies_kept == stats.training_melodies == 3
  assert stats.sources_with_melodies == 2


def test_one_worker_fails_a_file_that_kills_it_alone(tmp_path):
  """--num_workers=1 runs a worker process too: a crash fails one file."""
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  shutil.copy(TESTDATA / 'c_major.mid', corpus)
  crash = f'{CRASH_MARKER}.mid'
  shutil.copy(TESTDATA / 'g_major.mid', corpus / crash)
  progress = io.StringIO()
  stats = dataset_runner.create_dataset(
      str(corpus), str(tmp_path / 'out'), eval_ratio=0.0, num_workers=1,
      progress_stream=progress, run_task=crash_on_marker)
  assert '2/2 files' in progress.getvalue()
  assert stats.failed_files == [(crash, source_files.FILE_WORKER_CRASHED)]
  assert stats.files_read == 1
  assert stats.melodies_kept == stats.training_melodies == 1
  assert (tmp_path / 'out' / dataset_runner.FAILED_FILES_FILENAME).read_text(
  ) == f'{crash}\tworker_crashed\n'


def test_split_sources_is_deterministic_and_sized():
  keys = [f'song{i:03d}.mid' for i in range(50)]
  eval_keys = dataset_runner.split_sources(keys, 0.1, seed=0)
  assert len(eval_keys) == 5
  assert dataset_runner.split_sources(
      list(reversed(keys)), 0.1, seed=0) == eval_keys
  assert dataset_runner.split_sources(keys, 0.1, seed=1) != eval_keys
  assert dataset_runner.split_sources(keys, 0.0, seed=0) == set()
  # 0.8 rounds to 1.
  assert len(dataset_runner.split_sources(keys[:8], 0.1, seed=0)) == 1
  with pytest.raises(ValueError):
    dataset_runner.split_sources(keys, 1.5, seed=0)


def _snapshot(path):
  if not path.exists():
    return None
  return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else None
          for p in sorted(path.rglob('*'))}


def _write(data):
  def write(path):
    outputs.write_file_atomically(path, data)
    return len(data)
  return write


def _disk_full(path):
  with open(path, 'wb') as f:
    f.write(b'half a file')
  raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def test_write_files_together_writes_all_and_removes_its_stale_folders(
    tmp_path):
  out = tmp_path / 'out'
  out.mkdir()
  (out / (outputs.STAGING_PREFIX + 'left-by-a-killed-run')).mkdir()
  # Another tool's temporary, maybe still being written.
  (out / (outputs.TMP_PREFIX + 'other')).write_bytes(b'o')
  assert outputs.write_files_together(
      str(out), [('a', _write(b'A')), ('b', _write(b'BB'))]) == [1, 2]
  assert _snapshot(out) == {'a': b'A', 'b': b'BB',
                            outputs.TMP_PREFIX + 'other': b'o'}


@pytest.mark.parametrize('existing', [False, True])
def test_write_files_together_leaves_the_folder_as_it_was(tmp_path,
                                                          existing):
  out = tmp_path / 'new' / 'out'
  if existing:
    out.mkdir(parents=True)
    (out / 'a').write_bytes(b'old')
  before = _snapshot(tmp_path)
  with pytest.raises(OSError) as info:
    outputs.write_files_together(
        str(out), [('a', _write(b'new')), ('b', _disk_full)])
  assert outputs.is_disk_full(info.value)
  assert _snapshot(tmp_path) == before
