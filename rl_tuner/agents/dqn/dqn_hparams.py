"""Hyperparameters of the RL Tuner's DQN, with the three presets that exist.

The original code carries three disagreeing sets (see BUILD.md): the `RLTuner`
class defaults, the `rl_tuner_train` command-line defaults, and the values the
paper reports. Each is a named preset here instead of magic numbers.
"""

import collections.abc
import dataclasses


@dataclasses.dataclass(frozen=True)
class DQNHParams:
  """Settings of the deep Q-learning part of the RL Tuner.

  Attributes:
    random_action_probability: final epsilon of e-greedy exploration, reached
      linearly from 1.0 at the end of the exploration period.
    store_every_nth: store one transition in replay every n environment steps.
    train_every_nth: take one gradient step every n environment steps.
    minibatch_size: transitions per gradient step.
    discount_rate: gamma, discount of future reward per note (sixteenth step).
    max_experience: replay capacity in transitions; the oldest are dropped.
    target_network_update_rate: eta of the soft target update
      target <- (1 - eta) * target + eta * online, after every gradient step.
    learning_rate: Adam step size (TF1's AdamOptimizer default, 0.001).
    clip_norm: each variable's gradient is clipped to this L2 norm.
  """
  random_action_probability: float = 0.1
  store_every_nth: int = 1
  train_every_nth: int = 5
  minibatch_size: int = 32
  discount_rate: float = 0.95
  max_experience: int = 100000
  target_network_update_rate: float = 0.01
  learning_rate: float = 0.001
  clip_norm: float = 5.0

  def __post_init__(self):
    for name in ('store_every_nth', 'train_every_nth', 'minibatch_size',
                 'max_experience'):
      if getattr(self, name) < 1:
        raise ValueError(f'DQNHParams.{name} must be >= 1, got '
                         f'{getattr(self, name)}')
    for name in ('random_action_probability', 'discount_rate',
                 'target_network_update_rate'):
      if not 0.0 <= getattr(self, name) <= 1.0:
        raise ValueError(f'DQNHParams.{name} must lie in [0, 1], got '
                         f'{getattr(self, name)}')
    if self.learning_rate <= 0 or self.clip_norm <= 0:
      raise ValueError('DQNHParams.learning_rate and clip_norm must be > 0')
    if self.minibatch_size > self.max_experience:
      raise ValueError(
          f'DQNHParams.minibatch_size ({self.minibatch_size}) exceeds '
          f'max_experience ({self.max_experience})')

  def replace(self, **changes):
    """Returns a copy with `changes` applied (validated again)."""
    valid = {f.name for f in dataclasses.fields(self)}
    unknown = sorted(set(changes) - valid)
    if unknown:
      raise ValueError(f'unknown DQN hparam(s) {unknown}; valid names: '
                       f'{sorted(valid)}')
    return dataclasses.replace(self, **changes)

  def to_dict(self):
    return dataclasses.asdict(self)

  # The original's tf.contrib.training.HParams idioms. DQNHParams is frozen:
  # where Magenta code wrote `hparams.discount_rate = 0.5`, write
  # `hparams = hparams.replace(discount_rate=0.5)`.

  def values(self):
    """dict of name -> value (HParams.values)."""
    return self.to_dict()

  def parse(self, overrides):
    """A copy with 'name=value,name2=value' applied (HParams.parse).

    Unlike HParams.parse this returns the new object and leaves `self` as
    it is: write `hparams = hparams.parse('discount_rate=0.5')`.

    Raises:
      ValueError: an item that is not name=value, an unknown name (the
        message lists the valid ones) or a value of the wrong type.
    """
    types = {f.name: f.type for f in dataclasses.fields(self)}
    changes = {}
    for item in filter(None, (p.strip() for p in (overrides or '').split(
        ','))):
      name, sep, text = (part.strip() for part in item.partition('='))
      if not sep:
        raise ValueError(f'DQN hparams override {item!r} is not name=value')
      if name not in types:
        raise ValueError(f'unknown DQN hparam {name!r}; valid names: '
                         f'{sorted(types)}')
      kind = int if types[name] in (int, 'int') else float
      try:
        changes[name] = kind(text)
      except ValueError as e:
        raise ValueError(f'DQN hparam {name}={text!r} is not '
                         f'{kind.__name__}') from e
    return self.replace(**changes)

  def set_hparam(self, name, value):
    """Refuses with the frozen equivalent (HParams.set_hparam mutated)."""
    raise AttributeError(
        f'DQNHParams is frozen; instead of set_hparam({name!r}, {value!r}) '
        f'write hparams = hparams.replace({name}={value!r})')

  @classmethod
  def from_dict(cls, values):
    return cls().replace(**values)


def coerce(value):
  """DQNHParams from what Magenta code passes as `dqn_hparams`.

  Args:
    value: a DQNHParams (returned as is); a dict of field values; an
      object with a `values()` method giving such a dict (Magenta's
      `tf_lib.HParams`, TF1's `tf.contrib.training.HParams`); or any object
      with some of the fields as attributes (`types.SimpleNamespace`, an
      argparse namespace: other attributes are ignored). Fields not given
      take the class defaults (`default_dqn_hparams()`), so the original's
      seven fields get the port's learning_rate 0.001 and clip_norm 5.

  Returns:
    DQNHParams.

  Raises:
    ValueError: a dict or HParams naming an unknown field, or a value out of
      range.
    TypeError: an object with none of the fields.
  """
  if isinstance(value, DQNHParams):
    return value
  if not isinstance(value, collections.abc.Mapping) and callable(
      getattr(value, 'values', None)):
    value = value.values()  # HParams.values(): dict of every hparam.
  if isinstance(value, collections.abc.Mapping):
    return DQNHParams.from_dict(dict(value))
  names = [f.name for f in dataclasses.fields(DQNHParams)]
  given = {name: getattr(value, name) for name in names
           if hasattr(value, name)}
  if not given:
    raise TypeError(
        f'dqn_hparams must be a DQNHParams, a dict or an object with DQN '
        f'hparam attributes ({", ".join(names)}); got {value!r}')
  return DQNHParams.from_dict(given)


def default_dqn_hparams():
  """The original `RLTuner` class defaults (discount 0.95)."""
  return DQNHParams()


def magenta_cli_dqn_hparams():
  """The original `rl_tuner_train` command line's values (discount 0.5)."""
  return DQNHParams(discount_rate=0.5)


def paper_dqn_hparams():
  """The values the paper reports: discount 0.5, minibatch 32, eta 0.01."""
  return DQNHParams(discount_rate=0.5)


PRESETS = {
    'class_defaults': default_dqn_hparams,
    'magenta_cli': magenta_cli_dqn_hparams,
    'paper': paper_dqn_hparams,
}
