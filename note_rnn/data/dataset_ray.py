"""The dataset job's tasks as Ray tasks: one machine's cores or a cluster's.

`run_tasks` is `note_rnn.data.dataset_runner.run_tasks` on Ray: the same
tasks (`note_rnn.data.dataset_tasks`: one per file, or per chunk of
NoteSequence records), the same worker entry point, results in task order,
so the melodies, the statistics and the train/eval split are those of the
local runner for the same input and seed. A task whose worker process dies
is retried once by Ray; if it dies again it is split when it can be (a
chunk of records, one task per record), else it fails as `worker_crashed`,
as locally.

The input files must be readable at the same path on every node (a shared
file system) when Ray runs on a cluster.
"""

import contextlib
import logging
import os

from note_rnn.data import dataset_tasks

# Ray (the optional 'sweep' extra) is imported by the functions that run
# tasks on it: without it, the local runner still works.

# Ray's retries of a task whose worker process died.
RETRIES_ON_CRASH = 1
# Tasks in flight per CPU (bounds the driver's memory for huge corpora).
TASKS_IN_FLIGHT_PER_CPU = 4
INSTALL_COMMAND = "pip install -e '.[sweep]'"


class RayMissingError(ImportError):
  """Ray is not installed; the message gives the install command."""


def import_ray():
  """Imports ray, or raises RayMissingError naming the install command."""
  try:
    # Imported here: Ray is optional, and heavy.
    import ray  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  except ImportError as e:
    raise RayMissingError('--runner=ray needs Ray (an optional extra): '
                          f'{INSTALL_COMMAND}') from e
  return ray


@contextlib.contextmanager
def ray_session(ray_address=None, num_cpus=None):
  """Ray for the block (joined if running, else started); yields its CPUs."""
  ray = import_ray()
  logging.getLogger('ray').setLevel(logging.ERROR)
  started = False
  if not ray.is_initialized():
    address = ray_address or os.environ.get('RAY_ADDRESS') or None
    kwargs = dict(include_dashboard=False, log_to_driver=False,
                  configure_logging=False)
    if address:
      ray.init(address=address, **kwargs)
    else:
      ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
    started = True
  try:
    yield int(ray.cluster_resources().get('CPU', 1))
  finally:
    if started:
      ray.shutdown()


def _crashed(ray, error):
  """Whether a task's error means its worker process died."""
  kinds = tuple(getattr(ray.exceptions, name) for name in (
      'WorkerCrashedError', 'OutOfMemoryError', 'NodeDiedError')
                if hasattr(ray.exceptions, name))
  return isinstance(error, kinds)


def run_tasks(tasks, progress, run_task=dataset_tasks.run_task, on_crash=None,
              split_task=None, ray_address=None, num_cpus=None):
  """Runs the tasks as Ray tasks; returns their results in task order.

  Args:
    tasks: iterable of (units, task), as for dataset_runner.run_tasks.
    progress: dataset_tasks.Progress.
    run_task: module-level function of one task (importable by workers).
    on_crash: function of a task giving the result of one whose worker died
      twice; None raises the Ray error then.
    split_task: function of a task giving [(units, task)] parts, or None.
    ray_address: cluster to join (default RAY_ADDRESS, else a local Ray).
    num_cpus: CPUs of a local Ray (default every CPU).

  Returns:
    List of results in task order; a split task's parts in its place.
  """
  with ray_session(ray_address, num_cpus) as cpus:
    ray = import_ray()
    remote = ray.remote(max_retries=RETRIES_ON_CRASH)(run_task)
    limit = max(1, cpus) * TASKS_IN_FLIGHT_PER_CPU
    by_index = {}
    pending = {}  # ObjectRef -> (index tuple, units, task)
    queue = []  # (index, units, task): parts of split tasks, first.
    task_iter = (((i,), units, task) for i, (units, task) in
                 enumerate(tasks))
    exhausted = False
    while pending or queue or not exhausted:
      while len(pending) < limit and (queue or not exhausted):
        if queue:
          entry = queue.pop(0)
        else:
          entry = next(task_iter, None)
          if entry is None:
            exhausted = True
            break
        pending[remote.remote(entry[2])] = entry
      if not pending:
        break
      done, _ = ray.wait(list(pending), num_returns=1)
      for ref in done:
        index, units, task = pending.pop(ref)
        try:
          by_index[index] = ray.get(ref)
        except Exception as e:  # pylint: disable=broad-except
          if not _crashed(ray, e):
            raise
          parts = split_task(task) if split_task is not None else None
          if parts:
            queue[:0] = [(index + (j,), part_units, part)
                         for j, (part_units, part) in enumerate(parts)]
            continue
          if on_crash is None:
            raise
          by_index[index] = on_crash(task)
        progress.advance(units)
    return [by_index[i] for i in sorted(by_index)]
