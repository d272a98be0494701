"""Speed of the composition statistics: vectorized path versus note by note.

Generates 100,000 seeded random compositions of 32 steps (a mix of uniform,
hold-heavy, in-key walks, motifs, repeated notes and tonic endings), then
times compute_composition_stats_for_compositions on all of them and the
scalar reference path (the original's algorithm) on a subset, and prints the
wall times, compositions per second and their ratio. Asserts nothing.

Usage: python bench/bench_eval_metrics.py [--num 100000] [--reference 2000]
"""

import argparse
import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top,wrong-import-position
from rl_tuner import rl_tuner_eval_metrics as metrics
from rl_tuner.testing import reference_statistics
from rl_tuner.testing import synthetic_compositions


def _time(fn):
  start = time.perf_counter()
  result = fn()
  return result, time.perf_counter() - start


def _same_stats(a, b):
  """Whether two stat dicts are equal, NaN autocorrelations included."""
  return a.keys() == b.keys() and all(
      np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--num', type=int, default=100_000,
                      help='compositions for the vectorized path')
  parser.add_argument('--reference', type=int, default=2_000,
                      help='compositions for the scalar reference path')
  parser.add_argument('--length', type=int, default=32)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()

  (compositions, _), gen_s = _time(lambda: synthetic_compositions
                                   .random_compositions(args.num, args.length,
                                                        seed=args.seed))
  print(f'generated {args.num} compositions x {args.length} steps in '
        f'{gen_s:.2f} s (cpus: {os.cpu_count()})')

  stats, fast_s = _time(
      lambda: metrics.compute_composition_stats_for_compositions(compositions))
  fast_rate = args.num / fast_s
  print(f'vectorized: {args.num} compositions in {fast_s:.2f} s = '
        f'{fast_rate:,.0f} compositions/s')

  subset = compositions[:args.reference]
  reference, slow_s = _time(
      lambda: reference_statistics.compute_composition_stats_reference(subset))
  slow_rate = len(subset) / slow_s
  print(f'scalar reference: {len(subset)} compositions in {slow_s:.2f} s = '
        f'{slow_rate:,.0f} compositions/s')
  same = _same_stats(
      reference, metrics.compute_composition_stats_for_compositions(subset))
  print(f'speed-up: {fast_rate / slow_rate:.0f}x '
        f'(subset statistics identical: {same})')
  print(f'scalar path for all {args.num} would take about '
        f'{args.num / slow_rate:.0f} s')
  print()
  print(metrics.table1_markdown({'random mix': metrics.table1_summary(stats)},
                                include_paper=False))


if __name__ == '__main__':
  main()
