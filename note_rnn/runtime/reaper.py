"""Ends a process's descendants when it dies, even by `kill -9`.

A process that starts helpers of its own (a local Ray: its GCS, raylet,
agents and worker processes) cleans them up when it exits normally or is
interrupted; killed with SIGKILL it runs no code, and the helpers live on
(Ray's for about a minute, its workers still writing). `start()` starts
a small watcher process, this file run as a script (it imports nothing of
the project, nor TensorFlow), in a session of its own so that Ctrl-C or a
closed terminal does not reach it. Every INTERVAL_S while the process
lives the watcher notes its descendants; once it is gone it kills, with
SIGKILL, those still running (each checked by its start time, so a reused
process id is never hit) and exits. `Reaper.release()` tells it the helpers were
ended properly: it exits and kills nothing.

Linux only (it reads /proc); elsewhere `start` returns None.
"""

import os
import select
import signal
import subprocess
import sys

# Seconds between two looks at the watched process's descendants: a helper
# started less than this before the watched process died may be missed.
INTERVAL_S = 0.25
# What `Reaper.release` writes to the watcher.
_RELEASE = b'release\n'


def _stat(pid):
  """(state, parent pid, start time in clock ticks) of a process, or None."""
  try:
    with open(f'/proc/{pid}/stat', 'rb') as f:
      data = f.read()
  except OSError:
    return None
  # The command name (field 2) may hold spaces and ')': fields follow the
  # last ')'.
  fields = data[data.rindex(b')') + 2:].split()
  return fields[0].decode(), int(fields[1]), int(fields[19])


def _alive(pid, start):
  """Whether `pid` is still the process that started at `start`."""
  stat = _stat(pid)
  return stat is not None and stat[2] == start and stat[0] not in ('Z', 'X')


def _children(pid):
  """Pids of the children of `pid`, from each of its threads' list."""
  found = []
  try:
    threads = os.listdir(f'/proc/{pid}/task')
  except OSError:
    return found
  for thread in threads:
    try:
      with open(f'/proc/{pid}/task/{thread}/children', 'rb') as f:
        found.extend(int(child) for child in f.read().split())
    except OSError:
      pass
  return found


def _all_children():
  """dict pid -> its children's pids, from every process's parent."""
  children = {}
  for name in os.listdir('/proc'):
    stat = _stat(int(name)) if name.isdigit() else None
    if stat is not None:
      children.setdefault(stat[1], []).append(int(name))
  return children


def descendants(root):
  """dict pid -> start time of every living descendant of process `root`."""
  # A process's children lists (Linux 3.5+) cost a few reads per process
  # of the tree; without them every process on the machine is read.
  if os.path.exists(f'/proc/{os.getpid()}/task/{os.getpid()}/children'):
    children_of = _children
  else:
    children_of = _all_children().get
  found, todo = {}, [root]
  while todo:
    for child in children_of(todo.pop()) or ():
      stat = _stat(child)
      if child not in found and stat is not None:
        found[child] = stat[2]
        todo.append(child)
  return found


def kill(processes):
  """SIGKILLs each process of {pid: start time} that is still that process.

  Returns:
    Sorted pids signalled.
  """
  killed = []
  for pid, start in processes.items():
    if _alive(pid, start):
      try:
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
      except OSError:
        pass
  return sorted(killed)


def watch(pid, stream, interval=INTERVAL_S):
  """Watches `pid` until it releases the watcher or dies (then reaps).

  Args:
    pid: the watched process.
    stream: binary stream the watched process holds the writing end of:
      `_RELEASE` on it means nothing is to be killed; its end (the process
      died, whatever the signal) or `pid` gone means reap.
    interval: seconds between looks at the descendants.

  Returns:
    Pids killed (empty when released).
  """
  stat = _stat(pid)
  if stat is None:
    return []
  start, me, known = stat[2], os.getpid(), {}
  while True:
    ready, _, _ = select.select([stream], [], [], interval)
    if ready:
      line = stream.readline()
      if line == _RELEASE:
        return []
      if not line:
        break
    if not _alive(pid, start):
      break
    known = {p: s for p, s in known.items() if _alive(p, s)}
    known.update(descendants(pid))
    known.pop(me, None)
  return kill(known)


class Reaper:
  """The watcher of a process; `release()` when its helpers ended properly.

  Args:
    process: the watcher's subprocess.Popen.
  """

  def __init__(self, process):
    self.process = process

  def release(self):
    """Tells the watcher to exit without killing anything; waits for it."""
    try:
      self.process.stdin.write(_RELEASE)
      self.process.stdin.close()
      self.process.wait(timeout=10)
    except (OSError, ValueError, subprocess.TimeoutExpired):
      pass


def start():
  """Starts the watcher of this process.

  Returns:
    A Reaper, or None where /proc is missing.
  """
  pid = os.getpid()
  if not os.path.isdir('/proc') or _stat(pid) is None:
    return None
  process = subprocess.Popen(  # pylint: disable=consider-using-with
      [sys.executable, os.path.abspath(__file__), str(pid)],
      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL, start_new_session=True)
  return Reaper(process)


if __name__ == '__main__':
  watch(int(sys.argv[1]), sys.stdin.buffer)
