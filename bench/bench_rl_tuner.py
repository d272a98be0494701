r"""Measures the RL Tuner's speed on this machine; prints figures and ratios.

  python bench/bench_rl_tuner.py [--checkpoint=rl_tuner_note_rnn.ckpt]

Everything is measured in one run, side by side: environment steps/s while
training at the paper's replay ratio (minibatch 32 every 5 environment steps)
for B = 1 and larger numbers of parallel melodies, gradient updates/s, the
latency of one action, and compositions/s of generation plus statistics.
Without --checkpoint a randomly initialised Note RNN of the paper's size
(one LSTM layer of 100) is used; speed does not depend on the weights.
The original code's figures on this kind of machine (ORIGINAL.md) are
printed beside them for reference.
"""

import os
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

from rl_tuner import dqn_hparams
from rl_tuner import rl_tuner
from rl_tuner import rl_tuner_eval_metrics
# pylint: enable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string('checkpoint', '', 'Note RNN checkpoint (default: a '
                    'random-init 1x100 LSTM).')
flags.DEFINE_list('parallel', ['1', '16', '64'],
                  'Numbers of parallel melodies to time.')
flags.DEFINE_integer('train_steps', 20000,
                     'Environment steps timed per setting (after warm-up).')
flags.DEFINE_integer('num_compositions', 20000,
                     'Compositions for the generation + statistics timing.')
flags.DEFINE_integer('seed', 0, 'Seed.')
FLAGS = flags.FLAGS

# The original code on a 2-vCPU CPU (ORIGINAL.md, "Speed of the original").
ORIGINAL_ENV_STEPS_PER_S = 490.0
ORIGINAL_ACT_MS = 0.9
ORIGINAL_UPDATE_MS = 3.75
ORIGINAL_COMPOSITIONS_PER_S = 100 / 2.8


def make_tuner(output_dir, batch):
  kwargs = dict(dqn_hparams=dqn_hparams.paper_dqn_hparams(),
                reward_scaler=2.0, exploration_mode='egreedy',
                output_every_nth=10**9, num_parallel_melodies=batch,
                seed=FLAGS.seed)
  if FLAGS.checkpoint:
    return rl_tuner.RLTuner(output_dir,
                            note_rnn_checkpoint_file=FLAGS.checkpoint,
                            **kwargs)
  tuner = rl_tuner.RLTuner(output_dir, initialize_immediately=False, **kwargs)
  tuner.initialize_internal_models_graph_session(
      restore_from_checkpoint=False)
  return tuner


def time_training(batch, steps, output_dir):
  """Environment steps/s and gradient updates/s at the paper's ratio."""
  tuner = make_tuner(output_dir, batch)
  tuner.evaluate_model()  # Counts as done; train() will not evaluate again.
  tuner.train(num_steps=max(2000, 4 * batch * 32), exploration_period=10**6)
  start_steps, start_updates = tuner.env_steps, tuner.iteration
  start = time.perf_counter()
  tuner.train(num_steps=steps, exploration_period=10**6)
  elapsed = time.perf_counter() - start
  return ((tuner.env_steps - start_steps) / elapsed,
          (tuner.iteration - start_updates) / elapsed, tuner)


def time_action(tuner, repeats=2000):
  """Milliseconds per `action` call on one observation."""
  observation = tuner.prime_internal_models()
  for _ in range(50):
    tuner.action(observation, 0, enable_random=False)
  start = time.perf_counter()
  for _ in range(repeats):
    tuner.action(observation, 0, enable_random=False)
  return 1000.0 * (time.perf_counter() - start) / repeats


def time_update(tuner, repeats=500):
  """Milliseconds per gradient update of a minibatch of 32."""
  hp = tuner.dqn_hparams
  tuner.num_times_train_called = 0
  calls = repeats * hp.train_every_nth
  start_updates = tuner.iteration
  start = time.perf_counter()
  for _ in range(calls):
    tuner.training_step()
  elapsed = time.perf_counter() - start
  return 1000.0 * elapsed / max(tuner.iteration - start_updates, 1)


def time_generation(tuner, num_compositions):
  start = time.perf_counter()
  compositions = tuner.generate_compositions(num_compositions)
  generated = time.perf_counter()
  rl_tuner_eval_metrics.compute_composition_stats_for_compositions(
      compositions)
  done = time.perf_counter()
  return generated - start, done - generated


def main(argv):
  del argv
  print(f'RL Tuner benchmark; {os.cpu_count()} CPUs; checkpoint: '
        f'{FLAGS.checkpoint or "random-init 1x100 LSTM"}')
  with tempfile.TemporaryDirectory() as tmp:
    rates = {}
    tuner_b1 = None
    for value in FLAGS.parallel:
      batch = int(value)
      rate, updates, tuner = time_training(
          batch, FLAGS.train_steps, os.path.join(tmp, f'b{batch}'))
      rates[batch] = rate
      if batch == 1:
        tuner_b1 = tuner
      print(f'train B={batch:3d}: {rate:8.0f} env steps/s, {updates:7.0f} '
            f'gradient updates/s (32 samples each)')
    base = rates.get(1)
    if base:
      for batch, rate in rates.items():
        print(f'  ratio B={batch} / B=1: {rate / base:5.2f}x; vs the '
              f'original ({ORIGINAL_ENV_STEPS_PER_S:.0f}/s): '
              f'{rate / ORIGINAL_ENV_STEPS_PER_S:5.2f}x')
    tuner = tuner_b1 or make_tuner(os.path.join(tmp, 'act'), 1)
    act_ms = time_action(tuner)
    update_ms = time_update(tuner)
    print(f'action latency: {act_ms:.3f} ms (original {ORIGINAL_ACT_MS} ms, '
          f'{ORIGINAL_ACT_MS / act_ms:.1f}x)')
    print(f'gradient update: {update_ms:.3f} ms (original '
          f'{ORIGINAL_UPDATE_MS} ms, {ORIGINAL_UPDATE_MS / update_ms:.1f}x)')
    start = time.perf_counter()
    tuner.evaluate_model()
    print(f'evaluation of {tuner.num_eval_compositions} compositions: '
          f'{time.perf_counter() - start:.3f} s')
    generate_s, stats_s = time_generation(tuner, FLAGS.num_compositions)
    per_s = FLAGS.num_compositions / (generate_s + stats_s)
    print(f'generation + statistics of {FLAGS.num_compositions} '
          f'compositions: {generate_s:.2f} s + {stats_s:.2f} s = '
          f'{per_s:.0f} compositions/s; 100,000 would take '
          f'{100000 / per_s:.1f} s (original '
          f'{100000 / ORIGINAL_COMPOSITIONS_PER_S:.0f} s, '
          f'{per_s / ORIGINAL_COMPOSITIONS_PER_S:.0f}x)')


if __name__ == '__main__':
  app.run(main)
