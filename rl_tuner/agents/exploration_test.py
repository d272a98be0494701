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
