r"""A sweep of N trials on Ray against the same N runs one after another.

  python bench/bench_sweep.py --flagfile=configs/quickstart.flags \
      --training_steps=10000 [--num_trials=4] [--num_cpus=0]

The N runs are seeds 0..N-1 of the given rl_tuner_train settings (the
embedded Note RNN unless one is named). First they run one after another,
each as its own `bin/rl_tuner_train.py` process (what one would do without
a sweep); then as one sweep on a local Ray of --num_cpus CPUs (0: all), one
CPU and one TensorFlow thread per trial. Prints both wall times, their
ratio (on 2 free cores close to 2x is the aim), Ray's start-up time and
the overhead per trial of each way (wall time per trial beyond the run's
own, which excludes starting Python and importing TensorFlow).
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
from rl_tuner.experiments import sweep
# pylint: disable=g-import-not-at-top,wrong-import-position
from rl_tuner.run import settings as settings_lib

settings_lib.define_flags()
flags.DEFINE_integer('num_trials', 4, 'Runs (seeds 0..N-1) each way.')
flags.DEFINE_integer('num_cpus', 0, 'CPUs of the local Ray (0: all).')
flags.DEFINE_bool('keep', False, 'Keep the runs (their folder is printed).')
FLAGS = flags.FLAGS


def flag_lines(settings):
  """The settings as rl_tuner_train flag lines (a flag file's text)."""
  lines = []
  for field in dataclasses.fields(settings):
    value = getattr(settings, field.name)
    if value is None:
      continue
    if isinstance(value, bool):
      lines.append(f'--{"" if value else "no"}{field.name}')
    elif isinstance(value, tuple):
      lines += [f'--{field.name}={v}' for v in value]
    else:
      lines.append(f'--{field.name}={value}')
  return '\n'.join(lines) + '\n'


def _summary(run_dir):
  with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
    return json.load(f)


def _run_wall(run_dir):
  return _summary(run_dir)['wall_seconds_this_run']


def _final(directory):
  """Final evaluation numbers of every run under `directory`, by seed."""
  found = {}
  for root, _, names in os.walk(directory):
    if 'summary.json' in names:
      summary = _summary(root)
      found[summary['settings']['seed']] = (
          summary['final_eval']['note_rnn_log_p_per_note'],
          summary['final_eval']['music_theory_per_note'], summary['table1'])
  return found


def sequential(base, directory, num_trials):
  """Wall seconds of the runs one after another, and their own walls."""
  walls = []
  os.makedirs(directory, exist_ok=True)
  start = time.perf_counter()
  for seed in range(num_trials):
    run_dir = os.path.join(directory, f'seed={seed}')
    flagfile = os.path.join(directory, f'seed={seed}.flags')
    with open(flagfile, 'w', encoding='utf-8') as f:
      f.write(flag_lines(base.replace(output_dir=run_dir, seed=seed)))
    subprocess.run([sys.executable,
                    os.path.join(REPO_ROOT, 'bin', 'rl_tuner_train.py'),
                    f'--flagfile={flagfile}'], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    walls.append(_run_wall(run_dir))
  return time.perf_counter() - start, walls


def on_ray(base, directory, num_trials, num_cpus):
  """(Ray start-up s, sweep wall s after it, trials at once, run walls)."""
  from rl_tuner.experiments import sweep_ray
  start = time.perf_counter()
  with sweep_ray.ray_session(num_cpus=num_cpus or None) as cpus:
    started = time.perf_counter() - start
    begin = time.perf_counter()
    sweep_ray.run_sweep(base, {'seed': list(range(num_trials))}, directory,
                        stream=sys.stderr)
    wall = time.perf_counter() - begin
  trials = sweep.plan(base, {'seed': list(range(num_trials))}, directory,
                      check=False)
  return started, wall, int(cpus), [_run_wall(t.run_dir) for t in trials]


def mean(values):
  return sum(values) / len(values)


def main(argv):
  del argv
  base = settings_lib.from_flags(FLAGS).replace(resume=False)
  sweep.import_ray()
  directory = tempfile.mkdtemp(prefix='bench_sweep_')
  n = FLAGS.num_trials
  try:
    seq_wall, seq_runs = sequential(base, os.path.join(directory, 'seq'), n)
    ray_start, sweep_wall, cpus, sweep_runs = on_ray(
        base, os.path.join(directory, 'sweep'), n, FLAGS.num_cpus)
    same = _final(os.path.join(directory, 'seq')) == _final(
        os.path.join(directory, 'sweep'))
  finally:
    if FLAGS.keep:
      print(f'runs kept in {directory}')
    else:
      shutil.rmtree(directory, ignore_errors=True)
  at_once = min(cpus, n)
  total = ray_start + sweep_wall
  print(f'{n} runs of {base.training_steps:,} steps ({base.algorithm}, '
        f'{base.num_parallel_melodies} melod'
        f'{"y" if base.num_parallel_melodies == 1 else "ies"} side by side)')
  print(f'  one after another: {seq_wall:8.1f} s  (a run itself: '
        f'{mean(seq_runs):.1f} s; per run beyond it, starting Python and '
        f'TensorFlow: {seq_wall / n - mean(seq_runs):.1f} s)')
  print(f'  sweep on Ray:      {total:8.1f} s  ({at_once} at a time; Ray '
        f'start-up {ray_start:.1f} s; a run itself {mean(sweep_runs):.1f} s; '
        f'per trial beyond it: '
        f'{sweep_wall * at_once / n - mean(sweep_runs):.1f} s)')
  print(f'  speed-up: {seq_wall / total:.2f}x with Ray start-up, '
        f'{seq_wall / sweep_wall:.2f}x without')
  print('  same final evaluation and Table 1 per seed both ways: '
        f'{"yes" if same else "NO"}')


if __name__ == '__main__':
  app.run(main)
