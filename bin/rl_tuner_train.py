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
flags are the fields of `rl_tuner.settings.TrainSettings`.

Your own reward, from a Python file (see README, "Your own rewards"):

  python bin/rl_tuner_train.py --flagfile=configs/quickstart.flags \
      --output_dir=runs/chords \
      --reward=examples/rewards/chord_tones.py:ChordTones \
      --reward_option=chord_tones.progression='C F G C' \
      --reward_weights=chord_tones=2
"""

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

from rl_tuner.experiments import train_run
from rl_tuner.rewards import reward_api
from rl_tuner.run import settings as settings_lib

FLAGS = flags.FLAGS

settings_lib.define_flags()
# --help lists them with the tool, not only under --helpfull.
flags.adopt_module_key_flags(settings_lib)


@script_setup.one_line_errors(
    'rl_tuner_train', (train_run.UsageError, reward_api.RewardError),
    disk_full_where='the run', resumable=True)
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  settings = settings_lib.from_flags(FLAGS)
  summary = train_run.run(settings)
  print(f'Done: {summary["env_steps"]} environment steps in '
        f'{summary["train_seconds_this_run"]:.1f} s; outputs in '
        f'{settings.output_dir}')


if __name__ == '__main__':
  script_setup.run(main)
