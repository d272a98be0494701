"""The Runner drives any agent: a second family plugs in with one registry row.

`OnPolicyProbe` is an agent of another family than the DQN one: it samples
from the Note RNN, keeps its melodies' steps, and "learns" at the end of its
melodies, as an on-policy agent would. It joins the registry with one row
(monkeypatched here) and trains through the unchanged Runner and RLTuner.
"""

import logging
import re

import numpy as np
import pytest

from note_rnn.model import sampling
from note_rnn.runtime import progress
from rl_tuner.agents import agent as agent_lib
from rl_tuner.agents import registry
from rl_tuner.agents.dqn import dqn_agent
from rl_tuner.rewards import reward_api
from rl_tuner.rl_tuner_test import make_tuner
from rl_tuner.run import checkpointer

BATCH = 4
LENGTH = 8


class _Policy:
  """The acting path of the probe: the prior network's numpy step."""

  def __init__(self, network):
    from note_rnn.model import lstm_cell  # pylint: disable=g-import-not-at-top
    self._step = lstm_cell.NumpyNoteRNN(network)

  def sync_acting_weights(self):
    self._step.read_weights()

  def act_numpy(self, observations, policy_state, prior_state):
    logits, new_state = self._step.step(observations, policy_state)
    return logits, logits, new_state, new_state


class OnPolicyProbe(agent_lib.Agent):
  """Records every call the Runner makes, in order."""

  def __init__(self, network, rng, tag):
    self.policy = _Policy(network)
    self.network = network
    self.rng = rng
    self.tag = tag
    self.calls = []
    self.episode_rewards = []
    self.updates = 0
    self.steps_seen = 0

  @classmethod
  def build(cls, policy_network, target_network, prior_network, settings,
            hparams, rng, **options):
    del target_network, prior_network, settings, hparams
    return cls(policy_network, rng, **options)

  def begin_melodies(self, observations, policy_state, prior_state):
    super().begin_melodies(observations, policy_state, prior_state)
    self.calls.append('begin')
    self.episode_rewards = []

  def act(self, epsilon):
    self.calls.append('act')
    scores, logits, self._next_state, _ = self.policy.act_numpy(
        self.observations, self.policy_state, self.prior_state)
    notes = sampling.sample_classes(sampling.softmax(scores), self.rng)
    self._notes = notes
    return notes, logits

  def observe(self, rewards):
    self.calls.append('observe')
    assert rewards.shape == (BATCH,)
    self.episode_rewards.append(rewards)
    self.observations = self._notes
    self.policy_state = self.prior_state = self._next_state

  def update(self, num_env_steps):
    self.calls.append('update')
    self.steps_seen += num_env_steps
    return agent_lib.NO_UPDATE

  def end_melodies(self):
    self.calls.append('end')
    assert len(self.episode_rewards) == LENGTH  # A whole melody's steps.
    self.updates += 1

  def trackables(self):
    return {'q_network': self.network}

  def counters(self):
    return {'updates': self.updates}

  def load_counters(self, counters):
    self.updates = counters['updates']


@pytest.fixture
def probe_row(monkeypatch):
  row = registry.AlgorithmSpec(
      'probe', 'Probe', 'an on-policy probe', f'{__name__}:OnPolicyProbe',
      {'tag': 'from the row'}, drops_log_p=False,
      records_log_p_in_total=False, paper_flagfile='')
  monkeypatch.setattr(registry, 'ALGORITHMS',
                      {**registry.ALGORITHMS, 'probe': row})
  return row


def test_a_second_agent_family_trains_through_the_runner(tmp_path, probe_row):
  rlt = make_tuner(tmp_path, algorithm='probe', num_parallel_melodies=BATCH,
                   num_notes_in_melody=LENGTH, output_every_nth=64)
  agent = rlt.agent
  assert isinstance(agent, OnPolicyProbe) and agent.tag == 'from the row'
  agent.calls.clear()  # The tuner's set-up starts empty melodies.
  rlt.train(num_steps=128, exploration_period=64)
  melodies = 128 // (BATCH * LENGTH)
  expected = ['begin'] + (['act', 'observe', 'update'] * LENGTH + ['end']
                          + ['begin']) * melodies
  assert agent.calls == expected[:-1]  # No new melodies after the last.
  assert agent.updates == melodies
  assert agent.steps_seen == rlt.env_steps == 128
  # Two evaluation blocks, each checkpointed when its melodies ended.
  assert len(rlt.eval_avg_reward) == 3  # Before training, then 2 blocks.
  assert [p.split('-')[-1] for p in checkpointer.list_checkpoints(
      checkpointer.checkpoint_root(str(tmp_path)))] == ['64', '128']
  # A resumed probe continues from the checkpoint's counters.
  resumed = make_tuner(tmp_path, algorithm='probe',
                       num_parallel_melodies=BATCH,
                       num_notes_in_melody=LENGTH, output_every_nth=64)
  resumed.restore_from_directory()
  assert resumed.env_steps == 128 and resumed.agent.updates == melodies


def test_the_runner_anneals_epsilon_per_beat(tmp_path):
  rlt = make_tuner(tmp_path, num_parallel_melodies=BATCH,
                   num_notes_in_melody=LENGTH)
  seen = []
  original = dqn_agent.DQNAgent.act

  def recording(self, epsilon):
    seen.append(epsilon)
    return original(self, epsilon)
  dqn_agent.DQNAgent.act = recording
  try:
    rlt.train(num_steps=BATCH * 10, exploration_period=BATCH * 5)
  finally:
    dqn_agent.DQNAgent.act = original
  final = rlt.dqn_hparams.random_action_probability
  # Beat k (1-based) acts with 1 - k / 5 * (1 - final), then final.
  expected = [max(1.0 - k * (1.0 - final) / 5, final) if k < 5 else final
              for k in range(1, 11)]
  np.testing.assert_allclose(seen, expected)


def test_registry_rows_name_importable_agents():
  for spec in registry.ALGORITHMS.values():
    assert issubclass(spec.agent_class(), agent_lib.Agent), spec.name
  assert registry.get('default').name == 'q'
  with pytest.raises(ValueError, match='valid algorithms'):
    registry.get('sarsa')
  for name in registry.NAMES:
    assert f'{name}:' in registry.help_text()


def cheap_reward(state, actions):
  """A user's reward: 0 for every note."""
  del state
  return np.zeros(len(actions))


def test_progress_comes_from_every_phase_and_rewards_say_their_cost(
    tmp_path, monkeypatch, caplog):
  # A line at every chance: training beats, evaluation and composing beats.
  monkeypatch.setattr(progress, 'PERIOD_S', 0.0)
  monkeypatch.setattr(progress, 'FIRST_S', 0.0)
  rlt = make_tuner(tmp_path, rewards=[cheap_reward],
                   num_parallel_melodies=BATCH, num_notes_in_melody=LENGTH,
                   output_every_nth=32)
  caplog.set_level(logging.INFO)
  rlt.train(num_steps=64, exploration_period=32)
  rlt.generate_compositions(5)
  lines = [r.getMessage() for r in caplog.records]
  assert lines[0].startswith(
      'evaluation at env step 0 (4 melodies): 4/32 notes, ')
  assert any(line.startswith('evaluation at env step 32 (4 melodies): '
                             '32/32 notes') for line in lines)
  assert re.fullmatch(r'composing 5 melodies: 40/40 notes, \d+ notes/s, '
                      r'ETA 0:00:00', lines[-1]), lines[-1]
  training = [line for line in lines if line.startswith('step ')]
  assert training[0].startswith('step 4/64 ') and (
      training[-1].startswith('step 64/64 '))
  (cost,) = [line for line in lines if line.startswith('Reward ')]
  # After the first beat: 15 beats left and evaluations at 32 and 64.
  assert re.fullmatch(
      r"Reward 'cheap_reward': [\d.]+ us per training call \(4 melodies\), "
      r'[\d.]+ us per evaluation call; it adds about 0:00:00 to the rest of '
      r'the run \(15 training calls, 16 evaluation calls\)\.', cost), cost
  costs = rlt.env.rewards.costs
  assert costs.calls('cheap_reward', 'training') == 64 // BATCH
  assert costs.calls('cheap_reward', 'evaluation') == 3 * LENGTH


def test_a_reward_failing_in_training_or_evaluation_says_where(tmp_path):
  calls = []
  # Call 1 checks the reward as the tuner is built; LENGTH calls of the
  # evaluation at step 0 follow, then one per beat (8 until step 32).
  fail_at = [1 + LENGTH + 3]

  def fails(state, actions):
    calls.append(1)
    if len(calls) == fail_at[0]:
      return np.full(len(actions), np.inf)
    return np.zeros(len(actions))
  rlt = make_tuner(tmp_path, rewards=[fails], num_parallel_melodies=BATCH,
                   num_notes_in_melody=LENGTH, output_every_nth=32)
  # The third beat's call fails, then the second of the evaluation at 32.
  with pytest.raises(reward_api.RewardCallError,
                     match=r"^reward 'fails' returned inf for melody 0 "
                     r'\(and 3 more\) \(training call 3, env step 12\)$'):
    rlt.train(num_steps=64, exploration_period=32)
  calls.clear()
  fail_at[0] = 1 + LENGTH + 8 + 2
  rlt = make_tuner(tmp_path / 'b', rewards=[fails],
                   num_parallel_melodies=BATCH, num_notes_in_melody=LENGTH,
                   output_every_nth=32)
  with pytest.raises(reward_api.RewardCallError,
                     match=r'\(evaluation call 10, in the evaluation at env '
                     r'step 32\)$'):
    rlt.train(num_steps=64, exploration_period=32)
