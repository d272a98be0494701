"""Rewards users write: the interface, a registry, loading and weighting.

A reward is a named function of the B melodies in progress and the notes
about to be played:

    def chord_tones(state, actions):
      '''+1 for a chord tone on a strong beat.'''
      ...
      return values            # float [B]

`state` is the `melody_env.MelodyEnv` before the actions (read it, do not
change it): `state.notes` int [B, t], `state.beat`, `state.previous` [B],
`state.last_pitch` [B], `state.config` (key, tonic, labels),
`state.num_notes_in_melody`, `state.batch_size`, and the shared features
`state.interval(actions)`, `state.repeats_excessively(actions)`,
`state.motif_unique_notes(actions)`, ... . `actions` is int [B] of classes
(0 hold, 1 rest, 2 + MIDI pitch - 48).

A reward that keeps state of its own (as the leap rule keeps the pending
leap) is a class: every environment makes its own instance, calls
`reset(batch_size)` when its melodies start over and then calls the instance
once per step. Keyword options given on the command line
(`--reward_option=NAME.key=value`) are passed to the class as strings.

Rewards come from Python (`RLTuner(rewards=[fn])`, `register`) or from the
command line (`--reward=my_rewards.py:chord_tones`, `module:function`, or a
registered name), and are weighted by name (`--reward_weights=key=1,
chord_tones=2`). Every term of a run is recorded separately.
"""

import dataclasses
import numbers
import re
import time
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np

from rl_tuner.env import melody_env
from rl_tuner.rewards import builtin_rewards

NOTE_RNN = builtin_rewards.NOTE_RNN
MODES = builtin_rewards.MODES
REWARD_MODES = tuple(MODES)
# Modes without music-theory rules, for the user's own rewards.
CUSTOM_MODES = ('custom', 'custom_only')
_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


# The largest size a reward's value may have, |value|. The original's
# largest penalty is 100 and its rules give a few units otherwise; log p(a|s)
# of a Note RNN is rarely below -30. A term of 1e6 already outweighs log p
# a hundred thousand times, so the Note RNN would be ignored; much larger
# values (1e30) make the squared TD errors overflow the float32 networks
# (3.4e38) and ruin the model without a word. Anything beyond this bound is
# a bug in the reward (a count, a time stamp, an unset array), not a reward.
MAX_ABS_REWARD = 1e6


class RewardError(ValueError):
  """A reward that cannot be found, loaded, combined or trusted."""


class RewardCallError(RewardError):
  """A reward that failed at one call: raised, or returned an unusable value.

  Attributes:
    name: the reward's name.
    problem: what went wrong ('raised ValueError: ...', 'returned nan for
      melody 3').
    phase: 'training' or 'evaluation' (the environment that called it).
    call: the reward's call number in that phase, counted from 1 since the
      tuner was built.
    in_reset: it failed in `reset`, as its melodies started over (after
      `call` calls), not in a call.
    where: where the run was, e.g. 'env step 1,608', or None; the loop that
      catches the error sets it.
  """

  def __init__(self, name, problem, phase, call, in_reset=False):
    super().__init__(name, problem, phase, call)
    self.name = name
    self.problem = problem
    self.phase = phase
    self.call = call
    self.in_reset = in_reset
    self.where = None

  def __str__(self):
    where = f', {self.where}' if self.where else ''
    return (f'reward {self.name!r} {self.problem} ({self.phase} call '
            f'{self.call:,}{where})')


@dataclasses.dataclass(frozen=True)
class Reward:
  """A named reward.

  Attributes:
    name: how histories, TensorBoard and weights call it.
    make: returns the callable one environment uses, (state, actions) ->
      float [B]; a fresh instance for a stateful reward.
    checked: whether each output is checked (shape [B], finite numbers);
      the built-in rules are trusted.
  """
  name: str
  make: Callable[[], Callable]
  checked: bool = True


_REGISTRY: Dict[str, Reward] = {}


def snake_case(name):
  return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()


def as_reward(obj, name=None, options=None):
  """A `Reward` from a function, a class (stateful) or a `Reward`.

  Args:
    obj: the reward.
    name: its name (default: the object's `name` attribute, else the
      function's name, else the class name in snake_case).
    options: dict of keyword arguments for a class's constructor.

  Raises:
    RewardError: not callable, a bad name, or options for a function.
  """
  if isinstance(obj, Reward):
    if options:
      raise RewardError(f'reward {obj.name!r} takes no options')
    return obj if name is None else dataclasses.replace(obj, name=name)
  if not callable(obj):
    raise RewardError(f'reward {name or obj!r} is not callable: a reward is '
                      'a function (state, actions) -> float [B] or a class')
  if isinstance(obj, type):
    default = getattr(obj, 'name', None)
    if not isinstance(default, str):
      default = snake_case(obj.__name__)
    kwargs = dict(options or {})

    def make():
      try:
        return obj(**kwargs)
      except TypeError as e:
        raise RewardError(f'reward {name or default!r}: cannot build '
                          f'{obj.__name__} with options {kwargs}: {e}') from e
    reward = Reward(name or default, make)
  else:
    if options:
      raise RewardError(f'reward {name or obj.__name__!r} is a function; '
                        'only a class takes options')
    default = getattr(obj, 'name', None)
    if not isinstance(default, str):
      default = getattr(obj, '__name__', type(obj).__name__)
    reward = Reward(name or default, lambda: obj)
  if not _NAME_RE.match(reward.name):
    raise RewardError(f'reward name {reward.name!r} must be a Python '
                      'identifier (letters, digits, _)')
  return reward


def register(obj=None, *, name=None, replace=False):
  """Registers a reward by name; usable as a decorator.

      @register
      def chord_tones(state, actions): ...

  Raises:
    RewardError: the name is taken (unless replace) or reserved.
  """
  def add(target):
    reward = as_reward(target, name)
    if reward.name == NOTE_RNN:
      raise RewardError(f'{NOTE_RNN!r} is reserved for log p(a|s)')
    if reward.name in _REGISTRY and not replace:
      raise RewardError(f'a reward named {reward.name!r} is already '
                        'registered; pass replace=True to replace it')
    _REGISTRY[reward.name] = reward
    return target
  return add if obj is None else add(obj)


for _name, _rule in builtin_rewards.RULES.items():
  _REGISTRY[_name] = Reward(_name, lambda rule=_rule: rule, checked=False)


def registered_names():
  """Every registered reward name, sorted."""
  return sorted(_REGISTRY)


def get(name):
  """The registered reward `name`; an unknown name lists the valid ones."""
  if name not in _REGISTRY:
    raise RewardError(f'unknown reward {name!r}; registered rewards: '
                      f'{", ".join(registered_names())}; or give '
                      'path/to/file.py:function or package.module:function')
  return _REGISTRY[name]


def _raised(error):
  """'raised ValueError: ...' or 'called sys.exit(0)', on one line."""
  if isinstance(error, SystemExit):
    return f'called sys.exit({error.code!r})'
  return f'raised {type(error).__name__}: {one_line(error)}'


def one_line(error, limit=300):
  """An exception's text on one line, at most `limit` characters."""
  text = ' '.join(str(error).split())
  return text if len(text) <= limit else text[:limit - 3] + '...'


class StepRewards(NamedTuple):
  """The rewards of one step of B melodies (float64 arrays [B]).

  Attributes:
    total: the reward of each transition.
    note_rnn: log p(a|s) under the Reward RNN (recorded in every mode,
      whether or not the total includes it; 0 without Reward RNN logits).
    music_theory: reward_scaler times the weighted sum of the other terms
      (the original's music-theory part).
    terms: float64 [T, B], each term of `RewardSet.term_names` as it enters
      the total before the reward_scaler (weighted; log p weighted too).
  """
  total: np.ndarray
  note_rnn: np.ndarray
  music_theory: np.ndarray
  terms: np.ndarray


def _as_values(value, batch_size):
  """(float64 [B], None) from a reward's output, or (None, the problem).

  Usable: B real numbers (bool, int or float; Python objects that are real
  numbers), each finite and at most MAX_ABS_REWARD in size. Complex numbers
  are refused, not cast, even with a zero imaginary part.
  """
  def not_numbers():
    return None, (f'returned {type(value).__name__} {str(value)[:60]!r}, '
                  'not numbers')
  if value is None or isinstance(value, (str, bytes)):
    return not_numbers()
  try:
    array = np.asarray(value)
  except Exception:  # pylint: disable=broad-except
    return not_numbers()  # Ragged, or an object that fails to convert.
  kind = array.dtype.kind
  if kind == 'O' and any(isinstance(x, numbers.Complex) and
                         not isinstance(x, numbers.Real) for x in array.flat):
    kind = 'c'
  if kind == 'c':
    return None, (f'returned complex numbers ({str(value)[:60]}); a reward '
                  'is real')
  try:
    if kind not in 'biufO':
      raise TypeError
    array = array.astype(np.float64, copy=False)
  except Exception:  # pylint: disable=broad-except
    return not_numbers()
  if array.shape != (batch_size,):
    return None, (f'returned shape {array.shape}; expected ({batch_size},): '
                  'one value per melody')
  usable = np.abs(array) <= MAX_ABS_REWARD  # False for NaN too.
  if not usable.all():
    bad = np.flatnonzero(~usable)
    more = f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''
    first = float(array[bad[0]])
    reason = (f', beyond the {MAX_ABS_REWARD:g} a reward may reach'
              if np.isfinite(first) else '')
    return None, f'returned {first!r} for melody {bad[0]}{more}{reason}'
  return array, None


def check_output(name, value, batch_size):
  """float64 [B] from a reward's output; RewardError if it is unusable.

  Unusable: not B real numbers, complex, NaN, infinite, or larger in size
  than MAX_ABS_REWARD.
  """
  array, problem = _as_values(value, batch_size)
  if problem is not None:
    raise RewardError(f'reward {name!r} {problem}')
  return array


class RewardCosts:
  """Calls and seconds of each checked reward, per phase.

  One object is shared by the environments of a tuner (training and every
  evaluation), so the run can say what each reward costs.
  """

  def __init__(self):
    self._counters = {}

  def counter(self, name, phase):
    """The mutable [calls, seconds] of reward `name` in `phase`."""
    return self._counters.setdefault((name, phase), [0, 0.0])

  def names(self):
    """Names of the rewards called so far, in order of first call."""
    return list(dict.fromkeys(name for name, _ in self._counters))

  def per_call(self, name, phase):
    """Mean seconds per call of `name` in `phase` (None before a call)."""
    calls, seconds = self._counters.get((name, phase), (0, 0.0))
    return seconds / calls if calls else None

  def calls(self, name, phase):
    return self._counters.get((name, phase), (0, 0.0))[0]


@dataclasses.dataclass(frozen=True)
class RewardSet:
  """The rewards of a run: named, weighted terms and the reward_scaler.

  total = note_rnn_weight * log p(a|s)  (when 'note_rnn' is a term)
          + reward_scaler * sum_i weight_i * reward_i  (in term order)

  With every weight 1 the values equal the original's modes exactly.

  Attributes:
    mode: the reward mode the built-in terms come from.
    terms: ((name, weight, Reward or None for log p), ...).
    reward_scaler: multiplier of every term but log p.
  """
  mode: str
  terms: Tuple[Tuple[str, float, Optional[Reward]], ...]
  reward_scaler: float = 1.0

  @property
  def term_names(self):
    return tuple(name for name, _, _ in self.terms)

  @property
  def includes_note_rnn(self):
    return NOTE_RNN in self.term_names

  def bind(self, costs=None, phase='training'):
    """The callables one environment evaluates (fresh stateful rewards).

    Args:
      costs: RewardCosts the checked rewards' calls are counted in (default
        a new one).
      phase: 'training' or 'evaluation', for the counts and messages.
    """
    return BoundRewards(self, costs, phase)


def check_mode(mode):
  """Raises RewardError listing the valid modes for an unknown one."""
  if mode not in MODES:
    raise RewardError(f'unknown reward_mode {mode!r}; valid modes: '
                      f'{", ".join(REWARD_MODES)}')


def reward_set(mode='music_theory_all', extra=(), weights=None,
               reward_scaler=1.0):
  """Builds a run's RewardSet.

  Args:
    mode: one of REWARD_MODES.
    extra: more rewards (Reward, function, class, or a registered name;
      `reward_specs.load` turns any other --reward spec into a Reward),
      added after the mode's terms.
    weights: dict name -> weight for any term (default 1).
    reward_scaler: multiplier of every term but log p.

  Raises:
    RewardError: unknown mode or weight name, clashing names.
  """
  check_mode(mode)
  terms = [(name, weight, None if name == NOTE_RNN else get(name))
           for name, weight in MODES[mode]]
  for item in extra or ():
    reward = get(item) if isinstance(item, str) else as_reward(item)
    if reward.name in (name for name, _, _ in terms):
      raise RewardError(f'two rewards are named {reward.name!r}; rename one')
    terms.append((reward.name, 1.0, reward))
  weights = dict(weights or {})
  names = [name for name, _, _ in terms]
  unknown = sorted(set(weights) - set(names))
  if unknown:
    raise RewardError(f'--reward_weights names {unknown}, not rewards of '
                      f'this run; its rewards: {", ".join(names)}')
  terms = tuple((name, float(weights.get(name, weight)), reward)
                for name, weight, reward in terms)
  if not terms:
    raise RewardError(f'reward_mode {mode!r} needs at least one --reward')
  return RewardSet(mode, terms, float(reward_scaler))


class BoundRewards:
  """A RewardSet's callables for one environment, and their evaluation."""

  def __init__(self, rewards, costs=None, phase='training'):
    self.reward_set = rewards
    self.costs = RewardCosts() if costs is None else costs
    self.phase = phase
    self._note_rnn_weight = None
    self._terms = []
    for index, (name, weight, reward) in enumerate(rewards.terms):
      if reward is None:
        self._note_rnn_weight = weight
        self._note_rnn_index = index
      else:
        self._terms.append((index, name, weight, reward.make(),
                            reward.checked))
    self._scaler = rewards.reward_scaler

  def use(self, rewards):
    """Takes the weights and reward_scaler of `rewards`, a RewardSet with
    the same term names, from the next evaluation on; stateful rewards keep
    their state."""
    if rewards.term_names != self.reward_set.term_names:
      raise ValueError(f'use() needs the same terms; got {rewards.term_names}'
                       f', bound to {self.reward_set.term_names}')
    weights = {name: weight for name, weight, _ in rewards.terms}
    self.reward_set = rewards
    self._terms = [(index, name, weights[name], fn, checked)
                   for index, name, _, fn, checked in self._terms]
    if self._note_rnn_weight is not None:
      self._note_rnn_weight = weights[NOTE_RNN]
    self._scaler = rewards.reward_scaler

  def reset(self, batch_size):
    """Tells stateful rewards their melodies start over.

    Raises:
      RewardCallError: a user's reward raised in its reset.
    """
    for _, name, _, fn, checked in self._terms:
      reset = getattr(fn, 'reset', None)
      if reset is None:
        continue
      if not checked:
        reset(batch_size)
        continue
      try:
        reset(batch_size)
      except (Exception, SystemExit) as e:  # pylint: disable=broad-except
        calls = self.costs.counter(name, self.phase)[0]
        raise RewardCallError(name, f'{_raised(e)} in reset({batch_size})',
                              self.phase, calls, in_reset=True) from e

  def evaluate(self, state, actions, log_probs=None):
    """The StepRewards of `actions` int [B] in `state` (a MelodyEnv).

    Args:
      log_probs: float64 [B, 38] Reward RNN log-probabilities, or None.
    """
    batch = len(actions)
    terms = np.zeros((len(self.reward_set.terms), batch))
    if log_probs is None:
      note_rnn = np.zeros(batch)
    else:
      note_rnn = log_probs[np.arange(batch), actions]
    rules = 0.0
    for index, name, weight, fn, checked in self._terms:
      if checked:
        value = self._call_checked(name, fn, state, actions, batch)
      else:
        value = fn(state, actions)
      if weight != 1.0:
        value = value * weight
      terms[index] = value
      rules = rules + value
    if not self._terms:
      rules = np.zeros(batch)
    music_theory = rules * self._scaler
    if self._note_rnn_weight is None:
      total = music_theory
    else:
      weighted = (note_rnn if self._note_rnn_weight == 1.0 else
                  note_rnn * self._note_rnn_weight)
      terms[self._note_rnn_index] = weighted
      total = music_theory + weighted
    return StepRewards(total, note_rnn, music_theory, terms)

  def _call_checked(self, name, fn, state, actions, batch):
    """A user's reward: called, timed, its output checked.

    Raises:
      RewardCallError: it raised or returned an unusable value (the message
        names it, the call and the value).
    """
    counter = self.costs.counter(name, self.phase)
    counter[0] += 1
    start = time.perf_counter()
    try:
      value = fn(state, actions)
    except (Exception, SystemExit) as e:  # pylint: disable=broad-except
      raise RewardCallError(name, _raised(e), self.phase, counter[0]) from e
    counter[1] += time.perf_counter() - start
    array, problem = _as_values(value, batch)
    if problem is not None:
      raise RewardCallError(name, problem, self.phase, counter[0])
    return array


def probe(rewards, batch_size, config):
  """Calls every reward once on fresh melodies, before a run writes anything.

  A reward that cannot be built, raises, or returns the wrong shape, NaN or
  a non-number is reported here as a RewardError naming it.
  """
  bound = rewards.bind()
  env = melody_env.MelodyEnv(batch_size, config, bound)
  actions = np.full(batch_size, config.tonic, np.int64)
  for _, name, _, fn, _ in bound._terms:  # pylint: disable=protected-access
    try:
      value = fn(env, actions)
    except (Exception, SystemExit) as e:  # pylint: disable=broad-except
      raise RewardError(f'reward {name!r} failed on its first call: it '
                        f'{_raised(e)}') from e
    check_output(name, value, batch_size)
