"""Experience replay as preallocated numpy arrays with a write cursor.

One transition is what the RL Tuner sees at one environment step (one note of
one melody): the observed note and the Q-network's LSTM state before it, the
action, the reward, the next observed note, the Q-network's state after the
observation, and the Reward RNN's state after it. Notes are stored as class
indices (int16), not one-hot vectors; states as float32.
"""

import numpy as np

# Field name -> (dtype, per-transition shape key); 'q' and 'r' are replaced
# by the Q-network's and the Reward RNN's state sizes.
_FIELDS = (
    ('observation', np.int16, ()),
    ('state', np.float32, ('q',)),
    ('action', np.int16, ()),
    ('reward', np.float32, ()),
    ('new_observation', np.int16, ()),
    ('new_state', np.float32, ('q',)),
    ('new_reward_state', np.float32, ('r',)),
)
FIELD_NAMES = tuple(name for name, _, _ in _FIELDS)


class ReplayBuffer:
  """Fixed-capacity ring buffer of transitions; the oldest are overwritten.

  Attributes:
    capacity: maximum number of stored transitions.
    add_count: transitions added so far (including overwritten ones).
  """

  def __init__(self, capacity, q_state_size, reward_state_size):
    if capacity < 1:
      raise ValueError(f'replay capacity must be >= 1, got {capacity}')
    self.capacity = int(capacity)
    self.add_count = 0
    sizes = {'q': int(q_state_size), 'r': int(reward_state_size)}
    self._arrays = {}
    for name, dtype, shape in _FIELDS:
      self._arrays[name] = np.zeros(
          (self.capacity,) + tuple(sizes[s] for s in shape), dtype=dtype)

  def __len__(self):
    return min(self.add_count, self.capacity)

  def add_batch(self, **fields):
    """Adds B transitions; every field has leading dimension B.

    Args:
      **fields: observation [B] int, state [B, Sq] float, action [B] int,
        reward [B] float, new_observation [B] int, new_state [B, Sq] float,
        new_reward_state [B, Sr] float.

    Raises:
      ValueError: a field is missing or unknown, or has the wrong shape.
    """
    if set(fields) != set(FIELD_NAMES):
      raise ValueError(f'add_batch needs exactly the fields {FIELD_NAMES}; '
                       f'got {sorted(fields)}')
    batch = np.shape(fields['action'])[0] if np.ndim(fields['action']) else 0
    if batch == 0:
      raise ValueError('add_batch needs a non-empty batch: action has shape '
                       f'{np.shape(fields["action"])}')
    values = {}
    for name in FIELD_NAMES:
      value = np.asarray(fields[name])
      expected = (batch,) + self._arrays[name].shape[1:]
      if value.shape != expected:
        raise ValueError(f'replay field {name!r} has shape {value.shape}, '
                         f'expected {expected}')
      values[name] = value
    positions = (self.add_count + np.arange(batch)) % self.capacity
    for name, value in values.items():
      self._arrays[name][positions] = value
    self.add_count += batch

  def clear(self):
    """Empties the buffer (the arrays keep their memory)."""
    self.add_count = 0

  def _slots(self, first, end):
    if not 0 <= first <= end or end - first > self.capacity:
      raise ValueError(f'transitions [{first}, {end}) do not fit a buffer '
                       f'of capacity {self.capacity}')
    return np.arange(first, end) % self.capacity

  def export_range(self, first, end):
    """Copies of the transitions numbered [first, end) in adding order.

    Numbers count every transition added (`add_count`); only the newest
    `capacity` are still held.

    Returns:
      dict of field name -> array [end - first, ...].
    """
    if first < self.add_count - self.capacity or end > self.add_count:
      raise ValueError(f'transitions [{first}, {end}) are not held (added '
                       f'{self.add_count}, capacity {self.capacity})')
    slots = self._slots(first, end)
    return {name: array[slots] for name, array in self._arrays.items()}

  def import_range(self, first, end, fields):
    """Puts transitions numbered [first, end) back into their ring slots.

    Does not change `add_count`; set it once every range is back.
    """
    slots = self._slots(first, end)
    for name in FIELD_NAMES:
      value = np.asarray(fields[name])
      if value.shape != (len(slots),) + self._arrays[name].shape[1:]:
        raise ValueError(f'replay field {name!r} has shape {value.shape}, '
                         f'expected {(len(slots),) + self._arrays[name].shape[1:]}')
      self._arrays[name][slots] = value

  def sample_indices(self, batch_size, rng):
    """Draws `batch_size` distinct stored positions uniformly at random."""
    size = len(self)
    if batch_size > size:
      raise ValueError(f'cannot sample {batch_size} transitions from a '
                       f'buffer holding {size}')
    return rng.choice(size, size=batch_size, replace=False)

  def gather(self, indices):
    """Returns a dict of field name -> array [len(indices), ...]."""
    return {name: array[indices] for name, array in self._arrays.items()}

  def sample(self, batch_size, rng):
    """Samples a minibatch: dict of field name -> array [batch_size, ...]."""
    return self.gather(self.sample_indices(batch_size, rng))
