"""Music-theory rewards of the RL Tuner, one melody at a time.

Every function judges an `action` (the class about to be played; an int, or a
one-hot vector of length 38) against a `Composition` (the notes played so far,
the beat, and the pending-leap state) under a `MusicTheoryConfig` (key, tonic,
scale, melody length and which class means what). They reproduce the
original RLTuner methods of the same names, value for value, with four
defects fixed (numbers as in ORIGINAL.md):

  3  (statistics, see evaluation.statistics) in-key thirds are counted.
  5  `reward_non_repeating` returns the repeat penalty instead of None.
  10 `detect_sequential_interval` works in any key: the tonic, third and
     fifth notes come from the configured key instead of hard-coded C major.
  12 `collect_reward` reports the music-theory part of the
     `music_theory_basic*` modes like that of every other mode.

Only `detect_leap_up_back` (and the functions that call it:
`reward_leap_up_back`, `music_theory_terms`, `music_theory_reward`, and
`collect_reward` in the modes that use the whole music-theory reward) changes
the composition: it updates the leap state. Nothing here appends notes; the
caller appends the action after judging it.

The key, labels and amounts are `music_theory`'s (re-exported here).

This module is the reference: the production rules are the batched ones of
`builtin_rewards` on `melody_env`, which the tests compare with these.
"""

from typing import NamedTuple

import numpy as np
import scipy.special

from rl_tuner.music import intervals
from rl_tuner.music import music_theory
from rl_tuner.music import one_melody

# The configuration and the original's amounts live in music_theory.
LABELS = music_theory.LABELS
SPECIAL_CLASSES = music_theory.SPECIAL_CLASSES
MOTIF_BAR_LENGTH = music_theory.MOTIF_BAR_LENGTH
MIN_NOTES_IN_MOTIF = music_theory.MIN_NOTES_IN_MOTIF
STEPS_BETWEEN_LEAPS = music_theory.STEPS_BETWEEN_LEAPS
AUTOCORRELATION_THRESHOLD = music_theory.AUTOCORRELATION_THRESHOLD
AUTOCORRELATION_LAGS = music_theory.AUTOCORRELATION_LAGS
MAX_PLAIN_REPEATS = music_theory.MAX_PLAIN_REPEATS
MAX_REPEATS_WITH_BREAKS = music_theory.MAX_REPEATS_WITH_BREAKS
MAX_REPEATED_NOTE_OFF = music_theory.MAX_REPEATED_NOTE_OFF
KEY_PENALTY = music_theory.KEY_PENALTY
TONIC_REWARD = music_theory.TONIC_REWARD
REPEAT_PENALTY = music_theory.REPEAT_PENALTY
AUTOCORRELATION_PENALTY_WEIGHT = music_theory.AUTOCORRELATION_PENALTY_WEIGHT
MOTIF_REWARD = music_theory.MOTIF_REWARD
MOTIF_BONUS_PER_NOTE = music_theory.MOTIF_BONUS_PER_NOTE
REPEATED_MOTIF_REWARD = music_theory.REPEATED_MOTIF_REWARD
PREFERRED_INTERVAL_SCALER = music_theory.PREFERRED_INTERVAL_SCALER
LEAP_RESOLVED_REWARD = music_theory.LEAP_RESOLVED_REWARD
LEAP_DOUBLED_PENALTY = music_theory.LEAP_DOUBLED_PENALTY
HIGH_LOW_UNIQUE_REWARD = music_theory.HIGH_LOW_UNIQUE_REWARD
NON_REPEATING_REWARD = music_theory.NON_REPEATING_REWARD
INTERVAL_REWARDS = music_theory.INTERVAL_REWARDS
WIDER_THAN_OCTAVE_REWARD = music_theory.WIDER_THAN_OCTAVE_REWARD
SCALE_NO_EVENT_REWARD = music_theory.SCALE_NO_EVENT_REWARD
SCALE_SMALL_STEP_UP_REWARD = music_theory.SCALE_SMALL_STEP_UP_REWARD
SCALE_MAX_STEP_UP = music_theory.SCALE_MAX_STEP_UP
SCALE_IN_SCALE_REWARD = music_theory.SCALE_IN_SCALE_REWARD
SCALE_NEXT_DEGREE_REWARD = music_theory.SCALE_NEXT_DEGREE_REWARD
LAST_BAR_STEPS = music_theory.LAST_BAR_STEPS
DEFAULT_CONFIG = music_theory.DEFAULT_CONFIG
MusicTheoryConfig = music_theory.MusicTheoryConfig



# The one-melody helpers the Magenta methods share (rl_tuner.music).
as_class = one_melody.as_class
detect_last_motif = one_melody.detect_last_motif
detect_high_unique = one_melody.detect_high_unique
detect_low_unique = one_melody.detect_low_unique


def _with_action(composition, action):
  return composition.notes + [as_class(action)]


# ---------------------------------------------------------------------------
# Single music-theory terms.


def reward_key(composition, action, config=DEFAULT_CONFIG,
               penalty_amount=KEY_PENALTY):
  """penalty_amount (-1) if the action is not in the key, else 0."""
  del composition  # The key reward only looks at the action.
  return 0.0 if as_class(action) in config.key_set else penalty_amount


def reward_tonic(composition, action, config=DEFAULT_CONFIG,
                 reward_amount=TONIC_REWARD):
  """Rewards the tonic at the start and at the start of the last bar.

  With n = num_notes_in_melody and f = n - 4 (first step of the last bar):
  at beats 0 and f the tonic earns reward_amount; at beat f + 1 the NO_EVENT
  class does; after that either special event does.
  """
  note = as_class(action)
  first_of_last_bar = config.num_notes_in_melody - LAST_BAR_STEPS
  beat = composition.beat
  if beat == 0 or beat == first_of_last_bar:
    rewarded = note == config.tonic
  elif beat == first_of_last_bar + 1:
    rewarded = note == config.no_event
  elif beat > first_of_last_bar + 1:
    rewarded = note in SPECIAL_CLASSES
  else:
    rewarded = False
  return reward_amount if rewarded else 0.0


def detect_repeating_notes(composition, action_note, config=DEFAULT_CONFIG):
  """Whether playing `action_note` repeats a note excessively.

  Walks back from the last note over the unbroken run of `action_note`,
  NOTE_OFF and NO_EVENT classes. Counting occurrences of `action_note` in
  that run (the action itself not included), it is excessive when: the
  action is NOTE_OFF and follows more than 1 NOTE_OFF; or the run holds no
  other class and more than 4 occurrences; or the run also holds the other
  special event(s) and more than 6 occurrences.

  Args:
    composition: Composition.
    action_note: class int.
    config: MusicTheoryConfig (labels decide which class is NOTE_OFF).

  Returns:
    bool.
  """
  num_repeated = 0
  contains_breaks = False
  for note in reversed(composition.notes):
    if note == action_note:
      num_repeated += 1
    elif note in SPECIAL_CLASSES:
      contains_breaks = True
    else:
      break
  if action_note == config.note_off and num_repeated > MAX_REPEATED_NOTE_OFF:
    return True
  if contains_breaks:
    return num_repeated > MAX_REPEATS_WITH_BREAKS
  return num_repeated > MAX_PLAIN_REPEATS


def reward_penalize_repeating(composition, action, config=DEFAULT_CONFIG,
                              penalty_amount=REPEAT_PENALTY):
  """penalty_amount (-100) if the action repeats a note excessively."""
  if detect_repeating_notes(composition, as_class(action), config):
    return penalty_amount
  return 0.0


def reward_penalize_autocorrelation(
    composition, action, config=DEFAULT_CONFIG,
    penalty_weight=AUTOCORRELATION_PENALTY_WEIGHT):
  """-penalty_weight * |coefficient| summed over lags 1..3 where it is > 0.15.

  The melody judged is the notes so far plus the action; NaN coefficients
  (constant melodies) are skipped.
  """
  del config  # Autocorrelation looks at class numbers only.
  melody = _with_action(composition, action)
  sum_penalty = 0.0
  for coeff in one_melody.autocorrelations(melody, AUTOCORRELATION_LAGS):
    if not np.isnan(coeff) and abs(coeff) > AUTOCORRELATION_THRESHOLD:
      sum_penalty += abs(coeff) * penalty_weight
  return float(-sum_penalty)


def reward_motif(composition, action, config=DEFAULT_CONFIG,
                 reward_amount=MOTIF_REWARD):
  """reward_amount (+3) + 0.3 per distinct pitch beyond 3 if a motif ends."""
  del config
  motif, num_notes = detect_last_motif(_with_action(composition, action))
  if motif is None:
    return 0.0
  return reward_amount + max((num_notes - MIN_NOTES_IN_MOTIF) *
                             MOTIF_BONUS_PER_NOTE, 0)


def detect_repeated_motif(composition, action, bar_length=MOTIF_BAR_LENGTH):
  """Whether the motif the action completes already occurred earlier.

  The earlier occurrence must lie entirely in the notes before the motif
  (the original searches composition[:-(bar_length - 1)]).

  Returns:
    (is_repeated, motif): bool and the motif (list of classes) or None.
  """
  melody = _with_action(composition, action)
  if len(melody) < bar_length:
    return False, None
  motif, _ = detect_last_motif(melody, bar_length)
  if motif is None:
    return False, None
  earlier = composition.notes[:-(bar_length - 1)]
  for start in range(len(earlier) - bar_length + 1):
    if earlier[start:start + bar_length] == motif:
      return True, motif
  return False, None


def reward_repeated_motif(composition, action, config=DEFAULT_CONFIG,
                          bar_length=MOTIF_BAR_LENGTH,
                          reward_amount=REPEATED_MOTIF_REWARD):
  """reward_amount (+4) + 1 per distinct pitch beyond 3 for a repeated motif."""
  del config
  is_repeated, motif = detect_repeated_motif(composition, action, bar_length)
  if not is_repeated:
    return 0.0
  num_notes = len({n for n in motif if n not in SPECIAL_CLASSES})
  return reward_amount + max(num_notes - MIN_NOTES_IN_MOTIF, 0)


def detect_sequential_interval(composition, action, config=DEFAULT_CONFIG):
  """The melodic interval from the last pitch played to the action.

  Holds and rests in the notes are skipped to find the previous pitch.

  Returns:
    (interval, action_note, prev_note). interval is
      0 when there are no notes yet (then action_note and prev_note are None)
        or no pitch has been played yet (prev_note is then the first class),
        or for a unison;
      HOLD_INTERVAL / REST_INTERVAL (-1.5 / -1) when the action is NO_EVENT /
        NOTE_OFF, or the *_AFTER_THIRD_OR_FIFTH codes (-2.5 / -2) when the
        previous pitch is the tonic or the fifth of the key;
      IN_KEY_FIFTH (-5) for a fifth from the tonic or the fifth of the key;
      IN_KEY_THIRD (-3) for a third (of the key's size) from its tonic or
        third;
      otherwise |action_note - prev_note| in semitones.
  """
  notes = composition.notes
  if not notes:
    return 0, None, None
  action_note = as_class(action)
  prev_note = notes[0]
  for note in reversed(notes):
    if note not in SPECIAL_CLASSES:
      prev_note = note
      break
  if prev_note in SPECIAL_CLASSES:
    return 0, action_note, prev_note

  after_tonic_or_fifth = (prev_note in config.tonic_notes or
                          prev_note in config.fifth_notes)
  if action_note == config.no_event:
    interval = (intervals.HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH
                if after_tonic_or_fifth else intervals.HOLD_INTERVAL)
    return interval, action_note, prev_note
  if action_note == config.note_off:
    interval = (intervals.REST_INTERVAL_AFTER_THIRD_OR_FIFTH
                if after_tonic_or_fifth else intervals.REST_INTERVAL)
    return interval, action_note, prev_note

  interval = abs(action_note - prev_note)
  if interval == intervals.FIFTH and after_tonic_or_fifth:
    return intervals.IN_KEY_FIFTH, action_note, prev_note
  if interval == config.third_interval and (prev_note in config.tonic_notes or
                                            prev_note in config.third_notes):
    return intervals.IN_KEY_THIRD, action_note, prev_note
  return interval, action_note, prev_note


def interval_reward(interval, scaler=PREFERRED_INTERVAL_SCALER):
  """Reward of one interval code (see detect_sequential_interval)."""
  if interval > intervals.OCTAVE:
    return WIDER_THAN_OCTAVE_REWARD * scaler
  return INTERVAL_REWARDS.get(interval, 0.0) * scaler


def reward_preferred_intervals(composition, action, config=DEFAULT_CONFIG,
                               scaler=PREFERRED_INTERVAL_SCALER):
  """Rewards steps and consonant intervals, penalizes sevenths and big leaps.

  See INTERVAL_REWARDS; the value is multiplied by `scaler` (5).
  """
  interval, _, _ = detect_sequential_interval(composition, action, config)
  return interval_reward(interval, scaler)


def reward_high_low_unique(composition, action, config=DEFAULT_CONFIG,
                           reward_amount=HIGH_LOW_UNIQUE_REWARD):
  """On the melody's last step, reward_amount (+3) each for a unique highest
  and a unique lowest note; 0 on other steps."""
  if len(composition.notes) + 1 != config.num_notes_in_melody:
    return 0.0
  melody = _with_action(composition, action)
  reward = 0.0
  if detect_high_unique(melody):
    reward += reward_amount
  if detect_low_unique(melody):
    reward += reward_amount
  return reward


def detect_leap_up_back(composition, action, config=DEFAULT_CONFIG,
                        steps_between_leaps=STEPS_BETWEEN_LEAPS):
  """Tracks melodic leaps and whether they are resolved; updates the state.

  A leap is an interval of a fifth or more (interval code >= 7 or
  IN_KEY_FIFTH). After a leap, a leap in the opposite direction resolves it
  (LEAP_RESOLVED only if more than `steps_between_leaps` steps passed; the
  pending leap is forgotten either way), a second leap in the same direction
  is LEAP_DOUBLED, and a non-leap note that returns to or past the note the
  leap started from resolves it gradually. Holds and rests only count steps.
  Nothing happens on the first note.

  This is the one function that changes `composition` (direction,
  leapt_from, steps_since_last_leap).

  Returns:
    0, LEAP_RESOLVED (1) or LEAP_DOUBLED (-1).
  """
  if not composition.notes:
    return 0
  interval, action_note, prev_note = detect_sequential_interval(
      composition, action, config)
  if action_note in SPECIAL_CLASSES:
    composition.steps_since_last_leap += 1
    return 0

  outcome = 0
  if interval >= intervals.FIFTH or interval == intervals.IN_KEY_FIFTH:
    leap_direction = (intervals.ASCENDING if action_note > prev_note
                      else intervals.DESCENDING)
    if composition.direction == 0:
      composition.direction = leap_direction
      composition.leapt_from = prev_note
    elif composition.direction != leap_direction:
      if composition.steps_since_last_leap > steps_between_leaps:
        outcome = intervals.LEAP_RESOLVED
      composition.direction = 0
      composition.leapt_from = None
    else:
      outcome = intervals.LEAP_DOUBLED
    composition.steps_since_last_leap = 0
  else:
    composition.steps_since_last_leap += 1
    if ((composition.direction == intervals.ASCENDING and
         action_note <= composition.leapt_from) or
        (composition.direction == intervals.DESCENDING and
         action_note >= composition.leapt_from)):
      outcome = intervals.LEAP_RESOLVED
      composition.direction = 0
      composition.leapt_from = None
  return outcome


def leap_reward(outcome, resolving_leap_bonus=LEAP_RESOLVED_REWARD,
                leaping_twice_punishment=LEAP_DOUBLED_PENALTY):
  """Reward of a leap outcome: +5 resolved, -5 doubled, else 0."""
  if outcome == intervals.LEAP_RESOLVED:
    return resolving_leap_bonus
  if outcome == intervals.LEAP_DOUBLED:
    return leaping_twice_punishment
  return 0.0


def reward_leap_up_back(composition, action, config=DEFAULT_CONFIG,
                        resolving_leap_bonus=LEAP_RESOLVED_REWARD,
                        leaping_twice_punishment=LEAP_DOUBLED_PENALTY):
  """+5 for resolving a leap, -5 for leaping twice; updates the leap state."""
  return leap_reward(detect_leap_up_back(composition, action, config),
                     resolving_leap_bonus, leaping_twice_punishment)


# ---------------------------------------------------------------------------
# Rewards of the other modes.


def reward_scale(obs, action, config=DEFAULT_CONFIG):
  """Rewards playing up the configured scale (mode 'scale').

  Args:
    obs: the previous note (int or one-hot).
    action: the note played (int or one-hot).
    config: MusicTheoryConfig (scale; labels decide the NO_EVENT class).

  Returns:
    Sum of: 0.1 for NO_EVENT; 0.05 for rising 1-2 semitones; 0.01 for a
    class in the scale, plus 0.8 if obs is in the scale and the action is the
    next scale entry (or the first after the last).
  """
  obs = as_class(obs)
  action = as_class(action)
  scale = config.scale
  reward = 0.0
  if action == config.no_event:
    reward += SCALE_NO_EVENT_REWARD
  if obs < action < obs + SCALE_MAX_STEP_UP + 1:
    reward += SCALE_SMALL_STEP_UP_REWARD
  if action in scale:
    reward += SCALE_IN_SCALE_REWARD
    if obs in scale:
      action_pos = scale.index(action)
      obs_pos = scale.index(obs)
      wraps_around = obs_pos == len(scale) - 1 and action_pos == 0
      if wraps_around or action_pos == obs_pos + 1:
        reward += SCALE_NEXT_DEGREE_REWARD
  return reward


def reward_key_distribute_prob(composition, action, config=DEFAULT_CONFIG):
  """1 / len(key) for a class in key, else 0 (mode 'key')."""
  del composition
  if as_class(action) in config.key_set:
    return 1.0 / len(config.key)
  return 0.0


def reward_non_repeating(composition, action, config=DEFAULT_CONFIG):
  """0.1, or the repeat penalty (-100) for an excessive repeat.

  The original returned None instead of the penalty (defect 5), which made
  its mode 'non_repeating' raise TypeError.
  """
  penalty = reward_penalize_repeating(composition, action, config)
  return NON_REPEATING_REWARD if penalty >= 0 else penalty


# ---------------------------------------------------------------------------
# The combined music-theory reward.

# The terms of `music_theory_reward`, in the order they are summed.
MUSIC_THEORY_TERMS = music_theory.MUSIC_THEORY_TERMS

_TERM_FUNCTIONS = {
    'key': reward_key,
    'tonic': reward_tonic,
    'repeating': reward_penalize_repeating,
    'autocorr': reward_penalize_autocorrelation,
    'motif': reward_motif,
    'repeated_motif': reward_repeated_motif,
    'preferred_intervals': reward_preferred_intervals,
    'leap': reward_leap_up_back,
    'high_low_unique': reward_high_low_unique,
}


def music_theory_terms(composition, action, config=DEFAULT_CONFIG):
  """The nine music-theory terms of one action; updates the leap state.

  Returns:
    dict term name -> float, in MUSIC_THEORY_TERMS order.
  """
  return {name: _TERM_FUNCTIONS[name](composition, action, config)
          for name in MUSIC_THEORY_TERMS}


def music_theory_reward(composition, action, config=DEFAULT_CONFIG):
  """Sum of the music-theory terms, in the original's order (exact floats).

  Updates the leap state (see detect_leap_up_back).
  """
  return sum(music_theory_terms(composition, action, config).values())


def reward_from_reward_rnn_scores(action, reward_scores):
  """log p(action) under the softmax of the Reward RNN's scores [38]."""
  reward_scores = np.asarray(reward_scores)
  return float(reward_scores[as_class(action)] -
               scipy.special.logsumexp(reward_scores))


# ---------------------------------------------------------------------------
# Reward modes.


class RewardParts(NamedTuple):
  """What one call of `collect_reward` yields.

  Attributes:
    total: the reward of the transition.
    note_rnn: log p(action) from the Reward RNN; the original adds it to
      `note_rnn_reward_last_n` in every mode.
    music_theory: the mode's reward times reward_scaler; the original adds it
      to `music_theory_reward_last_n`.
  """
  total: float
  note_rnn: float
  music_theory: float


# Rewards the modes combine: the music-theory terms, the other modes' own
# rewards and the whole music-theory reward, all (composition, action,
# config) -> float; 'scale' (which reads obs instead) is handled apart.
_MODE_REWARDS = dict(
    _TERM_FUNCTIONS,
    key_distribute_prob=reward_key_distribute_prob,
    non_repeating=reward_non_repeating,
    music_theory=music_theory_reward)


def _mode_reward(name, composition, obs, action, config):
  if name == 'scale':
    return reward_scale(obs, action, config)
  return _MODE_REWARDS[name](composition, action, config)


# mode -> (terms summed in this order, whether the total includes log p).
_MODES = {
    'scale': (('scale',), False),
    'key': (('key_distribute_prob',), False),
    'key_and_tonic': (('key', 'tonic'), False),
    'non_repeating': (('non_repeating',), False),
    'music_theory_random': (('key', 'tonic', 'repeating'), False),
    'music_theory_basic': (('key', 'tonic', 'repeating'), True),
    'music_theory_basic_plus_variety': (
        ('key', 'tonic', 'repeating', 'autocorr'), True),
    'preferred_intervals': (('preferred_intervals',), False),
    'music_theory_all': (('music_theory',), True),
    'music_theory_only': (('music_theory',), False),
}
# The valid values of `reward_mode`.
REWARD_MODES = tuple(_MODES)


def check_reward_mode(reward_mode):
  """Raises ValueError, listing the valid modes, for an unknown mode."""
  if reward_mode not in _MODES:
    raise ValueError(f'unknown reward_mode {reward_mode!r}; valid modes: '
                     f'{", ".join(REWARD_MODES)}')


def collect_reward(composition, obs, action, reward_scores, reward_mode,
                   reward_scaler, config=DEFAULT_CONFIG):
  """The reward of playing `action` after `obs`, as the original computed it.

  The mode's reward r is scaled: total = reward_scaler * r, plus log p(action)
  for the modes 'music_theory_basic', 'music_theory_basic_plus_variety' and
  'music_theory_all' (the others leave log p out of the total, as the
  original did). Modes 'music_theory_all' and 'music_theory_only' update the
  leap state.

  Args:
    composition: Composition (the action not yet appended).
    obs: the previous note (int or one-hot); only mode 'scale' uses it.
    action: the note played (int or one-hot).
    reward_scores: the Reward RNN's scores (logits) [38].
    reward_mode: one of REWARD_MODES.
    reward_scaler: weight of the mode's reward.
    config: MusicTheoryConfig.

  Returns:
    RewardParts(total, note_rnn, music_theory); the caller accumulates.

  Raises:
    ValueError: for an unknown reward_mode.
  """
  check_reward_mode(reward_mode)
  terms, adds_note_rnn = _MODES[reward_mode]
  note_rnn = reward_from_reward_rnn_scores(action, reward_scores)
  reward = sum(_mode_reward(name, composition, obs, action, config)
               for name in terms)
  music_theory = reward * reward_scaler
  total = music_theory + note_rnn if adds_note_rnn else music_theory
  return RewardParts(total, note_rnn, music_theory)
