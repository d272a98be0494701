"""Features of one melody, a sequence of classes: the original's helpers.

The scalar counterparts of `melody_features` (which works on B melodies at
once): autocorrelation, the last motif, unique extremes, and the class of an
action given as an int or a one-hot vector. The Magenta methods of
`RLTuner` and the one-melody reference rewards (`rl_tuner.testing`) use
them; the values are the original's.
"""

import numpy as np

from rl_tuner.music import music_theory


def as_class(action):
  """Class int of an action given as an int or as a one-hot vector [38]."""
  if np.ndim(action) == 0:
    return int(action)
  return int(np.argmax(action))


def autocorrelate(signal, lag=1):
  """Correlation coefficient of a sequence with itself `lag` steps later.

  Computed like the original: sum_i x[i] * x[i - lag] / n / var, with x the
  mean-removed signal, so it is biased towards 0 for short sequences, is 0
  when lag >= n (and the signal is not constant), and NaN for a constant
  signal (zero variance).

  Args:
    signal: 1-D sequence of numbers (e.g. note classes), length n >= 1.
    lag: offset in steps, >= 1.

  Returns:
    float (numpy float64), NaN for constant signals.
  """
  return autocorrelations(signal, (lag,))[0]


def autocorrelations(signal, lags):
  """`autocorrelate` at several lags, sharing the mean and the variance.

  The floating-point operations are those of np.mean and np.var, so the
  values equal the original's bit for bit.

  Returns:
    float64 array [len(lags)].
  """
  signal = np.asarray(signal)
  n = len(signal)
  x = signal - signal.sum(dtype=np.float64) / n
  variance = (x * x).sum() / n
  values = np.empty(len(lags))
  with np.errstate(invalid='ignore', divide='ignore'):
    for i, lag in enumerate(lags):
      overlap = max(n - lag, 0)
      values[i] = (x[lag:lag + overlap] * x[:overlap]).sum() / float(n) / (
          variance)
  return values


def detect_last_motif(notes, bar_length=music_theory.MOTIF_BAR_LENGTH):
  """The last bar if it is a motif: >= 3 distinct pitches in `bar_length`.

  Args:
    notes: sequence of class ints (normally the notes plus the action).
    bar_length: motif window length in steps.

  Returns:
    (motif, num_unique_notes): the last `bar_length` classes (or None when
    they are not a motif or the melody is shorter) and the number of
    distinct pitches in them (0 when the melody is shorter).
  """
  if len(notes) < bar_length:
    return None, 0
  last_bar = list(notes[-bar_length:])
  num_unique_notes = len({n for n in last_bar
                          if n not in music_theory.SPECIAL_CLASSES})
  if num_unique_notes >= music_theory.MIN_NOTES_IN_MOTIF:
    return last_bar, num_unique_notes
  return None, num_unique_notes


def detect_high_unique(notes):
  """Whether the highest class of `notes` occurs exactly once."""
  notes = list(notes)
  return notes.count(max(notes)) == 1


def detect_low_unique(notes):
  """Whether the lowest pitch (special events ignored) occurs exactly once."""
  notes = list(notes)
  pitches = [n for n in notes if n not in music_theory.SPECIAL_CLASSES]
  return bool(pitches) and notes.count(min(pitches)) == 1
