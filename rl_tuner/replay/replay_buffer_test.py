"""Tests of the experience replay ring buffer."""

import numpy as np
import pytest

from rl_tuner.replay import replay_buffer

Q_SIZE = 4
R_SIZE = 6


def _transitions(first, count):
  """`count` transitions numbered first, first + 1, ...; every field says
  which number it belongs to, so stored rows can be identified."""
  ids = np.arange(first, first + count)
  return dict(
      observation=ids % 38,
      state=np.repeat(ids[:, None], Q_SIZE, axis=1).astype(np.float32),
      action=ids,
      reward=ids * 0.5,
      new_observation=(ids + 1) % 38,
      new_state=np.repeat(-ids[:, None], Q_SIZE, axis=1).astype(np.float32),
      new_reward_state=np.repeat(ids[:, None] + 0.25, R_SIZE, axis=1))


def _buffer(capacity):
  return replay_buffer.ReplayBuffer(capacity, Q_SIZE, R_SIZE)


def test_fields_shapes_and_dtypes():
  buffer = _buffer(5)
  buffer.add_batch(**_transitions(0, 2))
  batch = buffer.gather(np.array([1, 0]))
  assert set(batch) == set(replay_buffer.FIELD_NAMES)
  assert batch['state'].shape == (2, Q_SIZE)
  assert batch['new_state'].shape == (2, Q_SIZE)
  assert batch['new_reward_state'].shape == (2, R_SIZE)
  assert batch['action'].dtype == np.int16
  assert batch['reward'].dtype == np.float32
  np.testing.assert_array_equal(batch['action'], [1, 0])
  np.testing.assert_array_equal(batch['reward'], [0.5, 0.0])
  np.testing.assert_array_equal(batch['new_reward_state'][0], [1.25] * R_SIZE)


def test_ring_overwrites_the_oldest():
  buffer = _buffer(3)
  for i in range(5):
    buffer.add_batch(**_transitions(i, 1))
  assert len(buffer) == 3
  assert buffer.add_count == 5
  stored = buffer.gather(np.arange(3))
  # Transition i goes to position i % 3: 3 -> 0, 4 -> 1, 2 stays at 2.
  np.testing.assert_array_equal(stored['action'], [3, 4, 2])
  np.testing.assert_array_equal(stored['state'][:, 0], [3, 4, 2])
  np.testing.assert_array_equal(stored['new_observation'], [4, 5, 3])


def test_add_batch_of_several_wraps_around():
  buffer = _buffer(6)
  buffer.add_batch(**_transitions(0, 4))
  assert len(buffer) == 4
  buffer.add_batch(**_transitions(4, 4))
  assert len(buffer) == 6 and buffer.add_count == 8
  # Transitions 4..7 go to positions 4, 5, 0, 1.
  np.testing.assert_array_equal(buffer.gather(np.arange(6))['action'],
                                [6, 7, 2, 3, 4, 5])


def test_batch_larger_than_capacity_keeps_the_newest():
  buffer = _buffer(3)
  buffer.add_batch(**_transitions(0, 7))
  assert sorted(buffer.gather(np.arange(3))['action']) == [4, 5, 6]


@pytest.mark.parametrize('field,shape', [
    ('state', (2, Q_SIZE + 1)),
    ('new_state', (2,)),
    ('new_reward_state', (2, Q_SIZE)),
    ('observation', (3,)),
    ('reward', (2, 1)),
])
def test_wrong_shape_names_the_field(field, shape):
  buffer = _buffer(4)
  fields = _transitions(0, 2)
  fields[field] = np.zeros(shape)
  with pytest.raises(ValueError, match=repr(field)):
    buffer.add_batch(**fields)
  assert len(buffer) == 0 and buffer.add_count == 0


def test_missing_unknown_and_empty_fields_are_errors():
  buffer = _buffer(4)
  fields = _transitions(0, 2)
  del fields['reward']
  with pytest.raises(ValueError, match='reward'):
    buffer.add_batch(**fields)
  with pytest.raises(ValueError, match='bonus'):
    buffer.add_batch(bonus=[1], **_transitions(0, 2))
  with pytest.raises(ValueError, match='non-empty'):
    buffer.add_batch(**_transitions(0, 0))
  with pytest.raises(ValueError, match='capacity'):
    _buffer(0)


def test_sample_is_without_replacement_from_stored_rows():
  buffer = _buffer(10)
  buffer.add_batch(**_transitions(0, 6))
  rng = np.random.default_rng(0)
  for _ in range(20):
    indices = buffer.sample_indices(6, rng)
    assert sorted(indices) == list(range(6))
  batch = buffer.sample(4, rng)
  assert len(set(batch['action'].tolist())) == 4
  assert set(batch['action'].tolist()) <= set(range(6))
  with pytest.raises(ValueError, match='cannot sample 7'):
    buffer.sample(7, rng)


def test_sampling_is_deterministic_with_a_seeded_rng():
  buffer = _buffer(50)
  buffer.add_batch(**_transitions(0, 50))
  first = buffer.sample(8, np.random.default_rng(3))
  second = buffer.sample(8, np.random.default_rng(3))
  other = buffer.sample(8, np.random.default_rng(4))
  for name in replay_buffer.FIELD_NAMES:
    np.testing.assert_array_equal(first[name], second[name])
  assert not np.array_equal(first['action'], other['action'])
  # Rows stay whole: every field of a sampled row is the same transition's.
  np.testing.assert_array_equal(first['state'][:, 0], first['action'])
  np.testing.assert_array_equal(first['reward'], first['action'] * 0.5)
