"""The original RLTuner's one-melody attributes, priming and reward methods.

Magenta code reads and sets the first melody through `composition`, `beat`,
`composition_direction`, `leapt_from` and `steps_since_last_leap`, and calls
`reward_key(action)`, `collect_reward(obs, action, reward_scores)` and the
other reward_* / detect_* methods. `OriginalRewardMethods` keeps those names
on `RLTuner`: each is a one-line call of the batched rule in
`builtin_rewards` on the tuner's `MelodyEnv`, for melody 0. Setting a
melody's notes of another length needs num_parallel_melodies == 1 (all
melodies of the environment share one length).

`OriginalGraphNames` answers the names of the original's TF1 graph: the
hyperparameter constants and the optimizer are there under their names;
placeholders, ops, the saver and the session raise `NotApplicableError`
naming what to use instead. `reload_files` is the original module's
notebook helper.
"""

import dataclasses
import importlib

import numpy as np

from note_rnn import encoding
from note_rnn.model import sampling
from rl_tuner.agents import exploration as policy
from rl_tuner.env import melody_env
from rl_tuner.env import priming
from rl_tuner.magenta import loader
from rl_tuner.magenta import not_applicable
from rl_tuner.magenta import original_ops
from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import music_theory
from rl_tuner.music import one_melody
from rl_tuner.rewards import builtin_rewards as rules

NotApplicableError = not_applicable.NotApplicableError

# The modules the original's reload_files reloaded, by their port names, in
# dependency order.
# The homes of the Magenta entry modules' names first, then the entry
# modules that re-export them.
RELOADED_MODULES = ('rl_tuner.magenta.loader', 'rl_tuner.magenta.original_ops',
                    'rl_tuner.music.keys', 'rl_tuner.music.intervals',
                    'rl_tuner.evaluation.statistics',
                    'rl_tuner.reports.table1', 'rl_tuner.rl_tuner_ops',
                    'rl_tuner.rl_tuner_eval_metrics',
                    'rl_tuner.note_rnn_loader')


get_next_file_name = original_ops.get_next_file_name


def tuner_networks(tuner, source):
  """loader.tuner_networks (looked up per call: reload_files)."""
  return loader.tuner_networks(tuner, source)


def reload_files():
  """Reloads the loader, ops and eval-metrics modules (for notebooks).

  As the original's: after editing those files, a notebook picks up the
  new code without restarting. Tuners built before keep their networks.

  Returns:
    The reloaded modules.
  """
  return [importlib.reload(importlib.import_module(name))
          for name in RELOADED_MODULES]


_ACT = ('learner.act_numpy(observations, q_state, reward_state) or '
        'action(observation)')
_TRAIN = 'learner.train_steps_numpy(batch) or training_step()'
# The original RLTuner's TF1 graph names -> what to use instead.
GRAPH_NAMES = {
    'graph': 'there is no TF1 graph; the networks are tf.Modules',
    'session': 'there is no TF1 session; call the methods directly',
    'saver': 'save_model(name) and restore_from_directory() save and '
             'restore',
    'reward_scores': 'get_reward_rnn_scores(observation, state) or ' + _ACT,
    'action_scores': _ACT,
    'action_softmax': 'sampling.softmax of the scores ' + _ACT + ' gives',
    'predicted_actions': _ACT,
    'g_action_scores': _ACT + ' (g adds the Reward RNN logits)',
    'next_action_scores': 'target_q_network.step(inputs, state)',
    'rewards': 'collect_reward(obs, action, reward_scores)',
    'target_vals': 'dqn.td_targets; target_val_list holds their means',
    'g_normalizer': 'dqn.td_targets',
    'future_rewards': 'dqn.td_targets',
    'action_mask': _TRAIN,
    'masked_action_scores': _TRAIN,
    'prediction_error': 'training_step() returns the loss',
    'params': 'q_network.trainable_variables',
    'gradients': _TRAIN,
    'train_op': _TRAIN,
    'target_network_update': 'every gradient step ends with the soft '
                             'target update (dqn.DQNLearner)',
    'summarize': 'pass summary_writer (a tf.summary writer)',
    'no_op1': 'nothing to run',
}


class OriginalGraphNames:
  """The original's graph-era names (see module doc).

  Expects `self.dqn_hparams` and `self.learner`.
  """

  @property
  def discount_rate(self):
    """gamma per note (float; the original's was a tf.constant)."""
    return self.dqn_hparams.discount_rate

  @property
  def target_network_update_rate(self):
    """eta of the soft target update (float)."""
    return self.dqn_hparams.target_network_update_rate

  @property
  def optimizer(self):
    """The Keras Adam optimizer of the Q-network."""
    return self.learner.optimizer

  def build_graph(self):
    """Not applicable: the learner is built with the networks."""
    raise NotApplicableError(
        'RLTuner.build_graph built the TF1 graph; the networks and the '
        'learner are built by initialize_internal_models_graph_session()')


not_applicable.add_properties(OriginalGraphNames, GRAPH_NAMES, 'RLTuner')


class _FirstMelodyNotes(list):
  """Melody 0's notes as a list; changing the list changes the melody."""

  def __init__(self, tuner):
    super().__init__(int(n) for n in tuner.env.notes[0])
    self._tuner = tuner

  def append(self, note):
    super().append(int(note))
    self._tuner._append_first(int(note))  # pylint: disable=protected-access

  def _changed(self):
    self._tuner.composition = list(self)

  def extend(self, notes):
    super().extend(int(n) for n in notes)
    self._changed()

  def __iadd__(self, notes):
    self.extend(notes)
    return self

  def __setitem__(self, index, value):
    super().__setitem__(index, value)
    self._changed()

  def pop(self, index=-1):
    value = super().pop(index)
    self._changed()
    return value

  def clear(self):
    super().clear()
    self._changed()


def _leap_field(index, name):
  def get(self):
    value = int(self.env.leap[index][0])
    return None if index == 1 and value == melody_env.NO_NOTE else value

  def set_(self, value):
    value = melody_env.NO_NOTE if value is None else int(value)
    # The leap rule looks its states up in a table (melody_env.leap_tables).
    if index == 0 and value not in (intervals.DESCENDING, 0,
                                    intervals.ASCENDING):
      raise ValueError(f'composition_direction must be -1, 0 or 1, got '
                       f'{value}')
    if index == 1 and not (melody_env.NO_NOTE <= value <
                           keys.NUM_CLASSES):
      raise ValueError(f'leapt_from must be None or a class 0-'
                       f'{keys.NUM_CLASSES - 1}, got {value}')
    arrays = [np.array(a) for a in self.env.leap]
    arrays[index][0] = value
    self.env.leap = melody_env.LeapState(*arrays)
  return property(get, set_, doc=f'{name} of the first melody in progress.')


class OriginalRewardMethods:
  """The original's one-melody state and reward methods (see module doc).

  Expects `self.env` (MelodyEnv), `self.primer`, `self.rng`,
  `self.music_theory_config`, `self.num_parallel_melodies` and the reward
  accumulators.
  """

  # --- The first melody ------------------------------------------------------

  @property
  def composition(self):
    """Notes (class ints) of the first melody in progress (a live list)."""
    return _FirstMelodyNotes(self)

  @composition.setter
  def composition(self, notes):
    notes = [int(n) for n in notes]
    env = self.env
    if env.batch_size == 1:
      rows = np.array([notes], np.int64).reshape(1, -1)
    elif len(notes) == env.length:
      rows = np.array(env.notes)
      rows[0] = notes
    else:
      raise ValueError('setting the composition to another length needs '
                       'num_parallel_melodies == 1')
    previous = np.array(env.previous)
    env.load(rows, beat=env.beat)
    env.previous = previous

  def _append_first(self, note):
    """composition.append: one more note, beat and leap state kept."""
    env = self.env
    if env.batch_size != 1:
      self.composition = list(self.composition) + [note]
      return
    beat, previous = env.beat, env.previous
    env.append([note])
    env.beat, env.previous = beat, previous

  beat = property(lambda self: self.env.beat,
                  lambda self, value: setattr(self.env, 'beat', int(value)),
                  doc='Beat (step) of the melodies in progress.')
  composition_direction = _leap_field(0, 'Direction of the pending leap')
  leapt_from = _leap_field(1, 'Class the pending leap started from')
  steps_since_last_leap = _leap_field(2, 'Steps since the last leap')

  # --- Priming ---------------------------------------------------------------

  @property
  def priming_states(self):
    return self.primer.priming_states

  @property
  def priming_notes(self):
    return self.primer.priming_notes

  def get_priming_melodies(self):
    """Runs training melodies through the Q-network for 'random_midi'."""
    self.primer = priming.Primer(
        'random_midi', self.q_network, self.num_actions,
        training_files=self.training_file_list, rng=self.rng)

  def prime_internal_model(self, model):
    """Primes one network's state (all melodies); returns the observation.

    Args:
      model: self.q_network, self.target_q_network or self.reward_rnn.
    """
    observations, q_state, reward_state = self.primer.prime(
        self.num_parallel_melodies, self.rng)
    if model is self.reward_rnn:
      self._reward_state = reward_state
    else:
      self._q_state = q_state
    self.env.previous = observations
    return encoding.classes_to_onehot(observations[0])

  def get_random_note(self):
    """One-hot [38] of a class drawn uniformly from all 38 classes."""
    return encoding.classes_to_onehot(self.rng.integers(0, self.num_actions))

  # --- Rewards -----------------------------------------------------------------

  def _config(self, **changes):
    """The music-theory config with the given fields replaced (if set)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
      return self.music_theory_config
    return dataclasses.replace(self.music_theory_config, **changes)

  def _actions(self, action):
    """int [B] of `action` (class or one-hot) for every melody."""
    return np.full(self.env.batch_size, one_melody.as_class(action), np.int64)

  def _first(self, rule, action, **kwargs):
    """The batched `rule` for melody 0."""
    return float(rule(self.env, self._actions(action), **kwargs)[0])

  def _commit_first_leap(self, actions, config=None):
    """Keeps the leap state after `actions` for melody 0 only."""
    env = self.env
    before = [np.array(a) for a in env.leap]
    env.commit_leap(actions, config)
    for field, old in zip(env.leap, before):
      old[0] = field[0]
    env.leap = melody_env.LeapState(*before)

  def collect_reward(self, obs, action, reward_scores):
    """Reward of the first melody playing `action` after `obs`.

    Adds to the reward accumulators like the original.

    Args:
      obs: one-hot [38] previous note; action: one-hot [38] note played;
      reward_scores: Reward RNN logits [38].

    Returns:
      The float reward.
    """
    env = self.env
    previous = np.array(env.previous)
    previous[0] = one_melody.as_class(obs)
    env.previous = previous
    actions = self._actions(action)
    log_probs = sampling.log_softmax(
        np.tile(np.asarray(reward_scores, np.float64), (env.batch_size, 1)))
    parts = env.rewards.evaluate(env, actions, log_probs)
    if 'leap' in self.reward_set.term_names:
      self._commit_first_leap(actions)
    self.note_rnn_reward_last_n += float(parts.note_rnn[0])
    self.music_theory_reward_last_n += float(parts.music_theory[0])
    return float(parts.total[0])

  def random_reward_shift_to_mean(self, reward):
    """`reward` moved by 0 or 0.1 (drawn with equal odds) towards 0.5:
    down if above 0.5, else up."""
    shift = int(self.rng.integers(0, 2)) * 0.1
    return reward - shift if reward > 0.5 else reward + shift

  def reward_interval_diversity(self):
    """The original's unfinished reward: does nothing, returns None."""
    return None

  def get_reward_rnn_scores(self, observation, state):
    """Reward RNN logits [38] for one observation (one-hot [38]) and state
    [state_size] or [1, state_size]."""
    inputs = np.atleast_2d(np.asarray(observation, np.float32))
    state = np.atleast_2d(np.asarray(state, np.float32))
    logits, _ = self.reward_rnn.step(inputs, state)
    return logits.numpy()[0]

  def reward_from_reward_rnn_scores(self, action, reward_scores):
    """log p(action) under the Reward RNN's logits [38]."""
    log_probs = sampling.log_softmax(np.atleast_2d(reward_scores))
    return float(log_probs[0, one_melody.as_class(action)])

  def reward_music_theory(self, action):
    """Sum of all music-theory rewards; updates the leap state."""
    actions = self._actions(action)
    total = 0.0
    for name in rules.MUSIC_THEORY:
      total = total + rules.RULES[name](self.env, actions)
    self._commit_first_leap(actions)
    return float(total[0])

  def reward_scale(self, obs, action, scale=None):
    table = rules.scale_table(self._config(scale=scale))
    return float(table[one_melody.as_class(obs), one_melody.as_class(action)])

  def reward_key_distribute_prob(self, action, key=None):
    return self._first(rules.key_distribute_prob, action,
                       config=self._config(key=key))

  def reward_key(self, action, penalty_amount=-1.0, key=None):
    return self._first(rules.key, action, penalty_amount=penalty_amount,
                       config=self._config(key=key))

  def reward_tonic(self, action, tonic_note=None, reward_amount=3.0):
    return self._first(rules.tonic, action, reward_amount=reward_amount,
                       config=self._config(tonic=tonic_note))

  def reward_non_repeating(self, action):
    return self._first(rules.non_repeating, action)

  def detect_repeating_notes(self, action_note):
    return bool(self.env.repeats_excessively(self._actions(action_note))[0])

  def reward_penalize_repeating(self, action, penalty_amount=-100.0):
    return self._first(rules.repeating, action, penalty_amount=penalty_amount)

  def reward_penalize_autocorrelation(self, action, penalty_weight=3.0):
    return self._first(rules.autocorr, action, penalty_weight=penalty_weight)

  def detect_last_motif(self, composition=None, bar_length=8):
    if composition is None:
      composition = self.composition
    return one_melody.detect_last_motif(composition, bar_length=bar_length)

  def reward_motif(self, action, reward_amount=3.0):
    return self._first(rules.motif, action, reward_amount=reward_amount)

  def detect_repeated_motif(self, action, bar_length=8):
    actions = self._actions(action)
    if bar_length != music_theory.MOTIF_BAR_LENGTH:
      raise ValueError('bar_length other than 8 is not supported')
    if not self.env.repeated_motif(actions)[0]:
      return False, None
    return True, [int(n) for n in self.env.melody_with(actions)[0, -8:]]

  def reward_repeated_motif(self, action, bar_length=8, reward_amount=4.0):
    if bar_length != music_theory.MOTIF_BAR_LENGTH:
      raise ValueError('bar_length other than 8 is not supported')
    return self._first(rules.repeated_motif, action,
                       reward_amount=reward_amount)

  def detect_sequential_interval(self, action, key=None):
    """(interval code, action class, previous pitch) of the first melody."""
    actions = self._actions(action)
    if self.env.length == 0:
      return 0, None, None
    interval = self.env.interval(actions, self._config(key=key))[0]
    prev = int(self.env.last_pitch[0])
    if prev == melody_env.NO_NOTE:
      prev = int(self.env.notes[0, 0])
    code = float(interval)
    return (int(code) if code == int(code) else code), int(actions[0]), prev

  def reward_preferred_intervals(self, action, scaler=5.0, key=None):
    return self._first(rules.preferred_intervals, action, scaler=scaler,
                       config=self._config(key=key))

  def detect_high_unique(self, composition):
    return one_melody.detect_high_unique(composition)

  def detect_low_unique(self, composition):
    return one_melody.detect_low_unique(composition)

  def reward_high_low_unique(self, action, reward_amount=3.0):
    return self._first(rules.high_low_unique, action,
                       reward_amount=reward_amount)

  def detect_leap_up_back(self, action, steps_between_leaps=6):
    if steps_between_leaps != music_theory.STEPS_BETWEEN_LEAPS:
      raise ValueError('steps_between_leaps other than 6 is not supported')
    actions = self._actions(action)
    outcome = int(self.env.leap_outcome(actions)[0])
    self._commit_first_leap(actions)
    return outcome

  def reward_leap_up_back(self, action, resolving_leap_bonus=5.0,
                          leaping_twice_punishment=-5.0):
    actions = self._actions(action)
    value = self._first(rules.leap, action,
                        resolving_leap_bonus=resolving_leap_bonus,
                        leaping_twice_punishment=leaping_twice_punishment)
    self._commit_first_leap(actions)
    return value

