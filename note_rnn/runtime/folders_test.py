"""Tests of note_rnn.runtime.folders."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from note_rnn.runtime import folders
from note_rnn.runtime import outputs

PREFIX = '.thing.tmp-'


def _write_tree(folder, files):
  for name, text in files.items():
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _tree(folder):
  """{relative path: text} of every file under `folder`."""
  folder = pathlib.Path(folder)
  return {str(p.relative_to(folder)): p.read_text()
          for p in sorted(folder.rglob('*')) if p.is_file()}


NEW = {'a.txt': 'new a', 'sub/b.txt': 'new b'}
OLD = {'a.txt': 'old a', 'only_old.txt': 'old'}
OLDER = {'older.txt': 'older'}


def test_staged_folder_creates_a_missing_folder(tmp_path):
  path = tmp_path / 'deep' / 'thing'
  with folders.staged_folder(path, PREFIX) as staging:
    _write_tree(pathlib.Path(staging), NEW)
    assert not path.exists()
  assert _tree(path) == NEW
  assert os.listdir(tmp_path / 'deep') == ['thing']


def test_staged_folder_replaces_with_exactly_the_new_contents(tmp_path):
  path = tmp_path / 'thing'
  _write_tree(path, OLD)
  with folders.staged_folder(path, PREFIX) as staging:
    _write_tree(pathlib.Path(staging), NEW)
    assert _tree(path) == OLD  # Untouched until the block ends.
  assert _tree(path) == NEW
  assert os.listdir(tmp_path) == ['thing']


def test_previous_keeps_the_replaced_folder_and_drops_the_older(tmp_path):
  path, previous = tmp_path / 'thing', tmp_path / 'thing.previous'
  _write_tree(path, OLD)
  _write_tree(previous, OLDER)
  with folders.staged_folder(path, PREFIX, previous) as staging:
    _write_tree(pathlib.Path(staging), NEW)
  assert (_tree(path), _tree(previous)) == (NEW, OLD)
  assert sorted(os.listdir(tmp_path)) == ['thing', 'thing.previous']
  # Nothing to keep: `previous` stays as it is.
  (tmp_path / 'other.previous').mkdir()
  with folders.staged_folder(tmp_path / 'other', PREFIX,
                             tmp_path / 'other.previous') as staging:
    _write_tree(pathlib.Path(staging), NEW)
  assert _tree(tmp_path / 'other') == NEW
  assert not os.listdir(tmp_path / 'other.previous')


def test_an_error_in_the_block_leaves_everything_as_it_was(tmp_path):
  path = tmp_path / 'thing'
  _write_tree(path, OLD)
  with pytest.raises(OSError, match='disk full'):
    with folders.staged_folder(path, PREFIX) as staging:
      _write_tree(pathlib.Path(staging), NEW)
      raise OSError('disk full')
  assert _tree(path) == OLD
  assert os.listdir(tmp_path) == ['thing']


@pytest.mark.parametrize('keep_previous', [False, True])
def test_a_failed_rename_puts_the_old_folders_back(tmp_path, monkeypatch,
                                                   keep_previous):
  path, previous = tmp_path / 'thing', tmp_path / 'thing.previous'
  _write_tree(path, OLD)
  _write_tree(previous, OLDER)
  rename = os.rename

  def failing_rename(source, target):
    name = os.path.basename(source)
    if (name.startswith(PREFIX) and not name.endswith(folders.OLD_SUFFIX)
        and target == str(path)):
      raise OSError('cannot rename')
    rename(source, target)

  monkeypatch.setattr(os, 'rename', failing_rename)
  with pytest.raises(OSError, match='cannot rename'):
    with folders.staged_folder(
        str(path), PREFIX, str(previous) if keep_previous else None) as staging:
      _write_tree(pathlib.Path(staging), NEW)
  assert (_tree(path), _tree(previous)) == (OLD, OLDER)
  assert sorted(os.listdir(tmp_path)) == ['thing', 'thing.previous']


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_files_and_folders_are_synced_before_the_rename(tmp_path,
                                                        monkeypatch):
  path = tmp_path / 'thing'
  _write_tree(path, OLD)
  events = []
  fsync, rename = os.fsync, os.rename

  def recording_fsync(fd):
    events.append(('sync', os.readlink(f'/proc/self/fd/{fd}')))
    fsync(fd)

  def recording_rename(source, target):
    events.append(('rename', str(source), str(target)))
    rename(source, target)

  monkeypatch.setattr(os, 'fsync', recording_fsync)
  monkeypatch.setattr(os, 'rename', recording_rename)
  with folders.staged_folder(str(path), PREFIX) as staging:
    _write_tree(pathlib.Path(staging), NEW)
  into_place = events.index(('rename', staging, str(path)))
  real = os.path.realpath
  synced = {event[1] for event in events[:into_place] if event[0] == 'sync'}
  assert {real(os.path.join(staging, name)) for name in NEW} <= synced
  assert {real(staging), real(os.path.join(staging, 'sub'))} <= synced
  # The renames are synced before the replaced folder is deleted.
  assert ('sync', real(tmp_path)) in events[into_place:]
  assert _tree(path) == NEW


# A child that is killed (os._exit) at its `kill_at`-th rename.
_KILLED_CHILD = textwrap.dedent("""
    import os, sys
    from note_rnn.runtime import folders
    path, previous, kill_at = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
    renames = []
    rename = os.rename
    def dying_rename(source, target):
      renames.append(source)
      if len(renames) == kill_at:
        os._exit(9)
      rename(source, target)
    os.rename = dying_rename
    with folders.staged_folder(path, {prefix!r}, previous) as staging:
      with open(os.path.join(staging, 'a.txt'), 'w') as f:
        f.write('new a')
""")


@pytest.mark.parametrize('keep_previous, kill_at', [
    (False, 1), (False, 2), (True, 1), (True, 2), (True, 3)])
def test_a_killed_swap_leaves_a_complete_folder_and_named_temporaries(
    tmp_path, keep_previous, kill_at):
  path, previous = tmp_path / 'thing', tmp_path / 'thing.previous'
  _write_tree(path, OLD)
  if keep_previous:
    _write_tree(previous, OLDER)
  run = subprocess.run(
      [sys.executable, '-c', _KILLED_CHILD.format(prefix=PREFIX), str(path),
       str(previous) if keep_previous else '', str(kill_at)],
      capture_output=True, text=True, timeout=60, check=False)
  assert run.returncode == 9, run.stderr
  leftovers = sorted(name for name in os.listdir(tmp_path)
                     if name.startswith(PREFIX))
  # As documented: `path` is the old folder, or absent with the old folder
  # complete at `previous` or `<staging>-old`; the staging folder is there.
  staging = [n for n in leftovers if not n.endswith(folders.OLD_SUFFIX)]
  assert len(staging) == 1
  assert _tree(tmp_path / staging[0]) == {'a.txt': 'new a'}
  if path.exists():
    assert _tree(path) == OLD
  elif keep_previous:
    assert _tree(previous) == OLD
  else:
    assert _tree(tmp_path / (staging[0] + folders.OLD_SUFFIX)) == OLD
  # Removing the temporaries by their prefix cleans up the rest.
  assert outputs.remove_stale_temporaries(str(tmp_path), (PREFIX,)) == (
      leftovers)
  assert not [n for n in os.listdir(tmp_path) if n.startswith('.')]
