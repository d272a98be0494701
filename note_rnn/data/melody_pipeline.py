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


The stages here turn one NoteSequence into class sequences
(`note_sequence_to_class_sequences`), with `DatasetStats` counting what was
kept and dropped; `note_rnn.source_files` reads input files into
NoteSequences and `note_rnn.dataset_runner` runs this over a corpus. A
NoteSequence is bounded before it is expanded (`MAX_INPUT_NOTES`,
`MAX_INPUT_STEPS`, `input_bound_reason`).
"""

import bisect
import collections
import dataclasses
import math

import numpy as np

from note_rnn import encoding

# note_seq is imported by the functions that use it: --help of the dataset
# tools, which read the defaults here, need not load it.

# Magenta melody_rnn extraction defaults.
DEFAULT_MIN_BARS = 7
DEFAULT_MAX_STEPS = 512
DEFAULT_MIN_UNIQUE_PITCHES = 5
DEFAULT_GAP_BARS = 1.0
# Why a NoteSequence is refused before it is expanded: see MAX_INPUT_NOTES,
# MAX_INPUT_STEPS.
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
# Failed files named in the summary; all are in
# `dataset_runner.FAILED_FILES_FILENAME`.
MAX_FAILED_FILES_LISTED = 10

# Input bounds, checked before anything is expanded, so that one hostile or
# broken file cannot exhaust memory (note_seq pads a melody to its last
# note's end before it is cut to max_steps). NoteSequences with more notes
# or a later end (in sixteenth steps, i.e. 9.1 hours at 120 qpm) are dropped
# with a reason.
MAX_INPUT_NOTES = 1 << 16
MAX_INPUT_STEPS = 1 << 18


def _default_qpm():
  """note_seq's tempo for a sequence without one (`DEFAULT_QPM`)."""
  from note_seq import constants  # pylint: disable=g-import-not-at-top
  return constants.DEFAULT_QUARTERS_PER_MINUTE


def __getattr__(name):
  # DEFAULT_QPM comes from note_seq, which is imported when first used:
  # --help of the dataset tools, which read the defaults here, loads none.
  if name == 'DEFAULT_QPM':
    return _default_qpm()
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


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
    abc_parser: the parser that read the ABC files ('' if none was read),
      e.g. 'music21' (see `source_files.resolve_abc_parser`).
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
  abc_parser: str = ''
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
    ]
    if self.abc_parser:
      lines.append(f'  ABC parser:             {self.abc_parser}')
    lines += [
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
  # pylint: disable=g-import-not-at-top
  from note_seq import melodies_lib
  from note_seq import sequences_lib
  from note_seq.protobuf import music_pb2

  # pylint: enable=g-import-not-at-top
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
  from note_seq import sequences_lib  # pylint: disable=g-import-not-at-top
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
  time_s, qpm, steps = 0.0, _default_qpm(), 0.0
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
  from note_seq import events_lib  # pylint: disable=g-import-not-at-top
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
