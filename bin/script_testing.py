"""Helpers for tests that load a bin/ script in-process."""

import contextlib
import importlib.util

from absl import flags

FLAGS = flags.FLAGS


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
