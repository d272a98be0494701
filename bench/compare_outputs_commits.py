r"""Checks that two commits give byte-identical outputs from the same seed.

  python bench/compare_outputs_commits.py --base=HEAD~1 \
      [--current=<commit>] [--runs=quickstart,g] [--keep_dir=/tmp/cmp]

Proof that a refactor changed no behaviour: the same training runs, with the
same seeds, go through bin/rl_tuner_train.py in both trees, and every output
whose bytes are deterministic is compared: Table 1 (table1.json, table1.md),
the reward histories (<algorithm>.npz), every MIDI file (top level and
samples/), music_theory_stats.txt, summary.json without its clock times,
and every other output (checkpoints and their replay files, WAV, plots,
report.html without its training time, the tuned Note RNN) but the
TensorBoard logs (SKIPPED). Two runs of one commit give these same bytes;
the VOLATILE_* constants list the few values that do not. Against an older
commit, what a newer one changed on purpose is not a difference: a file on
one side only listed in ONE_SIDE_ONLY (the replay a finished run drops
unless --keep_replay) is reported as skipped, and a setting of
ADDED_SETTINGS at its added value is left out of summary.json and
report.html.

The base commit is checked out into a temporary git worktree. "Current" is
the working tree of the repository this script lives in, uncommitted
changes included, unless --current names a commit (then it gets a worktree
too). The working tree is copied at the start (its tracked and untracked
files, not the ignored ones): edits made while the runs go change neither
side, and nothing is written into it. Each run is a fresh
`python bin/rl_tuner_train.py` with cwd and PYTHONPATH set to its tree; the
trees take turns, one run at a time (the current tree first, as the likelier
one to fail). Both trees' runs write into the same folder path, each moved
aside afterwards, so that paths written into the outputs (summary.json's
settings.output_dir, report.html) are the same on both sides and compared
too; with --keep_dir they stay in <keep_dir>/base/ and <keep_dir>/current/
(their output_dir reads <keep_dir>/run/<run>), with each run's log beside
them.

Prints one line per file (`same` or `DIFFERENT: reason`), then a summary;
exits 0 only if every compared file is identical on both sides, 1 otherwise
(a difference, a file on one side only, or a run that failed).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

from absl import app
from absl import flags
import numpy as np

flags.DEFINE_string('base', 'HEAD~1', 'Commit to compare against.')
flags.DEFINE_string('current', None,
                    'Commit to compare; default: the working tree of this '
                    'repository, uncommitted changes included.')
flags.DEFINE_list('runs', ['quickstart', 'g'],
                  'Training runs to make in both trees (names in RUNS).')
flags.DEFINE_string('keep_dir', None,
                    'Folder to keep both trees\' outputs and logs in '
                    '(created; must be empty if it exists); default: a '
                    'temporary folder removed at the end.')
FLAGS = flags.FLAGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = 'compare_outputs_commits'
# Run name -> bin/rl_tuner_train.py arguments (besides --output_dir).
RUNS = {
    # The README's main job, exactly.
    'quickstart': ['--flagfile=configs/quickstart.flags'],
    # The paper's G-learning run cut to 20-30 s here: four evaluations and
    # checkpoints (every 5,000 of 20,000 steps, half of them exploring), the
    # XLA-compiled updates the config sets, 4 melodies side by side, and
    # Table 1 statistics of 500 compositions; seed 1, not the default 0.
    'g': ['--flagfile=configs/paper_g.flags', '--training_steps=20000',
          '--exploration_steps=10000', '--output_every_nth=5000',
          '--num_stat_compositions=500', '--num_parallel_melodies=4',
          '--seed=1'],
}
# What differs between two runs of the same commit with the same seed (found
# by running one commit in two worktrees, both runs of both jobs): all else
# of these files, and every other output but SKIPPED, was byte-identical.
# summary.json fields (paths of nested keys): seconds measured by the clock.
# The output folder's path (settings.output_dir) is the same on both sides
# (see _compare_trees), so it is compared, not left out.
VOLATILE_SUMMARY_FIELDS = (
    ('train_seconds_this_run',),
    ('wall_seconds_this_run',),
)
# Each checkpoint's training_state.json: the wall-clock time of the save
# (which rolls the TensorBoard log back on resume).
VOLATILE_TRAINING_STATE_FIELDS = (
    ('saved_wall_time',),
)
# Training-state keys added on purpose -> why: on one side only, they are no
# difference; on both, they are compared.
ADDED_TRAINING_STATE_FIELDS = {
    'settings': 'the settings a --resume must match (issue 28)',
}
# report.html: the sentence giving summary.json's train_seconds_this_run.
VOLATILE_REPORT_TEXT = (
    rb"[0-9.]+ s of training in this run's last command",
)
# Outputs not compared (folder prefix or file name, relative to the run's
# output folder) -> why.
SKIPPED = {
    'tensorboard/': 'TensorBoard event files hold wall-clock times, and '
                    'their names the time, host and process id',
}
# Outputs that may be on one side only (folder prefix or file name) -> why:
# what one commit writes, or drops, on purpose and the other not. On both
# sides they are compared as any other file.
ONE_SIDE_ONLY = {
    'checkpoints/replay/': 'replay dropped at the end of a run unless '
                           '--keep_replay',
    'checkpoints/replay_dropped.json': 'replay dropped at the end of a run '
                                       'unless --keep_replay',
}
# Settings added to TrainSettings on purpose, with the value that writes
# what older commits wrote: absent on one side and at that value on the
# other, they are no difference (summary.json's settings, report.html's
# settings table).
ADDED_SETTINGS = {
    'keep_replay': False,
}
# Last lines of a failed run's log (its stdout and stderr, in order) shown in
# the one-line error.
STDERR_TAIL_LINES = 3
# Seconds between "still running" lines.
PROGRESS_EVERY_S = 30


class CompareError(Exception):
  """A tree could not be set up or a run failed; the message is one line."""


def _git(*args):
  result = subprocess.run(['git', '-C', REPO, *args], capture_output=True,
                          text=True, check=False)
  if result.returncode:
    raise CompareError(f'git {" ".join(args)}: '
                       f'{_tail(result.stderr) or "failed"}')
  return result.stdout.strip()


def _tail(text, lines=STDERR_TAIL_LINES):
  kept = [line.strip() for line in text.splitlines() if line.strip()]
  return ' | '.join(kept[-lines:])


def _describe(commit):
  """(full sha, '<short sha> (<name>)') of a commit name; it must exist."""
  try:
    sha = _git('rev-parse', '--verify', '--quiet', f'{commit}^{{commit}}')
  except CompareError:
    raise CompareError(f'no commit {commit!r} in {REPO}') from None
  short = _git('rev-parse', '--short', sha)
  return sha, short if short == commit else f'{short} ({commit})'


def _snapshot_working_tree(destination):
  """Copies the repository's tracked and untracked, not ignored, files."""
  listed = _git('ls-files', '-z', '--cached', '--others', '--exclude-standard')
  copied = 0
  for relative in filter(None, listed.split('\0')):
    source = os.path.join(REPO, relative)
    if not os.path.isfile(source):  # Deleted, not yet staged; a submodule.
      continue
    target = os.path.join(destination, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(source, target, follow_symlinks=False)
    copied += 1
  return copied


def _check_imports(label, tree, env):
  """Fails unless the packages would be imported from `tree` itself."""
  code = ('import importlib.util\n'
          'for name in ("rl_tuner", "note_rnn"):\n'
          '  print(importlib.util.find_spec(name).origin)\n')
  result = subprocess.run([sys.executable, '-c', code], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
  if result.returncode:
    raise CompareError(f'{label} tree {tree}: cannot locate its packages: '
                       f'{_tail(result.stderr)}')
  for origin in result.stdout.split():
    if not os.path.realpath(origin).startswith(os.path.realpath(tree) +
                                               os.sep):
      raise CompareError(f'{label} tree {tree} would import {origin}, '
                         'outside the tree')


def _train(label, tree, run, output_dir, log_path):
  """Runs one training job in `tree`; raises CompareError if it fails."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=tree)
  _check_imports(label, tree, env)
  command = [sys.executable, os.path.join('bin', 'rl_tuner_train.py'),
             *RUNS[run], f'--output_dir={output_dir}']
  print(f'[{label}] {run}: running in {tree}', flush=True)
  start = time.time()
  with open(log_path, 'w', encoding='utf-8') as log:
    process = subprocess.Popen(command, cwd=tree, env=env, stdout=log,
                               stderr=subprocess.STDOUT, text=True)
    while True:
      try:
        returncode = process.wait(timeout=PROGRESS_EVERY_S)
        break
      except subprocess.TimeoutExpired:
        print(f'[{label}] {run}: still running, {time.time() - start:.0f} s',
              flush=True)
  seconds = time.time() - start
  if returncode:
    with open(log_path, encoding='utf-8', errors='replace') as log:
      tail = _tail(log.read())
    log_note = f'; log {log_path}' if FLAGS.keep_dir else ''
    raise CompareError(f'{label} tree: run {run!r} failed (exit {returncode} '
                       f'after {seconds:.1f} s{log_note}): {tail}')
  print(f'[{label}] {run}: done in {seconds:.1f} s', flush=True)


def _files(folder):
  found = set()
  for root, _, names in os.walk(folder):
    for name in names:
      found.add(os.path.relpath(os.path.join(root, name), folder))
  return found


def _skip_reason(relative, table=None):
  for prefix, reason in (SKIPPED if table is None else table).items():
    if relative == prefix or relative.startswith(prefix):
      return reason
  return None


def _without_added_settings(base, current):
  """Drops each ADDED_SETTINGS entry of summary.json's settings that one
  side lacks and the other has at its added value."""
  for one, other in ((base, current), (current, base)):
    settings = one.get('settings')
    others = other.get('settings')
    if not isinstance(settings, dict) or not isinstance(others, dict):
      continue
    for name, value in ADDED_SETTINGS.items():
      if name not in others and settings.get(name, not value) == value:
        del settings[name]


def _added_setting_rows():
  """Regexes of report.html's settings-table rows of ADDED_SETTINGS at
  their added values (left out before comparing)."""
  return [rb'\n[ \t]*<tr><td><code>--' + re.escape(name.encode()) +
          rb'</code></td><td>' + re.escape(str(value).encode()) +
          rb'</td></tr>' for name, value in ADDED_SETTINGS.items()]


def _without(values, fields):
  """A copy of JSON `values` without the nested keys in `fields`."""
  values = json.loads(json.dumps(values))
  for path in fields:
    parent = values
    for key in path[:-1]:
      parent = parent.get(key, {}) if isinstance(parent, dict) else {}
    if isinstance(parent, dict):
      parent.pop(path[-1], None)
  return values


def _first_json_difference(a, b, where=''):
  if type(a) is not type(b):
    return f'{where or "top level"}: {type(a).__name__} vs {type(b).__name__}'
  if isinstance(a, dict):
    for key in sorted(set(a) | set(b)):
      if key not in a or key not in b:
        return f'key {where}{key} only in {"current" if key in b else "base"}'
      found = _first_json_difference(a[key], b[key], f'{where}{key}.')
      if found:
        return found
    return None
  if isinstance(a, list):
    if len(a) != len(b):
      return f'{where.rstrip(".")}: length {len(a)} vs {len(b)}'
    for i, (x, y) in enumerate(zip(a, b)):
      found = _first_json_difference(x, y, f'{where}{i}.')
      if found:
        return found
    return None
  if a != b:
    return f'{where.rstrip(".")}: {a!r} vs {b!r}'
  return None


def _compare_json(base_path, current_path, volatile, summary=False,
                  added=()):
  """The first difference of two JSON files; keys in `added` that one side
  lacks are left out of the other."""
  with open(base_path, encoding='utf-8') as f:
    base = _without(json.load(f), volatile)
  with open(current_path, encoding='utf-8') as f:
    current = _without(json.load(f), volatile)
  if summary:
    _without_added_settings(base, current)
  for key in added:
    if isinstance(base, dict) and isinstance(current, dict) and (
        (key in base) != (key in current)):
      base.pop(key, None)
      current.pop(key, None)
  return _first_json_difference(base, current)


def _compare_npz(base_path, current_path):
  # Array by array: the zip archive's member timestamps are the time of
  # writing, so equal arrays need not give equal .npz bytes.
  with np.load(base_path, allow_pickle=False) as base, \
      np.load(current_path, allow_pickle=False) as current:
    if sorted(base.files) != sorted(current.files):
      return (f'arrays {sorted(set(base.files) - set(current.files))} only '
              f'in base, {sorted(set(current.files) - set(base.files))} only '
              'in current')
    for name in sorted(base.files):
      a, b = base[name], current[name]
      if a.dtype != b.dtype:
        return f'array {name}: dtype {a.dtype} vs {b.dtype}'
      if a.shape != b.shape:
        return f'array {name}: shape {a.shape} vs {b.shape}'
      if a.tobytes() != b.tobytes():
        unequal = int(np.sum(a != b)) if a.dtype.kind in 'biufc' else None
        detail = f' ({unequal} of {a.size} elements)' if unequal else ''
        return f'array {name}: values differ{detail}'
  return None


def _compare_bytes(base_path, current_path, volatile=(), removed=()):
  """Compares the bytes, each match of a regex in `volatile` masked and of
  one in `removed` left out."""
  with open(base_path, 'rb') as f:
    base = f.read()
  with open(current_path, 'rb') as f:
    current = f.read()
  for pattern in volatile:
    base = re.sub(pattern, b'<masked>', base)
    current = re.sub(pattern, b'<masked>', current)
  for pattern in removed:
    base = re.sub(pattern, b'', base)
    current = re.sub(pattern, b'', current)
  if base == current:
    return None
  try:
    base_lines = base.decode('utf-8').splitlines()
    current_lines = current.decode('utf-8').splitlines()
  except UnicodeDecodeError:
    size = (f'{len(base)} vs {len(current)} bytes' if len(base) != len(current)
            else f'both {len(base)} bytes')
    first = next((i for i, (x, y) in enumerate(zip(base, current)) if x != y),
                 min(len(base), len(current)))
    return f'bytes differ from offset {first} ({size})'
  for number, (x, y) in enumerate(zip(base_lines, current_lines), 1):
    if x != y:
      return f'line {number}: {x.strip()[:70]!r} vs {y.strip()[:70]!r}'
  return f'{len(base_lines)} vs {len(current_lines)} lines'


def _compare_file(relative, base_path, current_path):
  """None if the two files are equal, else why not (one line)."""
  name = os.path.basename(relative)
  try:
    if relative == 'summary.json':
      return _compare_json(base_path, current_path, VOLATILE_SUMMARY_FIELDS,
                           summary=True)
    if name == 'training_state.json':
      return _compare_json(base_path, current_path,
                           VOLATILE_TRAINING_STATE_FIELDS,
                           added=ADDED_TRAINING_STATE_FIELDS)
    if name.endswith('.npz'):
      return _compare_npz(base_path, current_path)
    if relative == 'report.html':
      return _compare_bytes(base_path, current_path, VOLATILE_REPORT_TEXT,
                            removed=_added_setting_rows())
    return _compare_bytes(base_path, current_path)
  except (OSError, ValueError, zipfile.BadZipFile) as e:
    return f'unreadable: {type(e).__name__}: {e}'


def _compare_run(run, base_dir, current_dir):
  """Prints one line per file; returns (compared, not equal, skipped)."""
  base_files, current_files = _files(base_dir), _files(current_dir)
  compared = unequal = skipped = 0
  for relative in sorted(base_files | current_files):
    shown = f'{run}/{relative}'
    reason = _skip_reason(relative)
    if not reason and (relative not in base_files or
                       relative not in current_files):
      reason = _skip_reason(relative, ONE_SIDE_ONLY)
    if reason:
      print(f'{shown}: skipped ({reason})')
      skipped += 1
      continue
    compared += 1
    if relative not in current_files or relative not in base_files:
      side = 'base' if relative in base_files else 'current'
      difference = f'only in {side}'
    else:
      difference = _compare_file(relative, os.path.join(base_dir, relative),
                                 os.path.join(current_dir, relative))
    if difference:
      unequal += 1
      print(f'{shown}: DIFFERENT: {difference}')
    else:
      print(f'{shown}: same')
  return compared, unequal, skipped


def _compare_trees(trees, work):
  """Runs every run in both trees and compares; returns the exit status."""
  total_compared = total_unequal = total_skipped = 0
  staging = os.path.join(work, 'run')
  for run in FLAGS.runs:
    for label, tree in trees:
      os.makedirs(os.path.join(work, label), exist_ok=True)
      output_dir = os.path.join(staging, run)
      _train(label, tree, run, output_dir,
             os.path.join(work, label, f'{run}.log'))
      os.rename(output_dir, os.path.join(work, label, run))
    compared, unequal, skipped = _compare_run(
        run, os.path.join(work, 'base', run),
        os.path.join(work, 'current', run))
    total_compared += compared
    total_unequal += unequal
    total_skipped += skipped
  if os.path.isdir(staging):
    os.rmdir(staging)
  verdict = ('all identical' if not total_unequal
             else f'{total_unequal} DIFFERENT')
  print(f'{TOOL}: {total_compared} files compared over runs '
        f'{",".join(FLAGS.runs)} ({total_skipped} skipped): {verdict}')
  return 1 if total_unequal else 0


def _main():
  unknown = [run for run in FLAGS.runs if run not in RUNS]
  if unknown:
    raise CompareError(f'unknown run(s) {unknown}; known: {sorted(RUNS)}')
  base_sha, base_name = _describe(FLAGS.base)
  if FLAGS.current:
    current_sha, current_name = _describe(FLAGS.current)
  else:
    current_sha, current_name = None, f'working tree of {REPO}'
  print(f'base: {base_name}; current: {current_name}', flush=True)
  if FLAGS.keep_dir:
    kept = os.path.abspath(FLAGS.keep_dir)
    if os.path.exists(kept) and os.listdir(kept):
      raise CompareError(f'--keep_dir={kept} exists and is not empty')
    os.makedirs(kept, exist_ok=True)
  start = time.time()
  with tempfile.TemporaryDirectory(prefix=f'{TOOL}_') as tmp:
    work = kept if FLAGS.keep_dir else os.path.join(tmp, 'outputs')
    trees = [('current', os.path.join(tmp, 'current')),
             ('base', os.path.join(tmp, 'base'))]
    if not current_sha:
      copied = _snapshot_working_tree(trees[0][1])
      print(f'[current] copied {copied} files of {REPO} to {trees[0][1]}',
            flush=True)
    added = []
    try:
      for (label, tree), sha in zip(trees, (current_sha, base_sha)):
        if sha:
          _git('worktree', 'add', '--detach', tree, sha)
          added.append(tree)
          print(f'[{label}] worktree {tree}', flush=True)
      status = _compare_trees(trees, work)
    finally:
      for tree in added:
        subprocess.run(['git', '-C', REPO, 'worktree', 'remove', '--force',
                        tree], check=False, capture_output=True)
  where = f'; outputs kept in {kept}' if FLAGS.keep_dir else ''
  print(f'{TOOL}: {time.time() - start:.0f} s in all{where}')
  return status


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    return _main()
  except (CompareError, OSError) as e:
    print(f'{TOOL}: error: {e}', file=sys.stderr)
    return 1


if __name__ == '__main__':
  app.run(main)
