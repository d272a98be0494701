"""The DQN family (Q, Psi, G learning and pure RL) as an Agent.

One agent serves the four algorithms; they differ only in the learner's
value rule (`dqn.ALGORITHMS`). It acts with the online network (ε-greedy or
Boltzmann, `exploration.choose_actions`), stores every transition in a
replay buffer (`observe`), and takes one gradient step of `minibatch_size`
sampled transitions every `train_every_nth` environment steps (`update`), as
the original's training loop did.
"""

import numpy as np

from rl_tuner.agents import agent as agent_lib
from rl_tuner.agents import exploration
from rl_tuner.agents.dqn import dqn
from rl_tuner.replay import replay_buffer


class DQNAgent(agent_lib.Agent):
  """Recurrent DQN over three Note RNNs (online, target, Reward RNN).

  Attributes:
    learner: the `dqn.DQNLearner` (compiled steps, optimizer); also the
      acting `policy`.
    experience: the `replay_buffer.ReplayBuffer`.
    num_times_store_called: transitions offered to the replay so far
      (every `store_every_nth`-th is kept).
    num_times_train_called: environment steps `update` has seen.
    iteration: gradient steps taken.
  """

  def __init__(self, q_network, target_q_network, reward_rnn, hparams, rng,
               *, rule, exploration_mode='egreedy',
               stochastic_observations=False, jit_compile=False,
               reward_rnn_trainable=False):
    """Args:
      q_network, target_q_network, reward_rnn: `NoteRNN`s.
      hparams: `dqn_hparams.DQNHParams`.
      rng: numpy Generator shared with the run (one random stream).
      rule: the value rule, a key of `dqn.ALGORITHMS` ('q', 'psi', 'g',
        'pure_rl').
      exploration_mode: 'egreedy' or 'boltzmann'.
      stochastic_observations: the next note is sampled from the policy's
        softmax (the stored action stays the greedy one).
      jit_compile, reward_rnn_trainable: see `dqn.DQNLearner`.
    """
    self.learner = dqn.DQNLearner(rule, q_network, target_q_network,
                                  reward_rnn, hparams,
                                  jit_compile=jit_compile,
                                  reward_rnn_trainable=reward_rnn_trainable)
    self.policy = self.learner
    self.hparams = hparams
    self.rng = rng
    self.exploration_mode = exploration_mode
    self.stochastic_observations = stochastic_observations
    self.experience = replay_buffer.ReplayBuffer(
        hparams.max_experience, q_network.state_size, reward_rnn.state_size)
    self.num_times_store_called = 0
    self.num_times_train_called = 0
    self.iteration = 0
    self._pending = None

  @classmethod
  def build(cls, policy_network, target_network, prior_network, settings,
            hparams, rng, **options):
    return cls(policy_network, target_network, prior_network, hparams, rng,
               exploration_mode=settings.exploration_mode,
               stochastic_observations=settings.stochastic_observations,
               jit_compile=settings.xla_updates,
               reward_rnn_trainable=settings.reward_rnn_trainable, **options)

  # --- Acting ------------------------------------------------------------

  def choose(self, scores, epsilon, sample_next_obs=False):
    """(actions [B], next observations [B]) for policy scores [B, A]."""
    return exploration.choose_actions(
        scores, self.rng, self.exploration_mode, epsilon,
        sample_next_obs or self.stochastic_observations)

  def act(self, epsilon):
    scores, reward_logits, new_q_state, new_reward_state = (
        self.learner.act_numpy(self.observations, self.policy_state,
                               self.prior_state))
    actions, next_obs = self.choose(scores, epsilon)
    self._pending = (actions, next_obs, new_q_state, new_reward_state)
    return next_obs, reward_logits

  def observe(self, rewards):
    actions, next_obs, new_q_state, new_reward_state = self._pending
    self._pending = None
    self.store_transitions(dict(
        observation=self.observations, state=self.policy_state,
        action=actions, reward=np.asarray(rewards, np.float32),
        new_observation=next_obs, new_state=new_q_state,
        new_reward_state=new_reward_state))
    self.observations = next_obs
    self.policy_state = new_q_state
    self.prior_state = new_reward_state

  # --- Replay and learning -----------------------------------------------

  def store_transitions(self, transitions):
    """Stores B transitions (dict of replay field -> [B, ...]), keeping
    every `store_every_nth`-th of the transitions offered so far."""
    batch = len(transitions['action'])
    every = self.hparams.store_every_nth
    if every == 1:
      self.experience.add_batch(**transitions)
    else:
      calls = self.num_times_store_called + np.arange(batch)
      keep = calls % every == 0
      if keep.any():
        self.experience.add_batch(
            **{name: np.asarray(value)[keep]
               for name, value in transitions.items()})
    self.num_times_store_called += batch

  def update(self, num_env_steps):
    """One gradient step per `train_every_nth` of these environment steps,
    all in one compiled call, once the replay holds a minibatch."""
    hp = self.hparams
    calls = self.num_times_train_called + np.arange(num_env_steps)
    self.num_times_train_called += num_env_steps
    count = int(np.count_nonzero(calls % hp.train_every_nth == 0))
    if count == 0 or len(self.experience) < hp.minibatch_size:
      return agent_lib.NO_UPDATE
    indices = np.stack([
        self.experience.sample_indices(hp.minibatch_size, self.rng)
        for _ in range(count)])
    losses, values = self.learner.train_steps_numpy(
        self.experience.gather(indices))
    first = self.iteration
    self.iteration += len(losses)
    return agent_lib.UpdateResult(losses, values, first)

  # --- Checkpointing -----------------------------------------------------

  def trackables(self):
    return dict(q_network=self.learner.q_network,
                target_q_network=self.learner.target_q_network,
                reward_rnn=self.learner.reward_rnn,
                optimizer=self.learner.optimizer)

  def counters(self):
    return {name: getattr(self, name) for name in (
        'num_times_store_called', 'num_times_train_called', 'iteration')}

  def load_counters(self, counters):
    for name, value in counters.items():
      setattr(self, name, int(value))
