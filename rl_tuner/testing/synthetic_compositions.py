"""Random melodies that exercise every music-theory rule (tests, benchmarks).

Six kinds, like the generators of the golden files: uniform classes;
hold/rest-heavy melodies (some constant); walks in C major with leaps;
repeated 8-step motifs; runs of one repeated note with holds and rests in
between; and in-key walks that start on the tonic and end on it followed by
holds and rests.
"""

import numpy as np

from rl_tuner.music import keys

KINDS = ('uniform', 'hold_heavy', 'key_walk', 'motif', 'repeats',
         'tonic_ending')

_KEY_PITCHES = np.array([c for c in keys.C_MAJOR_KEY
                         if c >= keys.NUM_SPECIAL_EVENTS])
_TONIC_INDEX = int(np.flatnonzero(_KEY_PITCHES == keys.C_MAJOR_TONIC)[0])


def _uniform(rng, n, length):
  return rng.integers(0, keys.NUM_CLASSES, size=(n, length))


def _hold_heavy(rng, n, length):
  notes = rng.integers(keys.NUM_SPECIAL_EVENTS, keys.NUM_CLASSES,
                       size=(n, length))
  special = rng.random((n, length)) < 0.6
  notes = np.where(special, rng.integers(0, keys.NUM_SPECIAL_EVENTS,
                                         size=(n, length)), notes)
  constant = rng.random(n) < 0.1
  notes[constant] = notes[constant, :1]
  return notes


def _key_walk(rng, n, length, start=None):
  """Scale-degree walks with steps of 1-2 degrees and leaps of 4-6."""
  steps = rng.choice([-2, -1, 1, 2], size=(n, length))
  leaps = rng.random((n, length)) < 0.15
  steps = np.where(leaps, rng.choice([-6, -5, -4, 4, 5, 6], size=(n, length)),
                   steps)
  if start is None:
    start = rng.integers(5, len(_KEY_PITCHES) - 5, size=(n, 1))
  index = start + np.cumsum(steps, axis=1) - steps[:, :1]
  # Reflect at the ends of the range.
  period = 2 * (len(_KEY_PITCHES) - 1)
  index = index % period
  index = np.where(index >= len(_KEY_PITCHES), period - index, index)
  notes = _KEY_PITCHES[index]
  special = rng.random((n, length)) < 0.2
  return np.where(special, rng.integers(0, keys.NUM_SPECIAL_EVENTS,
                                        size=(n, length)), notes)


def _motif(rng, n, length):
  motif = _key_walk(rng, n, 8)
  notes = np.tile(motif, (1, -(-length // 8)))[:, :length]
  changed = rng.random((n, length)) < 0.05
  return np.where(changed, rng.integers(0, keys.NUM_CLASSES, size=(n, length)),
                  notes)


def _repeats(rng, n, length):
  # A pitch held over several steps, changing with probability 0.1.
  new_pitch = rng.integers(keys.NUM_SPECIAL_EVENTS, keys.NUM_CLASSES,
                           size=(n, length))
  change = rng.random((n, length)) < 0.1
  change[:, 0] = True
  last_change = np.maximum.accumulate(
      np.where(change, np.arange(length), 0), axis=1)
  pitches = np.take_along_axis(new_pitch, last_change, axis=1)
  breaks = rng.random((n, length)) < 0.25
  return np.where(breaks, rng.integers(0, keys.NUM_SPECIAL_EVENTS,
                                       size=(n, length)), pitches)


def _tonic_ending(rng, n, length):
  notes = _key_walk(rng, n, length, start=np.full((n, 1), _TONIC_INDEX))
  notes[:, 0] = keys.C_MAJOR_TONIC
  if length >= 4:
    notes[:, length - 4] = keys.C_MAJOR_TONIC
    notes[:, length - 3:] = rng.integers(0, keys.NUM_SPECIAL_EVENTS,
                                         size=(n, 3))
  return notes


_GENERATORS = {
    'uniform': _uniform,
    'hold_heavy': _hold_heavy,
    'key_walk': _key_walk,
    'motif': _motif,
    'repeats': _repeats,
    'tonic_ending': _tonic_ending,
}


def random_compositions(num_compositions, length=32, seed=0, kinds=KINDS):
  """A shuffled, seeded mix of melodies of the given kinds.

  Args:
    num_compositions: N.
    length: L, steps per melody.
    seed: seed of numpy's default_rng.
    kinds: which of KINDS to draw from, in about equal numbers.

  Returns:
    (compositions int64 [N, L], kind names list [N]).
  """
  rng = np.random.default_rng(seed)
  counts = np.bincount(np.arange(num_compositions) % len(kinds),
                       minlength=len(kinds))
  parts = [_GENERATORS[kind](rng, count, length)
           for kind, count in zip(kinds, counts)]
  names = np.repeat(np.array(kinds, dtype=object), counts)
  order = rng.permutation(num_compositions)
  compositions = np.concatenate(parts).astype(np.int64)[order]
  return compositions, list(names[order])
