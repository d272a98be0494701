"""The dataset job's tasks: what they are, how one runs, progress over them.

A task is ('file', SourceFile, MelodyOptions), one input file, or
('records', [(key, serialized NoteSequence)], MelodyOptions), a chunk of
`RECORDS_PER_TASK` records of a NoteSequence TFRecord (`make_tasks`).
`run_task` runs one in a worker process and gives a
`source_files.TaskResult`; the runners, local processes
(`dataset_runner.run_tasks`) or Ray (`dataset_ray.run_tasks`), run them
all and report to a `Progress` line. A task whose worker dies can be split
(`split_task`) or failed (`crashed_task_result`).
"""

import math
import time

from note_rnn.data import melody_pipeline
from note_rnn.data import source_files
from note_rnn.runtime import durations

# NoteSequence records sent to a worker process at once.
RECORDS_PER_TASK = 32
# Seconds between progress lines: on a terminal (rewritten in place) / in logs.
PROGRESS_INTERVAL_TTY_S = 0.5
PROGRESS_INTERVAL_LOG_S = 30.0


def run_task(task):
  """Worker entry point: task = ('file', SourceFile, options) or
  ('records', [(key, bytes)], options); returns a `source_files.TaskResult`.
  """
  kind, payload, options = task
  try:
    if kind == 'file':
      return source_files.process_file(payload, options)
    return source_files.process_records(payload, options)
  except MemoryError:
    # A refused allocation (e.g. under a ulimit) fails this task only.
    return failed_task_result(task, source_files.FILE_OUT_OF_MEMORY)


def failed_task_result(task, reason):
  """The result of a task that gave nothing: its file or records fail."""
  kind, payload, _ = task
  stats = melody_pipeline.DatasetStats()
  if kind == 'file':
    stats.fail_file(payload.key, reason)
  else:
    stats.sequences += len(payload)
    stats.sequences_skipped[reason] += len(payload)
  return source_files.TaskResult([], stats)


def crashed_task_result(task):
  """The result of a task whose worker process died on it twice."""
  return failed_task_result(task, source_files.FILE_WORKER_CRASHED)


def split_task(task):
  """A chunk of records as one task per record, or None for one file."""
  kind, payload, options = task
  if kind != 'records' or len(payload) < 2:
    return None
  return [(1, ('records', [record], options)) for record in payload]


def iter_tfrecord(path):
  """Yields the serialized records (bytes) of a TFRecord file."""
  # TensorFlow is imported here only: worker processes and --help never
  # need it.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  for record in tf.data.TFRecordDataset(path):
    yield record.numpy()


def count_tfrecord(path, stats, key):
  """Records in the TFRecord at `path`; None (failed in `stats`) if
  unreadable."""
  try:
    return sum(1 for _ in iter_tfrecord(path))
  except Exception:  # pylint: disable=broad-except
    stats.fail_file(key, source_files.FILE_UNREADABLE_TFRECORD)
    return None


def make_tasks(sources, record_counts, options, stats):
  """The tasks of the sources, lazily.

  Args:
    sources: `source_files.SourceFile`s.
    record_counts: source key -> `count_tfrecord` of each NoteSequence
      TFRecord (None: unreadable, already failed).
    options: `melody_pipeline.MelodyOptions`.
    stats: `melody_pipeline.DatasetStats`; files read and TFRecords found
      damaged while reading are counted in it.

  Yields:
    (units, task): units count toward the progress total.
  """
  for source in sources:
    if source.kind != source_files.KIND_NOTE_SEQUENCES:
      yield 1, ('file', source, options)
      continue
    if record_counts.get(source.key) is None:
      continue  # Already counted as failed.
    stats.files_read += 1
    chunk = []
    index = 0
    try:
      for serialized in iter_tfrecord(source.path):
        chunk.append((f'{source.key}#{index:08d}', serialized))
        index += 1
        if len(chunk) == RECORDS_PER_TASK:
          yield len(chunk), ('records', chunk, options)
          chunk = []
    except Exception:  # pylint: disable=broad-except
      # Corruption found while reading: the records before it are used.
      stats.files_read -= 1
      stats.fail_file(source.key, source_files.FILE_UNREADABLE_TFRECORD)
    if chunk:
      yield len(chunk), ('records', chunk, options)


class Progress:
  """A progress line on a stream: done / total, rate and ETA."""

  def __init__(self, total, unit, stream):
    """Starts the clock.

    Args:
      total: units of work in all.
      unit: their name, e.g. 'files'.
      stream: text stream (a terminal gets one line rewritten in place, a
        log a line every PROGRESS_INTERVAL_LOG_S), or None for no output.
    """
    self._total = total
    self._unit = unit
    self._stream = stream
    self._done = 0
    self._start = time.monotonic()
    self._tty = bool(stream is not None and getattr(stream, 'isatty', None)
                     and stream.isatty())
    # Logs get a line per interval and the final one; a terminal at once.
    self._last = -math.inf if self._tty else self._start

  def _line(self):
    elapsed = max(time.monotonic() - self._start, 1e-9)
    rate = self._done / elapsed
    eta_s = None
    if self._done and self._total:
      eta_s = (self._total - self._done) / rate
    pct = 100.0 * self._done / self._total if self._total else 100.0
    return (f'{self._done}/{self._total} {self._unit} ({pct:.0f}%)  '
            f'{rate:.1f} {self._unit}/s  '
            f'ETA {durations.format_duration(eta_s)}')

  def advance(self, count):
    """Counts `count` more units done; writes a line when one is due."""
    self._done += count
    if self._stream is None:
      return
    now = time.monotonic()
    interval = (PROGRESS_INTERVAL_TTY_S if self._tty
                else PROGRESS_INTERVAL_LOG_S)
    if now - self._last >= interval and self._done < self._total:
      self._last = now
      self._write(self._line(), final=False)

  def finish(self):
    """Writes the final line."""
    if self._stream is not None:
      self._write(self._line(), final=True)

  def _write(self, text, final):
    if self._tty:
      self._stream.write('\r' + text + ('\n' if final else ''))
    else:
      self._stream.write(text + '\n')
    self._stream.flush()
