"""Helpers for tests that load a bin/ script in-process."""

import contextlib
import importlib.util

from absl import flags

FLAGS = flags.FLAGS

# Start of a `python -c` child that loads the tool sys.argv[1] as `module`
# (its arguments then sys.argv[2:]) without running it; the caller appends
# what to change and how to run it.
LOAD_TOOL_IN_CHILD = """
import importlib.util, os, signal, sys
script = sys.argv[1]
sys.argv = [script] + sys.argv[2:]
sys.path.insert(0, os.path.dirname(script))
spec = importlib.util.spec_from_file_location('tool_under_test', script)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""


@contextlib.contextmanager
def isolated_script(path, name):
  """Loads a bin script as a module, its absl flags shadowing clashing ones.

  Several bin scripts define flags of one name (--seed, --output_dir) in the
  global FLAGS; while the returned module is in use its flags replace the
  others, which are put back afterwards.
  """
  before = dict(FLAGS._flags())  # pylint: disable=protected-access
  overridable = {flag: flag.allow_override for flag in before.values()}
  for flag in overridable:
    flag.allow_override = True
  try:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  finally:
    for flag, allow in overridable.items():
      flag.allow_override = allow
  after = FLAGS._flags()  # pylint: disable=protected-access
  defined = [n for n, flag in after.items() if before.get(n) is not flag]
  try:
    yield module
  finally:
    for flag_name in defined:
      if flag_name in FLAGS:
        delattr(FLAGS, flag_name)
      if flag_name in before:
        FLAGS[flag_name] = before[flag_name]


@contextlib.contextmanager
def read_only_dir(parent):
  """Yields a directory under `parent` that this process cannot write into.

  Not as root: a folder with mode 0555. As root (who writes through any
  mode): a read-only tmpfs mounted there, unmounted afterwards; a test
  skips only where root may not mount.
  """
  import os  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top

  import pytest  # pylint: disable=g-import-not-at-top
  path = os.path.join(str(parent), 'read_only')
  os.makedirs(path, exist_ok=True)
  if os.geteuid() != 0:
    os.chmod(path, 0o555)
    try:
      yield path
    finally:
      os.chmod(path, 0o755)
    return
  mounted = subprocess.run(
      ['mount', '-t', 'tmpfs', '-o', 'ro,size=1m', 'none', path],
      capture_output=True, text=True, check=False)
  if mounted.returncode != 0:
    pytest.skip(f'root cannot mount a read-only tmpfs here: '
                f'{mounted.stderr.strip()}')
  try:
    yield path
  finally:
    subprocess.run(['umount', path], check=False)
