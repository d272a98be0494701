"""Runs a sweep's trials on Ray Tune, on this machine or on a cluster.

`run_trials` hands the trials of `rl_tuner.sweep.plan` to Ray Tune, one
Tune trial each, `cpus_per_trial` CPUs apiece (Tune runs as many at once as
the CPUs allow). Each runs `train_trial` in its own Ray worker process:
TensorFlow's thread pools sized to its CPUs before TensorFlow does any
work, then `train_run.run`, the entry of `bin/rl_tuner_train.py`, into the
trial's run directory (resuming from its checkpoints). A trial that fails is
reported with its error and the others go on. A progress line (done,
running, pending, failed, ETA) is written as trials start and end, and
every PROGRESS_INTERVAL_S in between.

Two failures stop the sweep with one line (`SweepStoppedError`): a trial
that finds the disk full (the sweep then ends its other trials, as Ctrl-C
does, and starts no more) and a trial whose worker process died (killed,
out of memory, a fault in native code). Tune's own bookkeeping may then be
unreadable (written to the same full disk); the sweep goes by what it saw
of each trial instead. A local Ray started here is shut down when the
sweep ends or is interrupted (Ctrl-C, `kill`), and its processes are
killed by `note_rnn.runtime.reaper` when the sweep is killed with
`kill -9`, so a re-run never overlaps the trials of the one before.

Ray starts locally unless `ray_address` (or RAY_ADDRESS) names a cluster;
then the sweep's output directory must be a path every node sees (a shared
file system), as the run directories are read back at the end, and the
project must be importable on every node (installed, or the same checkout
path).
"""

import contextlib
import errno
import logging
import os
import pickle
import signal
import sys
import time

from note_rnn.runtime import outputs
from note_rnn.runtime import reaper
from rl_tuner.experiments import reproduction
from rl_tuner.experiments import sweep
from rl_tuner.experiments import sweep_failures
from rl_tuner.experiments import sweep_results
from rl_tuner.experiments import train_run
from rl_tuner.run import settings as settings_lib

# Ray and TensorFlow are imported by the functions that use them (Ray is
# the optional 'sweep' extra; each trial sets TensorFlow's threads first).

# Tune's own bookkeeping (per-trial result.json, error.txt), in the sweep
# folder.
TUNE_DIR = 'ray_tune'
# Seconds between progress lines on a log / on a terminal.
PROGRESS_INTERVAL_S = 30.0
PROGRESS_INTERVAL_TTY_S = 2.0
# Ray's loggers, quietened: the sweep writes its own lines.
RAY_LOGGERS = ('ray', 'ray.tune', 'ray.train', 'ray.air', 'ray.data')


class SweepStoppedError(Exception):
  """A trial found the disk full or its worker died; str() is one line."""


def limit_threads(num_threads):
  """Sizes TensorFlow's thread pools (and BLAS's) to `num_threads`.

  Must run before TensorFlow executes anything in this process; if it
  already has, the pools stay as they are (a warning says so).

  Returns:
    (inter-op threads, intra-op threads) in force.
  """
  for variable in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                   'OPENBLAS_NUM_THREADS'):
    os.environ[variable] = str(num_threads)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  threading = tf.config.threading
  if (threading.get_inter_op_parallelism_threads(),
      threading.get_intra_op_parallelism_threads()) != (num_threads,
                                                        num_threads):
    try:
      threading.set_inter_op_parallelism_threads(num_threads)
      threading.set_intra_op_parallelism_threads(num_threads)
    except RuntimeError as e:
      logging.warning('TensorFlow is already running; its thread pools '
                      'stay as they are (%s)', e)
  return (tf.config.threading.get_inter_op_parallelism_threads(),
          tf.config.threading.get_intra_op_parallelism_threads())


def _log_to_file(path):
  """Sends this process's INFO log lines to `path` (a trial's log)."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  handler = logging.FileHandler(path)
  handler.setFormatter(logging.Formatter(
      '%(asctime)s %(levelname)s %(message)s'))
  root = logging.getLogger()
  root.addHandler(handler)
  root.setLevel(logging.INFO)
  return handler


def train_trial(config):
  """Tune's trainable: one training run in this Ray worker process.

  Args:
    config: {'trial': {'name', 'settings' (TrainSettings.to_dict()),
      'threads', 'log_path', 'cwd'}}.
  """
  spec = config['trial']
  # Relative paths in the settings mean what they meant to the command.
  if spec.get('cwd') and os.path.isdir(spec['cwd']):
    os.chdir(spec['cwd'])
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  threads = limit_threads(spec['threads'])
  handler = _log_to_file(spec['log_path'])
  # Ray: imported where it runs, to keep the tools' --help fast.
  from ray import tune  # pylint: disable=g-import-not-at-top
  try:
    logging.info('Trial %s in process %d; TensorFlow threads inter %d, '
                 'intra %d', spec['name'], os.getpid(), *threads)
    start = time.time()
    summary = train_run.run(
        settings_lib.TrainSettings.from_dict(spec['settings']))
    logging.info('Trial %s done: %d environment steps in %.1f s',
                 spec['name'], summary['env_steps'], time.time() - start)
  except Exception as e:
    logging.exception('Trial %s failed', spec['name'])
    if outputs.is_disk_full(e) and not outputs.is_disk_full(
        RuntimeError(str(e))):
      # The sweep sees only the error's text (Ray passes it on): say so.
      raise OSError(errno.ENOSPC, f'{os.strerror(errno.ENOSPC)} '
                    f'({sweep_failures.error_line(e)})') from e
    raise
  finally:
    logging.getLogger().removeHandler(handler)
    handler.close()
  tune.report({'env_steps': summary['env_steps'],
               'trial_seconds': time.time() - start,
               'inter_op_threads': threads[0],
               'intra_op_threads': threads[1],
               'pid': os.getpid()})


def _trial_error(trial):
  """The error line of a Tune trial that just failed (its local error file)."""
  path = trial.error_file
  try:
    with open(path, encoding='utf-8', errors='replace') as f:
      return sweep_failures.error_line(f.read())
  except (OSError, TypeError):
    return 'failed (see its log)'


def _drop_unhandled_errors(record):
  """Drops Ray's 'Unhandled error' lines: the error of a trial Tune had
  already stopped (its log has it)."""
  return not record.getMessage().startswith('Unhandled error')


def _init_ray(ray, ray_address, num_cpus):
  """Starts (or joins) Ray; returns whether this call started it."""
  # Tune logs each failure's traceback (the trial's log has it; the sweep
  # prints its one line) and a note on the local cluster's token.
  logging.getLogger('ray').setLevel(logging.ERROR)
  worker_logger = logging.getLogger('ray._private.worker')
  if _drop_unhandled_errors not in worker_logger.filters:
    worker_logger.addFilter(_drop_unhandled_errors)
  for name in RAY_LOGGERS[1:]:
    logging.getLogger(name).setLevel(logging.CRITICAL)
  if ray.is_initialized():
    return False
  address = ray_address or os.environ.get('RAY_ADDRESS') or None
  env_vars = {'TF_CPP_MIN_LOG_LEVEL':
              os.environ.get('TF_CPP_MIN_LOG_LEVEL', '3')}
  repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  path = [repo_root] + [p for p in os.environ.get('PYTHONPATH', '').split(
      os.pathsep) if p and p != repo_root]
  env_vars['PYTHONPATH'] = os.pathsep.join(path)
  kwargs = dict(include_dashboard=False, log_to_driver=False,
                configure_logging=False, runtime_env={'env_vars': env_vars})
  if address:
    ray.init(address=address, **kwargs)
  else:
    ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
  return True


@contextlib.contextmanager
def ray_session(ray_address=None, num_cpus=None, cpus_per_trial=1):
  """Ray for the block: joined if running, else started (and shut down).

  Yields:
    The CPUs Ray has.

  Raises:
    sweep.RayMissingError: Ray is not installed.
    sweep.UsageError: a trial needs more CPUs than Ray has.
  """
  ray = sweep.import_ray()
  # Ray started here is this process's children: the reaper kills them if
  # this process is killed (kill -9) before it shuts Ray down. A cluster's
  # Ray ends the trials of a driver that is gone on its own.
  watcher = (reaper.start() if not ray.is_initialized() and not (
      ray_address or os.environ.get('RAY_ADDRESS')) else None)
  started = _init_ray(ray, ray_address, num_cpus)
  try:
    cpus = ray.cluster_resources().get('CPU', 0)
    if cpus_per_trial > cpus:
      raise sweep.UsageError(f'--cpus_per_trial={cpus_per_trial} but Ray '
                             f'has {cpus:g} CPUs')
    yield cpus
  finally:
    if started:
      ray.shutdown()
    if watcher:
      watcher.release()


class _Reporter:
  """Writes trial events and the progress line to a stream."""

  def __init__(self, progress, stream, output_dir):
    self.progress = progress
    self.stream = stream
    self.output_dir = output_dir
    self._tty = bool(stream is not None and getattr(stream, 'isatty', None)
                     and stream.isatty())
    self._last = time.monotonic()

  def __getstate__(self):
    # Tune pickles its callbacks with the experiment's state; a stream
    # (a terminal, pytest's capture) does not pickle and is not needed there.
    return dict(self.__dict__, stream=None)

  def say(self, text):
    if self.stream is None:
      return
    self.stream.write(text + '\n')
    self.stream.flush()

  def event(self, text):
    self.say(f'{text}  [{self.progress.line()}]')
    self._last = time.monotonic()

  def tick(self):
    interval = PROGRESS_INTERVAL_TTY_S if self._tty else PROGRESS_INTERVAL_S
    if time.monotonic() - self._last < interval:
      return
    for name, state in self.progress.state.items():
      if state == sweep.RUNNING:
        self.progress.set_steps(
            name, sweep.steps_done(self.progress.trials[name]))
    self.say(self.progress.line())
    self._last = time.monotonic()


def _callback(tune, reporter, log_paths, seen, stop):
  """A Tune callback that feeds `reporter` (built here: Tune is optional).

  Args:
    tune: the ray.tune module.
    reporter: the _Reporter of the progress lines.
    log_paths: dict trial name -> its log.
    seen: dict trial name -> {'state', 'error'}, filled here as trials end:
      what the sweep saw, in case Tune's own record cannot be read back.
    stop: dict whose 'all' is set here when a trial finds the disk full.
  """
  progress = reporter.progress

  def name_of(trial):
    return trial.config['trial']['name']

  class ProgressCallback(tune.Callback):
    """Trial starts, ends and errors, and a periodic progress line."""

    def on_trial_start(self, iteration, trials, trial, **info):
      del iteration, trials, info
      name = name_of(trial)
      steps = sweep.steps_done(progress.trials[name])
      progress.mark(name, sweep.RUNNING, steps=steps)
      resumed = f' (resuming at step {steps:,})' if steps else ''
      reporter.event(f'trial {name} started{resumed}')

    def on_trial_complete(self, iteration, trials, trial, **info):
      del iteration, trials, info
      name = name_of(trial)
      if (trial.last_result or {}).get('env_steps') is None:
        # Stopped before its end (Ctrl-C, or another trial's full disk).
        progress.mark(name, sweep.PENDING)
        seen[name] = {'state': sweep.PENDING, 'error': None}
        return
      progress.mark(name, sweep.DONE)
      seen[name] = {'state': sweep.DONE, 'error': None}
      seconds = (trial.last_result or {}).get('trial_seconds')
      took = f' in {seconds:.0f} s' if seconds is not None else ''
      reporter.event(f'trial {name} done{took}')

    def on_trial_error(self, iteration, trials, trial, **info):
      del iteration, trials, info
      name = name_of(trial)
      error = _trial_error(trial)
      progress.mark(name, sweep.FAILED, error=error)
      seen[name] = {'state': sweep.FAILED, 'error': error}
      if sweep_failures.failure_cause(error) == sweep_failures.DISK_FULL:
        stop['all'] = True  # The other trials would fail the same way.
      log = os.path.relpath(log_paths[name], reporter.output_dir)
      reporter.event(f'trial {name} FAILED: {error} (log: {log})')

    def on_step_end(self, iteration, trials, **info):
      del iteration, trials, info
      reporter.tick()

  return ProgressCallback()


def _stopper(tune, stop):
  """A Tune stopper that ends every trial once `stop['all']` is set."""

  class StopAll(tune.Stopper):

    def __call__(self, trial_id, result):
      del trial_id, result
      return False

    def stop_all(self):
      return stop['all']

  return StopAll()


def run_trials(trials, output_dir, kept=(), cpus_per_trial=1,
               ray_address=None, num_cpus=None, max_concurrent_trials=0,
               stream=None, trainable=None):
  """Runs the trials on Ray Tune; returns what became of each.

  Args:
    trials: the sweep.Trial to run (not those already complete).
    output_dir: the sweep's folder (logs/ and ray_tune/ go there).
    kept: complete trials, counted as done in the progress line.
    cpus_per_trial: CPUs Tune gives a trial; TensorFlow's pools match.
    ray_address: cluster to join (default RAY_ADDRESS, else local Ray).
    num_cpus: CPUs of a local Ray (default every CPU).
    max_concurrent_trials: at most this many at once (0: as CPUs allow).
    stream: where progress lines go (default sys.stderr).
    trainable: the Tune function (default train_trial; tests wrap it).

  Returns:
    dict trial name -> {'state': DONE, FAILED or PENDING (interrupted, or
    stopped because another trial found the disk full), 'error': one line
    or None}.

  Raises:
    sweep.RayMissingError: Ray is not installed.
    sweep.UsageError: a trial needs more CPUs than Ray has.
    SweepStoppedError: the disk filled under Tune's own record of the
      trials (no trial's error says so).
  """
  output_dir = os.path.abspath(output_dir)
  stream = sys.stderr if stream is None else stream
  with ray_session(ray_address, num_cpus, cpus_per_trial) as cpus:
    from ray import tune  # pylint: disable=g-import-not-at-top
    slots = int(cpus // cpus_per_trial)
    if max_concurrent_trials:
      slots = min(slots, max_concurrent_trials)
    progress = sweep.Progress(list(kept) + list(trials), slots)
    for trial in kept:
      progress.mark(trial.name, sweep.DONE)
    reporter = _Reporter(progress, stream, output_dir)
    if not trials:
      reporter.say(progress.line())
      return {}
    log_paths = {t.name: os.path.join(output_dir, sweep.LOGS_DIR,
                                      t.name + '.log') for t in trials}
    reporter.say(
        f'sweep: {len(trials)} trial(s) to run ({len(kept)} already done), '
        f'{slots} at a time, {cpus_per_trial} CPU(s) and TensorFlow '
        f'thread(s) each; logs in {os.path.join(output_dir, sweep.LOGS_DIR)}')
    seen, stop = {}, {'all': False}
    specs = [{'name': t.name, 'settings': t.settings.to_dict(),
              'threads': int(cpus_per_trial), 'log_path': log_paths[t.name],
              'cwd': os.getcwd()} for t in trials]
    tuner = tune.Tuner(
        tune.with_resources(trainable or train_trial,
                            {'cpu': cpus_per_trial}),
        param_space={'trial': tune.grid_search(specs)},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=max_concurrent_trials or None,
            # A finished trial's worker process (TensorFlow imported, its
            # pools sized) runs the next trial.
            reuse_actors=True,
            trial_dirname_creator=lambda t: t.config['trial']['name'],
            trial_name_creator=lambda t: t.config['trial']['name']),
        run_config=tune.RunConfig(
            name='tune', storage_path=os.path.join(output_dir, TUNE_DIR),
            verbose=0, stop=_stopper(tune, stop),
            callbacks=[_callback(tune, reporter, log_paths, seen, stop)],
            failure_config=tune.FailureConfig(max_failures=0,
                                              fail_fast=False)))
    # A plain `kill` stops the sweep as Ctrl-C does: Tune ends the trials
    # (their checkpoints stay) and Ray shuts down.
    previous = signal.signal(
        signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
      results = tuner.fit()
    except KeyboardInterrupt:  # A second Ctrl-C, during Tune's clean-up.
      results = []
    except Exception as e:  # pylint: disable=broad-except
      # Tune's record of the trials, on a full disk, may be unwritable or
      # unreadable (an empty pickle of an error): go by what was seen.
      if not (outputs.is_disk_full(e) or isinstance(e, (
          EOFError, pickle.UnpicklingError)) or stop['all']):
        raise
      if outputs.is_disk_full(e) and not stop['all']:
        # Tune could not write its own record: no trial can say so.
        raise SweepStoppedError(
            f'disk full while writing {os.path.join(output_dir, TUNE_DIR)} '
            "(Ray Tune's record of the trials); free space and run the "
            'same command again: complete trials are kept, the others '
            'resume from their last checkpoint') from None
      results = None
    finally:
      signal.signal(signal.SIGTERM, previous)
    outcome = ({} if results is not None else
               {name: dict(o) for name, o in seen.items()})
    for result in results or ():
      if not result.config:  # Never started (the sweep was interrupted).
        continue
      name = result.config['trial']['name']
      if result.error is not None:
        outcome[name] = {'state': sweep.FAILED,
                         'error': sweep_failures.error_line(result.error)}
      elif result.metrics and result.metrics.get('env_steps') is not None:
        outcome[name] = {'state': sweep.DONE, 'error': None}
      else:
        outcome[name] = {'state': sweep.PENDING, 'error': None}
    for trial in trials:
      outcome.setdefault(trial.name, {'state': sweep.PENDING, 'error': None})
      if (outcome[trial.name]['state'] == sweep.PENDING and
          progress.state[trial.name] == sweep.RUNNING):
        progress.mark(trial.name, sweep.PENDING)  # Stopped unfinished.
    reporter.say(progress.line())
    return outcome


def run_sweep(base, axes, output_dir, cpus_per_trial=1, ray_address=None,
              num_cpus=None, max_concurrent_trials=0, stream=None,
              trainable=None, command_line=None):
  """Plans, runs (on Ray) and summarises a sweep; returns sweep.json's record.

  Every trial's settings are checked, and Ray's presence, before anything
  is written. Trials whose run is complete are kept, not run again; the
  others run, resuming from their checkpoints. The results
  (`rl_tuner.sweep_results`) are written even when some trials failed or
  the sweep was interrupted (those trials are listed as such).

  Args:
    base: TrainSettings every trial starts from.
    axes: dict setting -> values (see sweep.plan).
    output_dir: the sweep's folder.
    cpus_per_trial, ray_address, num_cpus, max_concurrent_trials, stream,
      trainable: as for `run_trials`.
    command_line: recorded in sweep.json.

  Raises:
    sweep.UsageError: a setting that cannot work, an unusable output_dir,
      a folder holding another sweep, Ray missing.
    SweepStoppedError: a trial found the disk full or its worker process
      died (`stop_line`); the results are written first where the disk
      allows, and complete trials are kept for the next run.
  """
  if cpus_per_trial < 1:
    raise sweep.UsageError(f'--cpus_per_trial must be >= 1, got '
                           f'{cpus_per_trial}')
  if not output_dir:
    raise sweep.UsageError('--output_dir is required')
  try:
    outputs.check_output_dir(output_dir, '--output_dir')
  except outputs.OutputError as e:
    raise sweep.UsageError(str(e)) from e
  sweep.import_ray()
  output_dir = os.path.abspath(output_dir)
  trials = sweep.plan(base, axes, output_dir)
  sweep.check_against_plan(output_dir, trials)
  start = time.time()
  with ray_session(ray_address, num_cpus, cpus_per_trial):
    os.makedirs(output_dir, exist_ok=True)
    sweep.write_plan(output_dir, trials, axes)
    kept = [t for t in trials if sweep.is_complete(t)]
    todo = [t for t in trials if t not in kept]
    outcome = run_trials(todo, output_dir, kept=kept,
                         cpus_per_trial=cpus_per_trial,
                         max_concurrent_trials=max_concurrent_trials,
                         stream=stream, trainable=trainable)
  wall = time.time() - start
  for trial in kept:
    outcome[trial.name] = {'state': sweep.DONE, 'error': None, 'kept': True}
  stopped = sweep_failures.stop_line({t.name: outcome[t.name] for t in trials
                       if t.name in outcome}, output_dir)
  try:
    record = sweep_results.write_results(output_dir, trials, outcome, extra={
        'command': command_line,
        'axes': {k: list(v) for k, v in axes.items()},
        'trials_kept_from_before': [t.name for t in kept],
        'trials_run_now': [t.name for t in todo],
        'cpus_per_trial': cpus_per_trial,
        'wall_seconds_this_run': wall,
    })
  except Exception as e:  # pylint: disable=broad-except
    if not (stopped and outputs.is_disk_full(e)):
      raise
    record = None  # The trial's line says why; raised below, unchained.
  if stopped:
    raise SweepStoppedError(stopped)
  return record


def train_reproduction_runs(algorithms, output_dir, configs_dir, overrides,
                            cpus_per_trial=1, ray_address=None,
                            num_cpus=None, stream=None, seeds=None):
  """Trains `rl_tuner_reproduce`'s models side by side on Ray.

  Each (algorithm, seed) run goes where `reproduction.train_all` puts it
  (`reproduction.run_dir`: <output_dir>/<algorithm> with one seed,
  <output_dir>/<algorithm>/seed_<n> with several; the paper's settings <
  `overrides`), so the reproduction that follows finds the runs complete
  and only evaluates. seeds: default [overrides['seed'] or 0].

  Returns:
    Names of the runs trained now ('q', or 'q_seed_1' with several seeds).

  Raises:
    sweep.UsageError: a run failed (the message names it and its error),
      or the runs were interrupted.
  """
  seeds = reproduction.check_arguments(
      algorithms, 1, seeds if seeds is not None else
      [overrides.get('seed') or 0])
  trials = []
  for seed in seeds:
    for algorithm in algorithms:
      # The folder as the caller spelled it: trials run in the caller's
      # working directory, and the run's summary (which the reproduction's
      # record copies) then names no machine path.
      run_dir = reproduction.run_dir(output_dir, algorithm, seed, seeds)
      settings = reproduction.run_settings(algorithm, configs_dir, dict(
          overrides, seed=seed, output_dir=run_dir, resume=True,
          num_stat_compositions=0))
      settings_lib.resolve(settings)  # Raises UsageError naming a setting.
      name = algorithm if len(seeds) == 1 else f'{algorithm}_seed_{seed}'
      trials.append(sweep.Trial(name, settings, {'algorithm': algorithm,
                                                 'seed': seed}))
  kept = [t for t in trials if sweep.is_complete(t)]
  todo = [t for t in trials if t not in kept]
  outcome = run_trials(todo, output_dir, kept=kept,
                       cpus_per_trial=cpus_per_trial,
                       ray_address=ray_address, num_cpus=num_cpus,
                       stream=stream)
  failed = {name: o['error'] for name, o in outcome.items()
            if o['state'] != sweep.DONE}
  if failed:
    raise sweep.UsageError('runs not complete on Ray: ' + '; '.join(
        f'{name}: {error or "interrupted"}' for name, error in
        failed.items()) + ' (logs in ' + os.path.join(output_dir,
                                                      sweep.LOGS_DIR) + ')')
  return [t.name for t in todo]
