"""How a sweep's failed trial reads: one line, and whether it stops the sweep.

A trial that finds the disk full or whose worker process dies stops the
sweep (`failure_cause`): the driver ends with one line naming the trial and
the cause (`stop_line`) and exit 2; complete trials are kept and the others
resume from their last checkpoint when the same command runs again. Other
errors fail their trial alone.
"""

import errno
import os
import re

from note_rnn.runtime import outputs
from rl_tuner.experiments import sweep

# Causes of a trial's failure that stop the sweep (`failure_cause`).
DISK_FULL = 'disk full'
CRASHED = 'crashed'
# What Ray says of a trial whose worker process died.
_DEAD_WORKER_TEXT = ('ActorDiedError', 'RayActorError', 'WorkerCrashedError',
                     'actor died unexpectedly', 'worker process has died')


def error_line(error):
  """One line for a trial's error: 'Type: message' of the original exception.

  A full disk is said in the C library's words (TensorFlow's message
  around them names a temporary file); a dead worker process in a few.

  Args:
    error: an exception (a Ray error's cause is used), or the text of a
      traceback (its last line), or None.
  """
  if error is None:
    return None
  if isinstance(error, BaseException):
    cause = getattr(error, 'cause', None)
    if isinstance(cause, BaseException):
      error = cause
    name = type(error).__name__
    text = str(error)
  else:
    name, text = None, str(error)
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  # A traceback's last line is the exception; a message's first line says
  # what went wrong.
  line = (lines[0] if name else lines[-1]) if lines else ''
  head, sep, rest = line.partition(': ')
  if sep and re.fullmatch(r'[\w.]+', head):
    name, line = head.rpartition('.')[2], rest
  if outputs.is_disk_full(RuntimeError(line)):
    quota = os.strerror(errno.EDQUOT)
    line = quota if quota in line else os.strerror(errno.ENOSPC)
  elif any(t in f'{name} {" ".join(lines)}' for t in _DEAD_WORKER_TEXT):
    name = name or 'ActorDiedError'
    line = ('its worker process died (killed, out of memory, or a fault in '
            'native code)')
  if not name:
    return line or 'unknown error'
  return f'{name}: {line}' if line else name


def failure_cause(error):
  """DISK_FULL, CRASHED or None: whether a trial's error stops the sweep.

  Args:
    error: a trial's error line (`error_line`), or None.
  """
  if not error:
    return None
  if outputs.is_disk_full(RuntimeError(error)):
    return DISK_FULL
  if 'its worker process died' in error:
    return CRASHED
  return None


def stop_line(outcome, output_dir):
  """The one line of a sweep stopped by a full disk or a dead worker.

  Args:
    outcome: dict trial name -> {'state', 'error'} (in the plan's order).
    output_dir: the sweep's folder (trial folders and logs are named
      relative to it).

  Returns:
    The line naming the first such trial and its cause, or None if no
    trial stopped the sweep.
  """
  stopping = [(name, failure_cause(o.get('error')), o['error'])
              for name, o in outcome.items()
              if o.get('state') == sweep.FAILED and failure_cause(
                  o.get('error'))]
  if not stopping:
    return None
  name, cause, error = stopping[0]
  log = os.path.join(sweep.LOGS_DIR, name + '.log')
  if cause == DISK_FULL:
    where = os.path.join(output_dir, sweep.TRIALS_DIR, name)
    line = (f'trial {name}: disk full while writing {where} ({error}); '
            'free space and run the same command again: complete trials '
            'are kept, the others resume from their last checkpoint')
  else:
    line = (f'trial {name} crashed: {error} (its log: {log}); run the '
            'same command again to resume it from its last checkpoint '
            '(complete trials are kept)')
  others = sum(1 for o in outcome.values() if o.get('state') == sweep.FAILED)
  if others > 1:
    line += f'; {others - 1} other trial(s) failed too'
  return line
