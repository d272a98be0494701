"""Scores to probabilities, and drawing classes from them.

The one softmax, log-softmax and inverse-CDF sampler of both packages: the
Note RNN's generation and the RL Tuner's exploration, evaluation and
rewards. Everything is computed in float64 with numpy alone (importing
scipy would slow the tools' --help), so the same inputs and Generator give
the same classes on every machine.
"""

import numpy as np


def softmax(scores, axis=-1):
  """Softmax in float64 along `axis` (shifted by the max along it).

  The operations are `scipy.special.softmax`'s, so the values equal its
  bit for bit (a test checks it).

  Args:
    scores: float array-like of any shape, e.g. [B, A] action values or
      logits.
    axis: the axis that sums to 1.

  Returns:
    float64 array of the shape of `scores`.
  """
  scores = np.asarray(scores, np.float64)
  shifted = np.exp(scores - np.max(scores, axis=axis, keepdims=True))
  return shifted / np.sum(shifted, axis=axis, keepdims=True)


def log_softmax(logits):
  """Log-probabilities in float64 over the last axis.

  Args:
    logits: float array-like [..., C] (any float dtype).

  Returns:
    float64 array [..., C]: logits - log(sum(exp(logits))), computed with
    the max along the last axis subtracted first.
  """
  logits = np.asarray(logits, np.float64)
  shifted = logits - logits.max(axis=-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sample_classes(probabilities, rng):
  """Draws one class per row by inverse CDF.

  For row b, r is drawn uniformly from [0, total) (total: the row's sum, so
  the probabilities need not sum exactly to 1) and the class is the first
  i whose cumulative probability is >= r, i.e. the count of cumulative
  probabilities < r: the tie rule of Magenta's `rl_tuner_ops.
  sample_softmax`. Uses one `rng.random` draw per row.

  Args:
    probabilities: float array [B, C] of non-negative weights.
    rng: numpy Generator.

  Returns:
    int64 array [B] of classes in [0, C).
  """
  cumulative = np.cumsum(probabilities, axis=-1)
  draws = rng.random(len(probabilities)) * cumulative[:, -1]
  picked = (cumulative < draws[:, None]).sum(axis=-1)
  return np.minimum(picked, probabilities.shape[-1] - 1)


def sample_logits(logits, temperature, rng):
  """Draws one class per row from softmax(logits / temperature).

  Args:
    logits: float array-like [B, C].
    temperature: >= 0; below 1 sharpens, above 1 flattens; 0 returns the
      argmax of each row (and draws nothing from `rng`).
    rng: numpy Generator.

  Returns:
    int64 array [B] of classes in [0, C).
  """
  logits = np.asarray(logits, np.float64)
  if temperature == 0:
    return np.argmax(logits, axis=-1).astype(np.int64)
  return sample_classes(softmax(logits / temperature), rng).astype(np.int64)
