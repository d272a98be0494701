"""Tests of note_rnn.data.dataset_tasks (without TensorFlow or workers)."""

import io
import re

from note_rnn.data import dataset_tasks
from note_rnn.data import melody_pipeline as mp
from note_rnn.data import source_files

OPTIONS = mp.MelodyOptions()
MIDI = source_files.SourceFile('/x.mid', 'x.mid', source_files.KIND_MIDI)


def test_split_task_splits_record_chunks_only():
  records = [('a#0', b'1'), ('a#1', b'2')]
  assert dataset_tasks.split_task(('records', records, OPTIONS)) == [
      (1, ('records', [records[0]], OPTIONS)),
      (1, ('records', [records[1]], OPTIONS))]
  assert dataset_tasks.split_task(('records', records[:1], OPTIONS)) is None
  assert dataset_tasks.split_task(('file', MIDI, OPTIONS)) is None


def test_a_crashed_task_fails_its_file_or_its_records():
  result = dataset_tasks.crashed_task_result(('file', MIDI, OPTIONS))
  assert not result.melodies
  assert result.stats.failed_files == [
      ('x.mid', source_files.FILE_WORKER_CRASHED)]
  records = [('a#0', b'1'), ('a#1', b'2')]
  result = dataset_tasks.crashed_task_result(('records', records, OPTIONS))
  assert result.stats.sequences == 2
  assert result.stats.sequences_skipped == {
      source_files.FILE_WORKER_CRASHED: 2}


def test_files_become_one_task_each():
  stats = mp.DatasetStats()
  assert list(dataset_tasks.make_tasks([MIDI, MIDI], {}, OPTIONS, stats)) == [
      (1, ('file', MIDI, OPTIONS))] * 2


def test_progress_lines_in_a_log():
  stream = io.StringIO()
  progress = dataset_tasks.Progress(4, 'files', stream)
  progress.advance(1)  # Within the log interval: no line yet.
  assert not stream.getvalue()
  progress.advance(3)
  progress.finish()
  assert re.fullmatch(r'4/4 files \(100%\)  [\d.]+ files/s  ETA 0:00:00\n',
                      stream.getvalue())
  stream = io.StringIO()
  dataset_tasks.Progress(4, 'files', stream).finish()
  assert stream.getvalue().endswith('ETA --\n')
