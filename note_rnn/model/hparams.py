"""Hyperparameters of the Note RNN: network shape and supervised training.

`default_hparams()` are the values of the paper's Note RNN (the original's
`rl_tuner_ops.default_hparams()`); `basic_rnn_hparams()` describe Magenta's
downloadable `basic_rnn` bundle. Overrides come as a Magenta-style string,
`hparams.parse('rnn_layer_sizes=[64,64],batch_size=32')`.
"""

import dataclasses
import re

from note_rnn import encoding

# Layer sizes of Magenta's pre-trained `basic_rnn` bundle (units per layer).
BASIC_RNN_LAYER_SIZES = (512, 512)


@dataclasses.dataclass(frozen=True)
class NoteRNNHParams:
  """Shape of the Note RNN and the settings of its supervised training.

  The original `default_hparams()` also had `use_dynamic_rnn=True`; it only
  selected a TF1 graph-building path and has no counterpart here.
  """

  # Units of each LSTM layer, input side first.
  rnn_layer_sizes: tuple[int, ...] = (100,)
  # Length of the one-hot input and of the logits (classes of the encoding).
  one_hot_length: int = encoding.NUM_CLASSES
  # Melodies per training minibatch.
  batch_size: int = 128
  # Learning rate when the rate does not decay (the original's `lr`).
  learning_rate: float = 0.0002
  # Learning rate at step 0 when `exponentially_decay_learning_rate`.
  initial_learning_rate: float = 0.5
  # Training steps per decay period of the learning rate.
  decay_steps: int = 1000
  # Factor the learning rate is multiplied by per `decay_steps` steps.
  decay_rate: float = 0.85
  # Whether the rate decays from `initial_learning_rate` by `decay_rate` per
  # `decay_steps` steps, instead of the constant `learning_rate`.
  exponentially_decay_learning_rate: bool = True
  # Gradients are rescaled so that their global norm is at most this.
  clip_norm: float = 5.0
  # Weight of the L2 penalty summed over all weights (per unit of loss).
  l2_reg: float = 2.5e-5
  # Time steps at the start of each melody whose losses are not counted.
  # The paper's text says the first 8; the original code uses 32.
  skip_first_n_losses: int = 32
  # Training melodies are cut to this many sixteenth-note steps (the
  # original's TRAIN_SEQUENCE_LENGTH).
  max_sequence_length: int = 192
  # Probability of keeping each output unit of each LSTM layer during
  # supervised training (Magenta basic_rnn's
  # `DropoutWrapper(output_keep_prob=...)`, 0.5 there); 1.0 = no dropout,
  # the paper's Note RNN. Evaluation, generation and the RL Tuner never drop
  # units.
  dropout_keep_prob: float = 1.0

  def __post_init__(self):
    sizes = self.rnn_layer_sizes
    if isinstance(sizes, (list, tuple)):
      sizes = tuple(sizes)
      object.__setattr__(self, 'rnn_layer_sizes', sizes)
    if (not isinstance(sizes, tuple) or not sizes or
        not all(_is_int(s) and s > 0 for s in sizes)):
      raise ValueError(
          'rnn_layer_sizes must be a non-empty sequence of positive ints; '
          f'got {self.rnn_layer_sizes!r}')
    for name in ('one_hot_length', 'batch_size', 'decay_steps',
                 'max_sequence_length'):
      _check(name, getattr(self, name), _is_int, lambda v: v > 0,
             'a positive int')
    _check('skip_first_n_losses', self.skip_first_n_losses, _is_int,
           lambda v: v >= 0, 'an int >= 0')
    for name in ('learning_rate', 'initial_learning_rate', 'clip_norm'):
      _check(name, getattr(self, name), _is_number, lambda v: v > 0,
             'a positive number')
    _check('decay_rate', self.decay_rate, _is_number, lambda v: 0 < v <= 1,
           'a number in (0, 1]')
    _check('l2_reg', self.l2_reg, _is_number, lambda v: v >= 0,
           'a number >= 0')
    _check('dropout_keep_prob', self.dropout_keep_prob, _is_number,
           lambda v: 0 < v <= 1, 'a number in (0, 1]')
    _check('exponentially_decay_learning_rate',
           self.exponentially_decay_learning_rate,
           lambda v: isinstance(v, bool), lambda v: True, 'a bool')
    if self.skip_first_n_losses >= self.max_sequence_length:
      raise ValueError(
          f'skip_first_n_losses ({self.skip_first_n_losses}) must be smaller '
          f'than max_sequence_length ({self.max_sequence_length})')

  @classmethod
  def field_names(cls):
    """Names of all fields, in declaration order."""
    return [f.name for f in dataclasses.fields(cls)]

  def replace(self, **changes):
    """Returns a copy with `changes` applied (validated)."""
    unknown = sorted(set(changes) - set(self.field_names()))
    if unknown:
      raise ValueError(_unknown_message(unknown[0]))
    return dataclasses.replace(self, **changes)

  def parse(self, overrides):
    """Returns a copy with overrides from a 'name=value,name2=value' string.

    Args:
      overrides: e.g. 'rnn_layer_sizes=[64,64],batch_size=32'. Lists may be
        written [a,b] or (a,b); bools as true/false/1/0. Empty means none.

    Returns:
      A new, validated NoteRNNHParams.

    Raises:
      ValueError: for an unknown name (the message lists the valid ones), a
        malformed item or a value that does not fit its field.
    """
    changes = {}
    for item in _split_top_level(overrides or ''):
      if '=' not in item:
        raise ValueError(f'hparams override {item!r} is not name=value')
      name, text = (s.strip() for s in item.split('=', 1))
      if name not in self.field_names():
        raise ValueError(_unknown_message(name))
      changes[name] = _parse_value(name, text)
    return self.replace(**changes)

  def to_dict(self):
    """JSON-ready dict (layer sizes as a list)."""
    result = dataclasses.asdict(self)
    result['rnn_layer_sizes'] = list(self.rnn_layer_sizes)
    return result

  @classmethod
  def from_dict(cls, values):
    """Inverse of `to_dict`; missing fields keep their defaults."""
    unknown = sorted(set(values) - set(cls.field_names()))
    if unknown:
      raise ValueError(_unknown_message(unknown[0]))
    return cls(**values)


# Kinds of Note RNN a tuner loads: the paper's, or Magenta's basic_rnn.
NOTE_RNN_TYPES = ('default', 'basic_rnn')


def default_hparams():
  """The paper's Note RNN: one LSTM layer of 100 units."""
  return NoteRNNHParams()


def basic_rnn_hparams():
  """Magenta's pre-trained `basic_rnn`: two LSTM layers of 512 units."""
  return NoteRNNHParams(rnn_layer_sizes=BASIC_RNN_LAYER_SIZES, batch_size=128)


def _is_int(value):
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
  return _is_int(value) or isinstance(value, float)


def _check(name, value, type_ok, range_ok, wanted):
  if not type_ok(value) or not range_ok(value):
    raise ValueError(f'{name} must be {wanted}; got {value!r}')


def _unknown_message(name):
  valid = ', '.join(NoteRNNHParams.field_names())
  return f'unknown hparam {name!r}; valid names: {valid}'


def _split_top_level(text):
  """Splits on commas that are not inside [] or ()."""
  items, depth, current = [], 0, []
  for char in text:
    if char in '[(':
      depth += 1
    elif char in '])':
      depth -= 1
    if char == ',' and depth == 0:
      items.append(''.join(current))
      current = []
    else:
      current.append(char)
  items.append(''.join(current))
  return [item.strip() for item in items if item.strip()]


_FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(NoteRNNHParams)}


def _parse_value(name, text):
  """Converts the text of one override to the type of field `name`."""
  kind = _FIELD_TYPES[name]
  try:
    if kind is bool:
      lowered = text.lower()
      if lowered in ('true', '1'):
        return True
      if lowered in ('false', '0'):
        return False
      raise ValueError('expected true or false')
    if kind is int:
      return int(text)
    if kind is float:
      return float(text)
    # tuple[int, ...]
    inner = re.fullmatch(r'\s*[\[(]?(.*?)[\])]?\s*', text).group(1)
    return tuple(int(part) for part in inner.split(',') if part.strip())
  except ValueError as e:
    raise ValueError(
        f'bad value {text!r} for hparam {name}: {e}') from None
