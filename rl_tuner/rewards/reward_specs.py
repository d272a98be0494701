"""Rewards named on the command line: --reward specs, weights and options.

`load` turns a `--reward` spec into a `reward_api.Reward`: a registered name,
`path/to/file.py:function` (any readable Python file, whatever its name), or
`package.module:function`. Loading runs the named code, as any plugin does;
a file that raises or exits while loading is reported as such.
`parse_weights` reads `--reward_weights` ('key=1,chord_tones=2') and
`parse_options` the repeatable `--reward_option` ('name.option=value').
"""

import importlib
import importlib.machinery
import importlib.util
import os
import re
import sys

import numpy as np

from rl_tuner.rewards import builtin_rewards
from rl_tuner.rewards import reward_api


def _load_file(path):
  """The module a reward file defines; any readable Python file, any name.

  Raises:
    reward_api.RewardError: the file is missing, or exits or raises while loading
      (the message says which, in one line).
  """
  if not os.path.isfile(path):
    raise reward_api.RewardError(f'reward file not found: {path}')
  module_name = '_rl_tuner_user_rewards_' + re.sub(
      r'\W', '_', os.path.abspath(path))
  if module_name in sys.modules:
    return sys.modules[module_name]
  # An explicit source loader: spec_from_file_location finds none for a
  # name not ending in .py.
  loader = importlib.machinery.SourceFileLoader(module_name, path)
  spec = importlib.util.spec_from_file_location(module_name, path,
                                                loader=loader)
  module = importlib.util.module_from_spec(spec)
  sys.modules[module_name] = module
  try:
    _run_loading(lambda: spec.loader.exec_module(module),
                 f'reward file {path}')
  except reward_api.RewardError:
    del sys.modules[module_name]
    raise
  return module


def _run_loading(load_module, what):
  """Runs `load_module()`; an exit or an error becomes one reward_api.RewardError.

  Args:
    load_module: callable that executes the reward code.
    what: 'reward file x.py' or 'reward module m', for the message.
  """
  try:
    return load_module()
  except SystemExit as e:  # sys.exit() in the file: not the tool's exit.
    code = 0 if e.code is None else e.code
    status = (f'status {code}' if isinstance(code, int) else
              f'sys.exit({code!r})')
    raise reward_api.RewardError(f'{what} exited with {status} while loading') from e
  except Exception as e:  # pylint: disable=broad-except
    raise reward_api.RewardError(f'{what} raised {type(e).__name__} while loading: '
                      f'{reward_api.one_line(e)}') from e


def load(spec, options=None):
  """The reward a command-line spec names.

  Args:
    spec: a registered name ('key'), 'path/to/file:name' (any readable
      Python file, whatever its name) or 'package.module:name'.
    options: keyword options for a class reward.

  Returns:
    Reward, named by the object's name.

  Raises:
    reward_api.RewardError: naming the spec and the problem.
  """
  spec = spec.strip()
  if ':' not in spec:
    reward = reward_api.get(spec)
    if options:
      raise reward_api.RewardError(f'registered reward {reward.name!r} takes no '
                        'options; load its class from a file or module')
    return reward
  source, _, attribute = spec.rpartition(':')
  if (os.path.isfile(source) or source.endswith('.py') or os.sep in source or
      '/' in source):
    module = _load_file(source)
  else:
    try:
      module = _run_loading(lambda: importlib.import_module(source),
                            f'reward module {source}')
    except reward_api.RewardError as e:
      if isinstance(e.__cause__, ImportError):
        raise reward_api.RewardError(f'cannot import reward module {source!r} '
                          f'(from --reward={spec}): {e.__cause__}') from e
      raise
  if not hasattr(module, attribute):
    found = sorted(n for n in vars(module) if not n.startswith('_') and
                   callable(getattr(module, n)))
    raise reward_api.RewardError(f'{source} has no reward {attribute!r}; callables '
                      f'there: {", ".join(found) or "none"}')
  return reward_api.as_reward(getattr(module, attribute), options=options)


# Terms whose weight may not be negative: the built-in rules (each already
# signed: a penalty is negative, a bonus positive) and log p(a|s). A
# negative weight would turn a rule around, or reward unlikely notes.
UNSIGNED_WEIGHTS = frozenset(builtin_rewards.RULES) | {reward_api.NOTE_RNN}


def parse_weights(text):
  """'key=1,chord_tones=2.5' -> {'key': 1.0, 'chord_tones': 2.5}.

  Each weight is a finite number, each name given once. A negative weight
  is refused for the built-in terms and note_rnn (UNSIGNED_WEIGHTS) and
  allowed for the user's own rewards, to make one a penalty.

  Raises:
    reward_api.RewardError: naming the item, the name or the value.
  """
  weights = {}
  for item in (text or '').split(','):
    item = item.strip()
    if not item:
      continue
    name, sep, value = item.partition('=')
    name = name.strip()
    try:
      if not sep or not name:
        raise ValueError
      weight = float(value)
    except ValueError:
      raise reward_api.RewardError(f'bad reward weight {item!r}; expected name=number, '
                        'e.g. key=1,chord_tones=2') from None
    if name in weights:
      raise reward_api.RewardError(f'--reward_weights gives {name!r} twice '
                        f'({weights[name]:g} and {value.strip()}); give '
                        'each term once')
    if not np.isfinite(weight):
      raise reward_api.RewardError(f'--reward_weights: {item!r} is not a finite number')
    if weight < 0 and name in UNSIGNED_WEIGHTS:
      raise reward_api.RewardError(
          f'--reward_weights: {item!r} is negative, which would reward the '
          f'opposite of the built-in term {name}: give it a weight >= 0 (0 '
          'switches it off); only your own --reward terms may be negative')
    weights[name] = weight
  return weights


def parse_options(items):
  """['chord_tones.progression=C G'] -> {'chord_tones': {'progression': ..}}."""
  options = {}
  for item in items or ():
    target, sep, value = item.partition('=')
    reward, dot, key = target.strip().partition('.')
    if not sep or not dot or not reward or not key:
      raise reward_api.RewardError(f'bad reward option {item!r}; expected '
                        'reward_name.option=value')
    options.setdefault(reward, {})[key] = value
  return options
