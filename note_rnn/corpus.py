"""Training melodies for the default Note RNN from music21's folk corpus.

The `music21` package (the project's `corpus` extra) ships large ABC
tunebooks and the Bach chorales in its `corpus/` folder. This module reads
the collections in `COLLECTIONS`, turns every tune into a NoteSequence and
runs it through the normal melody pipeline (`note_rnn.melody_pipeline`), so
the output is the same `training_melodies.tfrecord` / `eval_melodies.tfrecord`
pair that `bin/note_rnn_create_dataset.py` writes.

Steps:

1. `discover_tunes` lists the files of each collection in the installed
   music21 (or any folder laid out like its `corpus/`) and splits ABC
   tunebooks into tunes (`split_abc_tunebook`): a tune runs from its `X:`
   line to the first empty line (ABC 2.1); the lines before the first `X:`
   are the file header, given to every tune. Score files (the Bach chorales)
   are one tune each. Tunes are sources: each goes whole to training or
   evaluation.
2. Worker processes parse each tune (`parse_tune`) with note_seq's ABC
   parser and/or music21 (`--parser`): `auto` runs both, keeps music21's
   sequence (it reads ties, tuplets, chords, variant endings, pickups and
   multi-voice tunes, which note_seq rejects or ignores) and falls back to
   note_seq's where music21 fails. Both outcomes are counted per collection.
3. A music21 part becomes a NoteSequence in two steps: `music21_part_events`
   reads it into plain `NoteEvent`s (the only music21-dependent part) and
   `events_to_note_sequence` builds the sequence from them: one melody line
   (the first part; the soprano of a chorale), chords reduced to their top
   note, tied notes merged, grace notes dropped, repeats expanded (as
   played; written order where music21 cannot expand them), a pickup bar
   shifted so bar lines fall on the time-signature grid, at a fixed
   `DEFAULT_QPM` with one tempo event.
4. The same worker runs `melody_pipeline.note_sequence_to_class_sequences`
   on the sequence; `dataset_runner.write_dataset` splits by tune and
   writes the TFRecords. Same corpus, options and seed give byte-identical
   files whatever the number of workers.
"""

import collections
import contextlib
import dataclasses
import io
import math
import os
import re
import sys
import warnings

from note_rnn import dataset_runner
from note_rnn import melody_pipeline
# note_seq is imported by the functions that use it (music21 already was):
# note_rnn_build_corpus --help, which reads the defaults here, loads neither.

# Parsers (`--parser`).
PARSER_AUTO = 'auto'
PARSER_NOTE_SEQ = 'note_seq'
PARSER_MUSIC21 = 'music21'
PARSERS = (PARSER_AUTO, PARSER_NOTE_SEQ, PARSER_MUSIC21)

# Kinds of collection files.
KIND_ABC = 'abc'
KIND_SCORE = 'score'

# Tempo of the NoteSequences built from music21 streams, quarter notes per
# minute. Quantization is relative to quarter notes, so any fixed value
# gives the same melodies; one tempo for the whole tune keeps the pipeline
# from splitting it at tempo marks.
DEFAULT_QPM = 120.0
# Quarter lengths closer than this are the same time (tie merging).
TIME_EPSILON_QL = 1e-6

# Tunes sent to a worker process at once.
TUNES_PER_TASK = 8

# Melody extraction uses melody_pipeline's defaults (Magenta's), which suit
# these folk tunes. Measured on the default collections (4,672 tunes, repeats expanded; counts +-1): min_bars
# 7 keeps 4,685 melodies from 4,665 tunes; 4 keeps 4,701, 8 keeps 4,670, 16
# keeps 4,222 (half the chorales drop); min_unique_pitches 3 keeps 4,690;
# gap_bars 2 keeps 4,683; max_steps 512 truncates 1,267 melodies (1024:
# 162).

# Why a tune gave no NoteSequence (prefixed with the parser, e.g.
# 'note_seq:TupletError'; parse exceptions are named by their class).
REASON_NO_NOTES = 'no_notes'
REASON_UNSUPPORTED_FORMAT = 'unsupported_format'
REASON_NO_PART = 'no_part'
# DatasetStats.sequences_skipped reason for tunes no parser could read.
SEQUENCE_TUNE_PARSE_ERROR = 'tune_parse_error'
# DatasetStats.files_failed reasons: a file none of whose tunes parsed, an
# ABC file without tunes (no X: line), one whose tunes all transcribe tunes
# of earlier files (O'Neill's overlapping files).
FILE_NO_TUNE_PARSED = 'no_tune_parsed'
FILE_NO_TUNES = 'no_tunes'
FILE_ONLY_DUPLICATES = 'only_duplicate_tunes'

# Installing the extra that provides music21.
INSTALL_HINT = "pip install -e '.[corpus]'"

# NoteSequence key-signature modes (names of KeySignature.Mode values) by
# music21 mode name.
_MODES = {
    'major': 'MAJOR',
    'ionian': 'MAJOR',
    'minor': 'MINOR',
    'aeolian': 'MINOR',
    'mixolydian': 'MIXOLYDIAN',
    'dorian': 'DORIAN',
    'phrygian': 'PHRYGIAN',
    'lydian': 'LYDIAN',
    'locrian': 'LOCRIAN',
}


def _default_velocity():
  """MIDI velocity of every note (`DEFAULT_VELOCITY`): note_seq's ABC
  parser's default, mf."""
  from note_seq import abc_parser  # pylint: disable=g-import-not-at-top
  return abc_parser.ABCTune.DECORATION_TO_VELOCITY['!mf!']


def __getattr__(name):
  # DEFAULT_VELOCITY comes from note_seq, which is imported when first used:
  # note_rnn_build_corpus --help, which reads the defaults here, loads none.
  if name == 'DEFAULT_VELOCITY':
    return _default_velocity()
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


class Music21NotInstalledError(ImportError):
  """music21, which holds the corpus, is not installed."""


@dataclasses.dataclass(frozen=True)
class Collection:
  """One folder of music21's corpus.

  Attributes:
    name: folder name under music21's `corpus/`.
    title: human-readable name.
    kind: `KIND_ABC` (tunebooks) or `KIND_SCORE` (one piece per file).
    extensions: file types read, lower case, in order of preference when
      one piece exists in several (same name without extension).
    license: licence of the encodings, as stated by music21.
    non_commercial: True if the licence forbids commercial use; such
      collections are read only when asked for explicitly.
    dedupe_reference_numbers: True when several files transcribe the same
      numbered tune (`X:`); the first in file order is kept.
    melody_part: name of the part holding the melody (case-insensitive
      prefix); the first part if empty or absent.
  """
  name: str
  title: str
  kind: str
  extensions: tuple
  license: str
  non_commercial: bool = False
  dedupe_reference_numbers: bool = False
  melody_part: str = ''


_MUSIC21_CORPUS_LICENSE = (
    "music21 corpus/license.txt: distributed with the encoders' permission, "
    'out of copyright in the US to the best of its authors\' knowledge; no '
    'folder licence')

COLLECTIONS = {
    c.name: c for c in (
        Collection(
            'oneills1850', "O'Neill's Music of Ireland (1903)", KIND_ABC,
            ('.abc',),
            'tunes public domain (1903); ABC by volunteers (Z: fields); '
            + _MUSIC21_CORPUS_LICENSE,
            dedupe_reference_numbers=True),
        Collection(
            'ryansMammoth', "Ryan's Mammoth Collection (1883)", KIND_ABC,
            ('.abc',),
            'tunes public domain (1883); ABC by volunteers (Z: fields); '
            + _MUSIC21_CORPUS_LICENSE),
        Collection(
            'airdsAirs', "Aird's Selection of Airs (1778-1803)", KIND_ABC,
            ('.abc',),
            'tunes public domain (1778-1803); ABC by Jack Campin; '
            + _MUSIC21_CORPUS_LICENSE),
        Collection(
            'miscFolk', 'American fife tunes, Northumbrian Minstrelsy (1882)',
            KIND_ABC, ('.abc',),
            'tunes public domain; ABC by Jack Campin; '
            + _MUSIC21_CORPUS_LICENSE),
        Collection(
            'bach', 'J. S. Bach chorales (soprano line)', KIND_SCORE,
            ('.mxl', '.xml', '.krn'),
            'compositions public domain; MusicXML encodings with no rights '
            'field; the 3 Humdrum files (CCARH 1994, "refer to licensing '
            'agreement") are shadowed by MusicXML copies and not read; '
            + _MUSIC21_CORPUS_LICENSE,
            melody_part='soprano'),
        Collection(
            'essenFolksong', 'Essen Folksong Collection', KIND_ABC,
            ('.abc',),
            'essenFolksong/license.txt: legal status unclear; permission for '
            'NON-COMMERCIAL distribution and use in music21 only',
            non_commercial=True),
    )
}
DEFAULT_COLLECTIONS = ('oneills1850', 'ryansMammoth', 'airdsAirs',
                       'miscFolk', 'bach')
ESSEN = 'essenFolksong'


# ---------------------------------------------------------------------------
# music21 and its corpus folder.


def import_music21():
  """Imports music21.

  Returns:
    The `music21` module.

  Raises:
    Music21NotInstalledError: it is not installed (the message says how to
      install it).
  """
  try:
    # pylint: disable-next=g-import-not-at-top
    import music21  # pytype: disable=import-error
  except ImportError as e:
    raise Music21NotInstalledError(
        f'music21 is not installed ({e}); it holds the folk-tune corpus: '
        f'{INSTALL_HINT}') from e
  return music21


def music21_corpus_dir():
  """The `corpus/` folder of the installed music21 (raises if missing)."""
  music21 = import_music21()
  # pylint: disable-next=g-import-not-at-top
  from music21 import corpus  # pytype: disable=import-error
  del music21
  return os.path.dirname(os.path.abspath(corpus.__file__))


def resolve_collections(names, include_essen=False):
  """Validates collection names and applies the Essen rule.

  Args:
    names: collection names (`COLLECTIONS` keys); duplicates are ignored.
    include_essen: True allows (and adds) the non-commercial Essen
      collection.

  Returns:
    Sorted tuple of names.

  Raises:
    ValueError: an unknown name, or a non-commercial collection named
      without `include_essen`.
  """
  chosen = set(names)
  unknown = sorted(chosen - set(COLLECTIONS))
  if unknown:
    raise ValueError(f'unknown collection(s) {", ".join(unknown)}; known: '
                     f'{", ".join(sorted(COLLECTIONS))}')
  if include_essen:
    chosen.add(ESSEN)
  restricted = sorted(n for n in chosen if COLLECTIONS[n].non_commercial)
  if restricted and not include_essen:
    raise ValueError(
        f'{", ".join(restricted)} is licensed for non-commercial use only; '
        'pass --include_essen to use it')
  if not chosen:
    raise ValueError('no collection chosen')
  return tuple(sorted(chosen))


# ---------------------------------------------------------------------------
# Finding tunes.


@dataclasses.dataclass(frozen=True)
class Tune:
  """One tune to parse.

  Attributes:
    collection: collection name.
    key: stable source key, '<collection>/<file>' for a score file and
      '<collection>/<file>#<n>' (n = 1-based position in the file, 4 digits)
      for an ABC tune; '/'-separated, independent of where music21 lives.
    path: absolute path of the file.
    kind: `KIND_ABC` or `KIND_SCORE`.
    abc: ABC text of the tune (the file header, an empty line, the tune);
      empty for score files.
    reference_number: the tune's `X:` number (-1 if none or not ABC).
    melody_part: `Collection.melody_part`.
  """
  collection: str
  key: str
  path: str
  kind: str
  abc: str = ''
  reference_number: int = -1
  melody_part: str = ''


_X_LINE = re.compile(r'X:\s*(\d*)')


def split_abc_tunebook(text):
  """Splits an ABC tunebook into its file header and tunes.

  A tune starts at an `X:` line and ends at the first empty line (ABC 2.1);
  free text up to the next `X:` line is dropped. Lines before the first `X:`
  line are the file header.

  Args:
    text: the tunebook's text.

  Returns:
    (header, tunes): header text ('' if none) and a list of
    (reference number or -1, tune text), in file order.
  """
  lines = text.splitlines()
  starts = [i for i, line in enumerate(lines) if _X_LINE.match(line)]
  if not starts:
    return '\n'.join(lines).strip(), []
  header = '\n'.join(lines[:starts[0]]).strip()
  tunes = []
  for start, end in zip(starts, starts[1:] + [len(lines)]):
    block = []
    for line in lines[start:end]:
      if not line.strip():
        break
      block.append(line)
    number = _X_LINE.match(block[0]).group(1)
    tunes.append((int(number) if number else -1, '\n'.join(block)))
  return header, tunes


_FIELD_LINE = re.compile(r'[A-Za-z+]:')
_VOICE_LINE = re.compile(r'\s*V:\s*(\S+)')
_INLINE_VOICE = re.compile(r'\[V:\s*([^\]\s]+)[^\]]*\]')


def abc_file_header(header):
  """The parts of an ABC file header that set tune defaults.

  Keeps information fields and `%%` directives; drops comments and free
  text (which parsers may read as music) and blank lines (which note_seq
  reads as tune boundaries).

  Args:
    header: text before a tunebook's first `X:` line.

  Returns:
    The kept lines, joined by newlines ('' if none).
  """
  kept = [line.rstrip() for line in header.splitlines()
          if _FIELD_LINE.match(line) or line.startswith('%%')]
  return '\n'.join(kept)


def abc_first_voice(tune):
  """Keeps only the first voice of a multi-voice ABC tune.

  Header lines (through the `K:` line) are kept for every voice. The first
  voice is the first voice declared in the header (`V:` line), else the
  first voice named in the body (a `V:` line or an inline `[V:id]` field)
  if no music comes before it, else the unnamed voice of that music. Body
  lines and fields are kept for the first voice only; `V:` lines and
  inline voice fields are removed, so the result reads as a single-voice
  tune. A tune without voice fields is returned unchanged.

  Args:
    tune: ABC text of one tune.

  Returns:
    ABC text of the tune's first voice.
  """
  lines = tune.splitlines()
  if not any(_VOICE_LINE.match(line) or _INLINE_VOICE.search(line)
             for line in lines):
    return tune
  header_end = next((i + 1 for i, line in enumerate(lines)
                     if line.startswith('K:')), 0)
  header, body = lines[:header_end], lines[header_end:]
  first = None
  for line in header:
    match = _VOICE_LINE.match(line)
    if match:
      first = match.group(1)
      break
  if first is None:
    for line in body:
      match = _VOICE_LINE.match(line) or _INLINE_VOICE.match(line.strip())
      if match:
        first = match.group(1)
        break
      if line.strip() and not (_FIELD_LINE.match(line) or
                               line.startswith('%')):
        break  # Music before any voice field: the unnamed voice is first.
  kept = [line for line in header if not _VOICE_LINE.match(line)]
  current = first
  for line in body:
    match = _VOICE_LINE.match(line)
    if match:
      current = match.group(1)
      continue
    pieces = []
    position = 0
    for inline in _INLINE_VOICE.finditer(line):
      if current == first:
        pieces.append(line[position:inline.start()])
      current = inline.group(1)
      position = inline.end()
    if current == first:
      pieces.append(line[position:])
    text = ''.join(pieces)
    if text.strip():
      kept.append(text.rstrip())
  return '\n'.join(kept)


def _read_text(path):
  with open(path, 'rb') as f:
    data = f.read()
  try:
    return data.decode('utf-8')
  except UnicodeDecodeError:
    return data.decode('latin-1')


def _collection_files(directory, collection):
  """Files of one collection, sorted; one per piece (preferred extension)."""
  by_stem = {}
  rank = {ext: i for i, ext in enumerate(collection.extensions)}
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name)
    stem, ext = os.path.splitext(name)
    ext = ext.lower()
    if ext not in rank or not os.path.isfile(path):
      continue
    if stem not in by_stem or rank[ext] < rank[by_stem[stem][1]]:
      by_stem[stem] = (name, ext)
  return sorted(name for name, _ in by_stem.values())


@dataclasses.dataclass
class CollectionStats:
  """What one collection gave.

  Attributes:
    name: collection name.
    files: files read.
    tunes: tunes found (after duplicates and `max_tunes`).
    duplicates: tunes skipped as another file's transcription of the same
      `X:` number.
    files_without_tunes: (file key, `FILE_NO_TUNES` or
      `FILE_ONLY_DUPLICATES`) of files giving no tune (all files read).
    note_seq_ok, music21_ok: tunes each parser turned into a NoteSequence
      with notes (counted only where it ran).
    note_seq_failed, music21_failed: reason -> tunes the parser failed on.
    parsed: tunes that gave a NoteSequence (from the parser used).
    parsed_by: parser -> tunes whose sequence it gave.
    failed: reason -> tunes without a NoteSequence.
    repeats_not_expanded: music21 tunes kept in written order because their
      repeats could not be expanded.
    melodies: melodies kept.
    tunes_with_melodies: tunes giving >= 1 melody.
  """
  name: str
  files: int = 0
  tunes: int = 0
  duplicates: int = 0
  files_without_tunes: list = dataclasses.field(default_factory=list)
  note_seq_ok: int = 0
  note_seq_failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  music21_ok: int = 0
  music21_failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  parsed: int = 0
  parsed_by: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  repeats_not_expanded: int = 0
  melodies: int = 0
  tunes_with_melodies: int = 0


def discover_tunes(corpus_dir, collection_names, max_tunes_per_collection=0):
  """Lists the tunes of the chosen collections.

  Args:
    corpus_dir: folder laid out like music21's `corpus/` (one sub-folder
      per collection; files directly inside it).
    collection_names: names in `COLLECTIONS`.
    max_tunes_per_collection: keep the first this many tunes of each
      collection (0 = all).

  Returns:
    (tunes, stats): `Tune`s ordered by collection name, file name and
    position, and {name: `CollectionStats`} with files, tunes and
    duplicates filled in.

  Raises:
    FileNotFoundError: a collection's folder is missing.
  """
  tunes = []
  stats = {}
  for name in sorted(collection_names):
    collection = COLLECTIONS[name]
    directory = os.path.join(corpus_dir, name)
    if not os.path.isdir(directory):
      raise FileNotFoundError(
          f'collection {name}: no folder {directory} (is this music21\'s '
          'corpus folder?)')
    stat = stats[name] = CollectionStats(name)
    found = []
    seen_numbers = set()
    for filename in _collection_files(directory, collection):
      stat.files += 1
      path = os.path.join(directory, filename)
      file_key = f'{name}/{filename}'
      if collection.kind == KIND_SCORE:
        found.append(Tune(name, file_key, path, KIND_SCORE,
                          melody_part=collection.melody_part))
        continue
      header, abc_tunes = split_abc_tunebook(_read_text(path))
      header = abc_file_header(header)
      count = len(found)
      for position, (number, text) in enumerate(abc_tunes, 1):
        if collection.dedupe_reference_numbers and number >= 0:
          if number in seen_numbers:
            stat.duplicates += 1
            continue
          seen_numbers.add(number)
        text = abc_first_voice(text)
        abc = f'{header}\n\n{text}\n' if header else f'{text}\n'
        found.append(Tune(name, f'{file_key}#{position:04d}', path,
                          KIND_ABC, abc, number, collection.melody_part))
      if len(found) == count:
        stat.files_without_tunes.append(
            (file_key, FILE_ONLY_DUPLICATES if abc_tunes else FILE_NO_TUNES))
    if max_tunes_per_collection and len(found) > max_tunes_per_collection:
      found = found[:max_tunes_per_collection]
      stat.files = len({t.path for t in found})
      stat.files_without_tunes = []
    stat.tunes = len(found)
    tunes.extend(found)
  return tunes, stats


# ---------------------------------------------------------------------------
# Plain note events -> NoteSequence (no music21 needed).


@dataclasses.dataclass(frozen=True)
class NoteEvent:
  """One note, chord or grace note of a melody line.

  Attributes:
    offset: start, in quarter notes from the start of the line.
    duration: length in quarter notes (0 for grace notes).
    pitches: MIDI pitches sounding (several for a chord).
    tie: None, 'start', 'continue' or 'stop' (music21's `Tie.type`).
    grace: True for a grace note.
  """
  offset: float
  duration: float
  pitches: tuple
  tie: str = None
  grace: bool = False


def merge_note_events(events):
  """Reduces note events to the notes of one melody line.

  Grace notes and events without pitches or duration are dropped, a chord
  becomes its top note, and a note whose tie is open ('start' or
  'continue') absorbs the next note if that has the same (top) pitch and
  starts where it ends. A tie to another pitch (a slur written as a tie)
  does not merge.

  Args:
    events: `NoteEvent`s in time order.

  Returns:
    List of (start, end, pitch): times in quarter notes, MIDI pitch.
  """
  notes = []
  tie_open = False
  for event in events:
    if event.grace or not event.pitches or event.duration <= 0:
      continue
    pitch = max(event.pitches)
    start = float(event.offset)
    end = start + float(event.duration)
    if (tie_open and notes and notes[-1][2] == pitch and
        abs(notes[-1][1] - start) < TIME_EPSILON_QL):
      notes[-1] = (notes[-1][0], end, pitch)
    else:
      notes.append((start, end, pitch))
    tie_open = event.tie in ('start', 'continue')
  return notes


def drop_split_bar_signatures(time_signatures, end=None):
  """Drops the time signatures music21 gives to split-off partial bars.

  music21's ABC reader splits an overfull bar (typically a section's last
  bar followed by the next section's pickup) and gives the remainder a
  signature of its own length, such as 1/6 or 23/32, restoring the previous
  one on the next bar. Such a signature, between two equal ones (or last),
  that lasts at most one of its own bars is dropped; the tune stays
  continuous, its later bar lines off the grid by the partial bar.

  Args:
    time_signatures: (offset in quarter notes, numerator, denominator),
      sorted by offset.
    end: offset where the music ends (quarter notes), to judge the last
      signature; None keeps it.

  Returns:
    The list without those signatures (and without repeats of the
    signature in force).
  """
  kept = []
  for i, (offset, numerator, denominator) in enumerate(time_signatures):
    if kept and (kept[-1][1], kept[-1][2]) == (numerator, denominator):
      continue
    bar = 4.0 * numerator / denominator
    if i + 1 < len(time_signatures):
      following = time_signatures[i + 1]
      lasts = float(following[0]) - float(offset)
      returns = bool(kept) and (following[1], following[2]) == (
          kept[-1][1], kept[-1][2])
    else:
      lasts = None if end is None else float(end) - float(offset)
      returns = bool(kept)
    if returns and lasts is not None and lasts <= bar + TIME_EPSILON_QL:
      continue
    kept.append((offset, numerator, denominator))
  return kept


def events_to_note_sequence(events, time_signatures=(), key_signatures=(),
                            pickup=0.0, qpm=DEFAULT_QPM,
                            velocity=None):
  """Builds a NoteSequence of one melody line.

  Args:
    events: `NoteEvent`s in time order (see `merge_note_events`).
    time_signatures: (offset in quarter notes, numerator, denominator);
      repeats of the current signature are dropped; 4/4 if empty.
    key_signatures: (offset in quarter notes, tonic pitch class 0-11,
      music21 mode name such as 'major' or 'dorian').
    pickup: quarter notes of silence to put before the first bar (the part
      of the bar a pickup does not fill), so bar lines fall on the
      time-signature grid. Signatures at offset 0 stay at time 0.
    qpm: tempo, quarter notes per minute (one tempo event at time 0).
    velocity: MIDI velocity of every note; None: `DEFAULT_VELOCITY`.

  Returns:
    Unquantized NoteSequence, times in seconds.
  """
  # pylint: disable=g-import-not-at-top
  from note_seq import constants
  from note_seq.protobuf import music_pb2
  # pylint: enable=g-import-not-at-top
  if velocity is None:
    velocity = _default_velocity()
  seconds_per_quarter = 60.0 / qpm

  def seconds(offset):
    offset = float(offset)
    return (offset + pickup) * seconds_per_quarter if offset > 0 else 0.0

  sequence = music_pb2.NoteSequence()
  sequence.ticks_per_quarter = constants.STANDARD_PPQ
  sequence.tempos.add(time=0.0, qpm=qpm)
  current = None
  for offset, numerator, denominator in sorted(
      time_signatures, key=lambda t: float(t[0])):
    if (numerator, denominator) == current:
      continue
    current = (numerator, denominator)
    sequence.time_signatures.add(time=seconds(offset), numerator=numerator,
                                 denominator=denominator)
  if not sequence.time_signatures:
    sequence.time_signatures.add(time=0.0, numerator=4, denominator=4)
  current = None
  for offset, tonic, mode in sorted(key_signatures,
                                    key=lambda k: float(k[0])):
    value = (tonic % 12, music_pb2.NoteSequence.KeySignature.Mode.Value(
        _MODES.get(str(mode).lower(), 'MAJOR')))
    if value == current:
      continue
    current = value
    sequence.key_signatures.add(time=seconds(offset), key=value[0],
                                mode=value[1])
  for start, end, pitch in merge_note_events(events):
    sequence.notes.add(
        pitch=int(pitch), velocity=velocity,
        start_time=(start + pickup) * seconds_per_quarter,
        end_time=(end + pickup) * seconds_per_quarter)
  sequence.total_time = max((n.end_time for n in sequence.notes),
                            default=0.0)
  return sequence


# ---------------------------------------------------------------------------
# Parsers (run in worker processes).


@dataclasses.dataclass
class TuneOutcome:
  """What became of one tune.

  Attributes:
    key, collection: the tune's.
    note_seq, music21: None if the parser did not run, 'ok', or the reason
      it failed.
    parser: parser whose NoteSequence was used ('' if none).
    failure: why the tune gave no NoteSequence ('' if it gave one).
    repeats_expanded: False if music21 could not expand the repeats.
    melodies: encoded melodies (bytes of classes).
    stats: `melody_pipeline.DatasetStats` of the pipeline on this tune.
  """
  key: str
  collection: str
  note_seq: str = None
  music21: str = None
  parser: str = ''
  failure: str = ''
  repeats_expanded: bool = True
  melodies: list = dataclasses.field(default_factory=list)
  stats: melody_pipeline.DatasetStats = dataclasses.field(
      default_factory=melody_pipeline.DatasetStats)


def _counter_text(counter):
  """' (a: 1, b: 2)' for a Counter, most common first; '' if empty."""
  if not counter:
    return ''
  items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
  return ' (' + ', '.join(f'{k}: {v}' for k, v in items) + ')'


def _error_name(error):
  return type(error).__name__


def parse_with_note_seq(tune):
  """Parses one tune with note_seq (ABC parser; MusicXML reader for scores).

  Args:
    tune: `Tune`.

  Returns:
    (sequence, reason): NoteSequence with notes and '', or None and why not.
  """
  from note_seq import abc_parser  # pylint: disable=g-import-not-at-top
  if tune.kind == KIND_ABC:
    try:
      sequences, errors = abc_parser.parse_abc_tunebook(tune.abc)
    except Exception as e:  # pylint: disable=broad-except
      return None, _error_name(e)
    if errors and not sequences:
      return None, _error_name(errors[0])
    sequence = next(iter(sequences.values()), None) if sequences else None
  else:
    if not tune.path.lower().endswith(('.mxl', '.xml', '.musicxml')):
      return None, REASON_UNSUPPORTED_FORMAT
    # pylint: disable-next=g-import-not-at-top
    from note_seq import musicxml_reader
    try:
      sequence = musicxml_reader.musicxml_file_to_sequence_proto(tune.path)
    except Exception as e:  # pylint: disable=broad-except
      return None, _error_name(e)
    part = 0
    for info in sequence.part_infos:
      if tune.melody_part and info.name.lower().startswith(tune.melody_part):
        part = info.part
        break
    kept = [n for n in sequence.notes if n.part == part]
    del sequence.notes[:]
    sequence.notes.extend(kept)
  if sequence is None or not sequence.notes:
    return None, REASON_NO_NOTES
  return sequence, ''


def _melody_part(stream, melody_part):
  """The music21 part holding the melody: named `melody_part`, else first."""
  # pylint: disable-next=g-import-not-at-top
  from music21 import stream as stream_module  # pytype: disable=import-error
  if isinstance(stream, stream_module.Opus):
    scores = list(stream.scores)
    if not scores:
      return None
    stream = scores[0]
  parts = list(stream.parts) if isinstance(stream, stream_module.Score) else []
  if not parts:
    return stream if stream.flatten().notes else None
  if melody_part:
    for part in parts:
      names = (part.partName or '', str(part.id or ''))
      if any(n.lower().startswith(melody_part) for n in names):
        return part
  return parts[0]


def music21_part_events(part):
  """Reads a music21 part into plain data for `events_to_note_sequence`.

  Args:
    part: music21 Part (or any stream of measures or notes).

  Returns:
    (events, time_signatures, key_signatures, pickup): `NoteEvent`s of the
    part's notes and chords (chord symbols and unpitched notes skipped), the
    (offset, numerator, denominator) list (without the signatures of
    split-off partial bars, `drop_split_bar_signatures`), the (offset, tonic
    pitch class, mode) list, and the first measure's `paddingLeft` (quarter
    notes a pickup leaves empty).
  """
  # pylint: disable=g-import-not-at-top
  from music21 import chord  # pytype: disable=import-error
  from music21 import harmony  # pytype: disable=import-error
  from music21 import key as key_module  # pytype: disable=import-error
  from music21 import meter  # pytype: disable=import-error
  from music21 import note  # pytype: disable=import-error
  from music21 import stream  # pytype: disable=import-error
  # pylint: enable=g-import-not-at-top
  measures = list(part.getElementsByClass(stream.Measure))
  pickup = float(measures[0].paddingLeft) if measures else 0.0
  flat = part.flatten()
  events = []
  for element in flat.notes:
    if isinstance(element, harmony.Harmony):
      continue
    if isinstance(element, note.Note):
      pitches = (int(round(element.pitch.ps)),)
    elif isinstance(element, chord.Chord):
      pitches = tuple(int(round(p.ps)) for p in element.pitches)
    else:
      continue
    events.append(NoteEvent(
        offset=float(element.offset),
        duration=float(element.duration.quarterLength),
        pitches=pitches,
        tie=element.tie.type if element.tie is not None else None,
        grace=bool(element.duration.isGrace)))
  # Signatures are read per measure: music21 may put one signature object
  # in several measures, and a flattened stream gives it one offset only.
  if measures:
    placed = [(float(m.getOffsetBySite(part)), m.timeSignature, m.keySignature)
              for m in measures]
  else:
    placed = [(float(e.offset), e, None)
              for e in flat.getElementsByClass(meter.TimeSignature)]
    placed += [(float(e.offset), None, e)
               for e in flat.getElementsByClass(key_module.KeySignature)]
  time_signatures = []
  key_signatures = []
  for offset, ts, ks in sorted(placed, key=lambda p: p[0]):
    if ts is not None:
      time_signatures.append((offset, int(ts.numerator), int(ts.denominator)))
    if ks is not None:
      k = ks if isinstance(ks, key_module.Key) else ks.asKey('major')
      key_signatures.append((offset, k.tonic.pitchClass, k.mode))
  end = max((e.offset + e.duration for e in events), default=0.0)
  time_signatures = drop_split_bar_signatures(time_signatures, end)
  return events, time_signatures, key_signatures, pickup


def parse_with_music21(tune, expand_repeats=True):
  """Parses one tune with music21 and converts its melody line.

  Args:
    tune: `Tune`.
    expand_repeats: play repeats out (`Stream.expandRepeats`); tunes whose
      repeats music21 cannot expand stay in written order.

  Returns:
    (sequence, reason, repeats_expanded): NoteSequence with notes and '',
    or None and why not; False if repeats could not be expanded.
  """
  # pylint: disable-next=g-import-not-at-top
  from music21 import converter  # pytype: disable=import-error
  try:
    if tune.kind == KIND_ABC:
      parsed = converter.parse(tune.abc, format='abc')
    else:
      parsed = converter.parse(tune.path, forceSource=True)
    part = _melody_part(parsed, tune.melody_part)
  except Exception as e:  # pylint: disable=broad-except
    return None, _error_name(e), True
  if part is None:
    return None, REASON_NO_PART, True
  expanded = True
  if expand_repeats:
    try:
      part = part.expandRepeats()
    except Exception:  # pylint: disable=broad-except
      expanded = False
  try:
    events, time_signatures, key_signatures, pickup = music21_part_events(
        part)
  except Exception as e:  # pylint: disable=broad-except
    return None, _error_name(e), expanded
  sequence = events_to_note_sequence(events, time_signatures, key_signatures,
                                     pickup)
  if not sequence.notes:
    return None, REASON_NO_NOTES, expanded
  return sequence, '', expanded


def parse_tune(tune, parser=PARSER_AUTO, expand_repeats=True):
  """Turns one tune into a NoteSequence with the chosen parser(s).

  `auto` runs both parsers (so both are measured) and keeps music21's
  sequence, or note_seq's where music21 fails.

  Args:
    tune: `Tune`.
    parser: one of `PARSERS`.
    expand_repeats: see `parse_with_music21`.

  Returns:
    (sequence or None, `TuneOutcome` without melodies).
  """
  if parser not in PARSERS:
    raise ValueError(f'parser must be one of {PARSERS}; got {parser!r}')
  outcome = TuneOutcome(tune.key, tune.collection)
  candidates = {}
  # Parsers print warnings about odd ABC; they would garble the progress
  # line and say nothing the counts do not.
  with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
    warnings.simplefilter('ignore')
    if parser in (PARSER_AUTO, PARSER_NOTE_SEQ):
      sequence, reason = parse_with_note_seq(tune)
      outcome.note_seq = reason or 'ok'
      if sequence is not None:
        candidates[PARSER_NOTE_SEQ] = sequence
    if parser in (PARSER_AUTO, PARSER_MUSIC21):
      sequence, reason, outcome.repeats_expanded = parse_with_music21(
          tune, expand_repeats)
      outcome.music21 = reason or 'ok'
      if sequence is not None:
        candidates[PARSER_MUSIC21] = sequence
  for name in (PARSER_MUSIC21, PARSER_NOTE_SEQ):
    if name in candidates:
      outcome.parser = name
      sequence = candidates[name]
      break
  else:
    primary = PARSER_NOTE_SEQ if parser == PARSER_NOTE_SEQ else PARSER_MUSIC21
    reason = outcome.note_seq if primary == PARSER_NOTE_SEQ else outcome.music21
    outcome.failure = f'{primary}:{reason}'
    return None, outcome
  sequence.filename = tune.key
  sequence.collection_name = tune.collection
  if tune.reference_number >= 0:
    sequence.reference_number = tune.reference_number
  return sequence, outcome


def process_tune(tune, parser=PARSER_AUTO, options=None, expand_repeats=True):
  """Parses one tune and encodes its melodies; never raises for bad tunes.

  Args:
    tune: `Tune`.
    parser: one of `PARSERS`.
    options: `melody_pipeline.MelodyOptions` (None = defaults).
    expand_repeats: see `parse_with_music21`.

  Returns:
    `TuneOutcome` with melodies and pipeline stats.
  """
  options = options or melody_pipeline.MelodyOptions()
  sequence, outcome = parse_tune(tune, parser, expand_repeats)
  if sequence is None:
    outcome.stats.sequences_skipped[SEQUENCE_TUNE_PARSE_ERROR] += 1
    return outcome
  classes, outcome.stats = melody_pipeline.note_sequence_to_class_sequences(
      sequence, options)
  outcome.melodies = [bytes(c) for c in classes]
  return outcome


def _run_corpus_task(task):
  """Worker entry point: task = (tunes, parser, options, expand_repeats)."""
  tunes, parser, options, expand_repeats = task
  return [process_tune(t, parser, options, expand_repeats) for t in tunes]


# ---------------------------------------------------------------------------
# Statistics.


@dataclasses.dataclass
class CorpusStats:
  """The whole build: per collection and the dataset pipeline's counts.

  Attributes:
    parser: parser mode used.
    collections: name -> `CollectionStats`.
    dataset: `melody_pipeline.DatasetStats`; its files are corpus files,
      its sequences parsed tunes, its sources tunes.
  """
  parser: str = PARSER_AUTO
  collections: dict = dataclasses.field(default_factory=dict)
  dataset: melody_pipeline.DatasetStats = dataclasses.field(
      default_factory=melody_pipeline.DatasetStats)

  def add(self, outcome):
    """Counts one `TuneOutcome`."""
    stat = self.collections[outcome.collection]
    for parser, result in ((PARSER_NOTE_SEQ, outcome.note_seq),
                           (PARSER_MUSIC21, outcome.music21)):
      if result is None:
        continue
      if result == 'ok':
        setattr(stat, f'{parser}_ok', getattr(stat, f'{parser}_ok') + 1)
      else:
        getattr(stat, f'{parser}_failed')[result] += 1
    if outcome.parser:
      stat.parsed += 1
      stat.parsed_by[outcome.parser] += 1
      if outcome.parser == PARSER_MUSIC21 and not outcome.repeats_expanded:
        stat.repeats_not_expanded += 1
    else:
      stat.failed[outcome.failure] += 1
    stat.melodies += len(outcome.melodies)
    stat.tunes_with_melodies += int(bool(outcome.melodies))
    self.dataset.merge(outcome.stats)

  def table(self):
    """Per-collection table (text) with parser failure reasons."""
    show_note_seq = self.parser in (PARSER_AUTO, PARSER_NOTE_SEQ)
    show_music21 = self.parser in (PARSER_AUTO, PARSER_MUSIC21)

    def cell(ok, failed, ran):
      if not ran:
        return '-'
      total = ok + sum(failed.values())
      return f'{ok}/{total}' if total else '0/0'

    header = ('collection', 'files', 'tunes', 'dups', 'note_seq ok',
              'music21 ok', 'parsed', 'failed', 'melodies', 'tunes w/ mel')
    rows = [header]
    total = CollectionStats('total')
    for name in sorted(self.collections):
      s = self.collections[name]
      rows.append((name, s.files, s.tunes, s.duplicates,
                   cell(s.note_seq_ok, s.note_seq_failed, show_note_seq),
                   cell(s.music21_ok, s.music21_failed, show_music21),
                   s.parsed, sum(s.failed.values()), s.melodies,
                   s.tunes_with_melodies))
      for field in dataclasses.fields(total):
        value = getattr(s, field.name)
        if isinstance(value, collections.Counter):
          getattr(total, field.name).update(value)
        elif isinstance(value, int):
          setattr(total, field.name, getattr(total, field.name) + value)
    rows.append(('total', total.files, total.tunes, total.duplicates,
                 cell(total.note_seq_ok, total.note_seq_failed,
                      show_note_seq),
                 cell(total.music21_ok, total.music21_failed, show_music21),
                 total.parsed, sum(total.failed.values()), total.melodies,
                 total.tunes_with_melodies))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ['Per collection (parser: ' + self.parser + ')']
    for i, row in enumerate(rows):
      cells = [str(v).ljust(w) if j == 0 else str(v).rjust(w)
               for j, (v, w) in enumerate(zip(row, widths))]
      lines.append('  ' + '  '.join(cells))
      if i == 0 or i == len(rows) - 2:
        lines.append('  ' + '  '.join('-' * w for w in widths))
    for name in sorted(self.collections):
      s = self.collections[name]
      for label, counter in (('note_seq failed', s.note_seq_failed),
                             ('music21 failed', s.music21_failed),
                             ('not parsed', s.failed)):
        if counter:
          lines.append(f'  {name} {label}:'
                       f'{_counter_text(counter)}')
      if s.parsed_by and len(s.parsed_by) > 1:
        lines.append(f'  {name} sequences from:'
                     f'{_counter_text(s.parsed_by)}')
      if s.repeats_not_expanded:
        lines.append(f'  {name} repeats kept in written order: '
                     f'{s.repeats_not_expanded}')
    return '\n'.join(lines)

  def summary(self):
    """The dataset summary followed by the per-collection table."""
    return self.dataset.summary() + '\n' + self.table()


# ---------------------------------------------------------------------------
# The build.


def build_corpus_dataset(output_dir, corpus_dir=None,
                         collection_names=DEFAULT_COLLECTIONS,
                         include_essen=False, parser=PARSER_AUTO,
                         eval_ratio=dataset_runner.DEFAULT_EVAL_RATIO,
                         seed=0, options=None, num_workers=None,
                         max_tunes_per_collection=0, expand_repeats=True,
                         progress_stream=sys.stderr):
  """Builds the Note RNN training and evaluation TFRecords from the corpus.

  Args:
    output_dir: folder for `dataset_runner.TRAINING_FILENAME` and
      `EVAL_FILENAME` (created if missing; files replaced atomically).
    corpus_dir: folder laid out like music21's `corpus/`; None = the
      installed music21's.
    collection_names: names in `COLLECTIONS`.
    include_essen: allow and add the non-commercial Essen collection.
    parser: one of `PARSERS`.
    eval_ratio: fraction of tunes (with melodies) for evaluation, in [0, 1].
    seed: split and order seed.
    options: `melody_pipeline.MelodyOptions` (None = defaults).
    num_workers: worker processes; None = os.cpu_count(); 1 = in-process.
    max_tunes_per_collection: first this many tunes of each (0 = all).
    expand_repeats: see `parse_with_music21`.
    progress_stream: text stream for the progress line, or None.

  Returns:
    `CorpusStats`.

  Raises:
    Music21NotInstalledError: music21 is missing (it holds the corpus and
      parses it).
    ValueError: bad collections, parser or ratio.
    FileNotFoundError: a collection folder is missing.
    dataset_runner.EmptyCorpusError: no tune or no melody; nothing is
      written. Its `stats` is the `CorpusStats`.
  """
  if parser not in PARSERS:
    raise ValueError(f'parser must be one of {PARSERS}; got {parser!r}')
  if not 0.0 <= eval_ratio <= 1.0:
    raise ValueError(f'eval_ratio must lie in [0, 1]; got {eval_ratio}')
  if max_tunes_per_collection < 0:
    raise ValueError('max_tunes_per_collection must be >= 0; got '
                     f'{max_tunes_per_collection}')
  options = options or melody_pipeline.MelodyOptions()
  names = resolve_collections(collection_names, include_essen)
  if parser != PARSER_NOTE_SEQ or corpus_dir is None:
    import_music21()
  if corpus_dir is None:
    corpus_dir = music21_corpus_dir()

  tunes, collection_stats = discover_tunes(corpus_dir, names,
                                           max_tunes_per_collection)
  stats = CorpusStats(parser=parser, collections=collection_stats)
  stats.dataset.files_found = sum(s.files for s in collection_stats.values())
  if not tunes:
    raise dataset_runner.EmptyCorpusError(
        f'no tune found in {", ".join(names)} under {corpus_dir}', stats)

  tasks = []
  for start in range(0, len(tunes), TUNES_PER_TASK):
    chunk = tunes[start:start + TUNES_PER_TASK]
    tasks.append((len(chunk), (chunk, parser, options, expand_repeats)))
  num_workers = num_workers or os.cpu_count() or 1
  num_workers = max(1, min(num_workers, len(tasks)))
  progress = dataset_runner.Progress(len(tunes), 'tunes', progress_stream)
  results = dataset_runner.run_tasks(tasks, num_workers, progress,
                                      _run_corpus_task)
  progress.finish()

  melodies_by_source = {}
  parsed_files = collections.defaultdict(int)
  tunes_by_file = collections.Counter(t.path for t in tunes)
  path_by_key = {t.key: t.path for t in tunes}
  for outcomes in results:
    for outcome in outcomes:
      stats.add(outcome)
      if outcome.parser:
        parsed_files[path_by_key[outcome.key]] += 1
      if outcome.melodies:
        melodies_by_source[outcome.key] = outcome.melodies
  stats.dataset.files_read = len(parsed_files)
  for path in sorted(tunes_by_file):
    if path not in parsed_files:
      key = os.path.relpath(path, corpus_dir).replace(os.sep, '/')
      stats.dataset.fail_file(key, FILE_NO_TUNE_PARSED)
  for name in sorted(collection_stats):
    for key, reason in collection_stats[name].files_without_tunes:
      stats.dataset.fail_file(key, reason)
  stats.dataset.sources_with_melodies = len(melodies_by_source)
  if not stats.dataset.melodies_kept:
    raise dataset_runner.EmptyCorpusError(
        'no melody found in the corpus (see the summary for what was '
        'dropped and why)', stats)
  dataset_runner.write_dataset(melodies_by_source, output_dir, eval_ratio,
                                seed, stats.dataset)
  return stats


def format_duration(seconds):
  """'1h02m03s'-style text of a duration in seconds."""
  seconds = int(math.floor(seconds + 0.5))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return (f'{hours}h{minutes:02d}m{seconds:02d}s' if hours else
          f'{minutes}m{seconds:02d}s')
