r"""Runs bench_rl_tuner.py on two commits side by side; prints both and ratios.

  python bench/bench_compare_commits.py --base=HEAD~1 [--rounds=2] \
      [--train_steps=10000 --parallel=1,16 --num_compositions=20000]

The base commit is checked out into a temporary git worktree; the two
benchmarks then run alternately (base, current, base, current, ...) in fresh
processes with the same flags, so that load on the machine falls on both
alike. Each figure is the best of the rounds. The working tree is "current",
uncommitted changes included.
"""

import os
import re
import subprocess
import sys
import tempfile

from absl import app
from absl import flags

flags.DEFINE_string('base', 'HEAD~1', 'Commit to compare against.')
flags.DEFINE_integer('rounds', 2, 'Alternating runs of each benchmark.')
flags.DEFINE_integer('train_steps', 10000, 'Passed to bench_rl_tuner.py.')
flags.DEFINE_list('parallel', ['1', '16'], 'Passed to bench_rl_tuner.py.')
flags.DEFINE_integer('num_compositions', 20000,
                     'Passed to bench_rl_tuner.py.')
FLAGS = flags.FLAGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Figure name -> (regex on the benchmark's output, higher is better).
FIGURES = {
    'train B=%s env steps/s': (r'train B=\s*(\d+):\s+(\d+) env steps/s', True),
    'action latency ms': (r'action latency: ([\d.]+) ms', False),
    'gradient update ms': (r'gradient update: ([\d.]+) ms', False),
    'evaluation s': (r'evaluation of \d+ compositions: ([\d.]+) s', False),
    '100,000 compositions s': (r'100,000 would take ([\d.]+) s', False),
}


def _run(tree):
  command = [sys.executable, os.path.join(tree, 'bench', 'bench_rl_tuner.py'),
             f'--train_steps={FLAGS.train_steps}',
             f'--parallel={",".join(FLAGS.parallel)}',
             f'--num_compositions={FLAGS.num_compositions}']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=tree)
  result = subprocess.run(command, cwd=tree, env=env, capture_output=True,
                          text=True, check=True)
  return result.stdout


def _parse(output):
  figures = {}
  for name, (pattern, _) in FIGURES.items():
    for match in re.finditer(pattern, output):
      if len(match.groups()) == 2:
        figures[name % match.group(1)] = float(match.group(2))
      else:
        figures[name] = float(match.group(1))
  return figures


def _higher_is_better(name):
  return next(better for key, (_, better) in FIGURES.items()
              if name == key or ('%s' in key and name.startswith(
                  key.split('%s')[0])))


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as tmp:
    base_tree = os.path.join(tmp, 'base')
    subprocess.run(['git', '-C', REPO, 'worktree', 'add', '--detach',
                    base_tree, FLAGS.base], check=True, capture_output=True)
    try:
      runs = {'base': [], 'current': []}
      for round_index in range(FLAGS.rounds):
        for label, tree in (('base', base_tree), ('current', REPO)):
          print(f'round {round_index + 1}: {label} ...', flush=True)
          runs[label].append(_parse(_run(tree)))
    finally:
      subprocess.run(['git', '-C', REPO, 'worktree', 'remove', '--force',
                      base_tree], check=False, capture_output=True)
  best = {}
  for label, figures in runs.items():
    names = set().union(*figures)
    best[label] = {}
    for name in names:
      values = [f[name] for f in figures if name in f]
      best[label][name] = (max(values) if _higher_is_better(name)
                           else min(values))
  base_rev = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short',
                             FLAGS.base], capture_output=True, text=True
                            ).stdout.strip()
  print(f'\n{"figure":32s} {"base " + base_rev:>14s} {"current":>12s} '
        f'{"current/base":>13s}  (best of {FLAGS.rounds}; ratio > 1 is '
        'better)')
  for name in sorted(best['current']):
    old, new = best['base'].get(name), best['current'][name]
    if old is None:
      print(f'{name:32s} {"-":>14s} {new:12.3f}')
      continue
    ratio = new / old if _higher_is_better(name) else old / new
    print(f'{name:32s} {old:14.3f} {new:12.3f} {ratio:12.2f}x')


if __name__ == '__main__':
  app.run(main)
