"""Music-theory rewards and detections for a batch of melodies, in numpy.

The functions here compute what `rewards` computes for one melody, for B
melodies that are all at the same step t: `history` is an int array [B, t] of
the classes played so far and `action` an int array [B] of the classes being
judged. Each call costs O(B * t) array work and no Python loop over the
batch; the composition statistics (rl_tuner_eval_metrics) and batched RL
training both use them. Results equal the scalar functions exactly (same
floating-point operations in the same order).

The leap state of B melodies is a `LeapState` of three arrays; a melody with
no pending leap has direction 0 and leapt_from NO_NOTE (-1, the scalar
code's None).
"""

from typing import NamedTuple

import numpy as np

from rl_tuner import rewards
from rl_tuner import rl_tuner_ops as ops

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

  @classmethod
  def from_compositions(cls, compositions):
    """Stacks the leap state of a sequence of `Composition`s."""
    return cls(
        np.array([c.direction for c in compositions], np.int64),
        np.array([NO_NOTE if c.leapt_from is None else c.leapt_from
                  for c in compositions], np.int64),
        np.array([c.steps_since_last_leap for c in compositions], np.int64))

  def to_tuples(self):
    """[(direction, leapt_from or None, steps)] per melody, as Python ints."""
    return [(int(d), None if f == NO_NOTE else int(f), int(s))
            for d, f, s in zip(*self)]


def _as_batch(history, action):
  history = np.asarray(history, dtype=np.int64)
  action = np.asarray(action, dtype=np.int64).reshape(-1)
  if history.ndim != 2 or history.shape[0] != action.shape[0]:
    raise ValueError(
        f'history must be [B, t] and action [B]; got shapes {history.shape} '
        f'and {action.shape}')
  return history, action


def _is_special(classes):
  return classes < ops.NUM_SPECIAL_EVENTS


def with_action(history, action):
  """[B, t + 1]: the history with the action appended."""
  history, action = _as_batch(history, action)
  return np.concatenate([history, action[:, None]], axis=1)


def detect_repeating_notes(history, action, config=rewards.DEFAULT_CONFIG):
  """bool [B]: whether each action repeats a note excessively.

  Same rule as rewards.detect_repeating_notes: the run at the end of the
  history made only of the action's class and special events.
  """
  history, action = _as_batch(history, action)
  is_action = history == action[:, None]
  in_run = is_action | _is_special(history)
  # Positions of the unbroken run that ends at the last step.
  run = np.logical_and.accumulate(in_run[:, ::-1], axis=1)[:, ::-1]
  num_repeated = np.count_nonzero(run & is_action, axis=1)
  contains_breaks = np.any(run & ~is_action, axis=1)
  return (((action == config.note_off) &
           (num_repeated > rewards.MAX_REPEATED_NOTE_OFF)) |
          np.where(contains_breaks,
                   num_repeated > rewards.MAX_REPEATS_WITH_BREAKS,
                   num_repeated > rewards.MAX_PLAIN_REPEATS))


def autocorrelate(signals, lag=1):
  """float64 [B]: ops.autocorrelate of each row of `signals` [B, n]."""
  signals = np.asarray(signals)
  n = signals.shape[1]
  x = signals - np.mean(signals, axis=1, keepdims=True)
  variance = np.var(signals, axis=1)
  overlap = max(n - lag, 0)
  with np.errstate(invalid='ignore', divide='ignore'):
    return ((x[:, lag:lag + overlap] * x[:, :overlap]).sum(axis=1) /
            float(n) / variance)


def motif_unique_notes(history, action, bar_length=rewards.MOTIF_BAR_LENGTH):
  """int [B]: distinct pitches in the last bar including the action.

  0 while the melody (history plus action) is shorter than a bar; the bar is
  a motif where this is >= MIN_NOTES_IN_MOTIF (as rewards.detect_last_motif).
  """
  history, action = _as_batch(history, action)
  if history.shape[1] + 1 < bar_length:
    return np.zeros(len(action), np.int64)
  last_bar = np.concatenate(
      [history[:, history.shape[1] - (bar_length - 1):], action[:, None]],
      axis=1)
  # Special events all become 0, then count distinct values >= 2.
  ordered = np.sort(np.where(_is_special(last_bar), 0, last_bar), axis=1)
  first_of_value = np.ones(ordered.shape, bool)
  first_of_value[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
  return np.count_nonzero(first_of_value & ~_is_special(ordered), axis=1)


def detect_repeated_motif(history, action, bar_length=rewards.MOTIF_BAR_LENGTH,
                          num_unique=None):
  """bool [B]: whether the action completes a motif that occurred before.

  As rewards.detect_repeated_motif: the earlier occurrence must lie within
  history[:, :t - (bar_length - 1)].

  Args:
    history: int [B, t].
    action: int [B].
    bar_length: motif length.
    num_unique: motif_unique_notes(history, action), if already computed.
  """
  history, action = _as_batch(history, action)
  t = history.shape[1]
  earlier_length = t - (bar_length - 1)
  if earlier_length < bar_length:
    return np.zeros(len(action), bool)
  if num_unique is None:
    num_unique = motif_unique_notes(history, action, bar_length)
  is_motif = num_unique >= rewards.MIN_NOTES_IN_MOTIF
  motif = np.concatenate([history[:, earlier_length:], action[:, None]],
                         axis=1)
  # Windows [B, W, bar_length] of the earlier notes.
  windows = np.lib.stride_tricks.sliding_window_view(
      history[:, :earlier_length], bar_length, axis=1)
  found = np.all(windows == motif[:, None, :], axis=2).any(axis=1)
  return is_motif & found


def last_pitch(history):
  """int [B]: the last pitched class of each row, NO_NOTE if none."""
  history = np.asarray(history, dtype=np.int64)
  if history.shape[1] == 0:
    return np.full(history.shape[0], NO_NOTE, np.int64)
  is_pitch = ~_is_special(history)
  from_end = np.argmax(is_pitch[:, ::-1], axis=1)
  last = history[np.arange(history.shape[0]), history.shape[1] - 1 - from_end]
  return np.where(is_pitch.any(axis=1), last, NO_NOTE)


def sequential_interval(history, action, config=rewards.DEFAULT_CONFIG,
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
       (distance == ops.FIFTH) & after_tonic_or_fifth,
       (distance == config.third_interval) & after_tonic_or_third],
      [0.0,
       np.where(after_tonic_or_fifth, ops.HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH,
                ops.HOLD_INTERVAL),
       np.where(after_tonic_or_fifth, ops.REST_INTERVAL_AFTER_THIRD_OR_FIFTH,
                ops.REST_INTERVAL),
       ops.IN_KEY_FIFTH,
       ops.IN_KEY_THIRD],
      default=distance.astype(np.float64))
  return interval, prev_note


def interval_reward(interval, scaler=rewards.PREFERRED_INTERVAL_SCALER):
  """float64 [B]: rewards.interval_reward of each interval code."""
  interval = np.asarray(interval, dtype=np.float64)
  reward = np.zeros(interval.shape)
  for code, value in rewards.INTERVAL_REWARDS.items():
    reward[interval == code] = value
  reward[interval > ops.OCTAVE] = rewards.WIDER_THAN_OCTAVE_REWARD
  return reward * scaler


def update_leap_state(action, interval, prev_note, state, is_first_note,
                      steps_between_leaps=rewards.STEPS_BETWEEN_LEAPS):
  """Leap detection for B melodies (rewards.detect_leap_up_back).

  Args:
    action: int [B].
    interval: float [B], from sequential_interval.
    prev_note: int [B], from sequential_interval.
    state: LeapState before the action.
    is_first_note: bool; True when the history is empty (nothing happens).
    steps_between_leaps: see rewards.detect_leap_up_back.

  Returns:
    (outcome int [B] of 0 / LEAP_RESOLVED / LEAP_DOUBLED, new LeapState).
  """
  direction, leapt_from, steps = (np.array(a, np.int64) for a in state)
  outcome = np.zeros(len(action), np.int64)
  if is_first_note:
    return outcome, LeapState(direction, leapt_from, steps)
  action = np.asarray(action, np.int64)
  is_pitch = ~_is_special(action)
  is_leap = is_pitch & ((interval >= ops.FIFTH) |
                        (interval == ops.IN_KEY_FIFTH))
  leap_direction = np.where(action > prev_note, ops.ASCENDING,
                            ops.DESCENDING)
  pending = direction != 0
  leap_back = is_leap & pending & (direction != leap_direction)
  leap_again = is_leap & pending & (direction == leap_direction)
  first_leap = is_leap & ~pending
  returned = is_pitch & ~is_leap & (
      ((direction == ops.ASCENDING) & (action <= leapt_from)) |
      ((direction == ops.DESCENDING) & (action >= leapt_from)))

  outcome[leap_back & (steps > steps_between_leaps)] = ops.LEAP_RESOLVED
  outcome[leap_again] = ops.LEAP_DOUBLED
  outcome[returned] = ops.LEAP_RESOLVED
  resolved = leap_back | returned
  new_direction = np.where(first_leap, leap_direction,
                           np.where(resolved, 0, direction))
  new_leapt_from = np.where(first_leap, prev_note,
                            np.where(resolved, NO_NOTE, leapt_from))
  new_steps = np.where(is_leap, 0, steps + 1)
  return outcome, LeapState(new_direction, new_leapt_from, new_steps)


def leap_reward(outcome):
  """float64 [B]: +5 for LEAP_RESOLVED, -5 for LEAP_DOUBLED, else 0."""
  return np.select([outcome == ops.LEAP_RESOLVED,
                    outcome == ops.LEAP_DOUBLED],
                   [rewards.LEAP_RESOLVED_REWARD,
                    rewards.LEAP_DOUBLED_PENALTY], 0.0)


def detect_high_unique(melodies):
  """bool [B]: whether each row's highest class occurs exactly once."""
  melodies = np.asarray(melodies)
  highest = melodies.max(axis=1, keepdims=True)
  return np.count_nonzero(melodies == highest, axis=1) == 1


def detect_low_unique(melodies):
  """bool [B]: whether each row's lowest pitch occurs exactly once."""
  melodies = np.asarray(melodies)
  pitches = np.where(_is_special(melodies), ops.NUM_CLASSES, melodies)
  lowest = pitches.min(axis=1, keepdims=True)
  return np.count_nonzero(melodies == lowest, axis=1) == 1


def tonic_rewarded(action, beat, config=rewards.DEFAULT_CONFIG):
  """bool [B]: whether the tonic reward applies (see rewards.reward_tonic)."""
  action = np.asarray(action)
  first_of_last_bar = config.num_notes_in_melody - rewards.LAST_BAR_STEPS
  if beat == 0 or beat == first_of_last_bar:
    return action == config.tonic
  if beat == first_of_last_bar + 1:
    return action == config.no_event
  if beat > first_of_last_bar + 1:
    return _is_special(action)
  return np.zeros(action.shape, bool)


def music_theory_terms(history, action, leap_state,
                       config=rewards.DEFAULT_CONFIG, beat=None):
  """The nine music-theory terms for B melodies at the same step.

  Args:
    history: int [B, t], classes played so far.
    action: int [B], classes being judged.
    leap_state: LeapState before the action.
    config: MusicTheoryConfig.
    beat: the beat of the action (the tonic reward's clock); defaults to t.

  Returns:
    (terms, new_leap_state): terms maps each name of
    rewards.MUSIC_THEORY_TERMS, in order, to float64 [B].
  """
  history, action = _as_batch(history, action)
  t = history.shape[1]
  if beat is None:
    beat = t
  melody = with_action(history, action)
  batch = len(action)

  sum_penalty = np.zeros(batch)
  for lag in rewards.AUTOCORRELATION_LAGS:
    magnitude = np.abs(autocorrelate(melody, lag))
    penalized = magnitude > rewards.AUTOCORRELATION_THRESHOLD  # NaN: False
    sum_penalty = sum_penalty + np.where(
        penalized, magnitude * rewards.AUTOCORRELATION_PENALTY_WEIGHT, 0.0)

  num_unique = motif_unique_notes(history, action)
  is_motif = num_unique >= rewards.MIN_NOTES_IN_MOTIF
  motif_bonus = np.maximum((num_unique - rewards.MIN_NOTES_IN_MOTIF) *
                           rewards.MOTIF_BONUS_PER_NOTE, 0)
  repeated = detect_repeated_motif(history, action, num_unique=num_unique)
  repeated_bonus = np.maximum(num_unique - rewards.MIN_NOTES_IN_MOTIF, 0)

  interval, prev_note = sequential_interval(history, action, config)
  outcome, new_state = update_leap_state(action, interval, prev_note,
                                         leap_state, is_first_note=t == 0)

  if t + 1 == config.num_notes_in_melody:
    high_low = (np.where(detect_high_unique(melody),
                         rewards.HIGH_LOW_UNIQUE_REWARD, 0.0) +
                np.where(detect_low_unique(melody),
                         rewards.HIGH_LOW_UNIQUE_REWARD, 0.0))
  else:
    high_low = np.zeros(batch)

  terms = {
      'key': np.where(config.key_mask[action], 0.0, rewards.KEY_PENALTY),
      'tonic': np.where(tonic_rewarded(action, beat, config),
                        rewards.TONIC_REWARD, 0.0),
      'repeating': np.where(detect_repeating_notes(history, action, config),
                            rewards.REPEAT_PENALTY, 0.0),
      'autocorr': 0.0 - sum_penalty,
      'motif': np.where(is_motif, rewards.MOTIF_REWARD + motif_bonus, 0.0),
      'repeated_motif': np.where(
          repeated, rewards.REPEATED_MOTIF_REWARD + repeated_bonus, 0.0),
      'preferred_intervals': interval_reward(interval),
      'leap': leap_reward(outcome),
      'high_low_unique': high_low,
  }
  return terms, new_state


def music_theory_reward_batch(notes, actions, leap_state,
                              config=rewards.DEFAULT_CONFIG, beat=None):
  """Music-theory reward of B melodies at the same step.

  Args:
    notes: int array [B, t] of the classes played so far.
    actions: int array [B] of the classes being judged.
    leap_state: LeapState (direction [B], leapt_from [B] with -1 for none,
      steps_since_last_leap [B]) before the actions.
    config: MusicTheoryConfig.
    beat: the beat of the actions; defaults to t.

  Returns:
    (rewards float64 [B], new LeapState); equal to rewards.music_theory_reward
    on each melody.
  """
  terms, new_state = music_theory_terms(notes, actions, leap_state, config,
                                        beat)
  total = np.zeros(len(new_state.direction))
  for name in rewards.MUSIC_THEORY_TERMS:
    total = total + terms[name]
  return total, new_state
