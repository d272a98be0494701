"""The original's music-theory rules and reward modes, as batched rewards.

Each rule is a reward in the sense of `reward_api`: a function
`rule(state, actions) -> float64 [B]` of a `melody_env.MelodyEnv` (the B
melodies before the actions) and the actions int [B]. Their values equal the
one-melody reference in `rewards` (the original's methods, with its defects
3, 5, 10 and 12 fixed), which the tests replay step by step. Keyword
arguments carry the original methods' optional amounts; `config` overrides
the environment's `MusicTheoryConfig` (key, tonic, scale, labels).

`MODES` lists every reward mode of the original as a weighted list of these
rewards. 'note_rnn' stands for log p(a|s) under the Reward RNN; it is added
unscaled, while every other term is multiplied by the tuner's reward_scaler.
"""

import functools

import numpy as np

from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import melody_features as rewards_batch
from rl_tuner.music import music_theory as reference

# The reward name of log p(a|s) under the Reward RNN.
NOTE_RNN = 'note_rnn'


def _config(state, config):
  return state.config if config is None else config


def key(state, actions, penalty_amount=reference.KEY_PENALTY, config=None):
  """penalty_amount (-1) for a class outside the key, else 0."""
  return np.where(_config(state, config).key_mask[actions], 0.0,
                  penalty_amount)


def tonic(state, actions, reward_amount=reference.TONIC_REWARD, config=None):
  """reward_amount (+3) for the tonic on the first step and on the first step
  of the last bar, for NO_EVENT right after it, for a hold or rest after."""
  rewarded = rewards_batch.tonic_rewarded(actions, state.beat,
                                          _config(state, config))
  return np.where(rewarded, reward_amount, 0.0)


def repeating(state, actions, penalty_amount=reference.REPEAT_PENALTY,
              config=None):
  """penalty_amount (-100) for a note repeated excessively."""
  return np.where(state.repeats_excessively(actions, config), penalty_amount,
                  0.0)


def autocorr(state, actions,
             penalty_weight=reference.AUTOCORRELATION_PENALTY_WEIGHT):
  """-penalty_weight * |autocorrelation| summed over lags 1-3 where > 0.15."""
  return state.autocorrelation_penalty(actions, penalty_weight)


def motif(state, actions, reward_amount=reference.MOTIF_REWARD):
  """reward_amount (+3) + 0.3 per distinct pitch beyond 3 when the last bar
  (8 steps, with the action) holds at least 3 distinct pitches."""
  unique = state.motif_unique_notes(actions)
  bonus = np.maximum((unique - reference.MIN_NOTES_IN_MOTIF) *
                     reference.MOTIF_BONUS_PER_NOTE, 0)
  return np.where(unique >= reference.MIN_NOTES_IN_MOTIF,
                  reward_amount + bonus, 0.0)


def repeated_motif(state, actions,
                   reward_amount=reference.REPEATED_MOTIF_REWARD):
  """reward_amount (+4) + 1 per distinct pitch beyond 3 for a motif that
  was played before."""
  bonus = np.maximum(state.motif_unique_notes(actions) -
                     reference.MIN_NOTES_IN_MOTIF, 0)
  return np.where(state.repeated_motif(actions), reward_amount + bonus, 0.0)


def preferred_intervals(state, actions,
                        scaler=reference.PREFERRED_INTERVAL_SCALER,
                        config=None):
  """Steps and consonances rewarded, sevenths and leaps over an octave
  penalized (rewards.INTERVAL_REWARDS times scaler, 5)."""
  return state.interval_reward_base(actions, config) * scaler


def leap(state, actions,
         resolving_leap_bonus=reference.LEAP_RESOLVED_REWARD,
         leaping_twice_punishment=reference.LEAP_DOUBLED_PENALTY,
         config=None):
  """+5 for resolving a leap (a fifth or more), -5 for leaping twice the same
  way. Keeps the leap state, which `MelodyEnv.step` then commits."""
  outcome = state.leap_outcome(actions, config)
  return np.where(outcome == intervals.LEAP_RESOLVED,
                  float(resolving_leap_bonus),
                  np.where(outcome == intervals.LEAP_DOUBLED,
                           float(leaping_twice_punishment), 0.0))


def high_low_unique(state, actions,
                    reward_amount=reference.HIGH_LOW_UNIQUE_REWARD,
                    config=None):
  """On a melody's last step, reward_amount (+3) each for a highest and a
  lowest note that occur once; 0 on other steps."""
  if state.length + 1 != _config(state, config).num_notes_in_melody:
    return np.zeros(len(actions))
  melody = state.melody_with(actions)
  return (np.where(rewards_batch.detect_high_unique(melody), reward_amount,
                   0.0) +
          np.where(rewards_batch.detect_low_unique(melody), reward_amount,
                   0.0))


def key_distribute_prob(state, actions, config=None):
  """1 / len(key) for a class in the key, else 0 (mode 'key')."""
  config = _config(state, config)
  return np.where(config.key_mask[actions], 1.0 / len(config.key), 0.0)


def non_repeating(state, actions, config=None):
  """0.1, or the repeat penalty (-100) for a note repeated excessively."""
  return np.where(state.repeats_excessively(actions, config),
                  reference.REPEAT_PENALTY, reference.NON_REPEATING_REWARD)


@functools.lru_cache(maxsize=32)
def scale_table(config):
  """float64 [38, 38]: the 'scale' reward of playing class a after class o.

  0.1 for NO_EVENT, + 0.05 for rising 1-2 classes, + 0.01 for a class of the
  scale, + 0.8 more when o is in the scale and a is its next entry (the
  first after the last).
  """
  classes = np.arange(keys.NUM_CLASSES)
  obs, action = classes[:, None], classes[None, :]
  position = np.full(keys.NUM_CLASSES, -1)
  # A class listed twice keeps its first position, as list.index does.
  for i, c in reversed(list(enumerate(config.scale))):
    position[c] = i
  in_scale = position >= 0
  action_pos, obs_pos = position[action], position[obs]
  next_degree = in_scale[action] & in_scale[obs] & (
      (action_pos == obs_pos + 1) |
      ((obs_pos == len(config.scale) - 1) & (action_pos == 0)))
  table = np.zeros((keys.NUM_CLASSES, keys.NUM_CLASSES))
  table = table + np.where(action == config.no_event,
                           reference.SCALE_NO_EVENT_REWARD, 0.0)
  table = table + np.where(
      (obs < action) & (action < obs + reference.SCALE_MAX_STEP_UP + 1),
      reference.SCALE_SMALL_STEP_UP_REWARD, 0.0)
  table = table + np.where(in_scale[action],
                           reference.SCALE_IN_SCALE_REWARD, 0.0)
  return table + np.where(next_degree, reference.SCALE_NEXT_DEGREE_REWARD,
                          0.0)


def scale(state, actions, config=None):
  """Playing up the key's scale (mode 'scale'); judges the previous note
  the networks saw (the priming note on the first step)."""
  return scale_table(_config(state, config))[state.previous, actions]


# Every built-in rule by name.
RULES = {fn.__name__: fn for fn in (
    key, tonic, repeating, autocorr, motif, repeated_motif,
    preferred_intervals, leap, high_low_unique, key_distribute_prob,
    non_repeating, scale)}

# The terms of the whole music-theory reward, in the original's order.
MUSIC_THEORY = reference.MUSIC_THEORY_TERMS


def _weights(*names):
  return tuple((name, 1.0) for name in names)


# Every reward mode: its (reward name, weight) list, summed in this order.
# 'custom' and 'custom_only' hold no rule: the user's rewards (plus log p in
# 'custom') are the whole reward.
MODES = {
    'scale': _weights('scale'),
    'key': _weights('key_distribute_prob'),
    'key_and_tonic': _weights('key', 'tonic'),
    'non_repeating': _weights('non_repeating'),
    'music_theory_random': _weights('key', 'tonic', 'repeating'),
    'music_theory_basic': _weights('key', 'tonic', 'repeating', NOTE_RNN),
    'music_theory_basic_plus_variety': _weights(
        'key', 'tonic', 'repeating', 'autocorr', NOTE_RNN),
    'preferred_intervals': _weights('preferred_intervals'),
    'music_theory_all': _weights(*MUSIC_THEORY, NOTE_RNN),
    'music_theory_only': _weights(*MUSIC_THEORY),
    'custom': _weights(NOTE_RNN),
    'custom_only': (),
}
