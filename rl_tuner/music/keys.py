"""Keys as sets of note classes: the original's C major and any other key.

Class indices follow `note_rnn.encoding`: classes 0 and 1 are the two special
events and class k >= 2 is MIDI pitch 46 + k (C3 = class 2, C4 = class 14,
B5 = class 37). Key and scale sets below are sets of class indices; a pitch
class is 0..11 with 0 = C.

The original's constants (C_MAJOR_KEY, C_MAJOR_SCALE, C_MAJOR_TONIC) and the
helpers that build the same sets for any major or natural-minor key
(`key_classes`, `scale_classes`, `tonic_class`).
"""

import numpy as np

from note_rnn import encoding

# ---------------------------------------------------------------------------
# Encoding constants.

# Number of note classes: 2 special events + 36 pitches.
NUM_CLASSES = encoding.NUM_CLASSES
# Classes below this index are special events (hold / rest), not pitches.
NUM_SPECIAL_EVENTS = encoding.NUM_SPECIAL_EVENTS
# MIDI pitch range of the pitched classes: [MIN_NOTE, MAX_NOTE).
MIN_NOTE = encoding.MIN_NOTE
MAX_NOTE = encoding.MAX_NOTE
# Semitones in an octave; a class's pitch class is (class - 2) % 12 with
# 0 = C.
SEMITONES_PER_OCTAVE = 12
# MIDI pitch of class NUM_SPECIAL_EVENTS (the original's name).
INITIAL_MIDI_VALUE = encoding.MIN_NOTE
# Key melodies were transposed to by the data pipeline (0: C).
TRANSPOSE_TO_KEY = encoding.TRANSPOSE_TO_KEY
# Tempo of written MIDI files, quarter notes per minute.
DEFAULT_QPM = encoding.DEFAULT_QPM

# ---------------------------------------------------------------------------
# The original reward functions' key (C major).

# Two octaves of the C major scale, C3..C5, as classes (used by the 'scale'
# reward, which rewards stepping up this list).
C_MAJOR_SCALE = (2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26)
# Every class in C major over the whole range, plus both special events
# (holds and rests never count as out of key).
C_MAJOR_KEY = (0, 1, 2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26,
               28, 30, 31, 33, 35, 37)
# Class of C4 (MIDI 60), the tonic the rewards and statistics look for.
C_MAJOR_TONIC = 14
# Class of A4 (MIDI 69), tonic of the relative minor.
A_MINOR_TONIC = 23

# ---------------------------------------------------------------------------
# Key helpers.

# Semitone offsets from the tonic of the seven scale degrees.
MAJOR_SCALE_STEPS = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_SCALE_STEPS = (0, 2, 3, 5, 7, 8, 10)
SCALE_STEPS = {'major': MAJOR_SCALE_STEPS, 'minor': NATURAL_MINOR_SCALE_STEPS}

# Pitch class (0 = C) of note names; sharps and flats with '#' / 'b'.
_NOTE_LETTERS = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}
_ACCIDENTALS = {'': 0, '#': 1, 'b': -1}

# Class of the lowest C (C3 = MIDI 48) and of C4, the octave tonics live in.
_LOWEST_C_CLASS = NUM_SPECIAL_EVENTS
_TONIC_OCTAVE_C_CLASS = C_MAJOR_TONIC


def pitch_class(note_name):
  """Pitch class 0..11 (0 = C) of a note name such as 'G', 'F#' or 'Bb'.

  Args:
    note_name: a name (letter, optional '#' or 'b'), or an int pitch class
      that is returned modulo 12.

  Returns:
    int in [0, 12).

  Raises:
    ValueError: for an unknown name.
  """
  if isinstance(note_name, (int, np.integer)):
    return int(note_name) % SEMITONES_PER_OCTAVE
  name = str(note_name).strip()
  if (not name or name[0].upper() not in _NOTE_LETTERS or
      name[1:] not in _ACCIDENTALS):
    raise ValueError(
        f'unknown note name {note_name!r}; use a letter A-G optionally '
        f"followed by '#' or 'b'")
  return ((_NOTE_LETTERS[name[0].upper()] + _ACCIDENTALS[name[1:]]) %
          SEMITONES_PER_OCTAVE)


def class_pitch_class(cls):
  """Pitch class (0 = C) of a pitched class index (>= 2)."""
  return (int(cls) - _LOWEST_C_CLASS) % SEMITONES_PER_OCTAVE


def classes_of_pitch_class(pc):
  """All pitched classes of one pitch class, ascending.

  Example: classes_of_pitch_class(0) == (2, 14, 26), the three Cs.
  """
  first = _LOWEST_C_CLASS + pitch_class(pc)
  return tuple(range(first, NUM_CLASSES, SEMITONES_PER_OCTAVE))


def _check_mode(mode):
  if mode not in SCALE_STEPS:
    raise ValueError(f'mode must be one of {sorted(SCALE_STEPS)}; got '
                     f'{mode!r}')
  return SCALE_STEPS[mode]


def key_classes(tonic_pitch_class, mode='major'):
  """Classes in a major or natural-minor key, including both special events.

  Args:
    tonic_pitch_class: pitch class of the tonic (0 = C) or a note name.
    mode: 'major' or 'minor' (natural minor).

  Returns:
    Sorted tuple of class indices; key_classes(0) == C_MAJOR_KEY.
  """
  steps = _check_mode(mode)
  tonic = pitch_class(tonic_pitch_class)
  pcs = {(tonic + s) % SEMITONES_PER_OCTAVE for s in steps}
  pitched = [c for c in range(NUM_SPECIAL_EVENTS, NUM_CLASSES)
             if class_pitch_class(c) in pcs]
  return tuple(range(NUM_SPECIAL_EVENTS)) + tuple(pitched)


def scale_classes(tonic_pitch_class, mode='major'):
  """Two ascending octaves of a scale from its lowest tonic (15 classes).

  The tonic is taken in the lowest octave (C3..B3), so the scale always fits
  the 36-pitch range; scale_classes(0) == C_MAJOR_SCALE.
  """
  steps = _check_mode(mode)
  low_tonic = _LOWEST_C_CLASS + pitch_class(tonic_pitch_class)
  return tuple(low_tonic + octave * SEMITONES_PER_OCTAVE + s
               for octave in range(2) for s in steps) + (
                   low_tonic + 2 * SEMITONES_PER_OCTAVE,)


def tonic_class(tonic_pitch_class):
  """Class of the tonic in the octave of middle C (MIDI 60..71).

  tonic_class('C') == C_MAJOR_TONIC (14), tonic_class('A') == A_MINOR_TONIC.
  """
  return _TONIC_OCTAVE_C_CLASS + pitch_class(tonic_pitch_class)
