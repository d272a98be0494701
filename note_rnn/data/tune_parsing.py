"""One tune (ABC text or a score file) -> a NoteSequence and its melodies.

The parsing job of the corpus builder (`corpus.build_corpus_dataset`) and of
the dataset tool's ABC reader (`source_files`): note_seq's ABC parser
and/or music21 (`parse_tune`), then the melody pipeline on the sequence
(`process_tune`). A music21 part becomes a NoteSequence in two steps:
`music21_part_events` reads it into plain `note_events.NoteEvent`s (the
only music21-dependent part) and `note_events.events_to_note_sequence`
builds the sequence from them. Nothing here raises for a bad tune; the
reason is returned.
"""

import contextlib
import dataclasses
import io
import warnings

from note_rnn.data import melody_pipeline
from note_rnn.data import note_events
from note_rnn.data import tunes

# note_seq and music21 are imported by the functions that use them.

# Parsers (`--parser`).
PARSER_AUTO = 'auto'
PARSER_NOTE_SEQ = 'note_seq'
PARSER_MUSIC21 = 'music21'
PARSERS = (PARSER_AUTO, PARSER_NOTE_SEQ, PARSER_MUSIC21)

# Why a tune gave no NoteSequence (prefixed with the parser). A parse
# exception is named by its class and message, e.g.
# "note_seq:InvalidCharacterError: Unexpected character: [b'z']"
# (`error_class` keeps the class part, which summaries count by).
REASON_NO_NOTES = 'no_notes'
REASON_UNSUPPORTED_FORMAT = 'unsupported_format'
REASON_NO_PART = 'no_part'
# DatasetStats.sequences_skipped reason for tunes no parser could read.
SEQUENCE_TUNE_PARSE_ERROR = 'tune_parse_error'



@dataclasses.dataclass
class TuneOutcome:
  """What became of one tune.

  Attributes:
    key, collection: the tune's.
    note_seq, music21: None if the parser did not run, 'ok', or the reason
      it failed (an exception's class and message, or a REASON_*).
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



# Longest message kept in a reason (its whitespace runs made one space).
MAX_MESSAGE_CHARS = 80


def error_reason(error):
  """'Class: message' of a parser's exception ('Class' without message)."""
  name = type(error).__name__
  message = ' '.join(str(error).split())
  if len(message) > MAX_MESSAGE_CHARS:
    message = message[:MAX_MESSAGE_CHARS - 3] + '...'
  return f'{name}: {message}' if message else name


def error_class(reason):
  """A reason without its message: 'note_seq:TupletError: Tuplets are not
  supported.' -> 'note_seq:TupletError'; 'TupletError: ...' -> 'TupletError';
  reasons without a message are returned as they are."""
  return reason.partition(': ')[0]


def parse_with_note_seq(tune):
  """Parses one tune with note_seq (ABC parser; MusicXML reader for scores).

  Args:
    tune: `tunes.Tune`.

  Returns:
    (sequence, reason): NoteSequence with notes and '', or None and why not.
  """
  from note_seq import abc_parser  # pylint: disable=g-import-not-at-top
  if tune.kind == tunes.KIND_ABC:
    try:
      sequences, errors = abc_parser.parse_abc_tunebook(tune.abc)
    except Exception as e:  # pylint: disable=broad-except
      return None, error_reason(e)
    if errors and not sequences:
      return None, error_reason(errors[0])
    sequence = next(iter(sequences.values()), None) if sequences else None
  else:
    if not tune.path.lower().endswith(('.mxl', '.xml', '.musicxml')):
      return None, REASON_UNSUPPORTED_FORMAT
    # pylint: disable-next=g-import-not-at-top
    from note_seq import musicxml_reader
    try:
      sequence = musicxml_reader.musicxml_file_to_sequence_proto(tune.path)
    except Exception as e:  # pylint: disable=broad-except
      return None, error_reason(e)
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
    events.append(note_events.NoteEvent(
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
  time_signatures = note_events.drop_split_bar_signatures(time_signatures, end)
  return events, time_signatures, key_signatures, pickup


def parse_with_music21(tune, expand_repeats=True):
  """Parses one tune with music21 and converts its melody line.

  Args:
    tune: `tunes.Tune`.
    expand_repeats: play repeats out (`Stream.expandRepeats`); tunes whose
      repeats music21 cannot expand stay in written order.

  Returns:
    (sequence, reason, repeats_expanded): NoteSequence with notes and '',
    or None and why not; False if repeats could not be expanded.
  """
  # pylint: disable-next=g-import-not-at-top
  from music21 import converter  # pytype: disable=import-error
  try:
    if tune.kind == tunes.KIND_ABC:
      parsed = converter.parse(tune.abc, format='abc')
    else:
      parsed = converter.parse(tune.path, forceSource=True)
    part = _melody_part(parsed, tune.melody_part)
  except Exception as e:  # pylint: disable=broad-except
    return None, error_reason(e), True
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
    return None, error_reason(e), expanded
  sequence = note_events.events_to_note_sequence(
      events, time_signatures, key_signatures, pickup)
  if not sequence.notes:
    return None, REASON_NO_NOTES, expanded
  return sequence, '', expanded


def parse_tune(tune, parser=PARSER_AUTO, expand_repeats=True):
  """Turns one tune into a NoteSequence with the chosen parser(s).

  `auto` runs both parsers (so both are measured) and keeps music21's
  sequence, or note_seq's where music21 fails.

  Args:
    tune: `tunes.Tune`.
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
    tune: `tunes.Tune`.
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
