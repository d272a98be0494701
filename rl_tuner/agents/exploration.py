"""Choosing notes from action values: greedy, sampled, or exploring.

Exploration is the original's: 'egreedy' plays a uniformly random note with
probability epsilon, annealed linearly from 1 to `random_action_probability`
over the exploration period and then held there; 'boltzmann' samples the note
from the softmax of the scores (and stores the sampled note as the action).
"""

import numpy as np
import scipy.special

from note_rnn import encoding
from rl_tuner import rl_tuner_ops


def one_hot(classes, num_classes=encoding.NUM_CLASSES):
  """float32 [..., num_classes] one-hot of int classes [...]."""
  return np.eye(num_classes, dtype=np.float32)[np.asarray(classes)]


def softmax(scores):
  """Row-wise softmax in float64: [B, A] -> [B, A]."""
  return scipy.special.softmax(np.asarray(scores, np.float64), axis=-1)


def sample_classes(probabilities, rng):
  """Draws one class per row of `probabilities` [B, A] (inverse CDF)."""
  cumulative = np.cumsum(probabilities, axis=-1)
  draws = rng.random(len(probabilities)) * cumulative[:, -1]
  picked = (cumulative < draws[:, None]).sum(axis=-1)
  return np.minimum(picked, probabilities.shape[-1] - 1)


def exploration_probability(step, period, final_probability):
  """Epsilon after `step` actions: 1 -> final_probability over `period`,
  then final_probability."""
  return rl_tuner_ops.linear_annealing(step, period, 1.0, final_probability)


def choose_actions(scores, rng, exploration_mode='egreedy', epsilon=0.0,
                   sample_next_obs=False):
  """The action and the next observation of each melody.

  Args:
    scores: float [B, A] policy scores (Q values, or G + logits).
    rng: numpy Generator.
    exploration_mode: 'egreedy' or 'boltzmann'.
    epsilon: probability of a random note (egreedy); 0 disables it.
    sample_next_obs: the next observation is sampled from the softmax (the
      action stays the argmax), as with stochastic observations.

  Returns:
    (actions int [B], next observations int [B]).
  """
  if exploration_mode == 'boltzmann':
    sampled = sample_classes(softmax(scores), rng)
    return sampled, sampled
  actions = np.argmax(scores, axis=-1)
  next_obs = actions
  if sample_next_obs:
    next_obs = sample_classes(softmax(scores), rng)
  if epsilon > 0:
    batch = len(scores)
    explore = rng.random(batch) < epsilon
    if explore.any():
      random_notes = rng.integers(0, scores.shape[-1], size=batch)
      actions = np.where(explore, random_notes, actions)
      next_obs = np.where(explore, random_notes, next_obs)
  return actions, next_obs
