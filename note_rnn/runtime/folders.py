"""Replacing a folder by a complete new one, atomically and durably.

A folder that must never be seen half written (a checkpoint, a saved model)
is written into a staging folder beside it and swapped into place by
`replace_folder`; `staged_folder` makes the staging folder, swaps it in when
the block ends, and removes it when the block raises.

Crash guarantees of `replace_folder(staging, path, previous)`, for a kill or
a power loss at any moment (file systems where rename is atomic and fsync
is honoured, e.g. ext4, xfs, APFS):

* The new folder's files and folders are on disk before it is renamed into
  place, so `path` never names a folder with missing or empty files.
* `path` names the complete old folder or the complete new one, except
  between two renames, where it is absent and the old folder is complete
  at `previous` (when given) or at `<staging>-old`.
* Old contents are deleted only once the new folder is in place and its
  rename is on disk.
* Everything else a kill can leave behind is named after the staging
  folder (`<staging>` and `<staging>-old`), so removing temporaries by
  the staging folder's prefix at the next start
  (`outputs.remove_stale_temporaries`) cleans up completely.

An exception (not a kill) while renaming puts the old folder(s) back.
"""

import contextlib
import os
import shutil
import tempfile

# Suffix of the name (the staging folder's, plus this) that a replaced
# folder is renamed to before it is deleted.
OLD_SUFFIX = '-old'


def sync_dir(folder):
  """fsyncs a folder's entries (its file names); ignores what cannot be."""
  try:
    fd = os.open(folder, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass  # Some file systems cannot sync a folder.
  finally:
    os.close(fd)


def sync_tree(folder):
  """fsyncs every file under `folder`, then every folder in it, itself too."""
  for root, _, files in os.walk(folder):
    for name in files:
      fd = os.open(os.path.join(root, name), os.O_RDONLY)
      try:
        os.fsync(fd)
      finally:
        os.close(fd)
    sync_dir(root)


def replace_folder(staging, path, previous=None):
  """Puts the complete folder `staging` at `path`; see the module doc.

  Steps: every file and folder under `staging` is synced to disk; an
  existing `path` is renamed to `previous` when given (what was at
  `previous` going to `<staging>-old` first), else to `<staging>-old`;
  `staging` is renamed to `path`; the parent folder is synced; then
  `<staging>-old` is deleted.

  Args:
    staging: the fully written new folder, in the same folder as `path`
      (so on the same file system), named with a prefix that the caller
      treats as a temporary.
    path: the folder to create or replace.
    previous: optional path, in the same folder, where the replaced `path`
      is kept (a rotation: what was there before is deleted); None deletes
      the replaced folder.

  Raises:
    OSError: syncing or renaming failed; `path` (and `previous`) are then
      as they were and `staging` is left for the caller to remove.
  """
  sync_tree(staging)
  doomed = staging + OLD_SUFFIX
  undo = []  # (from, to) renames done, to be reversed on an error.
  try:
    if os.path.isdir(path):
      aside = doomed
      if previous is not None:
        if os.path.isdir(previous):
          os.rename(previous, doomed)
          undo.append((previous, doomed))
        aside = previous
      os.rename(path, aside)
      undo.append((path, aside))
    os.rename(staging, path)
  except BaseException:
    for source, target in reversed(undo):
      os.rename(target, source)
    raise
  sync_dir(os.path.dirname(os.path.abspath(path)))
  if os.path.lexists(doomed):
    shutil.rmtree(doomed, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(path, prefix, previous=None):
  """A new staging folder for the block; `path` is replaced by it after.

  The staging folder is made in `path`'s folder (created if missing) with
  a unique name starting with `prefix`. When the block ends normally it
  replaces `path` (`replace_folder`); when the block or the replacement
  raises, it is removed and `path` is as it was.

  Args:
    path: the folder to create or replace.
    prefix: name prefix of the staging folder (and of `<staging>-old`);
      the caller's start-up cleanup removes folders named with it.
    previous: as in `replace_folder`.

  Yields:
    The staging folder's path.
  """
  parent = os.path.dirname(os.path.abspath(path))
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(dir=parent, prefix=prefix)
  try:
    yield staging
    replace_folder(staging, path, previous)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
