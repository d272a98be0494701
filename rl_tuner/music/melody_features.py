"""Array helpers of the music-theory rules for B melodies at once.

`melody_env.MelodyEnv` keeps the melodies and their incremental features;
the helpers here are what it and the statistics compute from whole arrays:
interval codes (tabulated once per key), the tonic clock, unique extremes
and autocorrelations. `history` is int [B, t] of the classes played so far
and `action` int [B] of the classes being judged. Results equal the scalar
reference in `rewards` exactly (same floating-point operations).

The leap state of B melodies is a `LeapState` of three arrays; a melody with
no pending leap has direction 0 and leapt_from NO_NOTE (-1, the scalar
code's None).
"""

from typing import NamedTuple

import numpy as np

from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import music_theory

# Stand-in for "no note" (None in the scalar code) in int arrays.
NO_NOTE = -1


class LeapState(NamedTuple):
  """Pending-leap state of B melodies.

  Attributes:
    direction: int array [B]: 0, ASCENDING (+1) or DESCENDING (-1).
    leapt_from: int array [B]: class the pending leap started from, or
      NO_NOTE (-1).
    steps_since_last_leap: int array [B].
  """
  direction: np.ndarray
  leapt_from: np.ndarray
  steps_since_last_leap: np.ndarray

  @classmethod
  def initial(cls, batch_size):
    """No pending leap, zero steps, for `batch_size` melodies."""
    return cls(np.zeros(batch_size, np.int64),
               np.full(batch_size, NO_NOTE, np.int64),
               np.zeros(batch_size, np.int64))


def _as_batch(history, action):
  history = np.asarray(history, dtype=np.int64)
  action = np.asarray(action, dtype=np.int64).reshape(-1)
  if history.ndim != 2 or history.shape[0] != action.shape[0]:
    raise ValueError(
        f'history must be [B, t] and action [B]; got shapes {history.shape} '
        f'and {action.shape}')
  return history, action


def _is_special(classes):
  return classes < keys.NUM_SPECIAL_EVENTS


def autocorrelate(signals, lag=1):
  """float64 [B]: one_melody.autocorrelate of each row of `signals` [B, n]."""
  signals = np.asarray(signals)
  n = signals.shape[1]
  x = signals - np.mean(signals, axis=1, keepdims=True)
  variance = np.var(signals, axis=1)
  overlap = max(n - lag, 0)
  with np.errstate(invalid='ignore', divide='ignore'):
    return ((x[:, lag:lag + overlap] * x[:, :overlap]).sum(axis=1) /
            float(n) / variance)


def last_pitch(history):
  """int [B]: the last pitched class of each row, NO_NOTE if none."""
  history = np.asarray(history, dtype=np.int64)
  if history.shape[1] == 0:
    return np.full(history.shape[0], NO_NOTE, np.int64)
  is_pitch = ~_is_special(history)
  from_end = np.argmax(is_pitch[:, ::-1], axis=1)
  last = history[np.arange(history.shape[0]), history.shape[1] - 1 - from_end]
  return np.where(is_pitch.any(axis=1), last, NO_NOTE)


def sequential_interval(history, action, config=music_theory.DEFAULT_CONFIG,
                        prev_note=None):
  """float64 [B]: interval codes as rewards.detect_sequential_interval.

  Args:
    history: int [B, t].
    action: int [B].
    config: MusicTheoryConfig.
    prev_note: last_pitch(history), if already known.

  Returns:
    (interval [B] float64, prev_note [B] int with NO_NOTE where no pitch).
  """
  history, action = _as_batch(history, action)
  if prev_note is None:
    prev_note = last_pitch(history)
  has_prev = prev_note != NO_NOTE
  prev_index = np.where(has_prev, prev_note, 0)
  after_tonic_or_fifth = (config.class_mask(config.tonic_notes) |
                          config.class_mask(config.fifth_notes))[prev_index]
  after_tonic_or_third = (config.class_mask(config.tonic_notes) |
                          config.class_mask(config.third_notes))[prev_index]
  distance = np.abs(action - prev_note)
  interval = np.select(
      [~has_prev,
       action == config.no_event,
       action == config.note_off,
       (distance == intervals.FIFTH) & after_tonic_or_fifth,
       (distance == config.third_interval) & after_tonic_or_third],
      [0.0,
       np.where(after_tonic_or_fifth,
                intervals.HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH,
                intervals.HOLD_INTERVAL),
       np.where(after_tonic_or_fifth,
                intervals.REST_INTERVAL_AFTER_THIRD_OR_FIFTH,
                intervals.REST_INTERVAL),
       intervals.IN_KEY_FIFTH,
       intervals.IN_KEY_THIRD],
      default=distance.astype(np.float64))
  return interval, prev_note


def interval_reward(interval, scaler=music_theory.PREFERRED_INTERVAL_SCALER):
  """float64 [B]: rewards.interval_reward of each interval code."""
  interval = np.asarray(interval, dtype=np.float64)
  reward = np.zeros(interval.shape)
  for code, value in music_theory.INTERVAL_REWARDS.items():
    reward[interval == code] = value
  reward[interval > intervals.OCTAVE] = music_theory.WIDER_THAN_OCTAVE_REWARD
  return reward * scaler


def detect_high_unique(melodies):
  """bool [B]: whether each row's highest class occurs exactly once."""
  melodies = np.asarray(melodies)
  highest = melodies.max(axis=1, keepdims=True)
  return np.count_nonzero(melodies == highest, axis=1) == 1


def detect_low_unique(melodies):
  """bool [B]: whether each row's lowest pitch occurs exactly once."""
  melodies = np.asarray(melodies)
  pitches = np.where(_is_special(melodies), keys.NUM_CLASSES, melodies)
  lowest = pitches.min(axis=1, keepdims=True)
  return np.count_nonzero(melodies == lowest, axis=1) == 1


def tonic_rewarded(action, beat, config=music_theory.DEFAULT_CONFIG):
  """bool [B]: whether the tonic reward applies (see rewards.reward_tonic)."""
  action = np.asarray(action)
  first_of_last_bar = config.num_notes_in_melody - music_theory.LAST_BAR_STEPS
  if beat == 0 or beat == first_of_last_bar:
    return action == config.tonic
  if beat == first_of_last_bar + 1:
    return action == config.no_event
  if beat > first_of_last_bar + 1:
    return _is_special(action)
  return np.zeros(action.shape, bool)

