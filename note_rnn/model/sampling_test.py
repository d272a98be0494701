"""Tests of note_rnn.model.sampling: softmax, log-softmax, the sampler."""

import numpy as np
import pytest
import scipy.special

from note_rnn import encoding
from note_rnn.model import sampling


def test_softmax_is_float64_along_the_axis():
  scores = np.array([[0.0, np.log(3.0)], [1.0, 1.0]], np.float32)
  probabilities = sampling.softmax(scores)
  assert probabilities.dtype == np.float64
  np.testing.assert_allclose(probabilities, [[0.25, 0.75], [0.5, 0.5]])
  np.testing.assert_allclose(sampling.softmax(scores, axis=0).sum(axis=0),
                             [1.0, 1.0])
  # Bit for bit scipy's on float64, which the RL Tuner used before (its
  # outputs depend on it).
  rng = np.random.default_rng(0)
  for rows in (rng.normal(size=(64, 38)).astype(np.float32),
               rng.normal(scale=30.0, size=(64, 38))):
    for axis in (-1, 0):
      np.testing.assert_array_equal(
          sampling.softmax(rows, axis=axis),
          scipy.special.softmax(rows.astype(np.float64), axis=axis))


def test_log_softmax_is_the_log_of_the_softmax():
  logits = np.random.default_rng(1).normal(size=(3, 38)).astype(np.float32)
  log_probs = sampling.log_softmax(logits)
  assert log_probs.dtype == np.float64
  np.testing.assert_allclose(np.exp(log_probs), sampling.softmax(logits))
  # Large logits neither overflow nor lose the normalisation.
  np.testing.assert_allclose(sampling.log_softmax([[1000.0, 1000.0]]),
                             [[-np.log(2.0), -np.log(2.0)]])


class _FixedDraws:
  """A stand-in Generator whose `random` gives the draws it was made with."""

  def __init__(self, draws):
    self.draws = np.asarray(draws, np.float64)

  def random(self, size):
    assert size == len(self.draws)
    return self.draws


def test_ties_go_to_the_first_class_reaching_the_draw():
  # Magenta's sample_softmax: the first i with cumulative p >= r. A draw
  # equal to a cumulative probability picks that class, not the next.
  probabilities = np.array([[0.25, 0.25, 0.5]] * 4)
  draws = [0.0, 0.25, 0.5, 0.75]
  assert sampling.sample_classes(probabilities,
                                 _FixedDraws(draws)).tolist() == [0, 0, 1, 2]
  # Unnormalised weights: r is drawn from [0, their sum).
  assert sampling.sample_classes(np.array([[1.0, 3.0]]),
                                 _FixedDraws([0.3])).tolist() == [1]
  # A class of probability 0 is never drawn, even with a rounded total.
  assert sampling.sample_classes(np.array([[0.7, 0.3, 0.0]]),
                                 _FixedDraws([1.0 - 1e-16])).tolist() == [1]


def test_sample_classes_follows_the_probabilities():
  rng = np.random.default_rng(2)
  probabilities = np.repeat([[0.6, 0.3, 0.1, 0.0]], 20000, axis=0)
  draws = sampling.sample_classes(probabilities, rng)
  frequencies = np.bincount(draws, minlength=4) / draws.size
  # Standard error of 0.6 at n = 20000 is 0.0035.
  np.testing.assert_allclose(frequencies, [0.6, 0.3, 0.1, 0.0], atol=0.015)


def test_sample_logits_at_zero_temperature_is_argmax():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(50, encoding.NUM_CLASSES))
  argmax = np.argmax(logits, axis=-1)
  state = rng.bit_generator.state
  np.testing.assert_array_equal(sampling.sample_logits(logits, 0.0, rng),
                                argmax)
  assert rng.bit_generator.state == state  # Nothing drawn.
  # A temperature near zero samples the argmax too.
  np.testing.assert_array_equal(sampling.sample_logits(logits, 1e-4, rng),
                                argmax)


@pytest.mark.parametrize('temperature, expected', [
    (1.0, [0.6, 0.3, 0.1, 0.0]),
    # Temperature 0.5 squares the probabilities: 0.36 : 0.09 : 0.01.
    (0.5, np.array([36, 9, 1, 0]) / 46),
])
def test_sample_logits_follows_the_softmax(temperature, expected):
  rng = np.random.default_rng(1)
  logits = np.array([[np.log(0.6), np.log(0.3), np.log(0.1), -np.inf]])
  draws = sampling.sample_logits(np.repeat(logits, 20000, axis=0),
                                 temperature, rng)
  assert draws.dtype == np.int64
  frequencies = np.bincount(draws, minlength=4) / draws.size
  np.testing.assert_allclose(frequencies, expected, atol=0.015)
