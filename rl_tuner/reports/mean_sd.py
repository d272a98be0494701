"""Mean ± sd over seeds: the statistic of a table cell and its text.

The one definition of a cell over seeds, shared by the sweep's tables
(`experiments.sweep_results`) and a reproduction's Table 1
(`reproduction_table`): sd is the sample standard deviation (n - 1) of the
finite values, None with fewer than two.
"""

import math

import numpy as np


def mean_sd(values):
  """{'mean', 'sd', 'n'} of the finite values (None where undefined)."""
  finite = [float(v) for v in values
            if v is not None and math.isfinite(float(v))]
  n = len(finite)
  if not n:
    return {'mean': None, 'sd': None, 'n': 0}
  return {'mean': float(np.mean(finite)),
          'sd': float(np.std(finite, ddof=1)) if n > 1 else None, 'n': n}


def format_mean_sd(stat, kind):
  """A mean_sd as text: 'mean ± sd', or 'n/a' without a mean.

  The mean has 3 significant digits, the sd 2; fractions (kind 'fraction')
  are shown as percent; no '± sd' where there is no sd (one value). The one
  formatter of mean ± sd cells: the sweep's tables and rl_tuner_reproduce's
  Table 1.
  """
  if stat['mean'] is None:
    return 'n/a'
  scale, unit = (100.0, '%') if kind == 'fraction' else (1.0, '')
  text = f'{scale * stat["mean"]:.3g}{unit}'
  if stat['sd'] is not None:
    text += f' ± {scale * stat["sd"]:.2g}{unit}'
  return text
