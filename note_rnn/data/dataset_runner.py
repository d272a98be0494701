"""Running the dataset job over a corpus, in worker processes.

`create_dataset` runs the pipeline (`note_rnn.source_files`,
`note_rnn.melody_pipeline`) over a folder, glob or NoteSequence TFRecord and
writes TFRecords of melodies (`note_rnn.sequence_example_io`; Magenta's
SequenceExample layout or the compact one, `note_rnn.example_layouts`; one
file or N shards per split) split into training and evaluation sets by
source file, and the list of failed files. The tasks run in local worker
processes (`run_tasks`), or as Ray tasks (`runner='ray'`,
`note_rnn.data.dataset_ray`) with the same results; what a task is and how
one runs is `note_rnn.data.dataset_tasks`. A file that kills its worker
process is retried alone and then failed; a chunk of NoteSequence records
that does is split, so that only the record that kills its worker again
fails (`run_tasks`). The outputs appear together or not at all
(`write_dataset`).
"""

import collections
import concurrent.futures
import math
import multiprocessing
import os
import random
import sys

from note_rnn.data import dataset_ray
from note_rnn.data import dataset_tasks
from note_rnn.data import example_layouts
from note_rnn.data import melody_pipeline
from note_rnn.data import source_files
from note_rnn.data import tunes
from note_rnn.runtime import outputs

# Fraction of source files set aside for evaluation.
DEFAULT_EVAL_RATIO = 0.1

# Output file names (Magenta's melody_rnn dataset names).
TRAINING_FILENAME = 'training_melodies.tfrecord'
EVAL_FILENAME = 'eval_melodies.tfrecord'
# Every failed input file, one `key<TAB>reason` line each, sorted.
FAILED_FILES_FILENAME = 'failed_files.txt'
# Where the tasks run: worker processes here, or Ray tasks.
RUNNERS = ('local', 'ray')

# Tasks in flight per worker process (bounds memory for huge TFRecords).
TASKS_IN_FLIGHT_PER_WORKER = 4
# Deaths of a worker process running a task alone (after the task was lost
# with a broken pool) that make the task fail as `worker_crashed`.
CRASHES_TO_FAIL = 1


class EmptyCorpusError(RuntimeError):
  """The input yielded no melody at all; `stats` says what happened."""

  def __init__(self, message, stats=None):
    super().__init__(message)
    self.stats = stats


def run_tasks(tasks, num_workers, progress, run_task=dataset_tasks.run_task,
              on_crash=None, split_task=None, in_process=None):
  """Runs tasks (in process or in a pool) and returns results in task order.

  A worker process that dies (killed for memory, a crash in native code)
  breaks its pool and loses the tasks in flight. They are run again, one
  at a time, in a new pool. A task that kills its worker running alone
  (retried alone, or the only one in flight) is split by `split_task` when
  it can be (its parts are run alone in turn, so only the part at fault
  fails); one that cannot, after `CRASHES_TO_FAIL` such deaths, gets
  `on_crash(task)` as its result, and the run goes on.

  Args:
    tasks: iterable of (units, task); units count toward `progress`.
    num_workers: worker processes (at least 1).
    progress: `dataset_tasks.Progress`.
    run_task: picklable module-level function of one task, run in the
      workers (`spawn` start method: its module must import cleanly).
    on_crash: function of a task giving the result of one that killed its
      worker again; None raises BrokenProcessPool then.
    split_task: function of a task giving [(units, task)] parts that
      together do its work (their units summing to its units), or None
      when it cannot be split; None never splits.
    in_process: run every task in this process, where a crash ends the
      run; None means when `num_workers` is 1.

  Returns:
    List of `run_task` results, in task order; a task that was split gives
    the results of its parts, in their order, in its place.
  """
  if in_process is None:
    in_process = num_workers <= 1
  if in_process:
    results = []
    for units, task in tasks:
      results.append(run_task(task))
      progress.advance(units)
    return results

  # 'spawn' starts clean interpreters: the parent may hold TensorFlow
  # threads, which a fork would copy mid-state.
  context = multiprocessing.get_context('spawn')
  # Indices are tuples: (i,) for the i-th task, (i, j) for its j-th part.
  by_index = {}
  task_iter = (((i,), entry) for i, entry in enumerate(tasks))
  exhausted = False
  # (index, units, task, crashes alone) lost with a broken pool, to run
  # again one at a time.
  suspects = collections.deque()
  limit = max(1, num_workers) * TASKS_IN_FLIGHT_PER_WORKER

  def submit(pool, pending, entry):
    """Submits entry = (index, units, task, crashes alone or None)."""
    try:
      future = pool.submit(run_task, entry[2])
    except concurrent.futures.process.BrokenProcessPool:
      suspects.appendleft(entry[:3] + (entry[3] or 0,))  # Not run: again.
      raise
    pending[future] = entry

  while suspects or not exhausted:
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=max(1, num_workers), mp_context=context)
    # future -> (index, units, task, crashes alone so far, or None when
    # running with others).
    pending = {}
    try:
      while pending or suspects or not exhausted:
        if suspects:
          # A suspect runs alone, so that a crash names its task.
          if not pending:
            submit(pool, pending, suspects.popleft())
        else:
          while not exhausted and len(pending) < limit:
            try:
              index, (units, task) = next(task_iter)
            except StopIteration:
              exhausted = True
              break
            submit(pool, pending, (index, units, task, None))
        if not pending:
          break
        done, _ = concurrent.futures.wait(
            pending, return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
          try:
            result = future.result()
          except concurrent.futures.process.BrokenProcessPool:
            continue  # Handled below with the other lost tasks.
          index, units, _, _ = pending.pop(future)
          by_index[index] = result
          progress.advance(units)
        if any(f.done() and isinstance(
            f.exception(), concurrent.futures.process.BrokenProcessPool)
               for f in pending):
          raise concurrent.futures.process.BrokenProcessPool()
    except concurrent.futures.process.BrokenProcessPool:
      lost = sorted(pending.values(), key=lambda entry: entry[0])
      if len(lost) == 1:
        # The only task in the pool (a suspect, or the last one in flight)
        # ran alone: it killed its worker.
        index, units, task, crashes = lost[0]
        crashes = crashes or 0
        parts = split_task(task) if split_task is not None else None
        if parts:
          # Each part runs alone in turn: only the one at fault fails.
          suspects.extendleft(
              (index + (j,), part_units, part, 0)
              for j, (part_units, part) in reversed(list(enumerate(parts))))
        elif crashes + 1 >= CRASHES_TO_FAIL:
          if on_crash is None:
            raise
          by_index[index] = on_crash(task)
          progress.advance(units)
        else:
          suspects.appendleft((index, units, task, crashes + 1))
      else:
        suspects.extendleft(
            (index, units, task, crashes or 0)
            for index, units, task, crashes in reversed(lost))
    finally:
      pool.shutdown(wait=True, cancel_futures=True)
  return [by_index[i] for i in sorted(by_index)]


def split_sources(keys, eval_ratio, seed):
  """Chooses the evaluation sources.

  The sorted keys are shuffled with `random.Random(seed)`, and the first
  round(eval_ratio * len(keys)) of them (halves rounded up) are for
  evaluation, so the split depends only on the set of keys and the seed.

  Args:
    keys: source keys (any order).
    eval_ratio: fraction in [0, 1].
    seed: int seed.

  Returns:
    Set of evaluation keys.
  """
  if not 0.0 <= eval_ratio <= 1.0:
    raise ValueError(f'eval_ratio must lie in [0, 1]; got {eval_ratio}')
  ordered = sorted(keys)
  random.Random(seed).shuffle(ordered)
  num_eval = int(math.floor(eval_ratio * len(ordered) + 0.5))
  return set(ordered[:num_eval])


def create_dataset(input_spec, output_dir, eval_ratio=DEFAULT_EVAL_RATIO,
                   seed=0, options=melody_pipeline.MelodyOptions(),
                   num_workers=None, progress_stream=sys.stderr,
                   run_task=dataset_tasks.run_task,
                   layout=example_layouts.DEFAULT,
                   num_shards=1, runner='local', ray_address=None,
                   abc_parser=source_files.ABC_PARSER_AUTO):
  """Builds the Note RNN training and evaluation TFRecords.

  Every input file (or NoteSequence record) is a source; whole sources go to
  either split (no melody of one song lands in both), chosen by
  `split_sources`. Each split's melodies are shuffled with the same seed
  before writing. Same input and seed give byte-identical files, whatever
  `num_workers`.

  Args:
    input_spec: folder, glob or file (see `find_source_files`).
    output_dir: where `TRAINING_FILENAME`, `EVAL_FILENAME` and
      `FAILED_FILES_FILENAME` (every failed input, `key<TAB>reason` lines)
      are written (atomically; created if missing).
    eval_ratio: fraction of sources for evaluation, in [0, 1].
    seed: split and order seed.
    options: `MelodyOptions`.
    num_workers: worker processes (a file that kills one is retried alone,
      then failed as `worker_crashed`); None = os.cpu_count(); 0 = every
      file in this process, where a crash ends the run (for tests and
      debugging).
    progress_stream: text stream for the progress line, or None.
    run_task: the worker entry point (see `run_tasks`; tests put faults
      in it).
    layout: record layout, `note_rnn.example_layouts` MAGENTA or COMPACT.
    num_shards: files per split (see `shard_names`).
    runner: 'local' (worker processes) or 'ray' (Ray tasks on a local Ray
      of `num_workers` CPUs, or the cluster at `ray_address` /
      RAY_ADDRESS); both give the same files.
    ray_address: the Ray cluster of runner 'ray'.
    abc_parser: what reads ABC files, one of `source_files.ABC_PARSERS`
      ('auto': music21 if installed, else note_seq); resolved here, once,
      and named on `progress_stream` and in the stats when ABC files are
      read.

  Returns:
    `DatasetStats`.

  Raises:
    outputs.OutputError: `output_dir` cannot be written (checked before any
      input is read).
    InputError: `input_spec` names nothing usable, or `abc_parser` is
      'music21' and music21 is not installed (Music21MissingError; checked
      before any input is read).
    EmptyCorpusError: no input file, or no melody survived; nothing written.
    OSError: writing failed (e.g. the disk is full); nothing written.
  """
  if not 0.0 <= eval_ratio <= 1.0:
    raise ValueError(f'eval_ratio must lie in [0, 1]; got {eval_ratio}')
  if num_workers is not None and num_workers < 0:
    raise ValueError(f'num_workers must be >= 0; got {num_workers}')
  example_layouts.check(layout)
  if num_shards < 1:
    raise ValueError(f'num_shards must be >= 1; got {num_shards}')
  if runner not in RUNNERS:
    raise ValueError(f'runner must be one of {", ".join(RUNNERS)}; got '
                     f'{runner!r}')
  resolved_abc_parser = source_files.resolve_abc_parser(abc_parser)
  outputs.check_output_dir(output_dir, '--output_dir')
  sources = source_files.find_source_files(input_spec, exclude_dir=output_dir,
                                           abc_parser=resolved_abc_parser)
  stats = melody_pipeline.DatasetStats(files_found=len(sources))
  if not sources:
    kinds = '/'.join(sorted(source_files.EXTENSION_KINDS))
    raise EmptyCorpusError(f'no {kinds} file found at {input_spec}', stats)
  if any(s.kind == source_files.KIND_ABC for s in sources):
    stats.abc_parser = resolved_abc_parser
    note = ''
    if (abc_parser == source_files.ABC_PARSER_AUTO and
        resolved_abc_parser == source_files.ABC_PARSER_NOTE_SEQ):
      stats.abc_parser += ' (music21 is not installed)'
      note = ('; tunes with rests, tuplets, chords or variant endings '
              f'fail: {tunes.INSTALL_HINT} reads them with music21')
    if progress_stream is not None:
      progress_stream.write(f'ABC parser: {stats.abc_parser}{note}\n')

  record_counts = {}
  for source in sources:
    if source.kind == source_files.KIND_NOTE_SEQUENCES:
      record_counts[source.key] = dataset_tasks.count_tfrecord(
          source.path, stats, source.key)
  total = sum(1 for s in sources if s.kind != source_files.KIND_NOTE_SEQUENCES)
  total += sum(n for n in record_counts.values() if n)
  unit = 'records' if record_counts and total > len(sources) else 'files'
  in_process = num_workers == 0
  if num_workers is None:
    num_workers = os.cpu_count() or 1
  num_workers = max(1, min(num_workers, total))
  progress = dataset_tasks.Progress(total, unit, progress_stream)
  tasks = dataset_tasks.make_tasks(sources, record_counts, options, stats)
  if runner == 'ray':
    results = dataset_ray.run_tasks(
        tasks, progress, run_task=run_task,
        on_crash=dataset_tasks.crashed_task_result,
        split_task=dataset_tasks.split_task, ray_address=ray_address,
        num_cpus=num_workers)
  else:
    results = run_tasks(tasks, num_workers, progress, run_task=run_task,
                        on_crash=dataset_tasks.crashed_task_result,
                        split_task=dataset_tasks.split_task,
                        in_process=in_process)
  progress.finish()

  melodies_by_source = {}
  for result in results:
    stats.merge(result.stats)
    for key, melodies in result.melodies:
      melodies_by_source.setdefault(key, []).extend(melodies)
  stats.sources_with_melodies = len(melodies_by_source)
  if not stats.melodies_kept:
    raise EmptyCorpusError(
        f'no melody found in {input_spec} (see the summary for what was '
        'dropped and why)', stats)

  return write_dataset(melodies_by_source, output_dir, eval_ratio, seed,
                       stats, layout=layout, num_shards=num_shards)


def write_failed_files(path, failed_files):
  """Writes `key<TAB>reason` lines, sorted, atomically (tmp file + rename).

  Args:
    path: destination file.
    failed_files: (source key, reason) pairs.
  """
  text = ''.join(f'{key}\t{reason}\n' for key, reason in
                 sorted(failed_files))
  # Keys of undecodable file names keep their bytes as escapes.
  outputs.write_file_atomically(
      path, text.encode('utf-8', errors='backslashreplace'))


def shard_names(filename, num_shards):
  """Names of a split's files: `filename` alone, or its shards
  `filename-00000-of-0000N`; and the glob naming exactly those."""
  if num_shards == 1:
    return [filename], filename
  names = [f'{filename}-{i:05d}-of-{num_shards:05d}'
           for i in range(num_shards)]
  return names, f'{filename}-?????-of-{num_shards:05d}'


def _shards(melodies, num_shards):
  """Contiguous parts (shard order = the split's order), sizes within 1."""
  size, extra = divmod(len(melodies), num_shards)
  parts, start = [], 0
  for index in range(num_shards):
    end = start + size + (index < extra)
    parts.append(melodies[start:end])
    start = end
  return parts


def write_dataset(melodies_by_source, output_dir, eval_ratio, seed, stats,
                  layout=example_layouts.DEFAULT, num_shards=1,
                  extra_files=None):
  """Splits melodies by source, shuffles and writes both TFRecords.

  The files are written together (`write_files_together`): a failed
  write (a full disk) leaves `output_dir` as it was, not even created.
  With shards, each split's melodies are cut into `num_shards` contiguous
  parts in order, so reading the shards in name order gives the
  unsharded file's melodies.

  Args:
    melodies_by_source: source key -> list of melodies (bytes or lists of
      class ints), each source's melodies in a fixed order.
    output_dir: where `TRAINING_FILENAME`, `EVAL_FILENAME` and
      `FAILED_FILES_FILENAME` are written (created if missing).
    eval_ratio: fraction of sources for evaluation, in [0, 1].
    seed: split (`split_sources`) and order seed.
    stats: `DatasetStats`; its split and output fields are filled in
      (with shards, training_path and eval_path are the globs naming them).
    layout: record layout (`note_rnn.example_layouts`).
    num_shards: files per split.
    extra_files: optional function of (training, evaluation), each split's
      (source key, melody) pairs in the order written, returning more
      (file name, function writing that file to the path it is given)
      pairs; those files are written together with the splits'.

  Returns:
    `stats`.
  """
  eval_keys = split_sources(melodies_by_source, eval_ratio, seed)
  training, evaluation = [], []
  for key in sorted(melodies_by_source):
    (evaluation if key in eval_keys else training).extend(
        (key, melody) for melody in melodies_by_source[key])
  # The order depends on the lengths only, so it is that of the melodies
  # alone.
  order_rng = random.Random(seed)
  order_rng.shuffle(training)
  order_rng.shuffle(evaluation)
  extra_writers = list(extra_files(training, evaluation)) if extra_files else []
  training = [melody for _, melody in training]
  evaluation = [melody for _, melody in evaluation]

  # Imported here (it imports TensorFlow): note_rnn_create_dataset --help
  # and the worker processes need not load it.
  # pylint: disable-next=g-import-not-at-top
  from note_rnn.data import sequence_example_io
  def writer(melodies):
    return lambda path: sequence_example_io.write_sequence_examples(
        path, melodies, layout)
  writers, paths = [], []
  for filename, melodies in ((TRAINING_FILENAME, training),
                             (EVAL_FILENAME, evaluation)):
    names, pattern = shard_names(filename, num_shards)
    writers += [(name, writer(part)) for name, part in
                zip(names, _shards(melodies, num_shards))]
    paths.append(os.path.join(output_dir, pattern))
  writers.append((FAILED_FILES_FILENAME, lambda path: (
      write_failed_files(path, stats.failed_files))))
  writers += extra_writers
  written = outputs.write_files_together(output_dir, writers)
  stats.training_melodies = sum(written[:num_shards])
  stats.eval_melodies = sum(written[num_shards:2 * num_shards])
  stats.training_path, stats.eval_path = paths
  stats.failed_files_path = os.path.join(output_dir, FAILED_FILES_FILENAME)
  stats.eval_sources = len(eval_keys)
  stats.training_sources = len(melodies_by_source) - len(eval_keys)
  return stats
