"""What the music-theory rules consider right: the key, the amounts.

`MusicTheoryConfig` says which classes are in key, the tonic, the scale, the
melody length and which class means what; the constants are the original's
reward amounts and thresholds. The rules (`builtin_rewards`, on
`melody_env`), the statistics (`evaluation.statistics`) and the one-melody
reference (`testing.reference_rewards`) all read them from here.

Class labels. The encoding (note_rnn.encoding) has class 0 = hold and
class 1 = rest. The original reward code calls class 0 NOTE_OFF and class 1
NO_EVENT, i.e. swapped, and the published numbers were computed that way.
`MusicTheoryConfig(labels='original')` (the default) reproduces that;
`labels='encoding'` gives the names their encoding meaning. The two classes
together are "special events" under either labelling.
"""

import dataclasses
import functools
from typing import Tuple

import numpy as np

from note_rnn import encoding
from rl_tuner.music import intervals
from rl_tuner.music import keys

# Which class each labelling calls NOTE_OFF and NO_EVENT.
LABELS = {
    # The original reward code: 0 = NOTE_OFF, 1 = NO_EVENT.
    'original': {'note_off': 0, 'no_event': 1},
    # The encoding: rest (note off) = 1, hold (no event) = 0.
    'encoding': {'note_off': encoding.REST_CLASS,
                 'no_event': encoding.HOLD_CLASS},
}
# The special-event classes (not pitches), whatever they are called.
SPECIAL_CLASSES = tuple(range(keys.NUM_SPECIAL_EVENTS))

# Length of a motif window, in steps.
MOTIF_BAR_LENGTH = 8
# Fewest distinct pitches that make the last bar a motif.
MIN_NOTES_IN_MOTIF = 3
# A leap back counts as resolving only after more than this many steps.
STEPS_BETWEEN_LEAPS = 6
# |autocorrelation| above this is penalized.
AUTOCORRELATION_THRESHOLD = 0.15
# Lags (steps) of the autocorrelation penalty.
AUTOCORRELATION_LAGS = (1, 2, 3)
# Repeats of the same note allowed without / with holds or rests in the run;
# a rest (NOTE_OFF) may follow at most this many rests.
MAX_PLAIN_REPEATS = 4
MAX_REPEATS_WITH_BREAKS = 6
MAX_REPEATED_NOTE_OFF = 1

# Reward amounts of the original.
KEY_PENALTY = -1.0
TONIC_REWARD = 3.0
REPEAT_PENALTY = -100.0
AUTOCORRELATION_PENALTY_WEIGHT = 3.0
MOTIF_REWARD = 3.0
MOTIF_BONUS_PER_NOTE = 0.3
REPEATED_MOTIF_REWARD = 4.0
PREFERRED_INTERVAL_SCALER = 5.0
LEAP_RESOLVED_REWARD = 5.0
LEAP_DOUBLED_PENALTY = -5.0
HIGH_LOW_UNIQUE_REWARD = 3.0
NON_REPEATING_REWARD = 0.1
# Reward of one interval code (before PREFERRED_INTERVAL_SCALER); any
# interval wider than an octave gets WIDER_THAN_OCTAVE_REWARD; codes not
# listed (0, unison... and 1, 3, 6, 8, 10, 12 semitones) get 0.
INTERVAL_REWARDS = {
    intervals.REST_INTERVAL: 0.05,
    intervals.HOLD_INTERVAL: 0.075,
    intervals.REST_INTERVAL_AFTER_THIRD_OR_FIFTH: 0.15,
    intervals.HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH: 0.3,
    intervals.SEVENTH: -0.3,
    intervals.IN_KEY_FIFTH: 0.1,
    intervals.IN_KEY_THIRD: 0.15,
    intervals.THIRD: 0.09,
    intervals.SECOND: 0.08,
    intervals.FOURTH: 0.07,
    intervals.SIXTH: 0.05,
    intervals.FIFTH: 0.02,
}
WIDER_THAN_OCTAVE_REWARD = -1.0
# Rewards of the 'scale' mode.
SCALE_NO_EVENT_REWARD = 0.1
SCALE_SMALL_STEP_UP_REWARD = 0.05
SCALE_MAX_STEP_UP = 2  # semitones; 1..2 counts as a small step up
SCALE_IN_SCALE_REWARD = 0.01
SCALE_NEXT_DEGREE_REWARD = 0.8

# Steps of the last bar before the end of the melody (the tonic reward looks
# for the tonic on its first step and for holds/rests after it).
LAST_BAR_STEPS = 4


@dataclasses.dataclass(frozen=True)
class MusicTheoryConfig:
  """What the music-theory rewards consider right.

  Attributes:
    key: classes that are in key (special events included); playing any
      other class is penalized.
    tonic: class of the tonic the melody should start (and end) on.
    scale: ascending classes the 'scale' mode rewards stepping through.
    num_notes_in_melody: melody length in steps; the tonic reward looks at
      its last bar, the high/low-unique reward at its last step.
    labels: 'original' (class 0 is NOTE_OFF, class 1 NO_EVENT, as in the
      original reward code) or 'encoding' (class 0 hold = NO_EVENT, class 1
      rest = NOTE_OFF).

  The interval rewards also need the tonic triad; it is derived from `key`
  and `tonic`: every class of the tonic's pitch class, of the fifth above it,
  and of the third above it (a major third if that pitch is in key,
  otherwise a minor third).
  """
  key: Tuple[int, ...] = keys.C_MAJOR_KEY
  tonic: int = keys.C_MAJOR_TONIC
  scale: Tuple[int, ...] = keys.C_MAJOR_SCALE
  num_notes_in_melody: int = 32
  labels: str = 'original'

  def __post_init__(self):
    for name in ('key', 'scale'):
      classes = tuple(int(c) for c in getattr(self, name))
      bad = [c for c in classes if not 0 <= c < keys.NUM_CLASSES]
      if bad:
        raise ValueError(f'{name} holds classes outside [0, '
                         f'{keys.NUM_CLASSES}): {bad}')
      object.__setattr__(self, name, classes)
    object.__setattr__(self, 'tonic', int(self.tonic))
    object.__setattr__(self, 'num_notes_in_melody',
                       int(self.num_notes_in_melody))
    if not keys.NUM_SPECIAL_EVENTS <= self.tonic < keys.NUM_CLASSES:
      raise ValueError(f'tonic must be a pitched class in '
                       f'[{keys.NUM_SPECIAL_EVENTS}, {keys.NUM_CLASSES}); got '
                       f'{self.tonic}')
    if self.labels not in LABELS:
      raise ValueError(f'labels must be one of {sorted(LABELS)}; got '
                       f'{self.labels!r}')

  @classmethod
  def for_key(cls, tonic, mode='major', **kwargs):
    """Config for a major or natural-minor key.

    Args:
      tonic: note name ('C', 'G', 'F#', 'Bb', ...) or pitch class (0 = C).
      mode: 'major' or 'minor'.
      **kwargs: other fields (num_notes_in_melody, labels).

    Returns:
      MusicTheoryConfig whose tonic is in the octave of middle C and whose
      scale is two octaves from the lowest tonic; for_key('C') equals the
      default config.
    """
    return cls(key=keys.key_classes(tonic, mode),
               tonic=keys.tonic_class(tonic),
               scale=keys.scale_classes(tonic, mode),
               **kwargs)

  @property
  def note_off(self):
    """Class the reward code treats as NOTE_OFF."""
    return LABELS[self.labels]['note_off']

  @property
  def no_event(self):
    """Class the reward code treats as NO_EVENT."""
    return LABELS[self.labels]['no_event']

  @functools.cached_property
  def key_set(self):
    return frozenset(self.key)

  @functools.cached_property
  def key_mask(self):
    """bool array [38]: True for classes in key."""
    mask = np.zeros(keys.NUM_CLASSES, dtype=bool)
    mask[list(self.key)] = True
    return mask

  @functools.cached_property
  def third_interval(self):
    """Semitones from the tonic to the third of the key (4 or 3)."""
    tonic_pc = keys.class_pitch_class(self.tonic)
    key_pcs = {keys.class_pitch_class(c) for c in self.key
               if c >= keys.NUM_SPECIAL_EVENTS}
    if (tonic_pc + intervals.THIRD) % keys.SEMITONES_PER_OCTAVE in key_pcs:
      return intervals.THIRD
    return intervals.MINOR_THIRD

  def _triad_classes(self, semitones_above_tonic):
    return frozenset(keys.classes_of_pitch_class(
        keys.class_pitch_class(self.tonic) + semitones_above_tonic))

  @functools.cached_property
  def tonic_notes(self):
    """Classes of the tonic's pitch class; C major: {2, 14, 26}."""
    return self._triad_classes(0)

  @functools.cached_property
  def fifth_notes(self):
    """Classes a fifth above the tonic; C major: {9, 21, 33}."""
    return self._triad_classes(intervals.FIFTH)

  @functools.cached_property
  def third_notes(self):
    """Classes a third above the tonic; C major: {6, 18, 30}."""
    return self._triad_classes(self.third_interval)

  def class_mask(self, classes):
    """bool array [38] that is True at `classes`."""
    mask = np.zeros(keys.NUM_CLASSES, dtype=bool)
    mask[list(classes)] = True
    return mask


DEFAULT_CONFIG = MusicTheoryConfig()

# The terms of the whole music-theory reward, in the order they are summed.
MUSIC_THEORY_TERMS = ('key', 'tonic', 'repeating', 'autocorr', 'motif',
                      'repeated_motif', 'preferred_intervals', 'leap',
                      'high_low_unique')
