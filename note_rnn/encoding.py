"""The 38-class melody encoding shared by the Note RNN and the RL Tuner.

Melodies are monophonic and quantized to sixteenth notes (4 steps per quarter
note); each step holds one event, encoded as a class index:

  class 0        hold the previous note (Magenta's MELODY_NO_EVENT, event -2)
  class 1        note off / rest (Magenta's MELODY_NOTE_OFF, event -1)
  class k >= 2   note onset of MIDI pitch MIN_NOTE + (k - 2), i.e. 48..83

This is Magenta's `MelodyOneHotEncoding(min_note=48, max_note=84)`. The
original RL Tuner's reward code calls class 0 "NOTE_OFF" and class 1
"NO_EVENT" (swapped); that is a property of the rewards, handled in
`rl_tuner.rewards`, not of this encoding.
"""

import io
import os

import numpy as np

# Number of classes: 2 special events + 36 pitches.
NUM_CLASSES = 38
# Lowest MIDI pitch (inclusive) and highest (exclusive) the encoding covers.
MIN_NOTE = 48
MAX_NOTE = 84
# Classes below this index are special events, not pitches.
NUM_SPECIAL_EVENTS = 2
# Class index of "hold the previous note" (Magenta MELODY_NO_EVENT).
HOLD_CLASS = 0
# Class index of "note off / rest" (Magenta MELODY_NOTE_OFF).
REST_CLASS = 1
# Magenta melody event values of the special classes.
# note_seq's melodies_lib values (a test checks them); note_seq itself is
# imported only where a Melody or MIDI file is made, so that importing the
# encoding (and every tool's flags) stays fast.
MELODY_NO_EVENT = -2
MELODY_NOTE_OFF = -1

# Time grid: sixteenth notes, 16 steps per 4/4 bar.
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16
# Tempo of exported MIDI, quarter notes per minute (the original's value).
DEFAULT_QPM = 80.0
# Pitch class all training melodies are transposed to (0 = C major).
TRANSPOSE_TO_KEY = 0


class EncodingError(ValueError):
  """A value that cannot be represented in the 38-class encoding."""


def event_to_class(event):
  """Maps one Magenta melody event (-2, -1 or a MIDI pitch) to its class."""
  event = int(event)
  if event == MELODY_NO_EVENT:
    return HOLD_CLASS
  if event == MELODY_NOTE_OFF:
    return REST_CLASS
  if MIN_NOTE <= event < MAX_NOTE:
    return event - MIN_NOTE + NUM_SPECIAL_EVENTS
  raise EncodingError(
      f'melody event {event} is neither -2 (hold), -1 (rest) nor a MIDI '
      f'pitch in [{MIN_NOTE}, {MAX_NOTE})')


def class_to_event(cls, transpose_amount=0):
  """Maps one class index to a Magenta melody event.

  Args:
    cls: class index in [0, 38).
    transpose_amount: semitones the melody was transposed *up* by when it was
      encoded; they are subtracted from pitches (the original's `decoder`).

  Returns:
    -2 (hold), -1 (rest) or a MIDI pitch.
  """
  cls = int(cls)
  if not 0 <= cls < NUM_CLASSES:
    raise EncodingError(f'class {cls} is outside [0, {NUM_CLASSES})')
  if cls < NUM_SPECIAL_EVENTS:
    return cls - NUM_SPECIAL_EVENTS
  return cls - NUM_SPECIAL_EVENTS + MIN_NOTE - transpose_amount


def events_to_classes(events):
  """Maps a sequence of melody events to a list of class ints."""
  return [event_to_class(e) for e in events]


def classes_to_events(classes, transpose_amount=0):
  """Maps a sequence of class ints to melody events (list of ints)."""
  return [class_to_event(c, transpose_amount) for c in classes]


def class_to_pitch(cls):
  """MIDI pitch of a note class (>= 2); raises for hold/rest."""
  if int(cls) < NUM_SPECIAL_EVENTS:
    raise EncodingError(f'class {cls} is a special event, not a pitch')
  return class_to_event(cls)


def pitch_to_class(pitch):
  """Class of a MIDI pitch in [48, 84)."""
  return event_to_class(pitch)


def classes_to_onehot(classes, num_classes=NUM_CLASSES, dtype=np.float32):
  """One-hot encodes class indices (the project's one one-hot).

  Args:
    classes: int array-like of any shape [...], values in [0, num_classes).
    num_classes: length of each one-hot vector (default the 38 classes).
    dtype: output dtype.

  Returns:
    Array of shape [..., num_classes].

  Raises:
    EncodingError: a class outside [0, num_classes).
  """
  classes = np.asarray(classes, dtype=np.int64)
  if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
    raise EncodingError(
        f'class indices must lie in [0, {num_classes}); got min '
        f'{classes.min()}, max {classes.max()}')
  return np.eye(num_classes, dtype=dtype)[classes]


def onehot_to_classes(onehot):
  """Inverse of `classes_to_onehot`: argmax over the last axis."""
  onehot = np.asarray(onehot)
  if onehot.shape[-1] != NUM_CLASSES:
    raise EncodingError(
        f'one-hot arrays need a last axis of {NUM_CLASSES}; got shape '
        f'{onehot.shape}')
  return np.argmax(onehot, axis=-1)


def classes_to_melody(classes, transpose_amount=0):
  """Builds a note_seq `Melody` (sixteenth-note grid, 4/4) from classes."""
  from note_seq import melodies_lib  # pylint: disable=g-import-not-at-top
  return melodies_lib.Melody(
      classes_to_events(classes, transpose_amount),
      steps_per_quarter=STEPS_PER_QUARTER,
      steps_per_bar=STEPS_PER_BAR)


def melody_to_classes(melody):
  """Encodes a note_seq `Melody` whose pitches lie in [48, 84)."""
  return events_to_classes(list(melody))


def classes_to_note_sequence(classes, qpm=DEFAULT_QPM, transpose_amount=0,
                             velocity=100, program=0):
  """Converts classes to an (unquantized) NoteSequence at `qpm`."""
  melody = classes_to_melody(classes, transpose_amount)
  return melody.to_sequence(velocity=velocity, program=program, qpm=qpm)


def note_sequence_to_midi_bytes(sequence):
  """The bytes of a standard MIDI file holding a NoteSequence.

  `note_rnn.audio.note_sequence_to_midi_file` writes them to a file.
  """
  buffer = io.BytesIO()
  from note_seq import midi_io  # pylint: disable=g-import-not-at-top
  midi_io.note_sequence_to_pretty_midi(sequence).write(buffer)
  return buffer.getvalue()


class MidiReadError(IOError):
  """A MIDI file that is missing or cannot be parsed."""


def midi_file_to_note_sequence(path):
  """Reads a MIDI file into a NoteSequence with a clear error on failure."""
  if not os.path.isfile(path):
    raise MidiReadError(f'MIDI file not found: {path}')
  try:
    from note_seq import midi_io  # pylint: disable=g-import-not-at-top
    return midi_io.midi_file_to_note_sequence(path)
  except Exception as e:  # note_seq raises several types for bad files.
    raise MidiReadError(f'cannot read MIDI file {path}: {e}') from e

