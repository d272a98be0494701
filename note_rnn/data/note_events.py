"""A melody line as plain note events, and the NoteSequence built from it.

The corpus builder (`note_rnn.corpus`) reads a music21 part into
`NoteEvent`s; this module, which needs no music21, holds them, and
`events_to_note_sequence` turns them into one NoteSequence: chords reduced
to their top note, tied notes merged, grace notes dropped, a pickup bar
shifted so bar lines fall on the time-signature grid, one tempo
(`DEFAULT_QPM`). note_seq is imported when first used.
"""

import dataclasses

# note_seq is imported by the functions that use it: the tools' --help,
# which import this module, need not load it.


# Tempo of the NoteSequences built from music21 streams, quarter notes per
# minute. Quantization is relative to quarter notes, so any fixed value
# gives the same melodies; one tempo for the whole tune keeps the pipeline
# from splitting it at tempo marks.
DEFAULT_QPM = 120.0
# Quarter lengths closer than this are the same time (tie merging).
TIME_EPSILON_QL = 1e-6


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
