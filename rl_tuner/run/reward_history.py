"""What a training run records of its rewards: accumulators and histories.

The original's histories (their names kept; `RLTuner` exposes them as its
attributes):
  rewards_batched, music_theory_rewards_batched, note_rnn_rewards_batched:
    training rewards summed over each block of output_every_nth steps;
  eval_avg_reward, eval_avg_music_theory_reward, eval_avg_note_rnn_reward:
    per-note means of each evaluation;
  target_val_list: mean next-state value of the minibatches sampled in each
    block (NaN for a block without gradient steps).
And one history per reward term (dict name -> list): term_rewards_batched
and eval_avg_term_rewards, each term's share of the reward after its weight
and the reward_scaler (log p unscaled).
"""

import numpy as np
import tensorflow as tf

from rl_tuner.rewards import builtin_rewards

HISTORY_KEYS = (
    'rewards_batched', 'music_theory_rewards_batched',
    'note_rnn_rewards_batched', 'eval_avg_reward',
    'eval_avg_music_theory_reward', 'eval_avg_note_rnn_reward',
    'target_val_list')
TERM_HISTORY_KEYS = ('term_rewards_batched', 'eval_avg_term_rewards')
ACCUMULATOR_KEYS = ('reward_last_n', 'music_theory_reward_last_n',
                    'note_rnn_reward_last_n', 'target_value_sum',
                    'target_value_count')
# Names in the original's .npz history files.
NPZ_NAMES = {
    'rewards_batched': 'train_rewards',
    'music_theory_rewards_batched': 'train_music_theory_rewards',
    'note_rnn_rewards_batched': 'train_note_rnn_rewards',
    'eval_avg_reward': 'eval_rewards',
    'eval_avg_music_theory_reward': 'eval_music_theory_rewards',
    'eval_avg_note_rnn_reward': 'eval_note_rnn_rewards',
    'target_val_list': 'target_val_list',
}
NPZ_TERM_PREFIX = {'term_rewards_batched': 'train_term_',
                   'eval_avg_term_rewards': 'eval_term_'}
_SCALARS = ('rewards_batched', 'music_theory_rewards_batched',
            'note_rnn_rewards_batched', 'eval_avg_reward',
            'eval_avg_music_theory_reward', 'eval_avg_note_rnn_reward')
_TERM_SCALAR_PREFIX = {'term_rewards_batched': 'reward_terms/',
                       'eval_avg_term_rewards': 'eval_reward_terms/'}


def _factors(reward_set):
  """float [T]: what each term's raw value is multiplied by in the reward
  (the reward_scaler; 1 for log p)."""
  return np.array([1.0 if name == builtin_rewards.NOTE_RNN else
                   reward_set.reward_scaler
                   for name in reward_set.term_names])


class RewardHistory:
  """Accumulators of the block in progress and the run's histories."""

  def __init__(self, reward_set):
    self.term_names = reward_set.term_names
    self._factors = _factors(reward_set)
    for key in HISTORY_KEYS:
      setattr(self, key, [])
    for key in TERM_HISTORY_KEYS:
      setattr(self, key, {name: [] for name in self.term_names})
    self.reset_accumulators()

  def use(self, reward_set):
    """Records `reward_set`'s terms and reward_scaler from now on.

    A term new to the run starts an empty history; the terms' sums of the
    block in progress start over when the terms change.
    """
    names = reward_set.term_names
    self._factors = _factors(reward_set)
    if names != self.term_names:
      for key in TERM_HISTORY_KEYS:
        history = getattr(self, key)
        for name in names:
          history.setdefault(name, [])
      self.term_names = names
      self.term_sums = np.zeros(len(names))

  def reset_accumulators(self):
    for key in ACCUMULATOR_KEYS:
      setattr(self, key, 0.0)
    self.term_sums = np.zeros(len(self.term_names))

  def accumulate(self, parts):
    """Adds a step's reward_api.StepRewards (all melodies)."""
    self.reward_last_n += float(parts.total.sum())
    self.note_rnn_reward_last_n += float(parts.note_rnn.sum())
    self.music_theory_reward_last_n += float(parts.music_theory.sum())
    self.term_sums += parts.terms.sum(axis=1)

  def add_target_values(self, values):
    """Adds the mean next-state values of gradient steps (any number)."""
    self.target_value_sum += float(np.sum(values, dtype=np.float64))
    self.target_value_count += float(len(values))

  def shares(self, term_values):
    """dict name -> each term's share of the reward, from StepRewards-style
    values [T] (before the reward_scaler)."""
    return {name: float(value) for name, value in
            zip(self.term_names, np.asarray(term_values) * self._factors)}

  def end_block(self, total_includes_note_rnn):
    """Appends the block's sums to the training histories; starts anew.

    Args:
      total_includes_note_rnn: record music theory + log p as the block's
        reward (g: its reward leaves log p out, but the original recorded
        the sum).
    """
    if total_includes_note_rnn:
      self.rewards_batched.append(self.music_theory_reward_last_n +
                                  self.note_rnn_reward_last_n)
    else:
      self.rewards_batched.append(self.reward_last_n)
    self.music_theory_rewards_batched.append(self.music_theory_reward_last_n)
    self.note_rnn_rewards_batched.append(self.note_rnn_reward_last_n)
    for name, value in self.shares(self.term_sums).items():
      self.term_rewards_batched[name].append(value)
    self.target_val_list.append(
        self.target_value_sum / self.target_value_count
        if self.target_value_count else float('nan'))
    self.reset_accumulators()

  def record_evaluation(self, note_rnn, music_theory, term_means):
    """Appends an evaluation's per-note means (terms before the scaler)."""
    self.eval_avg_note_rnn_reward.append(note_rnn)
    self.eval_avg_music_theory_reward.append(music_theory)
    self.eval_avg_reward.append(note_rnn + music_theory)
    for name, value in self.shares(term_means).items():
      self.eval_avg_term_rewards[name].append(value)

  def write_scalars(self, writer, step):
    """The newest value of every history to TensorBoard."""
    with writer.as_default():
      for key in _SCALARS:
        tf.summary.scalar(key, getattr(self, key)[-1], step=step)
      for key, prefix in _TERM_SCALAR_PREFIX.items():
        for name, values in getattr(self, key).items():
          if values:
            tf.summary.scalar(prefix + name, values[-1], step=step)

  def to_state(self):
    """JSON-serialisable accumulators and histories."""
    accumulators = {key: getattr(self, key) for key in ACCUMULATOR_KEYS}
    accumulators['term_sums'] = [float(v) for v in self.term_sums]
    return {
        'accumulators': accumulators,
        'history': {key: [float(v) for v in getattr(self, key)]
                    for key in HISTORY_KEYS},
        'term_history': {key: getattr(self, key)
                         for key in TERM_HISTORY_KEYS},
    }

  def load_state(self, state):
    """Restores what to_state wrote (term histories missing: empty)."""
    accumulators = dict(state['accumulators'])
    self.term_sums = np.array(accumulators.pop(
        'term_sums', np.zeros(len(self.term_names))), np.float64)
    for key, value in accumulators.items():
      setattr(self, key, float(value))
    for key in HISTORY_KEYS:
      setattr(self, key, list(state['history'][key]))
    for key in TERM_HISTORY_KEYS:
      saved = state.get('term_history', {}).get(key, {})
      setattr(self, key, {name: list(saved.get(name, []))
                          for name in self.term_names})

  def npz_arrays(self):
    """dict of arrays for the .npz history file (the original's keys)."""
    arrays = {NPZ_NAMES[key]: np.asarray(getattr(self, key))
              for key in HISTORY_KEYS}
    for key, prefix in NPZ_TERM_PREFIX.items():
      for name, values in getattr(self, key).items():
        arrays[prefix + name] = np.asarray(values)
    return arrays

  def load_npz(self, npz):
    """Histories from an .npz file of the original's format."""
    for key in HISTORY_KEYS:
      setattr(self, key, [float(v) for v in npz[NPZ_NAMES[key]]])


def delegate(name):
  """A property that reads and sets `self.history.<name>`."""
  return property(lambda self: getattr(self.history, name),
                  lambda self, value: setattr(self.history, name, value))
