"""What the Runner needs of a learning algorithm: the Agent interface.

The Runner (`rl_tuner.run.runner`) owns the loop and calls an agent for B
melodies at once, in this order:

    begin_melodies(observations, policy_state, prior_state)   melodies start
    per beat:  act(epsilon)  ->  (the environment judges the notes)
               observe(rewards)  ->  update(num_env_steps)
    end_melodies()                                             melodies end

An off-policy agent (the DQN family) stores each transition in `observe` and
learns in `update`; an on-policy agent would keep its melodies' steps in
`observe` and learn in `end_melodies`. The agent never imports the Runner.

`policy` composes melodies without learning (evaluation, generation,
statistics): `policy.act_numpy(observations [B], policy_state [B, S],
prior_state [B, S'])` returns (scores [B, A], prior logits [B, A], new
policy state, new prior state), where the softmax of the scores is the
policy, and `policy.sync_acting_weights()` re-reads changed weights.
"""

import abc
from typing import NamedTuple

import numpy as np


class UpdateResult(NamedTuple):
  """What one `update` call learned.

  Attributes:
    losses: float32 [K], the loss of each of the K gradient steps taken.
    values: float32 [K], a value estimate of each step (the DQN family: the
      mean next-state value of its minibatch), for the histories.
    first_step: index of the first of these gradient steps over the agent's
      life (TensorBoard logs every 100th).
  """
  losses: np.ndarray
  values: np.ndarray
  first_step: int


NO_UPDATE = UpdateResult(np.zeros(0, np.float32), np.zeros(0, np.float32), 0)


class Agent(abc.ABC):
  """A learning algorithm over B melodies, driven by the Runner.

  The tuner builds an agent with `build`, the same call for every agent
  family, so that a new family plugs in with one registry row.

  Attributes:
    policy: the acting path (see the module docstring).
    experience: its replay memory (a `replay_buffer.ReplayBuffer`, saved
      with every checkpoint), or None for an agent without one.
    observations: int [B], the last note of each melody in progress.
    policy_state, prior_state: float32 [B, S], [B, S'], the acting
      network's and the prior's (Reward RNN's) LSTM states before
      `observations`.
  """

  experience = None

  @classmethod
  @abc.abstractmethod
  def build(cls, policy_network, target_network, prior_network, settings,
            hparams, rng, **options):
    """Builds the agent of a run.

    Args:
      policy_network: the Note RNN to tune (the acting network).
      target_network: a second copy of it (a target network, if the agent
        uses one).
      prior_network: the frozen Note RNN whose log p(a|s) the reward uses.
      settings: the run's `settings.TrainSettings`.
      hparams: the run's resolved learning hyperparameters.
      rng: numpy Generator shared with the Runner (one random stream).
      **options: the registry row's `agent_options`.
    """

  def begin_melodies(self, observations, policy_state, prior_state):
    """Melodies start afresh from primed notes and network states."""
    self.observations = np.asarray(observations)
    self.policy_state = policy_state
    self.prior_state = prior_state

  @abc.abstractmethod
  def act(self, epsilon):
    """Chooses the next note of every melody.

    Args:
      epsilon: probability of a uniformly random note (the Runner's
        exploration schedule; 0 disables it).

    Returns:
      (notes played int [B], prior logits float [B, 38] of the Reward RNN
      at the state before them, from which the environment takes log p).
    """

  @abc.abstractmethod
  def observe(self, rewards):
    """The environment's rewards float [B] of the notes `act` chose; the
    melodies move on to those notes."""

  def end_melodies(self):
    """The melodies in progress ended (an on-policy agent learns here)."""

  def update(self, num_env_steps):
    """Called after every beat with its B environment steps.

    Returns:
      UpdateResult of the gradient steps taken (NO_UPDATE for none).
    """
    del num_env_steps
    return NO_UPDATE

  @abc.abstractmethod
  def trackables(self):
    """dict name -> TensorFlow object a checkpoint holds (networks, optimizer)."""

  @abc.abstractmethod
  def counters(self):
    """dict name -> int of the agent's counters, for the training state."""

  @abc.abstractmethod
  def load_counters(self, counters):
    """Restores what `counters` returned."""
