"""Tests of the watcher that ends a dead process's descendants."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from note_rnn.runtime import reaper

pytestmark = pytest.mark.skipif(not os.path.isdir('/proc'),
                                reason='the reaper reads /proc (Linux)')

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

# A parent that starts the reaper and a child with a grandchild, prints
# their pids, then (given 'release') releases the reaper and waits.
PARENT = textwrap.dedent('''
    import subprocess, sys, time
    sys.path.insert(0, {repo!r})
    from note_rnn.runtime import reaper
    watcher = reaper.start()
    child = subprocess.Popen([sys.executable, '-c',
        'import subprocess, sys, time; '
        'g = subprocess.Popen(["sleep", "60"]); '
        'print(g.pid, flush=True); time.sleep(60)'],
        stdout=subprocess.PIPE, text=True)
    grandchild = child.stdout.readline().strip()
    time.sleep(3 * reaper.INTERVAL_S)  # The watcher has seen them.
    if sys.argv[1:] == ['release']:
      watcher.release()
    print(child.pid, grandchild, watcher.process.pid, flush=True)
    time.sleep(60)
''')


def _alive(pid):
  stat = reaper._stat(pid)  # pylint: disable=protected-access
  return stat is not None and stat[0] not in ('Z', 'X')


def _start_parent(*args):
  parent = subprocess.Popen(
      [sys.executable, '-c', PARENT.format(repo=REPO), *args],
      stdout=subprocess.PIPE, text=True)
  pids = [int(p) for p in parent.stdout.readline().split()]
  assert len(pids) == 3, pids
  return parent, pids


def _wait_gone(pids, seconds):
  deadline = time.monotonic() + seconds
  while time.monotonic() < deadline and any(_alive(p) for p in pids):
    time.sleep(0.05)
  return [p for p in pids if _alive(p)]


def test_kill_9_of_a_process_ends_its_children_and_grandchildren_at_once():
  parent, (child, grandchild, watcher) = _start_parent()
  killed_at = time.monotonic()
  os.kill(parent.pid, signal.SIGKILL)
  parent.wait()
  assert _wait_gone([child, grandchild, watcher], 5) == []
  # Within a look or two, not Ray's minute.
  assert time.monotonic() - killed_at < 2


def test_a_released_watcher_exits_and_kills_nothing():
  parent, (child, grandchild, watcher) = _start_parent('release')
  try:
    assert _wait_gone([watcher], 5) == []
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    time.sleep(3 * reaper.INTERVAL_S)
    assert _alive(child) and _alive(grandchild)
  finally:
    for pid in (child, grandchild):
      if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def test_kill_spares_a_process_whose_id_was_reused():
  sleeper = subprocess.Popen(['sleep', '30'])
  try:
    start = reaper.descendants(os.getpid())[sleeper.pid]
    # Same pid, another start time: another process.
    assert reaper.kill({sleeper.pid: start + 1}) == []
    assert sleeper.poll() is None
    assert reaper.kill({sleeper.pid: start}) == [sleeper.pid]
    assert sleeper.wait(timeout=5) == -signal.SIGKILL
  finally:
    if sleeper.poll() is None:
      sleeper.kill()
