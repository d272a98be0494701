"""Tests of the mean ± sd of a cell over seeds, worked out by hand."""

import math

import pytest

from rl_tuner.reports import mean_sd


def test_mean_sd_is_over_finite_values_with_n_minus_1():
  stat = mean_sd.mean_sd([1.0, 2.0, 4.0, None, math.nan])
  assert stat['n'] == 3 and stat['mean'] == pytest.approx(7 / 3)
  assert stat['sd'] == pytest.approx(math.sqrt(
      ((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))
  assert mean_sd.mean_sd([3.0]) == {'mean': 3.0, 'sd': None, 'n': 1}
  assert mean_sd.mean_sd([]) == {'mean': None, 'sd': None, 'n': 0}


def test_format_mean_sd_by_hand():
  # Fractions in percent: mean 3 significant digits, sd 2.
  assert mean_sd.format_mean_sd({'mean': 0.12345, 'sd': 0.01234, 'n': 3},
                                'fraction') == '12.3% ± 1.2%'
  assert mean_sd.format_mean_sd({'mean': -0.158, 'sd': None, 'n': 1},
                                'value') == '-0.158'
  assert mean_sd.format_mean_sd(mean_sd.mean_sd([]), 'value') == 'n/a'
