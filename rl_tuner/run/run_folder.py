"""What a finished training run leaves in its folder, and reading it back.

`rl_tuner_train` (`experiments.train_run`) writes the run's summary.json,
its tuned Note RNN and its sample melodies under the names here; the
results page, the reproduction and the generation tool read them back with
`load_summary` and `settings_from_summary`.
"""

import json
import os

from rl_tuner.run import settings as settings_lib

# The run's record: settings, evaluation, Table 1, samples (JSON).
SUMMARY_NAME = 'summary.json'
# Folder of the tuned Q-network, saved as a Note RNN.
TUNED_NOTE_RNN = 'tuned_note_rnn'
# Sample melodies of the untuned and of the tuned model in samples/.
NUM_SAMPLE_MELODIES = 3
# Name of the untuned Note RNN: model key in samples/, title in tables.
UNTUNED_MODEL = 'note_rnn'
UNTUNED_TITLE = 'Note RNN (untuned)'

UsageError = settings_lib.UsageError


def load_summary(run_dir):
  """Reads <run_dir>/summary.json; raises UsageError if it is not a run."""
  if not os.path.isdir(run_dir):
    raise UsageError(f'run directory not found: {run_dir}')
  path = os.path.join(run_dir, SUMMARY_NAME)
  if not os.path.isfile(path):
    raise UsageError(f'{run_dir} is not an rl_tuner_train run: no '
                     f'{SUMMARY_NAME}')
  try:
    with open(path) as f:
      summary = json.load(f)
  except ValueError as e:
    raise UsageError(f'cannot read {path}: {e}') from e
  if not isinstance(summary.get('settings'), dict) or (
      'algorithm' not in summary['settings']):
    raise UsageError(f'{path} holds no run settings')
  return summary


def settings_from_summary(summary):
  """The TrainSettings a summary.json records (unknown keys ignored)."""
  return settings_lib.TrainSettings.from_dict(summary['settings'])
