"""The composition statistics one note at a time: the test oracle.

`compute_composition_stats_reference` computes the same dictionary as
`rl_tuner.evaluation.statistics.compute_composition_stats_for_compositions`
through the scalar reference rewards (`reference_rewards`), as the original
did: slow, and the reference the vectorized path is checked against.
"""

import numpy as np

from rl_tuner.evaluation import statistics
from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import music_theory
from rl_tuner.music import one_melody
from rl_tuner.testing import reference_rewards as rewards
from rl_tuner.testing.composition import Composition


def _reference_composition_stats(notes, config, tonic_note):
  """One composition's statistics, note by note with the scalar functions."""
  counts = dict.fromkeys(statistics.COUNT_KEYS, 0)
  composition = Composition()
  for note in notes:
    interval, _, _ = rewards.detect_sequential_interval(composition, note,
                                                        config)
    for name, hit in statistics.interval_counts(np.array([interval])).items():
      counts[name] += int(hit[0])
    if note not in config.key_set:
      counts['notes_not_in_key'] += 1
    if composition.beat == 0 and note == tonic_note:
      counts['num_starting_tonic'] += 1
    if rewards.detect_repeating_notes(composition, note, config):
      counts['num_repeated_notes'] += 1
    motif, _ = rewards.detect_last_motif(composition.notes + [note])
    if motif is not None:
      counts['notes_in_motif'] += 1
    if rewards.detect_repeated_motif(composition, note)[0]:
      counts['notes_in_repeated_motif'] += 1
    outcome = rewards.detect_leap_up_back(composition, note, config)
    if outcome == intervals.LEAP_RESOLVED:
      counts['num_resolved_leaps'] += 1
    elif outcome == intervals.LEAP_DOUBLED:
      counts['num_leap_twice'] += 1
    composition.append(note)
  counts['num_high_unique'] = int(rewards.detect_high_unique(notes))
  counts['num_low_unique'] = int(rewards.detect_low_unique(notes))
  onsets = [note >= keys.NUM_SPECIAL_EVENTS for note in notes]
  counts['num_note_onsets'] = sum(onsets)
  counts['num_leading_silent_steps'] = (onsets.index(True) if any(onsets)
                                        else len(notes))
  stats = {name: float(one_melody.autocorrelate(list(notes), lag))
           for name, lag in zip(statistics.AUTOCORRELATION_KEYS,
                                music_theory.AUTOCORRELATION_LAGS)}
  stats.update(counts)
  return stats


def compute_composition_stats_reference(
    compositions, key=None, tonic_note=keys.C_MAJOR_TONIC,
    per_composition=False, config=None):
  """Same as compute_composition_stats_for_compositions, one note at a time.

  Slow (the original's algorithm through the scalar reward functions); the
  reference the vectorized path is checked against.
  """
  compositions = statistics.as_compositions(compositions)
  config, tonic_note = statistics.stats_config(key, tonic_note, config)
  rows = [_reference_composition_stats([int(n) for n in notes], config,
                                       tonic_note)
          for notes in compositions]
  names = statistics.PER_COMPOSITION_KEYS
  float_keys = statistics.AUTOCORRELATION_KEYS
  per_comp = {name: np.array([row[name] for row in rows],
                             np.float64 if name in float_keys else np.int64)
              for name in names}
  stat_dict = statistics.stat_dict_from_per_composition(per_comp,
                                                        *compositions.shape)
  if per_composition:
    return stat_dict, per_comp
  return stat_dict


def assert_same_stats(a, b):
  """Asserts two statistics dicts are equal key by key, in the same order
  (NaN autocorrelations of constant melodies count as equal)."""
  assert list(a) == list(b)
  for key in a:
    if key.startswith('autocorrelation'):
      np.testing.assert_array_equal(a[key], b[key])  # NaN == NaN here
    else:
      assert a[key] == b[key], key
