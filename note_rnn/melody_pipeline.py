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
split into training and evaluation sets by source file, and the list of
failed files. Bad input fails only itself: inputs are bounded before they
are expanded (`MAX_INPUT_BYTES`, `MAX_INPUT_NOTES`, `MAX_INPUT_STEPS`), a
file that kills its worker process is retried alone and then failed
(`run_tasks`), and ABC bytes are decoded as ABC tools do (`decode_abc`).
"""

import bisect
import codecs
import collections
import concurrent.futures
import dataclasses
import glob
import math
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
import warnings

from note_seq import abc_parser
from note_seq import constants
from note_seq import events_lib
from note_seq import melodies_lib
from note_seq import midi_io
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2
import numpy as np

from note_rnn import encoding

# Magenta melody_rnn extraction defaults.
DEFAULT_MIN_BARS = 7
DEFAULT_MAX_STEPS = 512
DEFAULT_MIN_UNIQUE_PITCHES = 5
DEFAULT_GAP_BARS = 1.0
# note_seq's tempo for a sequence without one.
DEFAULT_QPM = constants.DEFAULT_QUARTERS_PER_MINUTE
# Fraction of source files set aside for evaluation.
DEFAULT_EVAL_RATIO = 0.1

# Output file names (Magenta's melody_rnn dataset names).
TRAINING_FILENAME = 'training_melodies.tfrecord'
EVAL_FILENAME = 'eval_melodies.tfrecord'
# Every failed input file, one `key<TAB>reason` line each, sorted.
FAILED_FILES_FILENAME = 'failed_files.txt'

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
FILE_WORKER_CRASHED = 'worker_crashed'
FILE_OUT_OF_MEMORY = 'out_of_memory'
# Why an input (a file, or one NoteSequence in it) is refused before it is
# expanded: see MAX_INPUT_BYTES, MAX_INPUT_NOTES, MAX_INPUT_STEPS.
INPUT_TOO_LARGE = 'file_too_large'
INPUT_TOO_MANY_NOTES = 'too_many_notes'
INPUT_TOO_MANY_STEPS = 'too_many_steps'
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
# Deaths of a worker process running a task alone (after the task was lost
# with a broken pool) that make the task fail as `worker_crashed`.
CRASHES_TO_FAIL = 1
# Failed files named in the summary; all are in FAILED_FILES_FILENAME.
MAX_FAILED_FILES_LISTED = 10

# Input bounds, checked before anything is expanded, so that one hostile or
# broken file cannot exhaust memory (note_seq pads a melody to its last
# note's end before it is cut to max_steps; pretty_midi allocates per tick).
# Larger files, or NoteSequences with more notes or a later end (in
# sixteenth steps, i.e. 9.1 hours at 120 qpm), are dropped with a reason.
MAX_INPUT_BYTES = {
    KIND_MIDI: 8 << 20,
    KIND_ABC: 64 << 20,
}
MAX_INPUT_NOTES = 1 << 16
MAX_INPUT_STEPS = 1 << 18
# MIDI events (of any kind) read from one file.
MAX_MIDI_EVENTS = 1 << 20


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
    failed_files_path: the list of every failed file, written with them.
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
  failed_files_path: str = ''

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
      more = (f'    ... and '
              f'{len(self.failed_files) - MAX_FAILED_FILES_LISTED} more')
      if self.failed_files_path:
        more += f' (all in {self.failed_files_path})'
      lines.append(more)
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
    if self.failed_files_path:
      lines.append(f'  failed files list:      {len(self.failed_files)} -> '
                   f'{self.failed_files_path}')
    return '\n'.join(lines)


# ---------------------------------------------------------------------------
# One NoteSequence -> melodies.


def _has_simultaneous_onsets(notes):
  starts = [n.quantized_start_step for n in notes]
  return len(starts) != len(set(starts))


def _melody_window(track, starts, search_start_step, gap_steps):
  """The notes a melody search from `search_start_step` can reach.

  note_seq ends a melody at a note starting `gap_steps` or more after the
  last note-off so far, which is at most the latest end among the notes
  before it; so no note after the first such gap in the track is read.

  Args:
    track: one instrument's notes, sorted by (start step, -pitch).
    starts: their start steps.
    search_start_step: the search's first step.
    gap_steps: gap_bars * steps_per_bar.

  Returns:
    The slice of `track` from the first note at or after the search start
    to the first note after a gap.
  """
  first = bisect.bisect_left(starts, search_start_step)
  latest_end = -math.inf
  for last in range(first, len(track)):
    if last > first and starts[last] - latest_end >= gap_steps:
      return track[first:last]
    latest_end = max(latest_end, track[last].quantized_end_step)
  return track[first:]


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

  # Each search gets only the notes it can reach (see `_melody_window`):
  # note_seq scans and sorts all of a track's later notes per melody.
  window = music_pb2.NoteSequence()
  window.CopyFrom(quantized_sequence)
  del window.notes[:]
  gap_steps = options.gap_bars * steps_per_bar

  for instrument in sorted(notes_by_instrument):
    notes = notes_by_instrument[instrument]
    # As note_seq orders them, drums included.
    track = sorted(notes, key=lambda n: (n.quantized_start_step, -n.pitch))
    track_starts = [n.quantized_start_step for n in track]
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
      del window.notes[:]
      window.notes.extend(_melody_window(track, track_starts,
                                         search_start_step, gap_steps))
      try:
        melody.from_quantized_sequence(
            window,
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
  too_big = input_bound_reason(sequence, options.steps_per_quarter)
  if too_big:
    raise NoMelodyError(f'{name} is too big to read ({too_big}: more than '
                        f'{MAX_INPUT_NOTES} notes or {MAX_INPUT_STEPS} '
                        'steps)')
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


def sequence_steps(sequence, steps_per_quarter=encoding.STEPS_PER_QUARTER):
  """Steps from 0 to the last note end of an unquantized sequence.

  Computed from note times and the tempo map alone (the default 120 qpm
  before the first tempo), without quantizing or expanding anything; it is
  what quantizing would give, up to rounding.

  Args:
    sequence: unquantized NoteSequence.
    steps_per_quarter: quantization grid.

  Returns:
    float number of steps (inf or nan for non-finite times or tempos).
  """
  end = max((n.end_time for n in sequence.notes), default=0.0)
  time_s, qpm, steps = 0.0, DEFAULT_QPM, 0.0
  for tempo in sorted(sequence.tempos, key=lambda t: t.time):
    if not tempo.time < end:
      break
    if tempo.time > time_s:
      steps += (tempo.time - time_s) * max(qpm, 0.0)
      time_s = tempo.time
    qpm = tempo.qpm
  steps += (end - time_s) * max(qpm, 0.0)
  return steps / 60.0 * steps_per_quarter


def input_bound_reason(sequence, steps_per_quarter=encoding.STEPS_PER_QUARTER):
  """Why a NoteSequence is too big to extract melodies from, or None.

  Args:
    sequence: unquantized NoteSequence.
    steps_per_quarter: quantization grid.

  Returns:
    INPUT_TOO_MANY_NOTES (more than MAX_INPUT_NOTES notes),
    INPUT_TOO_MANY_STEPS (a note ends after MAX_INPUT_STEPS steps, or times
    are not finite), or None.
  """
  if len(sequence.notes) > MAX_INPUT_NOTES:
    return INPUT_TOO_MANY_NOTES
  steps = sequence_steps(sequence, steps_per_quarter)
  if not steps <= MAX_INPUT_STEPS:  # Also catches nan.
    return INPUT_TOO_MANY_STEPS
  return None


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
  too_big = input_bound_reason(sequence, options.steps_per_quarter)
  if too_big:
    stats.sequences_skipped[too_big] += 1
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


class _MidiScanError(ValueError):
  """The bytes are not a Standard MIDI File the scan can read."""


def _read_varlen(data, pos):
  value = 0
  for _ in range(4):
    if pos >= len(data):
      raise _MidiScanError('truncated variable-length number')
    byte = data[pos]
    pos += 1
    value = (value << 7) | (byte & 0x7f)
    if not byte & 0x80:
      return value, pos
  raise _MidiScanError('variable-length number over 4 bytes')


# Data bytes after a channel status byte, by its high nibble.
_MIDI_DATA_BYTES = {0x8: 2, 0x9: 2, 0xa: 2, 0xb: 2, 0xc: 1, 0xd: 1, 0xe: 2}


def midi_bound_reason(data):
  """Why MIDI file bytes are too big to read, or None; allocates nothing.

  Walks the track chunks of a Standard MIDI File (as mido would) counting
  events and sounding note-ons and summing delta ticks per track, so that
  a file whose notes or length exceed MAX_INPUT_NOTES, MAX_MIDI_EVENTS or
  MAX_INPUT_STEPS (ticks / ticks per quarter * 4 steps, whatever the tempo)
  is refused before mido and pretty_midi build per-event and per-tick
  objects. Bytes the scan cannot follow are left to the MIDI reader.

  Args:
    data: file contents.

  Returns:
    INPUT_TOO_MANY_NOTES (too many note-ons, or events of any kind),
    INPUT_TOO_MANY_STEPS or None.
  """
  try:
    if data[:4] != b'MThd' or len(data) < 14:
      return None
    header_length = int.from_bytes(data[4:8], 'big')
    division = int.from_bytes(data[12:14], 'big')
    # Ticks per quarter; SMPTE time (top bit set) is not bounded here.
    ticks_per_quarter = 0 if division & 0x8000 else division
    pos = 8 + header_length
    notes = events = 0
    while pos + 8 <= len(data):
      chunk_id = data[pos:pos + 4]
      chunk_end = min(pos + 8 + int.from_bytes(data[pos + 4:pos + 8], 'big'),
                      len(data))
      pos += 8
      if chunk_id != b'MTrk':
        pos = chunk_end
        continue
      ticks = 0
      running = 0  # Running status: the last channel status byte.
      while pos < chunk_end:
        delta, pos = _read_varlen(data, pos)
        ticks += delta
        events += 1
        status = data[pos]
        if status & 0x80:
          pos += 1
          running = status if status < 0xf0 else running
        else:
          status = running
        if status in (0xf0, 0xf7):
          length, pos = _read_varlen(data, pos)
          pos += length
        elif status == 0xff:
          length, pos = _read_varlen(data, pos + 1)
          pos += length
        elif status >= 0x80:
          if status >> 4 == 0x9 and data[pos + 1]:
            notes += 1
          pos += _MIDI_DATA_BYTES.get(status >> 4, 0)
        else:
          raise _MidiScanError('data byte without a status')
      if notes > MAX_INPUT_NOTES or events > MAX_MIDI_EVENTS:
        return INPUT_TOO_MANY_NOTES
      if ticks_per_quarter and (
          ticks * encoding.STEPS_PER_QUARTER / ticks_per_quarter >
          MAX_INPUT_STEPS):
        return INPUT_TOO_MANY_STEPS
      pos = chunk_end
  except (_MidiScanError, IndexError):
    return None
  return None


def _read_midi(data):
  """(NoteSequence, None) from MIDI bytes, or (None, failure reason)."""
  too_big = midi_bound_reason(data)
  if too_big:
    return None, too_big
  try:
    return midi_io.midi_to_note_sequence(data), None
  except Exception:  # pylint: disable=broad-except
    return None, FILE_UNREADABLE_MIDI


# A charset declaration (ABC 2.1 `I:abc-charset`, or abcm2ps' `%abc-charset`).
_ABC_CHARSET = re.compile(rb'^[ \t]*(?:%|I:)[ \t]*abc-charset[ \t]+([\w.:-]+)',
                          re.MULTILINE)
_BOMS = (
    (codecs.BOM_UTF32_LE, 'utf-32'),
    (codecs.BOM_UTF32_BE, 'utf-32'),
    (codecs.BOM_UTF8, 'utf-8-sig'),
    (codecs.BOM_UTF16_LE, 'utf-16'),
    (codecs.BOM_UTF16_BE, 'utf-16'),
)


def decode_abc(data):
  """Decodes ABC file bytes as ABC tools do; never fails.

  A byte-order mark wins (UTF-8, UTF-16, UTF-32); then a charset line
  (`%abc-charset NAME` or `I:abc-charset NAME`, e.g. iso-8859-1, utf-8);
  then UTF-8; then, for legacy 8-bit files, Windows-1252 (latin-1 with
  typographic quotes in 0x80-0x9f), and latin-1, which reads any byte. A
  file without a mark whose every other byte is NUL is read as UTF-16. Line
  ends are normalized to '\n'.

  Args:
    data: file contents.

  Returns:
    (text, encoding name).
  """
  candidates = []
  for bom, name in _BOMS:
    if data.startswith(bom):
      candidates.append(name)
      break
  else:
    if len(data) >= 2 and len(data) % 2 == 0 and b'\0' in data[:64]:
      if not any(data[1:64:2]):
        candidates.append('utf-16-le')
      elif not any(data[0:64:2]):
        candidates.append('utf-16-be')
    declared = _ABC_CHARSET.search(data)
    if declared:
      try:
        candidates.append(
            codecs.lookup(declared.group(1).decode('ascii')).name)
      except LookupError:
        pass
  candidates += ['utf-8', 'cp1252', 'latin-1']
  for name in candidates:
    try:
      text = data.decode(name)
    except UnicodeDecodeError:
      continue
    return text.replace('\r\n', '\n').replace('\r', '\n'), name
  raise AssertionError('latin-1 decodes any bytes')


def _file_size(path):
  try:
    return os.path.getsize(path)
  except OSError:
    return 0  # The read reports it.


def process_file(source, options=MelodyOptions()):
  """Reads one MIDI or ABC file and encodes its melodies; never raises.

  Args:
    source: `SourceFile` of kind midi or abc.
    options: `MelodyOptions`.

  Returns:
    `TaskResult`; a file that cannot be read, is over the input bounds
    (`MAX_INPUT_BYTES`, `midi_bound_reason`, `input_bound_reason`) or has
    no notes is counted in `stats.files_failed` with its reason.
  """
  stats = DatasetStats()
  sequences = []
  if source.kind not in (KIND_MIDI, KIND_ABC):
    raise ValueError(f'process_file cannot read {source.kind} files')
  if _file_size(source.path) > MAX_INPUT_BYTES[source.kind]:
    stats.fail_file(source.key, INPUT_TOO_LARGE)
    return TaskResult([], stats)
  unreadable = (FILE_UNREADABLE_MIDI if source.kind == KIND_MIDI
                else FILE_UNREADABLE_ABC)
  try:
    with open(source.path, 'rb') as f:
      data = f.read()
  except OSError:
    stats.fail_file(source.key, unreadable)
    return TaskResult([], stats)
  with warnings.catch_warnings():
    # pretty_midi warns about events on non-zero tracks etc.; one line per
    # file would drown the progress line on large corpora.
    warnings.simplefilter('ignore')
    if source.kind == KIND_MIDI:
      sequence, reason = _read_midi(data)
      if reason:
        stats.fail_file(source.key, reason)
        return TaskResult([], stats)
      sequences = [sequence]
    else:
      try:
        tunes, errors = abc_parser.parse_abc_tunebook(decode_abc(data)[0])
      except Exception:  # pylint: disable=broad-except
        stats.fail_file(source.key, FILE_UNREADABLE_ABC)
        return TaskResult([], stats)
      if errors:
        stats.sequences_skipped[SEQUENCE_ABC_TUNE_PARSE_ERROR] += len(errors)
      if not tunes and errors:
        stats.fail_file(source.key, FILE_ABC_ALL_TUNES_FAILED)
        return TaskResult([], stats)
      sequences = list(tunes.values())
  del data  # Not needed while the melodies are extracted.

  if not any(s.notes for s in sequences):
    stats.fail_file(source.key, FILE_NO_NOTES)
    return TaskResult([], stats)
  too_big = [input_bound_reason(s, options.steps_per_quarter)
             for s in sequences if s.notes]
  if all(too_big):
    # Every sequence with notes is too big: the file gives nothing.
    stats.fail_file(source.key, too_big[0])
    stats.sequences += len(sequences)
    stats.sequences_skipped.update(too_big)
    if len(too_big) < len(sequences):
      stats.sequences_skipped[SEQUENCE_NO_NOTES] += (
          len(sequences) - len(too_big))
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
  try:
    if kind == 'file':
      return process_file(payload, options)
    return process_records(payload, options)
  except MemoryError:
    # A refused allocation (e.g. under a ulimit) fails this task only.
    return _failed_task_result(task, FILE_OUT_OF_MEMORY)


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


def _failed_task_result(task, reason):
  """The result of a task that gave nothing: its file or records fail."""
  kind, payload, _ = task
  stats = DatasetStats()
  if kind == 'file':
    stats.fail_file(payload.key, reason)
  else:
    stats.sequences += len(payload)
    stats.sequences_skipped[reason] += len(payload)
  return TaskResult([], stats)


def _crashed_task_result(task):
  """The result of a task whose worker process died on it twice."""
  return _failed_task_result(task, FILE_WORKER_CRASHED)


def run_tasks(tasks, num_workers, progress, run_task=_run_task,
              on_crash=None):
  """Runs tasks (in process or in a pool) and returns results in task order.

  A worker process that dies (killed for memory, a crash in native code)
  breaks its pool and loses the tasks in flight. They are run again, one
  at a time, in a new pool; a task that kills its worker again, running
  alone (`CRASHES_TO_FAIL` times), gets `on_crash(task)` as its result, and
  the run goes on.

  Args:
    tasks: iterable of (units, task); units count toward `progress`.
    num_workers: worker processes; 1 runs every task in this process.
    progress: `Progress`.
    run_task: picklable module-level function of one task, run in the
      workers (`spawn` start method: its module must import cleanly).
    on_crash: function of a task giving the result of one that killed its
      worker again; None raises BrokenProcessPool then.

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
  task_iter = enumerate(tasks)
  exhausted = False
  # (index, units, task, crashes alone) lost with a broken pool, to run
  # again one at a time.
  suspects = collections.deque()
  limit = num_workers * TASKS_IN_FLIGHT_PER_WORKER

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
        max_workers=num_workers, mp_context=context)
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
      if len(lost) == 1 and lost[0][3] is not None:
        # It ran alone: it killed its worker.
        index, units, task, crashes = lost[0]
        if crashes + 1 >= CRASHES_TO_FAIL:
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
                   seed=0, options=MelodyOptions(), num_workers=None,
                   progress_stream=sys.stderr, run_task=_run_task):
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
    num_workers: worker processes; None = os.cpu_count(); 1 = in-process.
    progress_stream: text stream for the progress line, or None.
    run_task: the worker entry point (see `run_tasks`; tests put faults
      in it).

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
                      num_workers, progress, run_task=run_task,
                      on_crash=_crashed_task_result)
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


def write_failed_files(path, failed_files):
  """Writes `key<TAB>reason` lines, sorted, atomically (tmp file + rename).

  Args:
    path: destination file.
    failed_files: (source key, reason) pairs.
  """
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-',
                             suffix=os.path.basename(path))
  try:
    # Keys of undecodable file names keep their bytes as escapes.
    with open(fd, 'w', encoding='utf-8', errors='backslashreplace',
                 newline='\n') as f:
      for key, reason in sorted(failed_files):
        f.write(f'{key}\t{reason}\n')
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def write_dataset(melodies_by_source, output_dir, eval_ratio, seed, stats):
  """Splits melodies by source, shuffles and writes both TFRecords.

  Args:
    melodies_by_source: source key -> list of melodies (bytes or lists of
      class ints), each source's melodies in a fixed order.
    output_dir: where `TRAINING_FILENAME`, `EVAL_FILENAME` and
      `FAILED_FILES_FILENAME` are written (atomically; created if missing).
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
  stats.failed_files_path = os.path.join(output_dir, FAILED_FILES_FILENAME)
  write_failed_files(stats.failed_files_path, stats.failed_files)
  stats.eval_sources = len(eval_keys)
  stats.training_sources = len(melodies_by_source) - len(eval_keys)
  return stats
