"""Tests of the RL Tuner constants and helpers, values worked out by hand."""

import math

import numpy as np
import pytest

from note_rnn import encoding
from rl_tuner import rl_tuner_ops as ops


def test_c_major_helpers_give_the_original_constants():
  assert ops.NUM_CLASSES == encoding.NUM_CLASSES == 38
  assert ops.key_classes(0) == ops.C_MAJOR_KEY
  assert ops.key_classes('C', 'major') == ops.C_MAJOR_KEY
  assert ops.scale_classes('C') == ops.C_MAJOR_SCALE
  assert ops.tonic_class('C') == ops.C_MAJOR_TONIC == 14
  assert ops.tonic_class('A') == ops.A_MINOR_TONIC == 23
  # A natural minor is the relative minor of C major: same classes.
  assert ops.key_classes('A', 'minor') == ops.C_MAJOR_KEY


def test_other_keys_by_hand():
  # G major adds F# (pitch class 6: classes 8, 20, 32) and drops F (7, 19,
  # 31).
  g_major = set(ops.key_classes('G'))
  assert g_major == (set(ops.C_MAJOR_KEY) | {8, 20, 32}) - {7, 19, 31}
  # G scale from G3 (class 9): G A B C D E F# G ...
  assert ops.scale_classes('G')[:8] == (9, 11, 13, 14, 16, 18, 20, 21)
  assert len(ops.scale_classes('B')) == 15
  assert max(ops.scale_classes('B')) == 37  # B5, the top class
  assert ops.pitch_class('F#') == ops.pitch_class('Gb') == 6
  assert ops.pitch_class('bb') == 10
  assert ops.classes_of_pitch_class(0) == (2, 14, 26)
  assert ops.class_pitch_class(21) == 7
  with pytest.raises(ValueError):
    ops.pitch_class('H')
  with pytest.raises(ValueError):
    ops.key_classes('C', 'dorian')


def test_autocorrelate_by_hand():
  # [1, 2, 3, 4]: mean 2.5, x = [-1.5, -.5, .5, 1.5], variance 1.25;
  # lag 1: (.75 - .25 + .75) / 4 / 1.25 = 0.25;
  # lag 2: (-.75 - .75) / 4 / 1.25 = -0.3; lag 3: -2.25 / 4 / 1.25 = -0.45.
  assert ops.autocorrelate([1, 2, 3, 4], 1) == pytest.approx(0.25)
  assert ops.autocorrelate([1, 2, 3, 4], 2) == pytest.approx(-0.3)
  assert ops.autocorrelate([1, 2, 3, 4], 3) == pytest.approx(-0.45)
  assert ops.autocorrelate([1, 2], 3) == 0.0  # no overlap
  assert math.isnan(ops.autocorrelate([7, 7, 7], 1))  # constant
  assert math.isnan(ops.autocorrelate([7], 1))


def test_autocorrelate_is_bit_exact_with_the_original_formula():
  rng = np.random.default_rng(0)
  for n in range(1, 34):
    signal = list(rng.integers(0, 38, n))
    for lag in (1, 2, 3):
      x = np.asarray(signal) - np.mean(signal)
      with np.errstate(invalid='ignore', divide='ignore'):
        original = (x[lag:] * x[:n - lag]).sum() / float(n) / np.var(signal)
      value = ops.autocorrelate(signal, lag)
      assert value == original or (np.isnan(value) and np.isnan(original))


def test_linear_annealing():
  assert ops.linear_annealing(0, 100, 1.0, 0.1) == 1.0
  assert ops.linear_annealing(50, 100, 1.0, 0.1) == pytest.approx(0.55)
  assert ops.linear_annealing(100, 100, 1.0, 0.1) == 0.1
  assert ops.linear_annealing(500, 100, 1.0, 0.1) == 0.1


def test_softmax_decoder_onehot():
  probs = ops.softmax(np.array([0.0, math.log(3.0)]))
  np.testing.assert_allclose(probs, [0.25, 0.75])
  assert ops.decoder([0, 1, 2, 14, 37], 0) == [-2, -1, 48, 60, 83]
  assert ops.decoder([14], 2) == [58]
  onehot = ops.make_onehot([3, 0], 5)
  np.testing.assert_array_equal(onehot, [[0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
  assert onehot.dtype == np.float64
