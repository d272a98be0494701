"""Modulate to the dominant in the second half (magenta/magenta#375).

In the second half of the melody, notes of the dominant key earn +1 and
notes outside it -1; the raised fourth of the home key (F# in C major), the
note that marks the new key, earns 2 more. In the first half the run's own
key rule keeps the melody at home.

  python bin/rl_tuner_train.py --flagfile=configs/quickstart.flags \
      --output_dir=runs/modulate \
      --reward=examples/rewards/modulate.py:modulate_to_dominant
"""

import numpy as np

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
LEADING_TONE_BONUS = 2.0


def _pitch_classes(classes):
  # Class 2 is MIDI 48 (a C); classes 0 and 1 are hold and rest.
  return (np.asarray(classes) - 2) % 12


def dominant_key_mask(tonic_class):
  """bool [12]: pitch classes of the major key a fifth above the tonic."""
  dominant = (_pitch_classes(tonic_class) + 7) % 12
  mask = np.zeros(12, bool)
  mask[[(dominant + s) % 12 for s in MAJOR_STEPS]] = True
  return mask


def modulate_to_dominant(state, actions):
  """Rewards the dominant key in the second half of the melody."""
  if state.beat < state.num_notes_in_melody // 2:
    return np.zeros(len(actions))
  pitch = _pitch_classes(actions)
  in_dominant = dominant_key_mask(state.config.tonic)[pitch]
  raised_fourth = pitch == (_pitch_classes(state.config.tonic) + 6) % 12
  value = np.where(in_dominant, 1.0, -1.0) + np.where(
      raised_fourth, LEADING_TONE_BONUS, 0.0)
  return np.where(actions >= 2, value, 0.0)


def statistic(melodies, tonic_class=14):
  """Share of second-half pitches that are the raised fourth (F# in C)."""
  melodies = np.asarray(melodies)
  second = melodies[:, melodies.shape[1] // 2:]
  pitches = second[second >= 2]
  raised = (_pitch_classes(tonic_class) + 6) % 12
  return float(np.mean(_pitch_classes(pitches) == raised)) if len(
      pitches) else 0.0
