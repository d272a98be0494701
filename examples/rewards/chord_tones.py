"""Chord tones on strong beats, over a chord progression (magenta#608).

The progression is an option of the reward, e.g.

  python bin/rl_tuner_train.py --flagfile=configs/quickstart.flags \
      --output_dir=runs/chords \
      --reward=examples/rewards/chord_tones.py:ChordTones \
      --reward_option=chord_tones.progression='C F G C' \
      --reward_weights=chord_tones=4

Each chord lasts `steps_per_chord` sixteenth steps (default 8, half a bar
of 4/4). A note starting on a strong beat (every quarter note) earns +1 when
it is a tone of the chord sounding there and -1 when it is not.
"""

import re

import numpy as np

_ROOTS = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}
_CHORD_RE = re.compile(r'^([A-G])([#b]?)(m?)(7?)$')
STRONG_BEAT_STEPS = 4  # A quarter note, in sixteenth steps.


def chord_pitch_classes(name):
  """Pitch classes of a chord name: 'C', 'Am', 'F#', 'Bb', 'G7', 'Dm7'."""
  match = _CHORD_RE.match(name.strip())
  if not match:
    raise ValueError(f'chord {name!r}: expected a root A-G, optional # or '
                     'b, optional m (minor) and 7')
  root = (_ROOTS[match.group(1)] + {'': 0, '#': 1, 'b': -1}[match.group(2)]
          ) % 12
  third = 3 if match.group(3) else 4
  tones = {root, (root + third) % 12, (root + 7) % 12}
  if match.group(4):
    tones.add((root + 10) % 12)  # The minor seventh of a 7 or m7 chord.
  return frozenset(tones)


def parse_progression(text):
  """'C F G C' or 'C,F,G,C' -> list of pitch-class sets."""
  names = [n for n in re.split(r'[\s,]+', text.strip()) if n]
  if not names:
    raise ValueError('empty chord progression')
  return [chord_pitch_classes(n) for n in names]


class ChordTones:
  """+1 / -1 for chord / non-chord tones starting on strong beats."""

  name = 'chord_tones'

  def __init__(self, progression='C F G C', steps_per_chord='8'):
    chords = parse_progression(progression)
    self.steps_per_chord = int(steps_per_chord)
    # bool [chords, 12]: which pitch classes each chord holds.
    self.table = np.zeros((len(chords), 12), bool)
    for i, tones in enumerate(chords):
      self.table[i, sorted(tones)] = True

  def chord_index(self, beat):
    return (beat // self.steps_per_chord) % len(self.table)

  def __call__(self, state, actions):
    if state.beat % STRONG_BEAT_STEPS:
      return np.zeros(len(actions))
    chord = self.table[self.chord_index(state.beat)]
    is_tone = chord[(actions - 2) % 12]
    return np.where(actions >= 2, np.where(is_tone, 1.0, -1.0), 0.0)

  def statistic(self, melodies):
    """Share of strong-beat onsets that are chord tones, melodies [N, L]."""
    melodies = np.asarray(melodies)
    hits = total = 0
    for beat in range(0, melodies.shape[1], STRONG_BEAT_STEPS):
      notes = melodies[:, beat]
      onsets = notes >= 2
      chord = self.table[self.chord_index(beat)]
      hits += int(chord[(notes[onsets] - 2) % 12].sum())
      total += int(onsets.sum())
    return hits / max(total, 1)
