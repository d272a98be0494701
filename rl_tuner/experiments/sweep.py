"""A sweep's plan: which training runs it holds, where, and which are done.

A sweep is every combination of the values given for some settings of
`rl_tuner.settings.TrainSettings` (the axes), each combination one trial: a
normal `bin/rl_tuner_train.py` run directory under `<output_dir>/trials/`.
`plan` builds and checks the trials (every trial's settings go through
`settings.resolve` before anything runs); `is_complete` says which runs are
finished, so a re-run keeps them; `write_plan` / `check_against_plan` keep a
re-run from mixing two different sweeps in one folder. `Progress` turns the
trials' states and checkpoint steps into the progress line with an ETA.

Nothing here imports Ray or TensorFlow (`rl_tuner.sweep_ray` runs the plan).
"""

import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
import time

from note_rnn.runtime import durations
from note_rnn.runtime import outputs
from rl_tuner.run import checkpointer
from rl_tuner.run import settings as settings_lib

# Ray (the optional 'sweep' extra) is imported by the functions that
# check for it: planning and --help need neither Ray nor TensorFlow.

UsageError = settings_lib.UsageError

# Folders and files inside a sweep's output directory.
TRIALS_DIR = 'trials'
LOGS_DIR = 'logs'
PLAN_NAME = 'sweep_plan.json'
# What installs the optional Ray dependency.
INSTALL_COMMAND = "pip install -e '.[sweep]'"
# Settings that name where a trial writes and how it starts: never swept.
NOT_SWEPT = ('output_dir', 'resume')
# Settings that may differ from the plan a folder was started with: a
# longer run continues from its checkpoints, a shorter one is complete;
# keep_replay only changes what a finished trial keeps.
MAY_CHANGE = ('training_steps', 'resume', 'output_dir', 'keep_replay')
# Trial directory names longer than this get a short hash instead of a tail.
MAX_NAME_LENGTH = 96
_SAFE = re.compile(r'[^A-Za-z0-9._+=-]+')

# Trial states.
PENDING, RUNNING, DONE, FAILED = 'pending', 'running', 'done', 'failed'
STATES = (DONE, RUNNING, PENDING, FAILED)


class RayMissingError(UsageError):
  """Ray is not installed; the message gives the install command."""


def import_ray():
  """Imports ray and ray.tune, or raises RayMissingError."""
  # Tune's own console output (boxes and tables) gives way to the sweep's.
  os.environ.setdefault('RAY_AIR_NEW_OUTPUT', '0')
  try:
    # pylint: disable=g-import-not-at-top,import-outside-toplevel
    import ray
    from ray import tune
    del tune
  except ImportError as e:
    raise RayMissingError(
        f'Ray is not installed (it is an optional extra): {INSTALL_COMMAND}'
    ) from e
  return ray


@dataclasses.dataclass(frozen=True)
class Trial:
  """One run of the sweep.

  Attributes:
    name: folder name under trials/, from the swept values.
    settings: the run's TrainSettings (output_dir the trial folder, resume).
    swept: dict setting -> value of this trial, in axis order.
  """
  name: str
  settings: settings_lib.TrainSettings
  swept: dict

  @property
  def run_dir(self):
    return self.settings.output_dir

  @property
  def group(self):
    """The trial's setting: its swept values other than the seed."""
    return tuple((k, v) for k, v in self.swept.items() if k != 'seed')


def _field(name):
  fields = {f.name: f for f in dataclasses.fields(settings_lib.TrainSettings)}
  if name not in fields:
    raise UsageError(f'--sweep: unknown setting {name!r} (the settings are '
                     'the flags of rl_tuner_train)')
  if name in NOT_SWEPT:
    raise UsageError(f'--sweep: {name} is set by the sweep itself')
  field = fields[name]
  if settings_lib.field_type(field) is tuple:
    raise UsageError(f'--sweep: {name} is a repeatable flag and cannot be '
                     'swept; give it once for every trial')
  return field


def parse_value(name, text):
  """One value of setting `name` from text, in the setting's type.

  Raises:
    UsageError: naming the setting and the value.
  """
  field = _field(name)
  kind = settings_lib.field_type(field)
  text = text.strip()
  try:
    if text.lower() == 'none' and field.default is None:
      return None
    if kind is bool:
      if text.lower() in ('1', 'true', 't', 'yes'):
        return True
      if text.lower() in ('0', 'false', 'f', 'no'):
        return False
      raise ValueError(text)
    if kind is int:
      value = int(text)
    elif kind is float:
      value = float(text)
    else:
      return text
  except ValueError as e:
    raise UsageError(f'--sweep: {name} takes {kind.__name__} values, got '
                     f'{text!r}') from e
  # The ranges of the flags (settings.NUMBER_RANGES), checked at once.
  if name in settings_lib.NUMBER_RANGES:
    settings_lib.check_number(name, value)
  elif not math.isfinite(value):
    raise UsageError(f'--sweep: {name} takes finite numbers, got {text!r}')
  return value


def parse_axis(spec):
  """`name=v1,v2,...` as (name, [values]).

  Values are separated by commas, or by '|' when the spec holds one (for
  values with commas, such as reward_weights='key=1,chord_tones=2').

  Raises:
    UsageError: no '=', an empty value list, or a value of the wrong type.
  """
  name, sep, values = spec.partition('=')
  name = name.strip().lstrip('-')
  if not sep or not name:
    raise UsageError(f'--sweep={spec}: expected NAME=VALUE,VALUE,...')
  parts = values.split('|' if '|' in values else ',')
  parts = [p for p in (part.strip() for part in parts) if p]
  if not parts:
    raise UsageError(f'--sweep={spec}: no value given')
  parsed = [parse_value(name, p) for p in parts]
  if len(set(map(repr, parsed))) != len(parsed):
    raise UsageError(f'--sweep={spec}: a value is given twice')
  return name, parsed


def merge_axes(axes):
  """Checks that no setting is swept twice; returns a dict in given order."""
  merged = {}
  for name, values in axes:
    if name in merged:
      raise UsageError(f'{name} is swept twice (by --sweep and a shorthand '
                       'such as --algorithms, --reward_scalers or --seeds)')
    merged[name] = list(values)
  return merged


def _value_text(value):
  if (isinstance(value, float) and math.isfinite(value) and
      value == int(value) and abs(value) < 1e15):
    return str(int(value))
  if isinstance(value, str) and os.sep in value:
    value = os.path.basename(value.rstrip(os.sep)) or value
  return str(value)


def trial_name(swept):
  """Folder name of a trial: `name=value` per swept setting, `__` between.

  Characters outside [A-Za-z0-9._+=-] become '_'; path values keep their
  last part; a name over MAX_NAME_LENGTH keeps its start and a hash of the
  whole.
  """
  if not swept:
    return 'run'
  text = '__'.join(f'{k}={_value_text(v)}' for k, v in swept.items())
  name = _SAFE.sub('_', text)
  if len(name) > MAX_NAME_LENGTH:
    digest = hashlib.sha1(repr(sorted(swept.items())).encode()).hexdigest()
    name = name[:MAX_NAME_LENGTH - 9] + '-' + digest[:8]
  return name


def plan(base, axes, output_dir, check=True):
  """The trials of a sweep, every setting checked.

  Args:
    base: TrainSettings every trial starts from (flags and flag file).
    axes: dict setting name -> list of values; trials are their product,
      the first axis varying slowest.
    output_dir: the sweep's folder; trial t writes trials/<t.name>.
    check: run `settings.resolve` on every trial (loads --reward files).

  Returns:
    List of Trial.

  Raises:
    UsageError: a setting that cannot work, naming the trial; two trials
      with one folder name.
  """
  if not output_dir:
    raise UsageError('--output_dir is required')
  for name in axes:
    _field(name)
  names = list(axes)
  trials, seen = [], {}
  for values in itertools.product(*(axes[n] for n in names)):
    swept = dict(zip(names, values))
    name = trial_name(swept)
    if name in seen:
      raise UsageError(f'trials {seen[name]} and {swept} would share the '
                       f'folder {name}; give values that differ in their '
                       'last path part')
    seen[name] = swept
    try:
      settings = base.replace(**swept).replace(
          output_dir=os.path.join(output_dir, TRIALS_DIR, name), resume=True)
      if check:
        settings_lib.resolve(settings)
    except UsageError as e:
      raise UsageError(f'trial {name}: {e}') from e
    trials.append(Trial(name, settings, swept))
  return trials


def _comparable(settings_dict):
  return {k: v for k, v in settings_dict.items() if k not in MAY_CHANGE}


def plan_record(trials, axes):
  """JSON-ready record of a plan (what `write_plan` writes)."""
  return {'axes': {k: list(v) for k, v in axes.items()},
          'trials': {t.name: {'swept': t.swept,
                              'settings': t.settings.to_dict()}
                     for t in trials}}


def check_against_plan(output_dir, trials):
  """Refuses a folder holding a sweep whose trials had other settings.

  Trials of the same name must have the same settings, except those in
  MAY_CHANGE (more --training_steps continue the runs) and those the plan
  does not record (added to the project after it was written). New trials
  (another seed, another value) may be added.

  Raises:
    UsageError: naming the trial, the setting and both values.
  """
  path = os.path.join(output_dir, PLAN_NAME)
  if not os.path.isfile(path):
    return
  try:
    with open(path, encoding='utf-8') as f:
      previous = json.load(f)['trials']
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise UsageError(f'{path}: not a sweep plan ({e})') from e
  for trial in trials:
    before = previous.get(trial.name)
    if not isinstance(before, dict):
      continue
    old = _comparable(before.get('settings', {}))
    new = _comparable(trial.settings.to_dict())
    # Settings the plan does not record are newer than it: not compared.
    for key in sorted(set(old) & set(new)):
      if old[key] != new[key]:
        raise UsageError(
            f'{output_dir} holds another sweep: trial {trial.name} ran with '
            f'{key}={old.get(key)!r}, this command gives '
            f'{new.get(key)!r}; use another --output_dir')


def write_plan(output_dir, trials, axes):
  """Writes sweep_plan.json, keeping trials of earlier plans listed."""
  path = os.path.join(output_dir, PLAN_NAME)
  record = plan_record(trials, axes)
  if os.path.isfile(path):
    try:
      with open(path, encoding='utf-8') as f:
        previous = json.load(f)
      record['trials'] = dict(previous.get('trials', {}), **record['trials'])
    except (OSError, ValueError):
      pass
  outputs.write_file_atomically(
      path, json.dumps(record, indent=2, default=str).encode())


def read_summary(run_dir):
  """A run's summary.json as a dict, or None if it has none (or is bad)."""
  path = os.path.join(run_dir, 'summary.json')
  try:
    with open(path, encoding='utf-8') as f:
      summary = json.load(f)
  except (OSError, ValueError):
    return None
  return summary if isinstance(summary, dict) else None


def is_complete(trial):
  """Whether the trial's run finished: a summary of enough steps."""
  summary = read_summary(trial.run_dir)
  return bool(summary) and summary.get('env_steps', 0) >= (
      trial.settings.training_steps)


def steps_done(trial):
  """Environment steps of the trial's newest checkpoint (0 if none)."""
  if is_complete(trial):
    return trial.settings.training_steps
  paths = checkpointer.list_checkpoints(
      checkpointer.checkpoint_root(trial.run_dir))
  if not paths:
    return 0
  return int(os.path.basename(paths[-1]).rpartition('-')[2])


class Progress:
  """Trial states and the ETA of what is left.

  The rate is environment steps per second of one trial, measured on this
  invocation's trials (finished ones, then running ones by their newest
  checkpoint); the ETA is the steps left over all unfinished trials, at
  that rate, `slots` trials at a time.

  Args:
    trials: list of Trial.
    slots: trials that run at once (CPUs / CPUs per trial).
    clock: time function (tests give their own).
  """

  def __init__(self, trials, slots, clock=time.monotonic):
    self.trials = {t.name: t for t in trials}
    self.slots = max(1, slots)
    self.state = {t.name: PENDING for t in trials}
    self.errors = {}
    self._clock = clock
    self._started = {}
    self._start_steps = {}
    self._finished = {}  # name -> (steps run, seconds)
    self._steps = {t.name: 0 for t in trials}

  def mark(self, name, state, error=None, steps=None):
    """Records a trial's new state (and its error, or steps reached)."""
    now = self._clock()
    self.state[name] = state
    if state == RUNNING:
      self._started[name] = now
      self._start_steps[name] = self._steps[name] if steps is None else steps
    if steps is not None:
      self._steps[name] = steps
    if state == DONE:
      self._steps[name] = self.trials[name].settings.training_steps
      if name in self._started:
        self._finished[name] = (
            self._steps[name] - self._start_steps[name],
            now - self._started[name])
    if state == FAILED:
      self.errors[name] = error

  def set_steps(self, name, steps):
    self._steps[name] = steps

  def counts(self):
    return {s: sum(1 for v in self.state.values() if v == s) for s in STATES}

  def rate(self):
    """Steps per second of one trial, or None before anything is known."""
    if self._finished:
      steps = sum(s for s, _ in self._finished.values())
      seconds = sum(t for _, t in self._finished.values())
    else:
      now = self._clock()
      pairs = [(self._steps[n] - self._start_steps[n], now - t)
               for n, t in self._started.items() if self.state[n] == RUNNING]
      steps = sum(s for s, _ in pairs)
      seconds = sum(t for _, t in pairs)
    return steps / seconds if steps > 0 and seconds > 0 else None

  def eta(self):
    """Seconds until every unfinished trial is done, or None if unknown."""
    left = [self.trials[n].settings.training_steps - self._steps[n]
            for n, s in self.state.items() if s in (PENDING, RUNNING)]
    if not left:
      return 0.0
    rate = self.rate()
    if rate is None:
      return None
    parallel = min(self.slots, len(left))
    return sum(max(s, 0) for s in left) / rate / parallel

  def line(self):
    counts = self.counts()
    return (f'sweep: {counts[DONE]}/{len(self.state)} done, '
            f'{counts[RUNNING]} running, {counts[PENDING]} pending, '
            f'{counts[FAILED]} failed; ETA '
            f'{durations.format_duration(self.eta())}')
