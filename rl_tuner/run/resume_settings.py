"""What a resumed run must share with its checkpoint, and what may change.

Every checkpoint's training state holds `identity(...)` under SETTINGS_KEY:
each setting that changes what the run computes, in the form the run used
it (the reward terms with their weights after --reward_weights, the DQN
hyperparameters after the preset, a digest of the Note RNN's weights, of
the priming files, ...). `--resume` compares it with the resumed run's own
(`check`) and refuses any difference, listing them all in one line.

MAY_CHANGE_ON_RESUME is the one list of the settings that may differ, with
why; every other setting of `settings.TrainSettings`, present or added
later, is compared. A checkpoint written before SETTINGS_KEY existed is
compared on what it has (the algorithm, reward mode and terms, melodies
side by side).
"""

import hashlib
import json
import os

import numpy as np

from rl_tuner.rewards import reward_specs
from rl_tuner.run import settings as settings_lib

# Training-state key of the identity.
SETTINGS_KEY = 'settings'
# Identity entries older checkpoints keep at the top of their state.
_TOP_LEVEL_KEYS = ('algorithm', 'reward_mode', 'reward_terms',
                   'num_parallel_melodies')

# Settings a resumed run may change, and why: none changes what training
# computes; they say where the run is, how long it goes on, what is written
# after training, or how fast the same updates run.
MAY_CHANGE_ON_RESUME = {
    'output_dir': 'the folder resumed (it may be spelled another way)',
    'resume': 'resuming itself',
    'training_steps': 'extends (or ends) the run; the steps taken stay '
                      'as they were',
    'num_stat_compositions': 'the final statistics, after training',
    'audio': 'whether melodies are also written as sound',
    'qpm': 'the tempo of the MIDI and WAV files',
    'audio_program': 'the instrument of the WAV files',
    'audio_renderer': 'how the WAV files are rendered',
    'keep_replay': 'whether a finished run keeps its replay',
    # The same gradient step, compiled by XLA or run as a plain graph: equal
    # to float tolerance, as on another CPU. It changes the speed, not the
    # method, and a long run may want it turned on when it resumes.
    'xla_updates': 'compiles the same updates (equal to float tolerance)',
}

# Settings compared through what they resolve to, not as typed: the
# identity key that stands for each.
_RESOLVED = {
    'reward': 'reward_terms',
    'reward_weights': 'reward_weights',
    'reward_option': 'reward_options',
    'reward_mode': 'reward_mode',
    'reward_scaler': 'reward_scaler',
    'dqn_preset': 'dqn_hparams',
    **{name: 'dqn_hparams' for name in settings_lib.DQN_FIELDS},
    'note_rnn_checkpoint_dir': 'note_rnn',
    'note_rnn_checkpoint_name': 'note_rnn',
    'note_rnn_checkpoint_file': 'note_rnn',
    'note_rnn_type': 'note_rnn',
    'note_rnn_hparams': 'note_rnn',
    'midi_primer': 'midi_primer',
    'training_data_path': 'training_data',
}

# Digests of files read so far: (path, size, mtime_ns) -> sha256 hex.
_FILE_DIGESTS = {}


def weights_digest(weights):
  """sha256 hex of a network's weights (numpy arrays, shapes included)."""
  digest = hashlib.sha256()
  for array in weights:
    array = np.ascontiguousarray(array)
    digest.update(f'{array.dtype.str}{array.shape};'.encode())
    digest.update(array.tobytes())
  return digest.hexdigest()


def file_identity(path):
  """{'sha256': ..., 'path': path} of a file the run reads."""
  absolute = os.path.abspath(path)
  info = os.stat(absolute)
  key = (absolute, info.st_size, info.st_mtime_ns)
  if key not in _FILE_DIGESTS:
    digest = hashlib.sha256()
    with open(absolute, 'rb') as f:
      for block in iter(lambda: f.read(1 << 20), b''):
        digest.update(block)
    _FILE_DIGESTS[key] = digest.hexdigest()
  return {'sha256': _FILE_DIGESTS[key], 'path': path}


def identity(settings, reward_set, dqn_hparams, note_rnn, training_files):
  """The settings that change what a run computes, as JSON values.

  Args:
    settings: the run's TrainSettings.
    reward_set: its reward_api.RewardSet (terms, weights, scaler, mode).
    dqn_hparams: its DQNHParams.
    note_rnn: {'sha256': weights_digest of the Note RNN it started from,
      'path': where it came from}.
    training_files: the TFRecord paths random_midi priming reads, or None.

  Returns:
    dict name -> JSON value (tuples as lists).
  """
  values = {name: getattr(settings, name)
            for name in settings_lib.field_names()
            if name not in MAY_CHANGE_ON_RESUME and name not in _RESOLVED}
  values.update(
      reward_mode=reward_set.mode,
      reward_terms=list(reward_set.term_names),
      reward_weights={name: weight for name, weight, _ in reward_set.terms},
      reward_scaler=reward_set.reward_scaler,
      reward_options={
          f'{reward}.{key}': value for reward, options in
          reward_specs.parse_options(settings.reward_option).items()
          for key, value in options.items()},
      dqn_hparams=dqn_hparams.to_dict(),
      note_rnn=note_rnn)
  if settings.priming_mode == 'single_midi' and settings.midi_primer:
    values['midi_primer'] = file_identity(settings.midi_primer)
  if settings.priming_mode == 'random_midi':
    values['training_data'] = [file_identity(path)
                               for path in training_files or ()]
  return json.loads(json.dumps(values))


def stored_identity(state):
  """The identity a checkpoint's training state records (what it has)."""
  stored = {key: state[key] for key in _TOP_LEVEL_KEYS if key in state}
  stored.update(state.get(SETTINGS_KEY) or {})
  return stored


def _shown(value):
  if isinstance(value, dict) and 'sha256' in value:
    return f'{value.get("path")} (sha256 {value["sha256"][:12]})'
  if isinstance(value, list) and value and all(
      isinstance(v, dict) and 'sha256' in v for v in value):
    return '[' + ', '.join(_shown(v) for v in value) + ']'
  return json.dumps(value)


def _same(a, b):
  """Equal, files compared by their contents' digest only."""
  if isinstance(a, dict) and isinstance(b, dict) and 'sha256' in a:
    return a.get('sha256') == b.get('sha256')
  if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
    return all(_same(x, y) for x, y in zip(a, b))
  return a == b


_MISSING = object()


def differences(stored, current):
  """['name: checkpoint value -> now', ...] of the entries both have.

  A dict of plain values (weights, hyperparameters) is compared key by key
  ('reward_weights.key: 1.0 -> 5.0'); a file by its digest.
  """
  found = []
  for name in sorted(set(stored) & set(current)):
    old, new = stored[name], current[name]
    if _same(old, new):
      continue
    if (isinstance(old, dict) and isinstance(new, dict) and
        'sha256' not in old and 'sha256' not in new):
      for key in sorted(set(old) | set(new)):
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a is _MISSING or b is _MISSING or not _same(a, b):
          found.append(f'{name}.{key}: '
                       f'{"none" if a is _MISSING else _shown(a)} -> '
                       f'{"none" if b is _MISSING else _shown(b)}')
    else:
      found.append(f'{name}: {_shown(old)} -> {_shown(new)}')
  return found


def check(state, current, checkpoint):
  """Refuses to resume from a checkpoint trained with other settings.

  Args:
    state: the checkpoint's training state.
    current: identity(...) of the run resuming.
    checkpoint: the checkpoint's path, for the message.

  Raises:
    settings.UsageError: one line listing every difference (name:
      checkpoint value -> now) and the settings that may change.
  """
  found = differences(stored_identity(state), current)
  if found:
    raise settings_lib.UsageError(
        f'cannot resume from {checkpoint}: it was trained with other '
        f'settings: {"; ".join(found)}. Only '
        f'{", ".join(sorted(MAY_CHANGE_ON_RESUME))} may change on resume; '
        'to train with these settings, choose another --output_dir')
