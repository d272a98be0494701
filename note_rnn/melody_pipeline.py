"""From music files to 38-class training melodies, as Magenta's pipeline does.

The steps follow Magenta's `melody_rnn_pipeline` for one NoteSequence:

1. split at time-signature and tempo changes, then quantize each piece to
   sixteenth notes (4 steps per quarter);
2. extract monophonic melodies per instrument (`extract_melodies`, the
   semantics of Magenta's `melody_pipelines.extract_melodies` on top of
   note_seq's `Melody.from_quantized_sequence`): a melody starts at the bar
   of its first note and ends where `gap_bars` bars or more of silence
   follow; melodies shorter than `min_bars` bars are dropped, longer than
   `max_steps` steps truncated, with fewer than `min_unique_pitches` pitch
   classes dropped; notes starting on the same step keep the highest one
   (or the whole track is dropped); drum notes are ignored;
3. transpose to C major (key guessed from the melody's pitch-class histogram
   by `Melody.squash`) and octave-shift into [48, 84);
4. encode to the 38 classes of `note_rnn.encoding`.

`create_dataset` runs this over a folder, glob or NoteSequence TFRecord and
writes Magenta-layout SequenceExample TFRecords (`note_rnn.sequence_example_io`)
split into training and evaluation sets by source file.
"""

import collections
import concurrent.futures
import dataclasses
import glob
import math
import multiprocessing
import os
import random
import sys
import time
import warnings

from note_seq import abc_parser
from note_seq import events_lib
from note_seq import melodies_lib
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2
import numpy as np

from note_rnn import encoding

# Magenta melody_rnn extraction defaults.
DEFAULT_MIN_BARS = 7
DEFAULT_MAX_STEPS = 512
DEFAULT_MIN_UNIQUE_PITCHES = 5
DEFAULT_GAP_BARS = 1.0
# Fraction of source files set aside for evaluation.
DEFAULT_EVAL_RATIO = 0.1

# Output file names (Magenta's melody_rnn dataset names).
TRAINING_FILENAME = 'training_melodies.tfrecord'
EVAL_FILENAME = 'eval_melodies.tfrecord'

# Input kinds, chosen by file extension (compared in lower case).
KIND_MIDI = 'midi'
KIND_ABC = 'abc'
KIND_NOTE_SEQUENCES = 'note_sequence_tfrecord'
EXTENSION_KINDS = {
    '.mid': KIND_MIDI,
    '.midi': KIND_MIDI,
    '.abc': KIND_ABC,
    '.tfrecord': KIND_NOTE_SEQUENCES,
}

# Why a whole file yielded no NoteSequence.
FILE_UNREADABLE_MIDI = 'unreadable_midi'
FILE_UNREADABLE_ABC = 'unreadable_abc'
FILE_ABC_ALL_TUNES_FAILED = 'abc_parse_error'
FILE_UNREADABLE_TFRECORD = 'unreadable_tfrecord'
FILE_NO_NOTES = 'no_notes'
# Why one NoteSequence (or a time-change piece of it) yielded no melody
# candidates.
SEQUENCE_ABC_TUNE_PARSE_ERROR = 'abc_tune_parse_error'
SEQUENCE_BAD_RECORD = 'unparsable_note_sequence_record'
SEQUENCE_NO_NOTES = 'no_notes'
SEQUENCE_MULTIPLE_TIME_SIGNATURES = 'multiple_time_signatures'
SEQUENCE_MULTIPLE_TEMPOS = 'multiple_tempos'
SEQUENCE_BAD_TIME_SIGNATURE = 'bad_time_signature'
SEQUENCE_NEGATIVE_TIME = 'negative_time'
SEQUENCE_NON_INTEGER_STEPS_PER_BAR = 'non_integer_steps_per_bar'
# Why an instrument track gave no melody.
TRACK_DRUMS = 'drums'
TRACK_POLYPHONIC = 'polyphonic'
# Why an extracted melody was dropped.
MELODY_TOO_SHORT = 'too_short'
MELODY_TOO_FEW_PITCHES = 'too_few_unique_pitches'

# NoteSequence records sent to a worker process at once.
RECORDS_PER_TASK = 32
# Tasks in flight per worker process (bounds memory for huge TFRecords).
TASKS_IN_FLIGHT_PER_WORKER = 4
# Seconds between progress lines: on a terminal (rewritten in place) / in logs.
PROGRESS_INTERVAL_TTY_S = 0.5
PROGRESS_INTERVAL_LOG_S = 30.0
# Failed files named in the summary; the rest are only counted.
MAX_FAILED_FILES_LISTED = 10


class EmptyCorpusError(RuntimeError):
  """The input yielded no melody at all; `stats` says what happened."""

  def __init__(self, message, stats=None):
    super().__init__(message)
    self.stats = stats


class InputError(ValueError):
  """The input names nothing usable: no such path, or an unknown file type."""


@dataclasses.dataclass(frozen=True)
class MelodyOptions:
  """How melodies are cut from quantized NoteSequences.

  Attributes:
    min_bars: shortest kept melody, in bars (of the sequence's time
      signature).
    max_steps: longer melodies are truncated to this many sixteenth steps.
    min_unique_pitches: fewest distinct pitch classes (octave-equivalent) a
      kept melody has.
    gap_bars: a silence of this many bars or more ends a melody.
    ignore_polyphonic_notes: True keeps the highest of notes that start on
      the same step; False drops the rest of such a track.
    filter_drums: ignore notes marked `is_drum`.
    steps_per_quarter: quantization grid (4 = sixteenth notes).
  """
  min_bars: int = DEFAULT_MIN_BARS
  max_steps: int = DEFAULT_MAX_STEPS
  min_unique_pitches: int = DEFAULT_MIN_UNIQUE_PITCHES
  gap_bars: float = DEFAULT_GAP_BARS
  ignore_polyphonic_notes: bool = True
  filter_drums: bool = True
  steps_per_quarter: int = encoding.STEPS_PER_QUARTER

  def __post_init__(self):
    if self.min_bars < 0:
      raise ValueError(f'min_bars must be >= 0; got {self.min_bars}')
    if self.max_steps < 2:
      raise ValueError(f'max_steps must be >= 2; got {self.max_steps}')
    if self.min_unique_pitches < 0:
      raise ValueError(
          f'min_unique_pitches must be >= 0; got {self.min_unique_pitches}')
    if not self.gap_bars > 0:
      raise ValueError(f'gap_bars must be > 0; got {self.gap_bars}')
    if self.steps_per_quarter < 1:
      raise ValueError(
          f'steps_per_quarter must be >= 1; got {self.steps_per_quarter}')


def _counter_text(counter):
  if not counter:
    return ''
  parts = ', '.join(f'{k}: {v}' for k, v in sorted(counter.items()))
  return f' ({parts})'


@dataclasses.dataclass
class DatasetStats:
  """What the pipeline read, skipped, kept and wrote.

  Attributes:
    files_found: input files of a known extension.
    files_read: files that yielded at least one NoteSequence.
    files_failed: reason -> files that yielded none.
    failed_files: sorted (source key, reason) of failed files.
    sequences: NoteSequences read (one per MIDI file, ABC tune, record).
    sequences_skipped: reason -> sequences or time-change pieces of them
      that could not be quantized or had no notes.
    tracks_skipped: reason -> instrument tracks giving no melody (drums,
      polyphony when not resolved).
    polyphonic_tracks_resolved: tracks where simultaneous onsets were reduced
      to the highest note.
    melodies_kept: melodies encoded into the dataset.
    melodies_dropped: reason -> extracted melodies discarded.
    melodies_truncated: kept melodies cut to `max_steps`.
    sources_with_melodies: source files (or records) giving >= 1 melody.
    training_sources, eval_sources: their split.
    training_melodies, eval_melodies: melodies written to each file.
    training_path, eval_path: the files written.
  """
  files_found: int = 0
  files_read: int = 0
  files_failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  failed_files: list = dataclasses.field(default_factory=list)
  sequences: int = 0
  sequences_skipped: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  tracks_skipped: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  polyphonic_tracks_resolved: int = 0
  melodies_kept: int = 0
  melodies_dropped: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  melodies_truncated: int = 0
  sources_with_melodies: int = 0
  training_sources: int = 0
  eval_sources: int = 0
  training_melodies: int = 0
  eval_melodies: int = 0
  training_path: str = ''
  eval_path: str = ''

  def merge(self, other):
    """Adds the counts of `other` (from another file or worker) to self."""
    for field in dataclasses.fields(self):
      mine = getattr(self, field.name)
      theirs = getattr(other, field.name)
      if isinstance(mine, collections.Counter):
        mine.update(theirs)
      elif isinstance(mine, list):
        mine.extend(theirs)
      elif isinstance(mine, int) and not isinstance(mine, bool):
        setattr(self, field.name, mine + theirs)
    return self

  def fail_file(self, key, reason):
    self.files_failed[reason] += 1
    self.failed_files.append((key, reason))

  def summary(self):
    """A multi-line, human-readable report."""
    lines = [
        'Melody dataset summary',
        f'  input files found:      {self.files_found}',
        f'  files read:             {self.files_read}',
        f'  files failed:           {sum(self.files_failed.values())}'
        f'{_counter_text(self.files_failed)}',
    ]
    for key, reason in sorted(self.failed_files)[:MAX_FAILED_FILES_LISTED]:
      lines.append(f'    failed: {key} ({reason})')
    if len(self.failed_files) > MAX_FAILED_FILES_LISTED:
      lines.append(f'    ... and '
                   f'{len(self.failed_files) - MAX_FAILED_FILES_LISTED} more')
    lines += [
        f'  note sequences:         {self.sequences}',
        f'  sequences skipped:      {sum(self.sequences_skipped.values())}'
        f'{_counter_text(self.sequences_skipped)}',
        f'  tracks skipped:         {sum(self.tracks_skipped.values())}'
        f'{_counter_text(self.tracks_skipped)}',
        f'  polyphonic tracks reduced to their top note: '
        f'{self.polyphonic_tracks_resolved}',
        f'  melodies kept:          {self.melodies_kept} '
        f'({self.melodies_truncated} truncated to max_steps)',
        f'  melodies dropped:       {sum(self.melodies_dropped.values())}'
        f'{_counter_text(self.melodies_dropped)}',
        f'  sources with melodies:  {self.sources_with_melodies} '
        f'(training {self.training_sources}, eval {self.eval_sources})',
    ]
    if self.training_path or self.eval_path:
      lines += [
          f'  training melodies:      {self.training_melodies} -> '
          f'{self.training_path}',
          f'  eval melodies:          {self.eval_melodies} -> {self.eval_path}',
      ]
    return '\n'.join(lines)


# ---------------------------------------------------------------------------
# One NoteSequence -> melodies.


def _has_simultaneous_onsets(notes):
  starts = [n.quantized_start_step for n in notes]
  return len(starts) != len(set(starts))


def extract_melodies(quantized_sequence, options=MelodyOptions()):
  """Cuts monophonic melodies out of every instrument of a quantized sequence.

  Magenta's `extract_melodies` with `max_steps_truncate=options.max_steps`,
  `search_start_step=0`, `pad_end=False`: per instrument (in increasing
  number), melodies are read with `Melody.from_quantized_sequence`, each
  search resuming at the bar boundary after the previous melody's end.

  Args:
    quantized_sequence: NoteSequence quantized relative to quarters.
    options: `MelodyOptions`.

  Returns:
    (melodies, stats): list of note_seq `Melody` (raw MIDI pitches, not yet
    squashed) and a `DatasetStats` with tracks_skipped, melodies_dropped,
    melodies_truncated and polyphonic_tracks_resolved filled in.

  Raises:
    events_lib.NonIntegerStepsPerBarError: the time signature gives a
      fractional number of steps per bar.
  """
  sequences_lib.assert_is_relative_quantized_sequence(quantized_sequence)
  stats = DatasetStats()
  melodies = []
  steps_per_bar = int(
      sequences_lib.steps_per_bar_in_quantized_sequence(quantized_sequence))
  notes_by_instrument = collections.defaultdict(list)
  for note in quantized_sequence.notes:
    notes_by_instrument[note.instrument].append(note)

  for instrument in sorted(notes_by_instrument):
    notes = notes_by_instrument[instrument]
    if options.filter_drums:
      notes = [n for n in notes if not n.is_drum]
      if not notes:
        stats.tracks_skipped[TRACK_DRUMS] += 1
        continue
    if (options.ignore_polyphonic_notes and
        _has_simultaneous_onsets([n for n in notes if n.velocity])):
      stats.polyphonic_tracks_resolved += 1

    search_start_step = 0
    while True:
      melody = melodies_lib.Melody()
      try:
        melody.from_quantized_sequence(
            quantized_sequence,
            search_start_step=search_start_step,
            instrument=instrument,
            gap_bars=options.gap_bars,
            ignore_polyphonic_notes=options.ignore_polyphonic_notes,
            pad_end=False,
            filter_drums=options.filter_drums)
      except melodies_lib.PolyphonicMelodyError:
        stats.tracks_skipped[TRACK_POLYPHONIC] += 1
        break
      if not melody:
        break
      # Resume at the first bar boundary at or after this melody's end.
      search_start_step = melody.end_step + (-melody.end_step) % steps_per_bar

      if len(melody) < melody.steps_per_bar * options.min_bars:
        stats.melodies_dropped[MELODY_TOO_SHORT] += 1
        continue
      # As in Magenta, truncation comes before the pitch count.
      truncated = len(melody) > options.max_steps
      if truncated:
        melody.set_length(options.max_steps)
      if np.count_nonzero(melody.get_note_histogram()) < (
          options.min_unique_pitches):
        stats.melodies_dropped[MELODY_TOO_FEW_PITCHES] += 1
        continue
      stats.melodies_truncated += int(truncated)
      melodies.append(melody)
  return melodies, stats


def encode_melody(melody, transpose_to_key=encoding.TRANSPOSE_TO_KEY):
  """Transposes, squashes and encodes one melody (Magenta's EncoderPipeline).

  `Melody.squash` guesses the melody's major key from its pitch-class
  histogram (ties go to the lowest key), transposes it to `transpose_to_key`
  by the octave-nearest amount that centres it in [48, 84), then folds any
  pitch still outside that range in by octaves. The melody is modified.

  Args:
    melody: note_seq `Melody`.
    transpose_to_key: target major key as a pitch class (0 = C).

  Returns:
    (classes, transpose_amount): list of class ints, one per step, and the
    semitones the melody was moved up (before octave folding).
  """
  amount = melody.squash(encoding.MIN_NOTE, encoding.MAX_NOTE,
                         transpose_to_key)
  return encoding.melody_to_classes(melody), int(amount)


class NoMelodyError(ValueError):
  """A primer (or other single input) holds no melody."""


def primer_classes(sequence, name='primer'):
  """Encodes the first melody of a NoteSequence, for priming a model.

  The primer keeps its key (it is not transposed to C); pitches outside
  [48, 84) are moved by octaves. Any length and pitch count is accepted.

  Args:
    sequence: unquantized NoteSequence.
    name: what to call the input in the error message.

  Returns:
    list of class ints.

  Raises:
    NoMelodyError: the sequence holds no melody.
  """
  options = MelodyOptions(min_bars=0, min_unique_pitches=1)
  pieces, _ = quantize_pieces(sequence, options.steps_per_quarter)
  for piece in pieces:
    melodies, _ = extract_melodies(piece, options)
    if melodies:
      melody = melodies[0]
      melody.squash(encoding.MIN_NOTE, encoding.MAX_NOTE, None)
      return encoding.melody_to_classes(melody)
  raise NoMelodyError(f'no melody found in {name}')


def quantize_pieces(sequence, steps_per_quarter=encoding.STEPS_PER_QUARTER):
  """Splits a sequence at time changes and quantizes each piece.

  Args:
    sequence: unquantized NoteSequence.
    steps_per_quarter: quantization grid.

  Returns:
    (pieces, skipped): quantized NoteSequences, and a Counter of reasons for
    pieces that could not be quantized.
  """
  skipped = collections.Counter()
  pieces = []
  for piece in sequences_lib.split_note_sequence_on_time_changes(sequence):
    try:
      pieces.append(
          sequences_lib.quantize_note_sequence(piece, steps_per_quarter))
    except sequences_lib.MultipleTimeSignatureError:
      skipped[SEQUENCE_MULTIPLE_TIME_SIGNATURES] += 1
    except sequences_lib.MultipleTempoError:
      skipped[SEQUENCE_MULTIPLE_TEMPOS] += 1
    except sequences_lib.BadTimeSignatureError:
      skipped[SEQUENCE_BAD_TIME_SIGNATURE] += 1
    except sequences_lib.NegativeTimeError:
      skipped[SEQUENCE_NEGATIVE_TIME] += 1
  return pieces, skipped


def note_sequence_to_class_sequences(sequence, options=MelodyOptions()):
  """The whole per-sequence pipeline: NoteSequence -> encoded melodies.

  Args:
    sequence: unquantized NoteSequence (from MIDI, ABC or a TFRecord).
    options: `MelodyOptions`.

  Returns:
    (class_sequences, stats): list of melodies (lists of class ints in
    [0, 38), one per sixteenth note, in C major within [48, 84)) and a
    `DatasetStats` counting this one sequence.
  """
  stats = DatasetStats(sequences=1)
  if not sequence.notes:
    stats.sequences_skipped[SEQUENCE_NO_NOTES] += 1
    return [], stats
  pieces, skipped = quantize_pieces(sequence, options.steps_per_quarter)
  stats.sequences_skipped.update(skipped)
  class_sequences = []
  for piece in pieces:
    try:
      melodies, piece_stats = extract_melodies(piece, options)
    except events_lib.NonIntegerStepsPerBarError:
      stats.sequences_skipped[SEQUENCE_NON_INTEGER_STEPS_PER_BAR] += 1
      continue
    stats.merge(piece_stats)
    for melody in melodies:
      class_sequences.append(encode_melody(melody)[0])
  stats.melodies_kept += len(class_sequences)
  return class_sequences, stats


# ---------------------------------------------------------------------------
# Files -> NoteSequences -> melodies (runs in worker processes).


@dataclasses.dataclass(frozen=True)
class SourceFile:
  """One input file: absolute `path`, stable `key` (relative name), `kind`."""
  path: str
  key: str
  kind: str


def find_source_files(input_spec, exclude_dir=None):
  """Lists the input files named by a folder, a file or a glob pattern.

  Args:
    input_spec: folder (searched recursively), single file, or glob pattern
      (`**` recurses) of .mid/.midi/.abc/.tfrecord files.
    exclude_dir: folder whose files are never inputs (the output folder).

  Returns:
    `SourceFile`s sorted by key. Keys are paths relative to the folder (or
    to the common folder of glob matches; the base name for one file), with
    '/' separators, so they do not depend on where the corpus lives.

  Raises:
    InputError: nothing exists at `input_spec` and it matches no path, or
      it is a single file of an unknown extension.
  """
  input_spec = os.fspath(input_spec)
  exclude = os.path.abspath(exclude_dir) + os.sep if exclude_dir else None

  def kind_of(path):
    return EXTENSION_KINDS.get(os.path.splitext(path)[1].lower())

  if os.path.isfile(input_spec):
    kind = kind_of(input_spec)
    if kind is None:
      raise InputError(
          f'--input={input_spec}: unknown file type; expected one of '
          f'{", ".join(sorted(EXTENSION_KINDS))}')
    path = os.path.abspath(input_spec)
    return [SourceFile(path, os.path.basename(path), kind)]

  if os.path.isdir(input_spec):
    root = os.path.abspath(input_spec)
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
      dirnames.sort()
      paths.extend(os.path.join(dirpath, f) for f in filenames)
  else:
    paths = [os.path.abspath(p)
             for p in glob.glob(input_spec, recursive=True)]
    if not paths:
      raise InputError(
          f'--input={input_spec} is not a file or folder and matches nothing')
    paths = [p for p in paths if os.path.isfile(p)]
    root = (os.path.commonpath([os.path.dirname(p) for p in paths])
            if paths else '')

  sources = []
  for path in paths:
    kind = kind_of(path)
    if kind is None or (exclude and path.startswith(exclude)):
      continue
    key = os.path.relpath(path, root).replace(os.sep, '/')
    sources.append(SourceFile(path, key, kind))
  return sorted(sources, key=lambda s: s.key)


@dataclasses.dataclass
class TaskResult:
  """Melodies of one task: (source key, [melody as bytes of classes]) pairs."""
  melodies: list
  stats: DatasetStats


def _classes_to_bytes(class_sequences):
  # Classes fit in a byte; bytes keep large corpora small between processes.
  return [bytes(classes) for classes in class_sequences]


def _sequences_to_result(key, sequences, stats, options):
  melodies = []
  for sequence in sequences:
    class_sequences, sequence_stats = note_sequence_to_class_sequences(
        sequence, options)
    stats.merge(sequence_stats)
    melodies.extend(_classes_to_bytes(class_sequences))
  return TaskResult([(key, melodies)] if melodies else [], stats)


def process_file(source, options=MelodyOptions()):
  """Reads one MIDI or ABC file and encodes its melodies; never raises.

  Args:
    source: `SourceFile` of kind midi or abc.
    options: `MelodyOptions`.

  Returns:
    `TaskResult`; a file that cannot be read or has no notes is counted in
    `stats.files_failed` with its reason.
  """
  stats = DatasetStats()
  sequences = []
  with warnings.catch_warnings():
    # pretty_midi warns about events on non-zero tracks etc.; one line per
    # file would drown the progress line on large corpora.
    warnings.simplefilter('ignore')
    if source.kind == KIND_MIDI:
      try:
        sequences = [encoding.midi_file_to_note_sequence(source.path)]
      except Exception:  # pylint: disable=broad-except
        stats.fail_file(source.key, FILE_UNREADABLE_MIDI)
        return TaskResult([], stats)
    elif source.kind == KIND_ABC:
      try:
        tunes, errors = abc_parser.parse_abc_tunebook_file(source.path)
      except Exception:  # pylint: disable=broad-except
        stats.fail_file(source.key, FILE_UNREADABLE_ABC)
        return TaskResult([], stats)
      if not tunes and errors:
        stats.fail_file(source.key, FILE_ABC_ALL_TUNES_FAILED)
        stats.sequences_skipped[SEQUENCE_ABC_TUNE_PARSE_ERROR] += len(errors)
        return TaskResult([], stats)
      stats.sequences_skipped[SEQUENCE_ABC_TUNE_PARSE_ERROR] += len(errors)
      sequences = list(tunes.values())
    else:
      raise ValueError(f'process_file cannot read {source.kind} files')

  if not any(s.notes for s in sequences):
    stats.fail_file(source.key, FILE_NO_NOTES)
    return TaskResult([], stats)
  stats.files_read += 1
  for sequence in sequences:
    sequence.filename = source.key
  return _sequences_to_result(source.key, sequences, stats, options)


def process_records(records, options=MelodyOptions()):
  """Encodes serialized NoteSequences; each record is its own source.

  Args:
    records: list of (source key, serialized NoteSequence bytes).
    options: `MelodyOptions`.

  Returns:
    `TaskResult` over all records.
  """
  stats = DatasetStats()
  melodies = []
  for key, serialized in records:
    try:
      sequence = music_pb2.NoteSequence.FromString(serialized)
    except Exception:  # pylint: disable=broad-except
      stats.sequences += 1
      stats.sequences_skipped[SEQUENCE_BAD_RECORD] += 1
      continue
    result = _sequences_to_result(key, [sequence], DatasetStats(), options)
    stats.merge(result.stats)
    melodies.extend(result.melodies)
  return TaskResult(melodies, stats)


def _run_task(task):
  """Worker entry point: task = ('file', SourceFile, options) or
  ('records', [(key, bytes)], options)."""
  kind, payload, options = task
  if kind == 'file':
    return process_file(payload, options)
  return process_records(payload, options)


# ---------------------------------------------------------------------------
# The dataset tool.


class Progress:
  """A progress line on a stream: done / total, rate and ETA."""

  def __init__(self, total, unit, stream):
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
    if self._done and self._total:
      eta_s = (self._total - self._done) / rate
      eta = time.strftime('%H:%M:%S', time.gmtime(eta_s))
    else:
      eta = '--:--:--'
    pct = 100.0 * self._done / self._total if self._total else 100.0
    return (f'{self._done}/{self._total} {self._unit} ({pct:.0f}%)  '
            f'{rate:.1f} {self._unit}/s  ETA {eta}')

  def advance(self, count):
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
    if self._stream is not None:
      self._write(self._line(), final=True)

  def _write(self, text, final):
    if self._tty:
      self._stream.write('\r' + text + ('\n' if final else ''))
    else:
      self._stream.write(text + '\n')
    self._stream.flush()


def _iter_tfrecord(path):
  # TensorFlow is imported here only: worker processes never need it.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  for record in tf.data.TFRecordDataset(path):
    yield record.numpy()


def _count_tfrecord(path, stats, key):
  try:
    return sum(1 for _ in _iter_tfrecord(path))
  except Exception:  # pylint: disable=broad-except
    stats.fail_file(key, FILE_UNREADABLE_TFRECORD)
    return None


def _make_tasks(sources, record_counts, options, stats):
  """Yields (units, task): units count toward the progress total."""
  for source in sources:
    if source.kind != KIND_NOTE_SEQUENCES:
      yield 1, ('file', source, options)
      continue
    if record_counts.get(source.key) is None:
      continue  # Already counted as failed.
    stats.files_read += 1
    chunk = []
    index = 0
    try:
      for serialized in _iter_tfrecord(source.path):
        chunk.append((f'{source.key}#{index:08d}', serialized))
        index += 1
        if len(chunk) == RECORDS_PER_TASK:
          yield len(chunk), ('records', chunk, options)
          chunk = []
    except Exception:  # pylint: disable=broad-except
      # Corruption found while reading: the records before it are used.
      stats.files_read -= 1
      stats.fail_file(source.key, FILE_UNREADABLE_TFRECORD)
    if chunk:
      yield len(chunk), ('records', chunk, options)


def run_tasks(tasks, num_workers, progress, run_task=_run_task):
  """Runs tasks (in process or in a pool) and returns results in task order.

  Args:
    tasks: iterable of (units, task); units count toward `progress`.
    num_workers: worker processes; 1 runs every task in this process.
    progress: `Progress`.
    run_task: picklable module-level function of one task, run in the
      workers (`spawn` start method: its module must import cleanly).

  Returns:
    List of `run_task(task)` results, in task order.
  """
  results = []
  if num_workers <= 1:
    for units, task in tasks:
      results.append(run_task(task))
      progress.advance(units)
    return results

  # 'spawn' starts clean interpreters: the parent may hold TensorFlow
  # threads, which a fork would copy mid-state.
  context = multiprocessing.get_context('spawn')
  by_index = {}
  with concurrent.futures.ProcessPoolExecutor(
      max_workers=num_workers, mp_context=context) as pool:
    pending = {}
    limit = num_workers * TASKS_IN_FLIGHT_PER_WORKER
    task_iter = enumerate(tasks)
    exhausted = False
    while pending or not exhausted:
      while not exhausted and len(pending) < limit:
        try:
          index, (units, task) = next(task_iter)
        except StopIteration:
          exhausted = True
          break
        pending[pool.submit(run_task, task)] = (index, units)
      if not pending:
        break
      done, _ = concurrent.futures.wait(
          pending, return_when=concurrent.futures.FIRST_COMPLETED)
      for future in done:
        index, units = pending.pop(future)
        by_index[index] = future.result()
        progress.advance(units)
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
                   seed=0, options=MelodyOptions(), num_workers=None,
                   progress_stream=sys.stderr):
  """Builds the Note RNN training and evaluation TFRecords.

  Every input file (or NoteSequence record) is a source; whole sources go to
  either split (no melody of one song lands in both), chosen by
  `split_sources`. Each split's melodies are shuffled with the same seed
  before writing. Same input and seed give byte-identical files, whatever
  `num_workers`.

  Args:
    input_spec: folder, glob or file (see `find_source_files`).
    output_dir: where `TRAINING_FILENAME` and `EVAL_FILENAME` are written
      (atomically; created if missing).
    eval_ratio: fraction of sources for evaluation, in [0, 1].
    seed: split and order seed.
    options: `MelodyOptions`.
    num_workers: worker processes; None = os.cpu_count(); 1 = in-process.
    progress_stream: text stream for the progress line, or None.

  Returns:
    `DatasetStats`.

  Raises:
    InputError: `input_spec` names nothing usable.
    EmptyCorpusError: no input file, or no melody survived; nothing written.
  """
  if not 0.0 <= eval_ratio <= 1.0:
    raise ValueError(f'eval_ratio must lie in [0, 1]; got {eval_ratio}')
  sources = find_source_files(input_spec, exclude_dir=output_dir)
  stats = DatasetStats(files_found=len(sources))
  if not sources:
    kinds = '/'.join(sorted(EXTENSION_KINDS))
    raise EmptyCorpusError(f'no {kinds} file found at {input_spec}', stats)

  record_counts = {}
  for source in sources:
    if source.kind == KIND_NOTE_SEQUENCES:
      record_counts[source.key] = _count_tfrecord(source.path, stats,
                                                  source.key)
  total = sum(1 for s in sources if s.kind != KIND_NOTE_SEQUENCES)
  total += sum(n for n in record_counts.values() if n)
  unit = 'records' if record_counts and total > len(sources) else 'files'
  num_workers = num_workers or os.cpu_count() or 1
  num_workers = max(1, min(num_workers, total))
  progress = Progress(total, unit, progress_stream)
  results = run_tasks(_make_tasks(sources, record_counts, options, stats),
                      num_workers, progress)
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
                       stats)


def write_dataset(melodies_by_source, output_dir, eval_ratio, seed, stats):
  """Splits melodies by source, shuffles and writes both TFRecords.

  Args:
    melodies_by_source: source key -> list of melodies (bytes or lists of
      class ints), each source's melodies in a fixed order.
    output_dir: where `TRAINING_FILENAME` and `EVAL_FILENAME` are written
      (atomically; created if missing).
    eval_ratio: fraction of sources for evaluation, in [0, 1].
    seed: split (`split_sources`) and order seed.
    stats: `DatasetStats`; its split and output fields are filled in.

  Returns:
    `stats`.
  """
  eval_keys = split_sources(melodies_by_source, eval_ratio, seed)
  training, evaluation = [], []
  for key in sorted(melodies_by_source):
    (evaluation if key in eval_keys else training).extend(
        melodies_by_source[key])
  order_rng = random.Random(seed)
  order_rng.shuffle(training)
  order_rng.shuffle(evaluation)

  # Imported here so that worker processes, which import this module, stay
  # free of TensorFlow.
  # pylint: disable-next=g-import-not-at-top
  from note_rnn import sequence_example_io
  os.makedirs(output_dir, exist_ok=True)
  stats.training_path = os.path.join(output_dir, TRAINING_FILENAME)
  stats.eval_path = os.path.join(output_dir, EVAL_FILENAME)
  stats.training_melodies = sequence_example_io.write_sequence_examples(
      stats.training_path, training)
  stats.eval_melodies = sequence_example_io.write_sequence_examples(
      stats.eval_path, evaluation)
  stats.eval_sources = len(eval_keys)
  stats.training_sources = len(melodies_by_source) - len(eval_keys)
  return stats
