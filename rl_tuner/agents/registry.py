"""The learning algorithms: one row each, stating everything a name means.

A row names the algorithm, its agent (the class the Runner drives), the
options its agent gets, its reward rule (whether the reward leaves log
p(a|s) of the Note RNN out), how its training histories record the reward,
and its defaults (the flag file of its paper run). `--algorithm`'s choices
and help, the settings' checks, the tables' titles and the reproduction all
read this table; a new algorithm is one more row here and an agent class in
its own module under `rl_tuner/agents/`.

Nothing here imports TensorFlow: the agent is named by 'module:Class' and
imported when a tuner is built, so that flags are checked at once.
"""

import dataclasses
import importlib
import types
from typing import Any, Mapping

from rl_tuner.rewards import reward_api

# The reward mode of an algorithm that leaves log p out of its reward.
_MUSIC_THEORY_ONLY = 'music_theory_only'
_CUSTOM_ONLY = 'custom_only'


@dataclasses.dataclass(frozen=True)
class AlgorithmSpec:
  """One learning algorithm.

  Attributes:
    name: the `--algorithm` value.
    title: its name in tables and on pages ('Q', 'RL only').
    help: one line for `--algorithm`'s help.
    agent: 'module:Class' of its `agents.agent.Agent`; imported on use.
    agent_options: keyword arguments its agent gets (e.g. the DQN family's
      value rule).
    drops_log_p: its reward leaves log p(a|s) out: g puts log p in its
      value instead, pure RL has none. The reward mode then becomes
      'music_theory_only' ('custom_only' for the custom modes), as the
      original forced.
    records_log_p_in_total: the training histories record music theory +
      log p as each block's reward although the reward leaves log p out (g,
      as the original recorded it).
    paper_flagfile: the flag file (in configs/) of its paper run.
  """
  name: str
  title: str
  help: str
  agent: str
  agent_options: Mapping[str, Any]
  drops_log_p: bool
  records_log_p_in_total: bool
  paper_flagfile: str

  def reward_mode(self, mode):
    """The reward mode this algorithm uses when `mode` is asked for."""
    if not self.drops_log_p:
      return mode
    return _CUSTOM_ONLY if mode in reward_api.CUSTOM_MODES else (
        _MUSIC_THEORY_ONLY)

  def agent_class(self):
    """The agent class (imports its module, and so TensorFlow)."""
    module, name = self.agent.split(':')
    return getattr(importlib.import_module(module), name)


_DQN = 'rl_tuner.agents.dqn.dqn_agent:DQNAgent'

ALGORITHMS = types.MappingProxyType({spec.name: spec for spec in (
    AlgorithmSpec(
        'q', 'Q', 'Q learning: TD target r + gamma max_a Q(s\', a).', _DQN,
        {'rule': 'q'}, drops_log_p=False, records_log_p_in_total=False,
        paper_flagfile='paper_q.flags'),
    AlgorithmSpec(
        'psi', 'Psi', 'Psi learning: r + gamma logsumexp_a Psi(s\', a).',
        _DQN, {'rule': 'psi'}, drops_log_p=False,
        records_log_p_in_total=False, paper_flagfile='paper_psi.flags'),
    AlgorithmSpec(
        'g', 'G', 'G learning: r + gamma logsumexp_a (G(s\', a) + log '
        'p(a|s\')); acts on G + the Note RNN\'s logits.', _DQN, {'rule': 'g'},
        drops_log_p=True, records_log_p_in_total=True,
        paper_flagfile='paper_g.flags'),
    AlgorithmSpec(
        'pure_rl', 'RL only', 'Q learning on the music-theory reward alone '
        '(no log p).', _DQN, {'rule': 'pure_rl'}, drops_log_p=True,
        records_log_p_in_total=False, paper_flagfile='paper_rl_only.flags'),
)})
# Other names the original accepted.
ALIASES = types.MappingProxyType({'default': 'q'})
NAMES = tuple(ALGORITHMS)


def canonical_name(name):
  """The registered name of `name` (aliases resolved; unknown names kept)."""
  return ALIASES.get(name, name)


def get(name):
  """The AlgorithmSpec of `name` (or an alias).

  Raises:
    ValueError: an unknown name, listing the known ones.
  """
  spec = ALGORITHMS.get(canonical_name(name))
  if spec is None:
    raise ValueError(f'unknown algorithm {name!r}; valid algorithms: '
                     f'{list(NAMES)}')
  return spec


def help_text():
  """`--algorithm`'s help: one line per algorithm."""
  return 'Learning algorithm: ' + '; '.join(
      f'{spec.name}: {spec.help}' for spec in ALGORITHMS.values())
