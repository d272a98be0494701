r"""What checkpoints cost an RL Tuner run: time share and disk.

  python bench/bench_checkpoint_cost.py --flagfile=configs/quickstart.flags \
      [--training_steps=20000] [--output_every_nth=10000]

Trains with the given settings (the embedded Note RNN unless one is named)
in a temporary directory, timing every checkpoint (networks, Adam, training
state and the replay transitions added since the last one), and prints the
time spent in checkpoints against training time, and their size on disk.
The flags are rl_tuner_train's.
"""

import os
import shutil
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from rl_tuner.experiments import train_run
from rl_tuner.replay import replay_store
# pylint: disable=g-import-not-at-top,wrong-import-position
from rl_tuner.run import checkpointer
from rl_tuner.run import settings as settings_lib

settings_lib.define_flags()
FLAGS = flags.FLAGS


def _size(path):
  total = 0
  for root, _, names in os.walk(path):
    total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
  return total


def main(argv):
  del argv
  settings = settings_lib.from_flags(FLAGS)
  directory = tempfile.mkdtemp(prefix='bench_checkpoint_')
  settings = settings.replace(output_dir=os.path.join(directory, 'run'),
                              num_stat_compositions=0)
  seconds = []
  real_save = checkpointer.save

  def timed_save(*args, **kwargs):
    start = time.perf_counter()
    result = real_save(*args, **kwargs)
    seconds.append(time.perf_counter() - start)
    return result
  real_replay = replay_store.save
  replay_seconds = []

  def timed_replay(*args, **kwargs):
    start = time.perf_counter()
    result = real_replay(*args, **kwargs)
    replay_seconds.append(time.perf_counter() - start)
    return result
  checkpointer.save = timed_save
  replay_store.save = timed_replay
  try:
    summary = train_run.run(settings)
    root = checkpointer.checkpoint_root(settings.output_dir)
    train_s = summary['train_seconds_this_run']
    # The final checkpoint is written after training, with the outputs.
    in_training = sum(seconds[:-1]) + sum(replay_seconds[:-1])
    print(f'settings: {settings.training_steps} steps, checkpoint after '
          f'every {settings.output_every_nth}, '
          f'{settings.num_parallel_melodies} melodies')
    print(f'training: {train_s:.1f} s for {summary["env_steps"]} env steps '
          f'({summary["env_steps"] / train_s:.0f} steps/s)')
    print(f'checkpoints during training: {len(seconds) - 1}, '
          f'{in_training:.2f} s in all '
          f'(networks+state {sum(seconds[:-1]):.2f} s, replay '
          f'{sum(replay_seconds[:-1]):.2f} s), '
          f'{100 * in_training / train_s:.1f}% of training time')
    replay = os.path.join(root, replay_store.SUBDIR)
    print(f'disk: checkpoints {_size(root) / 2**20:.1f} MiB, of which '
          f'replay segments {_size(replay) / 2**20:.1f} MiB')
  finally:
    checkpointer.save = real_save
    replay_store.save = real_replay
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == '__main__':
  app.run(main)
