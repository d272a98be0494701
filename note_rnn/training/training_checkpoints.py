"""The run folder of Note RNN training: checkpoints, their state, resume.

A run lives in one folder, `run_dir` (see `note_rnn.training`):

  checkpoint/            the latest checkpoint:
    model/               `NoteRNN.save` of the weights (NoteRNN.load reads it)
    optimizer_state.npz  the optimizer's variables (slots and step counter)
    training_state.json  `TrainingState`: step, seed, histories, the last
                         steps' losses, best eval loss, settings, wall time
  checkpoint.previous/   the checkpoint before it (same layout)
  best/                  `NoteRNN.save` of the weights with the lowest eval
                         loss (only with an eval file)
  tensorboard/train, tensorboard/eval   TensorBoard scalars
  metrics.json           summary of the run

A checkpoint is assembled in a temporary folder (`.checkpoint.tmp-*`, its
files synced to disk, training_state.json last) and renamed into place; the
one it replaces becomes checkpoint.previous, and the one before that goes.
So a run killed at any moment keeps a complete checkpoint, and a newest
checkpoint damaged on disk (a truncated file, a bad training_state.json)
still leaves the previous one: `load_latest_checkpoint` falls back to it
with a log line naming the damaged file. Temporaries a killed write left
are removed when a run starts (`remove_stale_temporaries`).
"""

import dataclasses
import json
import os
import typing

from absl import logging
import numpy as np

from note_rnn.model import hparams as hparams_lib
from note_rnn.runtime import folders
from note_rnn.runtime import outputs
from note_rnn.training import training_steps

# The model (and with it TensorFlow) is imported by the functions that use
# it: --help of the tools that read the names here need not load TensorFlow.
if typing.TYPE_CHECKING:
  from note_rnn.model import note_rnn_model as model_lib

# Names inside run_dir.
CHECKPOINT_DIR = 'checkpoint'
PREVIOUS_CHECKPOINT_DIR = CHECKPOINT_DIR + '.previous'
BEST_DIR = 'best'
TENSORBOARD_DIR = 'tensorboard'
TENSORBOARD_KINDS = ('train', 'eval')
METRICS_FILE = 'metrics.json'
# Names inside a checkpoint folder.
MODEL_DIR = 'model'
OPTIMIZER_STATE_FILE = 'optimizer_state.npz'
TRAINING_STATE_FILE = 'training_state.json'
# Version of the training_state.json layout; older ones that can still be
# read (version 1 lacks train_window and checkpoint_wall_time).
TRAINING_STATE_VERSION = 2
_READABLE_VERSIONS = (1, 2)
# Prefixes of what a killed write leaves in run_dir: checkpoint staging
# folders, NoteRNN.save staging of best/, atomic-file temporaries.
_STAGING_PREFIX = f'.{CHECKPOINT_DIR}.tmp-'
STALE_PREFIXES = (_STAGING_PREFIX, f'.{BEST_DIR}.tmp-', outputs.TMP_PREFIX)

# Raised for a run folder whose checkpoints are all unusable.
TrainingError = training_steps.TrainingError


@dataclasses.dataclass
class TrainingState:
  """Everything besides weights and optimizer slots that a resume needs."""

  step: int = 0
  seed: int = 0
  optimizer: str = ''
  hparams: dict = dataclasses.field(default_factory=dict)
  sequence_example_file: str = ''
  eval_sequence_example_file: str = ''
  init_checkpoint: str = ''
  best_eval_loss: float | None = None
  best_eval_step: int | None = None
  evals_without_improvement: int = 0
  stopped_early: bool = False
  wall_time_s: float = 0.0
  # time.time() when the checkpoint was taken, after the TensorBoard writers
  # were flushed: a resume drops the events logged after it.
  checkpoint_wall_time: float | None = None
  # [{'step', 'loss', 'accuracy', 'log_perplexity', 'learning_rate'}, ...]
  train_history: list = dataclasses.field(default_factory=list)
  # [{'step', 'loss', 'accuracy', 'log_perplexity', 'num_steps'}, ...]
  eval_history: list = dataclasses.field(default_factory=list)
  # The per-step values (dicts of floats) of the last `log_every_n` steps,
  # so that the first log line after a resume averages the same steps.
  train_window: list = dataclasses.field(default_factory=list)

  def to_json(self):
    values = dataclasses.asdict(self)
    values['format_version'] = TRAINING_STATE_VERSION
    return json.dumps(values, indent=2)

  @classmethod
  def from_json(cls, text):
    """Parses `to_json` text; ValueError or TypeError when it is unusable."""
    values = json.loads(text)
    if not isinstance(values, dict):
      raise ValueError('not a JSON object')
    version = values.pop('format_version', None)
    if version not in _READABLE_VERSIONS:
      raise ValueError(f'training state version {version} is not one of '
                       f'{list(_READABLE_VERSIONS)}')
    known = {f.name for f in dataclasses.fields(cls)}
    state = cls(**{k: v for k, v in values.items() if k in known})
    if not isinstance(state.step, int) or state.step < 0:
      raise ValueError(f'bad step {state.step!r}')
    return state


@dataclasses.dataclass
class Checkpoint:
  """One checkpoint read back: its folder, state, model, optimizer arrays."""

  path: str
  state: TrainingState
  model: 'model_lib.NoteRNN'
  optimizer_arrays: dict


def checkpoint_dirs(run_dir):
  """The run's checkpoint folders that exist, newest first."""
  paths = [os.path.join(run_dir, name)
           for name in (CHECKPOINT_DIR, PREVIOUS_CHECKPOINT_DIR)]
  return [path for path in paths if os.path.isdir(path)]


def latest_checkpoint_dir(run_dir):
  """The newest checkpoint folder holding a training state, or None."""
  for path in checkpoint_dirs(run_dir):
    if os.path.isfile(os.path.join(path, TRAINING_STATE_FILE)):
      return path
  return None


def remove_stale_temporaries(run_dir):
  """Removes what killed writes left in run_dir and its TensorBoard folders.

  Returns:
    The paths removed, relative to run_dir.
  """
  removed = outputs.remove_stale_temporaries(run_dir, STALE_PREFIXES)
  for kind in TENSORBOARD_KINDS:
    folder = os.path.join(TENSORBOARD_DIR, kind)
    removed += [os.path.join(folder, name) for name in
                outputs.remove_stale_temporaries(
                    os.path.join(run_dir, folder), (outputs.TMP_PREFIX,))]
  if removed:
    logging.info('Removed temporaries of an interrupted write from %s: %s',
                 run_dir, ', '.join(removed))
  return removed


# --- Writing -----------------------------------------------------------------


def write_checkpoint(run_dir, model, optimizer, state, discard_latest=False):
  """Writes model, optimizer variables and state as the latest checkpoint.

  The files are assembled in a temporary folder and synced to disk, then
  renamed into place; the checkpoint replaced becomes checkpoint.previous.
  On an error (a full disk) the temporary folder is removed and the
  existing checkpoints are untouched.

  Args:
    run_dir: the run folder.
    model: NoteRNN.
    optimizer: the built Keras optimizer.
    state: TrainingState.
    discard_latest: delete the current checkpoint/ instead of keeping it as
      checkpoint.previous (it is damaged: the run resumed from the previous).
  """
  # The replaced checkpoint becomes checkpoint.previous, or goes when it is
  # damaged. What goes is renamed to a temporary name first, so that a kill
  # while it is deleted leaves a stale temporary, not a half-deleted
  # checkpoint (see `folders.replace_folder`).
  previous = (None if discard_latest else
              os.path.join(run_dir, PREVIOUS_CHECKPOINT_DIR))
  with folders.staged_folder(os.path.join(run_dir, CHECKPOINT_DIR),
                             _STAGING_PREFIX, previous) as staging:
    model.save(os.path.join(staging, MODEL_DIR),
               metadata={'step': state.step, 'seed': state.seed,
                         'optimizer': state.optimizer,
                         'sequence_example_file':
                             state.sequence_example_file})
    arrays = {_slot_key(i): np.asarray(v.numpy())
              for i, v in enumerate(optimizer.variables)}
    with open(os.path.join(staging, OPTIMIZER_STATE_FILE), 'wb') as f:
      np.savez(f, **arrays)
    # Written last: a folder with this file is a complete checkpoint.
    outputs.write_file_atomically(os.path.join(staging, TRAINING_STATE_FILE),
                                  state.to_json().encode('utf-8'))


def _slot_key(index):
  # Keras makes optimizer variable names unique per process (adagrad_1/...),
  # so the state is keyed by position; shapes are checked on restore.
  return f'variable_{index:03d}'


# --- Reading -----------------------------------------------------------------


def read_checkpoint(checkpoint_dir):
  """Reads one checkpoint folder completely.

  Any failure to read a file counts as damage (a truncated TensorFlow
  checkpoint raises IndexError, a cut zip file BadZipFile, and so on).

  Returns:
    Checkpoint.

  Raises:
    TrainingError: a file is missing or damaged; the message names it.
  """
  # Imported here, with TensorFlow: see the imports above.
  from note_rnn.model import note_rnn_model as model_lib  # pylint: disable=g-import-not-at-top

  # pylint: disable=broad-except
  state_path = os.path.join(checkpoint_dir, TRAINING_STATE_FILE)
  try:
    with open(state_path, encoding='utf-8') as f:
      state = TrainingState.from_json(f.read())
    stored = hparams_lib.NoteRNNHParams.from_dict(state.hparams)
  except Exception as e:
    raise TrainingError(f'{state_path}: {_describe(e)}') from e
  model_dir = os.path.join(checkpoint_dir, MODEL_DIR)
  try:
    model = model_lib.NoteRNN.load(model_dir, hparams=stored)
  except Exception as e:
    raise TrainingError(f'{model_dir}: {_describe(e)}') from e
  arrays_path = os.path.join(checkpoint_dir, OPTIMIZER_STATE_FILE)
  try:
    with np.load(arrays_path) as archive:
      arrays = {key: archive[key] for key in archive.files}
  except Exception as e:
    raise TrainingError(f'{arrays_path}: {_describe(e)}') from e
  # pylint: enable=broad-except
  # Keras' first optimizer variable is its step counter.
  counter = arrays.get(_slot_key(0))
  if counter is None or counter.shape or int(counter) != state.step:
    raise TrainingError(
        f'{arrays_path}: optimizer step {counter} does not match step '
        f'{state.step} of {state_path}')
  return Checkpoint(checkpoint_dir, state, model, arrays)


def load_latest_checkpoint(run_dir):
  """The newest usable checkpoint of the run, or None when it has none.

  A damaged newest checkpoint is skipped for the previous one, with a
  warning naming the damaged file.

  Raises:
    TrainingError: checkpoints exist but none can be read (names the file).
  """
  errors = []
  for path in checkpoint_dirs(run_dir):
    try:
      checkpoint = read_checkpoint(path)
    except TrainingError as e:
      errors.append(str(e))
      continue
    for error in errors:
      logging.warning('Checkpoint unusable: %s; resuming from %s (step %d) '
                      'instead.', error, path, checkpoint.state.step)
    return checkpoint
  if errors:
    raise TrainingError(f'cannot resume the run in {run_dir}: no usable '
                        f'checkpoint: {"; ".join(errors)}')
  return None


def restore_optimizer(optimizer, checkpoint):
  """Assigns the checkpoint's optimizer arrays to the built `optimizer`."""
  variables = list(optimizer.variables)
  arrays = checkpoint.optimizer_arrays
  expected = [_slot_key(i) for i in range(len(variables))]
  if sorted(arrays) != expected or any(
      arrays[k].shape != tuple(v.shape) for k, v in zip(expected, variables)):
    raise TrainingError(
        f'optimizer state {os.path.join(checkpoint.path, OPTIMIZER_STATE_FILE)}'
        f' does not fit this optimizer (it holds {len(arrays)} variables; '
        f'expected shapes {[tuple(v.shape) for v in variables]})')
  for key, variable in zip(expected, variables):
    variable.assign(arrays[key])


def _describe(error):
  """One line: the error's message, led by its type unless a ValueError."""
  text = str(error).strip()
  text = text.splitlines()[0] if text else ''
  if isinstance(error, (ValueError, OSError)) and text:
    return text
  return f'{type(error).__name__}: {text}' if text else type(error).__name__
