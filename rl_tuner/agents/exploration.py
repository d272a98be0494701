"""Choosing notes from action values: greedy, sampled, or exploring.

Exploration is the original's: 'egreedy' plays a uniformly random note with
probability epsilon, annealed linearly from 1 to `random_action_probability`
over the exploration period and then held there; 'boltzmann' samples the note
from the softmax of the scores (and stores the sampled note as the action).
"""

import numpy as np

from note_rnn import encoding
from note_rnn.model import sampling

# How the policy explores while training (the original's names).
EXPLORATION_MODES = ('egreedy', 'boltzmann')


def linear_annealing(n, total, p_initial, p_final):
  """Linearly interpolates from p_initial (step 0) to p_final (step total).

  Args:
    n: current step.
    total: number of steps over which to anneal (the exploration period).
    p_initial: value at step 0.
    p_final: value from step `total` on.

  Returns:
    float.
  """
  if n >= total:
    return p_final
  return p_initial - (n * (p_initial - p_final)) / total


def exploration_probability(step, period, final_probability):
  """Epsilon after `step` actions: 1 -> final_probability over `period`,
  then final_probability."""
  return linear_annealing(step, period, 1.0, final_probability)


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
    sampled = sampling.sample_classes(sampling.softmax(scores), rng)
    return sampled, sampled
  actions = np.argmax(scores, axis=-1)
  next_obs = actions
  if sample_next_obs:
    next_obs = sampling.sample_classes(sampling.softmax(scores), rng)
  if epsilon > 0:
    batch = len(scores)
    explore = rng.random(batch) < epsilon
    if explore.any():
      random_notes = rng.integers(0, scores.shape[-1], size=batch)
      actions = np.where(explore, random_notes, actions)
      next_obs = np.where(explore, random_notes, next_obs)
  return actions, next_obs
