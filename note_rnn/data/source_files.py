"""Reading inputs: from MIDI, ABC and NoteSequence records to melodies.

`find_source_files` lists the inputs named by a folder, glob or file;
`process_file` and `process_records` (run in worker processes) read them
into NoteSequences and encode them with `note_rnn.melody_pipeline`. Bad
input fails only itself: inputs are bounded before they are expanded
(`MAX_INPUT_BYTES`, `midi_bound_reason`, `abc_text.abc_tune_bound_reason`
and the NoteSequence bounds of `melody_pipeline`).

ABC files are decoded and split into tunes by `note_rnn.abc_text` and
parsed one tune at a time by the corpus builder's parser
(`note_rnn.tune_parsing.parse_tune`): music21 when it is installed (the
`corpus` extra), else note_seq's ABC parser (`resolve_abc_parser`). A tune that
fails is counted under its parser's error (`reason_line`); the file's other
tunes are kept.
"""

import collections
import dataclasses
import glob
import os
import re
import warnings

from note_rnn import encoding
from note_rnn.data import abc_text
from note_rnn.data import melody_pipeline
from note_rnn.data import tune_parsing
from note_rnn.data import tunes

# note_seq and music21 are imported by the functions that use them: --help
# of the dataset tools, which import this module, need not load them.

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

# ABC parsers (the corpus builder's, `tune_parsing.PARSERS`): music21 (the
# `corpus` extra) reads rests, tuplets, chords and variant endings, which
# note_seq's ABC parser rejects, and ties and repeats, which it ignores;
# 'auto' is music21 if it is installed, else note_seq.
ABC_PARSER_AUTO = tune_parsing.PARSER_AUTO
ABC_PARSER_MUSIC21 = tune_parsing.PARSER_MUSIC21
ABC_PARSER_NOTE_SEQ = tune_parsing.PARSER_NOTE_SEQ
ABC_PARSERS = (ABC_PARSER_AUTO, ABC_PARSER_MUSIC21, ABC_PARSER_NOTE_SEQ)

# Why a whole file yielded no NoteSequence.
FILE_UNREADABLE_MIDI = 'unreadable_midi'
FILE_UNREADABLE_ABC = 'unreadable_abc'
# Followed by ': ' and the most common parse error of its tunes
# (`reason_line`), e.g. "abc_parse_error: note_seq:InvalidCharacterError:
# Unexpected character: [b'z']".
FILE_ABC_ALL_TUNES_FAILED = 'abc_parse_error'
FILE_UNREADABLE_TFRECORD = 'unreadable_tfrecord'
FILE_NO_NOTES = 'no_notes'
FILE_WORKER_CRASHED = 'worker_crashed'
FILE_OUT_OF_MEMORY = 'out_of_memory'
# Why an input file is refused before it is expanded: see MAX_INPUT_BYTES.
INPUT_TOO_LARGE = 'file_too_large'

# Input bounds, checked before anything is expanded, so that one hostile or
# broken file cannot exhaust memory (pretty_midi allocates per tick). Larger
# files are dropped with a reason.
MAX_INPUT_BYTES = {
    KIND_MIDI: 8 << 20,
    KIND_ABC: 64 << 20,
}
# MIDI events (of any kind) read from one file.
MAX_MIDI_EVENTS = 1 << 20
# Longest failure reason (`reason_line`), in characters.
MAX_REASON_CHARS = 80


class InputError(ValueError):
  """The input names nothing usable: no such path, or an unknown file type."""


class Music21MissingError(InputError):
  """music21 was asked for (--abc_parser=music21) and is not installed."""


def music21_installed():
  """Whether music21 imports (`tunes.import_music21`)."""
  try:
    tunes.import_music21()
  except tunes.Music21NotInstalledError:
    return False
  return True


def resolve_abc_parser(abc_parser=ABC_PARSER_AUTO):
  """The parser that reads ABC for a requested one of `ABC_PARSERS`.

  Args:
    abc_parser: 'auto' (music21 if installed, else note_seq), 'music21' or
      'note_seq'.

  Returns:
    ABC_PARSER_MUSIC21 or ABC_PARSER_NOTE_SEQ.

  Raises:
    Music21MissingError: 'music21' was asked for and is not installed (the
      message names the flag and the install command).
    ValueError: not one of `ABC_PARSERS`.
  """
  if abc_parser not in ABC_PARSERS:
    raise ValueError(f'abc_parser must be one of {", ".join(ABC_PARSERS)}; '
                     f'got {abc_parser!r}')
  if abc_parser == ABC_PARSER_NOTE_SEQ:
    return abc_parser
  if music21_installed():
    return ABC_PARSER_MUSIC21
  if abc_parser == ABC_PARSER_MUSIC21:
    raise Music21MissingError(
        '--abc_parser=music21 needs music21 (an optional extra), which is '
        f'not installed: {tunes.INSTALL_HINT}')
  return ABC_PARSER_NOTE_SEQ


@dataclasses.dataclass(frozen=True)
class SourceFile:
  """One input file: absolute `path`, stable `key` (relative name), `kind`,
  and the `abc_parser` (one of `ABC_PARSERS`) that reads an ABC file."""
  path: str
  key: str
  kind: str
  abc_parser: str = ABC_PARSER_AUTO


def find_source_files(input_spec, exclude_dir=None,
                      abc_parser=ABC_PARSER_AUTO):
  """Lists the input files named by a folder, a file or a glob pattern.

  Args:
    input_spec: folder (searched recursively), single file, or glob pattern
      (`**` recurses) of .mid/.midi/.abc/.tfrecord files.
    exclude_dir: folder whose files are never inputs (the output folder).
    abc_parser: the `SourceFile.abc_parser` of ABC files.

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
    return [SourceFile(path, os.path.basename(path), kind, abc_parser)]

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
    sources.append(SourceFile(path, key, kind, abc_parser))
  return sorted(sources, key=lambda s: s.key)


@dataclasses.dataclass
class TaskResult:
  """Melodies of one task: (source key, [melody as bytes of classes]) pairs."""
  melodies: list
  stats: melody_pipeline.DatasetStats


def _classes_to_bytes(class_sequences):
  # Classes fit in a byte; bytes keep large corpora small between processes.
  return [bytes(classes) for classes in class_sequences]


def _sequences_to_result(key, sequences, stats, options):
  melodies = []
  for sequence in sequences:
    class_sequences, sequence_stats = (
        melody_pipeline.note_sequence_to_class_sequences(sequence, options))
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
      if notes > melody_pipeline.MAX_INPUT_NOTES or events > MAX_MIDI_EVENTS:
        return melody_pipeline.INPUT_TOO_MANY_NOTES
      if ticks_per_quarter and (
          ticks * encoding.STEPS_PER_QUARTER / ticks_per_quarter >
          melody_pipeline.MAX_INPUT_STEPS):
        return melody_pipeline.INPUT_TOO_MANY_STEPS
      pos = chunk_end
  except (_MidiScanError, IndexError):
    return None
  return None


def _read_midi(data):
  """(NoteSequence, None) from MIDI bytes, or (None, failure reason)."""
  from note_seq import midi_io  # pylint: disable=g-import-not-at-top
  too_big = midi_bound_reason(data)
  if too_big:
    return None, too_big
  try:
    return midi_io.midi_to_note_sequence(data), None
  except Exception:  # pylint: disable=broad-except
    return None, FILE_UNREADABLE_MIDI


# Paths and free-standing numbers in failure reasons (`reason_line`).
_PATH = re.compile(r'[^\s\'"]*[/\\][^\s\'"]*[/\\][^\s\'"]*')
_NUMBER = re.compile(r'\b\d+(?:\.\d+)?\b')


def reason_line(text):
  """A failure reason as one short line that many inputs can share.

  Whitespace runs become one space, paths '<path>' and free-standing
  numbers 'N' (so that counts of one error aggregate), and text over
  MAX_REASON_CHARS is cut, ending in '...'.

  Args:
    text: an error's name or message.

  Returns:
    The reason.
  """
  text = ' '.join(str(text).split())
  text = _NUMBER.sub('N', _PATH.sub('<path>', text))
  if len(text) > MAX_REASON_CHARS:
    text = text[:MAX_REASON_CHARS - 3] + '...'
  return text


def _read_abc(data, source, options, stats):
  """The NoteSequences of an ABC file's tunes, parsed one tune at a time.

  Tunes over `abc_text.abc_tune_bound_reason` (music21 only) and tunes
  without notes are counted in stats.sequences and sequences_skipped, tunes
  the parser rejects in sequences_skipped as
  'abc_tune_parse_error: <parser>:<error class>: <message>' (`reason_line`:
  numbers become N, so that one error of many tunes is counted once).

  Args:
    data: file contents.
    source: `SourceFile`.
    options: `MelodyOptions`.
    stats: `DatasetStats` of the file, updated.

  Returns:
    (sequences, None), or ([], why the file gives none).
  """
  parser = resolve_abc_parser(source.abc_parser)
  sequences = []
  errors = collections.Counter()
  too_big = []
  abc_tunes = abc_text.abc_tunes(abc_text.decode_abc(data)[0])
  for position, (number, abc) in enumerate(abc_tunes, 1):
    if parser == ABC_PARSER_MUSIC21:
      reason = abc_text.abc_tune_bound_reason(abc, options.steps_per_quarter)
      if reason:
        stats.sequences += 1
        stats.sequences_skipped[reason] += 1
        too_big.append(reason)
        continue
    tune = tunes.Tune('', f'{source.key}#{position:04d}', source.path,
                      tunes.KIND_ABC, abc, number)
    try:
      sequence, outcome = tune_parsing.parse_tune(tune, parser)
    except Exception as e:  # pylint: disable=broad-except
      # A parser's own failure on odd input (beyond the parse errors
      # parse_tune reports) fails the tune alone.
      errors[reason_line(f'{parser}:{tune_parsing.error_reason(e)}')] += 1
      continue
    if sequence is not None:
      sequences.append(sequence)
    elif outcome.failure.partition(':')[2] in (tune_parsing.REASON_NO_NOTES,
                                               tune_parsing.REASON_NO_PART):
      stats.sequences += 1
      stats.sequences_skipped[melody_pipeline.SEQUENCE_NO_NOTES] += 1
    else:
      errors[reason_line(outcome.failure)] += 1
  for error, count in errors.items():
    stats.sequences_skipped[
        f'{melody_pipeline.SEQUENCE_ABC_TUNE_PARSE_ERROR}: {error}'] += count
  if sequences:
    return sequences, None
  if errors:
    return [], f'{FILE_ABC_ALL_TUNES_FAILED}: {errors.most_common(1)[0][0]}'
  return [], too_big[0] if too_big else FILE_NO_NOTES


def _file_size(path):
  try:
    return os.path.getsize(path)
  except OSError:
    return 0  # The read reports it.


def process_file(source, options=melody_pipeline.MelodyOptions()):
  """Reads one MIDI or ABC file and encodes its melodies; never raises.

  ABC files are read with `source.abc_parser`, one tune at a time.

  Args:
    source: `SourceFile` of kind midi or abc.
    options: `MelodyOptions`.

  Returns:
    `TaskResult`; a file that cannot be read, is over the input bounds
    (`MAX_INPUT_BYTES`, `midi_bound_reason`, `abc_tune_bound_reason`,
    `input_bound_reason`), has no notes or no tune that parses is counted
    in `stats.files_failed` with its reason.
  """
  stats = melody_pipeline.DatasetStats()
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
      sequences, reason = _read_abc(data, source, options, stats)
      if reason:
        stats.fail_file(source.key, reason)
        return TaskResult([], stats)
  del data  # Not needed while the melodies are extracted.

  if not any(s.notes for s in sequences):
    stats.fail_file(source.key, FILE_NO_NOTES)
    return TaskResult([], stats)
  too_big = [melody_pipeline.input_bound_reason(s, options.steps_per_quarter)
             for s in sequences if s.notes]
  if all(too_big):
    # Every sequence with notes is too big: the file gives nothing.
    stats.fail_file(source.key, too_big[0])
    stats.sequences += len(sequences)
    stats.sequences_skipped.update(too_big)
    if len(too_big) < len(sequences):
      stats.sequences_skipped[melody_pipeline.SEQUENCE_NO_NOTES] += (
          len(sequences) - len(too_big))
    return TaskResult([], stats)
  stats.files_read += 1
  for sequence in sequences:
    sequence.filename = source.key
  return _sequences_to_result(source.key, sequences, stats, options)


def process_records(records, options=melody_pipeline.MelodyOptions()):
  """Encodes serialized NoteSequences; each record is its own source.

  Args:
    records: list of (source key, serialized NoteSequence bytes).
    options: `MelodyOptions`.

  Returns:
    `TaskResult` over all records.
  """
  from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top
  stats = melody_pipeline.DatasetStats()
  melodies = []
  for key, serialized in records:
    try:
      sequence = music_pb2.NoteSequence.FromString(serialized)
    except Exception:  # pylint: disable=broad-except
      stats.sequences += 1
      stats.sequences_skipped[melody_pipeline.SEQUENCE_BAD_RECORD] += 1
      continue
    result = _sequences_to_result(key, [sequence],
                                  melody_pipeline.DatasetStats(), options)
    stats.merge(result.stats)
    melodies.extend(result.melodies)
  return TaskResult(melodies, stats)
