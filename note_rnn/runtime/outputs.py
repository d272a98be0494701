"""Where the tools write: locations checked up front, atomic files, disk full.

Every command-line tool checks its output location before it reads a model
or an input (`check_output_dir`), so a run that cannot write fails in a
second with one line and leaves nothing behind. Files are written through a
temporary name and a rename (`write_file_atomically`), so a reader never
sees half a file; temporaries a killed run left are removed on the next
start (`remove_stale_temporaries`). A full disk is recognised whichever
library raised it (`is_disk_full`) and reported in one line.
"""

import errno
import os
import shutil
import tempfile

# Prefix of every temporary file or folder the tools write.
TMP_PREFIX = '.tmp-'

_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_DISK_FULL_TEXT = ('No space left on device', 'Disk quota exceeded')


class OutputError(ValueError):
  """An output location that cannot be used; the message names the path."""


def _nearest_existing(path):
  """`path` itself or its nearest ancestor that exists."""
  while not os.path.lexists(path):
    parent = os.path.dirname(path)
    if parent == path:
      break
    path = parent
  return path


def check_output_dir(path, flag='--output_dir'):
  """Checks that `path` is, or can be made, a directory this process writes.

  Creates nothing: where `path` does not exist yet, its nearest existing
  ancestor is checked instead (a probe file is made there and removed, so a
  read-only file system or a missing permission is found even for root).

  Args:
    path: the directory a tool will write into.
    flag: the flag or argument name that gave `path`, for the message.

  Raises:
    OutputError: naming the flag and path, e.g. '--output_dir=runs/q: is a
      file, not a directory'.
  """
  if not path:
    raise OutputError(f'{flag} is required')
  absolute = os.path.abspath(path)
  existing = _nearest_existing(absolute)
  where = f'{flag}={path}'
  if not os.path.isdir(existing):
    if existing == absolute:
      raise OutputError(f'{where}: is a file, not a directory')
    raise OutputError(f'{where}: {existing} is a file, not a directory')
  try:
    fd, probe = tempfile.mkstemp(dir=existing, prefix=TMP_PREFIX + 'probe-')
  except OSError as e:
    reason = e.strerror or str(e)
    if existing == absolute:
      raise OutputError(f'{where}: cannot write there ({reason})') from e
    raise OutputError(f'{where}: cannot create it in {existing} '
                      f'({reason})') from e
  os.close(fd)
  os.remove(probe)


def write_file_atomically(path, data):
  """Writes bytes to `path` through a temporary file and a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=TMP_PREFIX,
                             suffix=os.path.basename(path))
  try:
    with os.fdopen(fd, 'wb') as f:
      f.write(data)
    # mkstemp creates the file private (0600); give it the usual umask mode.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


# Prefix of the temporary folder `write_files_together` writes into.
STAGING_PREFIX = TMP_PREFIX + 'writing-'


def _missing_dirs(path):
  """The folders `os.makedirs(path)` would create, deepest first."""
  missing = []
  path = os.path.abspath(path)
  while not os.path.lexists(path):
    missing.append(path)
    parent = os.path.dirname(path)
    if parent == path:
      break
    path = parent
  return missing


def write_files_together(output_dir, writers):
  """Writes files into `output_dir` all together, or leaves it as it was.

  Each file is written into a temporary folder inside `output_dir`; once
  all are complete they are renamed into place. On any failure (a full
  disk) the temporary folder, and `output_dir` itself with the parents
  this call created, are removed, so `output_dir` is as it was: absent, or
  holding its former files. Temporary folders a killed call left in
  `output_dir` are removed first (other temporaries there are left alone:
  they may be another tool's, still writing).

  Args:
    output_dir: destination folder; created here, just before the first
      file is written.
    writers: (file name, function writing that file to the path it is
      given) pairs.

  Returns:
    List of what each writer returned.
  """
  created = _missing_dirs(output_dir)
  staging = None
  try:
    os.makedirs(output_dir, exist_ok=True)
    remove_stale_temporaries(output_dir, (STAGING_PREFIX,))
    staging = tempfile.mkdtemp(dir=output_dir, prefix=STAGING_PREFIX)
    results = [write(os.path.join(staging, name)) for name, write in writers]
    for name, _ in writers:
      os.replace(os.path.join(staging, name), os.path.join(output_dir, name))
  except BaseException:
    if staging:
      shutil.rmtree(staging, ignore_errors=True)
    for directory in created:
      try:
        os.rmdir(directory)
      except OSError:
        break  # Not empty (or gone): keep it and its parents.
    raise
  shutil.rmtree(staging, ignore_errors=True)
  return results


def remove_stale_temporaries(directory, prefixes=(TMP_PREFIX,)):
  """Deletes files and folders in `directory` named with one of `prefixes`.

  Temporaries are renamed into place when complete, so any still there were
  left by a run that was killed. Call at the start of a run only.

  Returns:
    The names removed, sorted.
  """
  if not os.path.isdir(directory):
    return []
  removed = []
  for entry in sorted(os.listdir(directory)):
    if not entry.startswith(tuple(prefixes)):
      continue
    path = os.path.join(directory, entry)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      try:
        os.remove(path)
      except OSError:
        continue
    removed.append(entry)
  return removed


def is_disk_full(error):
  """Whether `error` (or one it was raised from) means the disk is full.

  Covers OSError ENOSPC / EDQUOT and TensorFlow's errors, which carry the
  C library's text ('No space left on device') in their message.
  """
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
      return True
    if any(text in str(error) for text in _DISK_FULL_TEXT):
      return True
    error = error.__cause__ or error.__context__
  return False


def disk_full_message(where, resumable=True):
  """The one line a tool prints when the disk filled under `where`."""
  message = f'disk full while writing {where}'
  if resumable:
    message += ('; free space and run the same command with --resume: '
                'the last complete checkpoint is intact')
  return message
