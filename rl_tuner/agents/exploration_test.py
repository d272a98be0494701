"""Tests of the exploration schedule, values worked out by hand."""

import pytest

from rl_tuner.agents import exploration


def test_linear_annealing():
  assert exploration.linear_annealing(0, 100, 1.0, 0.1) == 1.0
  assert exploration.linear_annealing(50, 100, 1.0, 0.1) == pytest.approx(
      0.55)
  assert exploration.linear_annealing(100, 100, 1.0, 0.1) == 0.1
  assert exploration.linear_annealing(500, 100, 1.0, 0.1) == 0.1


def test_exploration_probability_anneals_from_one():
  # Epsilon 1 at step 0, halfway to 0.1 after half the period, then 0.1.
  assert exploration.exploration_probability(0, 1000, 0.1) == 1.0
  assert exploration.exploration_probability(500, 1000, 0.1) == (
      pytest.approx(0.55))
  assert exploration.exploration_probability(2000, 1000, 0.1) == 0.1


def test_random_actions_are_uniform_over_every_class_the_highest_included():
  # 38 classes; the greedy choice is class 0 everywhere, so only exploration
  # can pick another. 76,000 draws with a fixed seed: each class expects
  # 2,000 (sd about 44); a range of [0, 37) would never give class 37.
  # pylint: disable=g-import-not-at-top
  import numpy as np

  from note_rnn import encoding

  # pylint: enable=g-import-not-at-top
  num_classes = encoding.NUM_CLASSES
  assert num_classes == 38
  scores = np.zeros((76000, num_classes))
  scores[:, 0] = 1.0
  rng = np.random.default_rng(0)
  actions, next_obs = exploration.choose_actions(scores, rng, epsilon=1.0)
  np.testing.assert_array_equal(actions, next_obs)
  counts = np.bincount(actions, minlength=num_classes)
  assert len(counts) == num_classes  # Nothing beyond the vocabulary.
  assert counts.min() > 1700 and counts.max() < 2300, counts
  assert counts[num_classes - 1] > 1700
  # epsilon 0.25: about a quarter explore, the rest stay greedy.
  actions, _ = exploration.choose_actions(scores, rng, epsilon=0.25)
  explored = np.bincount(actions, minlength=num_classes)
  assert 0.25 * 37 / 38 * 76000 * 0.95 < explored[1:].sum() < (
      0.25 * 37 / 38 * 76000 * 1.05)
  assert explored[num_classes - 1] > 0
