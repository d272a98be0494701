r"""Tunes a Note RNN with reinforcement learning (the original rl_tuner_train).

Example (the paper's Q-learning run):

  python bin/rl_tuner_train.py --flagfile=configs/paper_q.flags \
      --note_rnn_checkpoint_file=rl_tuner_note_rnn.ckpt --output_dir=runs/q

Writes into --output_dir: checkpoints (resumable with --resume), the reward
histories (.npz), PNG plots of training and evaluation rewards and target
values, a generated melody (MIDI + note-probability heatmap), statistics of
--num_stat_compositions compositions (text, Table-1 JSON and markdown), the
tuned Q-network as a Note RNN (`tuned_note_rnn/`), and summary.json.
Flag defaults are the original command line's; configs/ holds presets. The
flags are the fields of `rl_tuner.train_run.TrainSettings`.
"""

import dataclasses
import sys

import script_setup  # First: quiet start-up, repository on sys.path.
from absl import app
from absl import flags

from rl_tuner import train_run

FLAGS = flags.FLAGS

_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
           float: flags.DEFINE_float, bool: flags.DEFINE_bool}


def define_flags():
  """One absl flag per TrainSettings field, with its default and help."""
  for field in dataclasses.fields(train_run.TrainSettings):
    help_text = field.metadata['help']
    if field.metadata['choices']:
      help_text += f' One of: {", ".join(field.metadata["choices"])}.'
    _DEFINE[train_run.field_type(field)](field.name, field.default, help_text)


define_flags()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  settings = train_run.TrainSettings(
      **{name: FLAGS[name].value for name in train_run.field_names()})
  try:
    summary = train_run.run(settings)
  except train_run.UsageError as e:
    sys.exit(script_setup.fail('rl_tuner_train', e))
  print(f'Done: {summary["env_steps"]} environment steps in '
        f'{summary["train_seconds_this_run"]:.1f} s; outputs in '
        f'{settings.output_dir}')


if __name__ == '__main__':
  app.run(main)
