"""Tests of the one-melody helpers, values worked out by hand."""

import math

import numpy as np
import pytest

from rl_tuner.music import one_melody


def test_autocorrelate_by_hand():
  # [1, 2, 3, 4]: mean 2.5, x = [-1.5, -.5, .5, 1.5], variance 1.25;
  # lag 1: (.75 - .25 + .75) / 4 / 1.25 = 0.25;
  # lag 2: (-.75 - .75) / 4 / 1.25 = -0.3; lag 3: -2.25 / 4 / 1.25 = -0.45.
  assert one_melody.autocorrelate([1, 2, 3, 4], 1) == pytest.approx(0.25)
  assert one_melody.autocorrelate([1, 2, 3, 4], 2) == pytest.approx(-0.3)
  assert one_melody.autocorrelate([1, 2, 3, 4], 3) == pytest.approx(-0.45)
  assert one_melody.autocorrelate([1, 2], 3) == 0.0  # no overlap
  assert math.isnan(one_melody.autocorrelate([7, 7, 7], 1))  # constant
  assert math.isnan(one_melody.autocorrelate([7], 1))


def test_autocorrelate_is_bit_exact_with_the_original_formula():
  rng = np.random.default_rng(0)
  for n in range(1, 34):
    signal = list(rng.integers(0, 38, n))
    for lag in (1, 2, 3):
      x = np.asarray(signal) - np.mean(signal)
      with np.errstate(invalid='ignore', divide='ignore'):
        original = (x[lag:] * x[:n - lag]).sum() / float(n) / np.var(signal)
      value = one_melody.autocorrelate(signal, lag)
      assert value == original or (np.isnan(value) and np.isnan(original))


def test_as_class_of_an_int_or_a_one_hot():
  assert one_melody.as_class(14) == 14
  assert one_melody.as_class(np.int64(3)) == 3
  assert one_melody.as_class(np.eye(38)[21]) == 21


def test_last_motif_and_unique_extremes_by_hand():
  # Last 8 steps hold C4, E4, G4 (classes 14, 18, 21) and holds: 3 distinct
  # pitches, a motif; with only C4 and E4 it is none.
  motif = [14, 0, 18, 0, 21, 0, 1, 0]
  assert one_melody.detect_last_motif([2] + motif) == (motif, 3)
  assert one_melody.detect_last_motif([14, 0, 18, 0, 14, 0, 1, 0]) == (
      None, 2)
  assert one_melody.detect_last_motif(motif[:7]) == (None, 0)  # too short
  # Highest 21 once: unique; lowest pitch 14 twice (holds ignored): not.
  assert one_melody.detect_high_unique([14, 0, 18, 21, 14])
  assert not one_melody.detect_low_unique([14, 0, 18, 21, 14])
  assert one_melody.detect_low_unique([0, 1, 15, 18])
  assert not one_melody.detect_low_unique([0, 1, 0])  # no pitch at all


def test_detect_high_low_unique():
  assert one_melody.detect_high_unique([3, 9, 1, 8])
  assert not one_melody.detect_high_unique([9, 9, 1])
  assert one_melody.detect_low_unique([0, 1, 5, 7, 7])
  assert not one_melody.detect_low_unique([5, 1, 5, 7])
  assert not one_melody.detect_low_unique([0, 1, 1])  # no pitch at all
