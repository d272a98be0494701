"""A rhythm reward: start notes on eighth-note positions.

  python bin/rl_tuner_train.py --flagfile=configs/quickstart.flags \
      --output_dir=runs/eighths --reward=examples/rewards/rhythm.py:eighth_note_onsets
"""

import numpy as np


def eighth_note_onsets(state, actions):
  """+1 for a note starting on an eighth-note position (even sixteenth step),
  -1 for one starting between them; holds and rests 0."""
  onset = actions >= 2  # Classes 0 and 1 are hold and rest.
  on_eighth = state.beat % 2 == 0
  return np.where(onset, 1.0 if on_eighth else -1.0, 0.0)


def statistic(melodies):
  """Share of note onsets on eighth-note positions, melodies int [N, L]."""
  onsets = np.asarray(melodies) >= 2
  return onsets[:, ::2].sum() / max(onsets.sum(), 1)
