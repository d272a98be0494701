"""The original RLTuner's attributes: which take effect when assigned.

The original read its attributes whenever it used them, so Magenta code may
assign one on a built tuner (`rlt.reward_scaler = 2.0`). Here an assigned
attribute either takes effect from the next call, as it did there
(`LiveAttribute`: the reward mode and scaler, exploration, the evaluation
period), or, where the tuner built something from it once (networks,
environment, learner), raises an error naming the constructor argument to
use instead (`FixedAttribute`). None is silently ignored.
"""

import dataclasses

from rl_tuner.agents import exploration
from rl_tuner.rewards import reward_api
from rl_tuner.run import settings as settings_lib

RLTunerError = settings_lib.UsageError


class _StoredAttribute:
  """An attribute kept in the tuner's __dict__ under its own name."""

  def __set_name__(self, owner, name):
    self.name = name

  def __get__(self, tuner, owner=None):
    if tuner is None:
      return self
    try:
      return tuner.__dict__[self.name]
    except KeyError:
      raise AttributeError(self.name) from None


class FixedAttribute(_StoredAttribute):
  """An attribute set once by the constructor; assigning it later raises.

  The original read its attributes whenever it used them, so Magenta code
  may assign one on a built tuner. Where this port builds something from
  the value once (the networks, the environment, the learner), a later
  assignment would be silently ignored; it raises instead, naming the
  constructor argument to use.
  """

  def __init__(self, argument=None):
    self.argument = argument

  def __set_name__(self, owner, name):
    super().__set_name__(owner, name)
    self.argument = self.argument or name

  def __set__(self, tuner, value):
    if self.name in tuner.__dict__:
      raise RLTunerError(
          f'RLTuner.{self.name} cannot change after the tuner is built (its '
          f'networks, environment and learner use it); pass '
          f'{self.argument}=... to RLTuner(...) instead')
    tuner.__dict__[self.name] = value


class LiveAttribute(_StoredAttribute):
  """An attribute that takes effect from the next call, as the original's
  did: assigning it calls `tuner._apply_<name>(value)`."""

  def __set__(self, tuner, value):
    value = getattr(tuner, f'_apply_{self.name}')(value)
    tuner.__dict__[self.name] = value


def forward(path, name, doc):
  """A property reading and writing `self.<path>.<name>`."""
  def get(self):
    return getattr(getattr(self, path), name)

  def set_(self, value):
    setattr(getattr(self, path), name, value)
  return property(get, set_, doc=doc)


class OriginalAttributes:
  """The original's assignable attributes (see module doc).

  Expects `self.reward_set`, `self.env`, `self.history`, `self.settings`,
  `self.algorithm_spec`, and `self.agent` / `self.runner` (None before the
  networks are built).
  """

  algorithm = FixedAttribute()
  dqn_hparams = FixedAttribute()
  priming_mode = FixedAttribute()
  midi_primer = FixedAttribute()
  training_file_list = FixedAttribute()
  num_notes_in_melody = FixedAttribute()
  note_rnn_type = FixedAttribute()
  num_parallel_melodies = FixedAttribute()
  seed = FixedAttribute()
  input_size = FixedAttribute()
  num_actions = FixedAttribute()
  music_theory_config = FixedAttribute()
  reward_mode = LiveAttribute()
  reward_scaler = LiveAttribute()
  exploration_mode = LiveAttribute()
  stochastic_observations = LiveAttribute()
  output_every_nth = LiveAttribute()

  # --- Attributes that take effect from the next call ------------------------

  def _change_rewards(self, new_set, **setting_changes):
    """Puts a new RewardSet in force from the next step on."""
    if new_set.term_names == self.reward_set.term_names:
      self.env.rewards.use(new_set)  # Stateful rewards keep their state.
    else:
      self.env.rewards = new_set.bind(self.env.rewards.costs)
      self.env.rewards.reset(self.env.batch_size)
    self.history.use(new_set)
    self.reward_set = new_set
    self.settings = self.settings.replace(**setting_changes)

  def _apply_reward_scaler(self, value):
    value = float(settings_lib.check_number('reward_scaler', value))
    self._change_rewards(
        dataclasses.replace(self.reward_set, reward_scaler=value),
        reward_scaler=value)
    return value

  def _apply_reward_mode(self, mode):
    """The new mode's built-in terms, the run's own rewards and weights
    kept; the algorithm's rule applies (g and pure RL leave log p out)."""
    try:
      reward_api.check_mode(mode)
    except reward_api.RewardError as e:
      raise RLTunerError(str(e)) from e
    effective = self.algorithm_spec.reward_mode(mode)
    builtin = dict(reward_api.MODES[self.reward_set.mode])
    extra = [reward for name, _, reward in self.reward_set.terms
             if name not in builtin]
    # The weights the user gave: those that differ from the mode's own.
    weights = {name: weight for name, weight, _ in self.reward_set.terms
               if weight != builtin.get(name, 1.0)}
    names = {name for name, _ in reward_api.MODES[effective]}
    names.update(reward.name for reward in extra)
    try:
      new_set = reward_api.reward_set(
          effective, extra, {k: v for k, v in weights.items() if k in names},
          self.reward_set.reward_scaler)
    except reward_api.RewardError as e:
      raise RLTunerError(str(e)) from e
    self._change_rewards(new_set, reward_mode=mode)
    return new_set.mode

  def _apply_exploration_mode(self, mode):
    if mode not in exploration.EXPLORATION_MODES:
      raise RLTunerError(f'exploration_mode must be one of '
                         f'{exploration.EXPLORATION_MODES}; got {mode!r}')
    if self.agent is not None:
      self.agent.exploration_mode = mode
    self.settings = self.settings.replace(exploration_mode=mode)
    return mode

  def _apply_stochastic_observations(self, value):
    value = bool(value)
    if self.agent is not None:
      self.agent.stochastic_observations = value
    self.settings = self.settings.replace(stochastic_observations=value)
    return value

  def _apply_output_every_nth(self, value):
    value = int(value)
    if value < 1:
      raise RLTunerError(f'output_every_nth must be >= 1; got {value}')
    if self.runner is not None:
      self.runner.output_every_nth = value
    self.settings = self.settings.replace(output_every_nth=value)
    return value
