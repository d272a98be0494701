"""Helpers for tests of the tools' one-line errors about their outputs.

A read-only output folder cannot be made by chmod alone where the tests run
as root (root writes anyway), so `run_as_nobody` runs a tool as user nobody
over a folder from `read_only_dir`. Python and its packages may live where
nobody cannot read (under /root): the child imports the tool as root, drops
to nobody, and only then runs its main(), as `app.run` does.
"""

import contextlib
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
import script_testing

NOBODY = 65534
# Exit status of the child when it cannot become nobody.
_CANNOT_SETUID = 77
# Lines TensorFlow, absl and XLA print at start-up.
_NOISE_PREFIXES = ('I0000', 'W0000', 'E0000')
_NOISE_TEXT = ('cuda', 'oneDNN', 'TF_ENABLE', 'absl::InitializeLog')

_DROP_AND_RUN = script_testing.LOAD_TOOL_IN_CHILD + """
from absl import app
try:
  os.setgroups([])
  os.setgid(%(uid)d)
  os.setuid(%(uid)d)
except OSError:
  sys.exit(%(cannot)d)
app.run(module.main)
""" % {'uid': NOBODY, 'cannot': _CANNOT_SETUID}


def error_lines(stderr):
  """The lines of `stderr` left once start-up noise is dropped."""
  return [line for line in stderr.splitlines()
          if line.strip() and not line.startswith(_NOISE_PREFIXES)
          and not any(text in line for text in _NOISE_TEXT)]


def assert_one_line_error(rc, stderr, tool, *names):
  """Exit 2 and exactly one `tool: error:` line naming each of `names`."""
  lines = error_lines(stderr)
  assert rc == 2, stderr[-3000:]
  assert len(lines) == 1, stderr[-3000:]
  assert lines[0].startswith(f'{tool}: error: '), lines
  for name in names:
    assert str(name) in lines[0], (name, lines[0])
  assert 'Traceback' not in stderr
  return lines[0]


def snapshot(path):
  """{relative path: bytes, or None for a folder} under `path`; None if absent.

  Two snapshots are equal when nothing was added, removed or changed.
  """
  path = pathlib.Path(path)
  if not os.path.lexists(path):
    return None
  if not path.is_dir():
    return {'.': path.read_bytes()}
  found = {}
  for item in sorted(path.rglob('*')):
    relative = str(item.relative_to(path))
    found[relative] = None if item.is_dir() else item.read_bytes()
  return found


@contextlib.contextmanager
def read_only_dir():
  """Yields (parent, folder): `folder` read-only (0555), holding `kept.txt`.

  Both are under /tmp, readable and traversable by all (a pytest tmp_path is
  private to root), so a child running as nobody reaches them; `parent`
  stays writable by root only, for what a test puts beside `folder`.
  """
  parent = pathlib.Path(tempfile.mkdtemp(prefix='read_only_output_',
                                         dir='/tmp'))
  parent.chmod(0o755)
  folder = parent / 'read_only'
  folder.mkdir()
  (folder / 'kept.txt').write_text('kept\n')
  (folder / 'kept.txt').chmod(0o644)
  folder.chmod(0o555)
  try:
    yield parent, folder
  finally:
    folder.chmod(0o755)
    shutil.rmtree(parent, ignore_errors=True)


def make_traversable(path):
  """Lets others read `path` (a file or folder tree) and reach it."""
  path = pathlib.Path(path)
  items = [path] + (list(path.rglob('*')) if path.is_dir() else [])
  for item in items:
    mode = item.stat().st_mode
    extra = stat.S_IROTH | (stat.S_IXOTH if item.is_dir() else 0)
    item.chmod(mode | extra)


def run_as_nobody(script, args, cwd, timeout=120):
  """Runs a bin/ tool as user nobody (as is, when not root).

  Returns:
    (exit status, stdout, stderr).
  """
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  if os.geteuid() == 0:
    command = [sys.executable, '-c', _DROP_AND_RUN, str(script)]
  else:
    command = [sys.executable, str(script)]
  result = subprocess.run(command + [str(a) for a in args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
  if os.geteuid() == 0 and result.returncode == _CANNOT_SETUID:
    pytest.skip('cannot switch to user nobody here')
  return result.returncode, result.stdout, result.stderr
