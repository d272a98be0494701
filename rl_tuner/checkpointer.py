"""RL Tuner checkpoints: networks, optimizer and training state, atomically.

A checkpoint is a directory `<output_dir>/checkpoints/<name>-<env_steps>/`
holding a TensorFlow checkpoint (`ckpt*`: the three networks and Adam) and
`training_state.json` (counters, reward accumulators, histories, the RNG
state, the replay count; the replay itself is in `replay_store` segments).
It is written into a temporary directory and renamed into place, so a crash
leaves the previous checkpoint intact; the newest KEEP are kept. Temporaries
a killed run left are named `.tmp-*` and removed when a run resumes.
"""

import json
import os
import re
import shutil
import tempfile

SUBDIR = 'checkpoints'
KEEP = 3
STATE_FILE = 'training_state.json'
_NAME_RE = re.compile(r'^(?P<name>.+)-(?P<step>\d+)$')


def checkpoint_root(output_dir):
  """Where a run's checkpoints live."""
  return os.path.join(output_dir, SUBDIR)


def list_checkpoints(root):
  """Checkpoint directories in `root`, oldest first (by environment step)."""
  if not os.path.isdir(root):
    return []
  found = []
  for entry in os.listdir(root):
    match = _NAME_RE.match(entry)
    path = os.path.join(root, entry)
    if match and os.path.isfile(os.path.join(path, STATE_FILE)):
      found.append((int(match.group('step')), path))
  return [path for _, path in sorted(found)]


def save(tf_checkpoint, root, name, step, training_state):
  """Writes `<root>/<name>-<step>/` atomically; returns its path.

  Args:
    tf_checkpoint: tf.train.Checkpoint of the networks and optimizer.
    root: the checkpoints directory.
    name: checkpoint name stem (the algorithm).
    step: environment steps so far.
    training_state: JSON-serialisable dict.
  """
  os.makedirs(root, exist_ok=True)
  final = os.path.join(root, f'{name}-{step}')
  staging = tempfile.mkdtemp(dir=root, prefix='.tmp-')
  try:
    tf_checkpoint.write(os.path.join(staging, 'ckpt'))
    with open(os.path.join(staging, STATE_FILE), 'w') as f:
      json.dump(training_state, f)
    replaced = None
    if os.path.isdir(final):  # Same step again (a resumed run's end).
      replaced = tempfile.mkdtemp(dir=root, prefix='.tmp-old-')
      os.replace(final, os.path.join(replaced, 'old'))
    os.replace(staging, final)
    if replaced:
      shutil.rmtree(replaced, ignore_errors=True)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  for old in list_checkpoints(root)[:-KEEP]:
    shutil.rmtree(old, ignore_errors=True)
  return final


def find(directory, checkpoint_name=None):
  """The checkpoint directory to restore from.

  Args:
    directory: a run's output directory, or a checkpoint directory itself.
    checkpoint_name: a directory name inside `<directory>/checkpoints`;
      default the newest.

  Raises:
    FileNotFoundError: there is none.
  """
  if os.path.isfile(os.path.join(directory, STATE_FILE)):
    return directory
  root = checkpoint_root(directory)
  if checkpoint_name is not None:
    path = os.path.join(root, checkpoint_name)
  else:
    found = list_checkpoints(root)
    if not found:
      raise FileNotFoundError(f'no RL Tuner checkpoint in {root}')
    path = found[-1]
  if not os.path.isfile(os.path.join(path, STATE_FILE)):
    raise FileNotFoundError(f'no RL Tuner checkpoint at {path}')
  return path


class CheckpointError(ValueError):
  """A checkpoint that cannot be read; the message names its path."""


def read(tf_checkpoint, path):
  """Restores the networks and optimizer; returns the training state.

  Raises:
    CheckpointError: the state or the TensorFlow files are damaged or do not
      fit the networks.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  state = read_state(path)
  try:
    tf_checkpoint.read(os.path.join(path, 'ckpt')).assert_consumed()
  except (tf.errors.OpError, ValueError, AssertionError, IndexError,
          KeyError, OSError) as e:  # A cut file fails in any of these.
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    raise CheckpointError(f'cannot read checkpoint {path}: {first}') from e
  return state


def read_state(path):
  """The training state of a checkpoint directory, networks untouched.

  Raises:
    CheckpointError: the state file is missing, damaged or not a dict.
  """
  state_path = os.path.join(path, STATE_FILE)
  try:
    with open(state_path, encoding='utf-8') as f:
      state = json.load(f)
  except (OSError, ValueError) as e:
    raise CheckpointError(f'cannot read {state_path}: {e}') from e
  if not isinstance(state, dict):
    raise CheckpointError(f'{state_path} does not hold a training state')
  return state
