"""RL Tuner checkpoints: networks, optimizer and training state, atomically.

A checkpoint is a directory `<output_dir>/checkpoints/<name>-<env_steps>/`
holding a TensorFlow checkpoint (`ckpt*`: the three networks and Adam) and
`training_state.json` (counters, reward accumulators, histories, the RNG
state, the replay count; the replay itself is in `replay_store` segments).
It is written into a temporary directory and renamed into place, so a crash
leaves the previous checkpoint intact; the newest KEEP are kept. Temporaries
a killed run left are named `.tmp-*` and removed when a run resumes.

Where the original put its checkpoints, next to the tuner's `save_path`
(`<output_dir>/<save_name>-<step>`), there is a pointer file per kept
checkpoint, `<save_path>-<step>.pointer`: a few lines of JSON naming the
checkpoint directory (relative to the pointer) and its steps. The weights
exist once, in the checkpoint directory. `<step>` is the original's
checkpoint step, completed blocks x output_every_nth (the checkpoint of the
block ending at step 30, taken where the melodies in progress end, is
`checkpoints/q-32/` and its pointer `rl_tuner.ckpt-30.pointer`). The
pointers are rebuilt from the kept checkpoints after every save
(`sync_pointers`), so they always name exactly those.
"""

import json
import os
import re
import shutil

from note_rnn.runtime import folders
from note_rnn.runtime import outputs

# TensorFlow is imported by the functions that read and write checkpoints:
# the tools' --help, which import this module, need not load it.

SUBDIR = 'checkpoints'
KEEP = 3
STATE_FILE = 'training_state.json'
# Training-state key of the original's checkpoint step (see module doc).
ORIGINAL_STEP_KEY = 'original_step'
POINTER_SUFFIX = '.pointer'
POINTER_FORMAT = 'rl_tuner checkpoint pointer'
_NAME_RE = re.compile(r'^(?P<name>.+)-(?P<step>\d+)$')
_POINTER_RE = re.compile(r'^(?P<name>.+)-(?P<step>\d+)' +
                         re.escape(POINTER_SUFFIX) + '$')


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
  final = os.path.join(root, f'{name}-{step}')
  # An existing `final` (same step again: a resumed run's end) is replaced.
  with folders.staged_folder(final, outputs.TMP_PREFIX) as staging:
    tf_checkpoint.write(os.path.join(staging, 'ckpt'))
    with open(os.path.join(staging, STATE_FILE), 'w') as f:
      json.dump(training_state, f)
  for old in list_checkpoints(root)[:-KEEP]:
    shutil.rmtree(old, ignore_errors=True)
  return final


def find(directory, checkpoint_name=None):
  """The checkpoint directory to restore from.

  Args:
    directory: a run's output directory, a directory holding pointer files,
      a checkpoint directory itself, or a pointer file.
    checkpoint_name: a checkpoint directory name inside
      `<directory>/checkpoints` ('q-32'), or the original's name of a
      checkpoint next to save_path ('rl_tuner.ckpt-30', a pointer file in
      `directory`, the suffix optional); default the newest checkpoint
      (else the newest pointer's).

  Raises:
    FileNotFoundError: there is none.
    CheckpointError: a pointer file that does not read.
  """
  if os.path.isfile(os.path.join(directory, STATE_FILE)):
    return directory
  if directory.endswith(POINTER_SUFFIX) and os.path.isfile(directory):
    return read_pointer(directory)
  root = checkpoint_root(directory)
  if checkpoint_name is not None:
    path = os.path.join(root, checkpoint_name)
    pointer = os.path.join(directory, checkpoint_name)
    if not pointer.endswith(POINTER_SUFFIX):
      pointer += POINTER_SUFFIX
    if not os.path.isdir(path) and os.path.isfile(pointer):
      path = read_pointer(pointer)
  else:
    found = list_checkpoints(root)
    pointers = list_pointers(directory)
    if found:
      path = found[-1]
    elif pointers:
      path = read_pointer(pointers[-1])
    else:
      raise FileNotFoundError(f'no RL Tuner checkpoint in {root}')
  if not os.path.isfile(os.path.join(path, STATE_FILE)):
    raise FileNotFoundError(f'no RL Tuner checkpoint at {path}')
  return path


# --- Pointers where the original put its checkpoints -------------------------


def pointer_path(prefix, step):
  """`<prefix>-<step>.pointer`; prefix is the tuner's save_path."""
  return f'{prefix}-{int(step)}{POINTER_SUFFIX}'


def list_pointers(directory, name=None):
  """Pointer files in `directory` (of save name `name`, if given), oldest
  first by step."""
  if not os.path.isdir(directory):
    return []
  found = []
  for entry in os.listdir(directory):
    match = _POINTER_RE.match(entry)
    if match and (name is None or match.group('name') == name):
      found.append((int(match.group('step')), entry))
  return [os.path.join(directory, entry) for _, entry in sorted(found)]


def read_pointer(path):
  """The checkpoint directory a pointer file names (absolute path).

  Raises:
    CheckpointError: the file is not a pointer.
    FileNotFoundError: the checkpoint it names is gone.
  """
  try:
    with open(path, encoding='utf-8') as f:
      pointer = json.load(f)
    target = os.path.join(os.path.dirname(os.path.abspath(path)),
                          pointer['checkpoint'])
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise CheckpointError(f'cannot read checkpoint pointer {path}: '
                          f'{e!r}') from e
  if not os.path.isfile(os.path.join(target, STATE_FILE)):
    raise FileNotFoundError(f'checkpoint pointer {path} names {target}, '
                            'which holds no RL Tuner checkpoint')
  return os.path.normpath(target)


def sync_pointers(root, prefix):
  """Makes the pointer files of `prefix` name exactly the kept checkpoints.

  Writes `<prefix>-<step>.pointer` for each readable checkpoint in `root`
  (step: its state's ORIGINAL_STEP_KEY, else its environment step; of two
  checkpoints with one step, the newer) and deletes the other pointers of
  that save name. Each pointer is written atomically.

  Returns:
    The pointer paths, oldest first.
  """
  directory, name = os.path.split(os.path.abspath(prefix))
  wanted = {}
  for path in list_checkpoints(root):
    try:
      state = read_state(path)
    except CheckpointError:
      continue
    step = state.get(ORIGINAL_STEP_KEY)
    if step is None:
      step = int(_NAME_RE.match(os.path.basename(path)).group('step'))
    wanted[pointer_path(os.path.join(directory, name), step)] = dict(
        format=POINTER_FORMAT,
        checkpoint=os.path.relpath(path, directory).replace(os.sep, '/'),
        env_steps=state.get('counters', {}).get('env_steps'),
        original_step=int(step))
  for stale in set(list_pointers(directory, name)) - set(wanted):
    os.remove(stale)
  for path, pointer in wanted.items():
    data = (json.dumps(pointer, indent=1) + '\n').encode('utf-8')
    try:
      with open(path, 'rb') as f:
        if f.read() == data:
          continue
    except OSError:
      pass
    outputs.write_file_atomically(path, data)
  return sorted(wanted, key=lambda p: wanted[p]['original_step'])


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
