"""How well compositions follow the music-theory rules: the statistics.

`compute_composition_stats_for_compositions` computes the original's
statistics dictionary for N compositions at once (numpy over the N
compositions, a loop over the L steps), through the same `MelodyEnv` and
batched detections (`melody_features`) as the batched rewards.
`compute_composition_stats` lets a model compose first;
`get_stat_dict_string` is the original's text report. The one-note-at-a-time
computation the fast path is tested against is
`rl_tuner.testing.reference_statistics`; the paper's Table 1 made of a
stat_dict is `rl_tuner.reports.table1`.

Statistic keys (counts over all compositions unless noted):
  autocorrelation1..3      list [N] of each composition's autocorrelation at
                           lag 1..3 (NaN for a constant composition)
  notes_not_in_key         notes outside the key
  notes_in_motif           notes that end a motif (>= 3 distinct pitches in
                           the last 8 steps)
  notes_in_repeated_motif  notes that end a motif played before
  num_starting_tonic       compositions whose first note is the tonic
  num_repeated_notes       notes the repeat penalty applies to
  num_octave_jumps, num_fifths, num_thirds, num_sixths, num_seconds,
  num_fourths, num_sevenths, num_rest_intervals, num_special_rest_intervals,
  num_in_key_preferred_intervals
                           intervals by kind (see rewards.
                           detect_sequential_interval; a fifth or a third
                           within the tonic triad counts as in-key preferred,
                           not as a fifth or third; hold intervals and
                           unisons count nowhere)
  num_resolved_leaps, num_leap_twice
                           leap outcomes
  num_high_unique, num_low_unique
                           compositions whose highest / lowest note occurs
                           once
  num_compositions, total_notes

Beyond the original (EXTRA_COUNT_KEYS; rhythm, which the rules above do not
see):
  num_note_onsets          steps that start a note (a pitch class, >= 2)
  num_leading_silent_steps steps before each composition's first note
                           (holds or rests that sound nothing)

Unlike the original, in-key thirds are counted in
num_in_key_preferred_intervals (defect 3: an operator-precedence slip made
the original count in-key fifths only), and an explicit key works (defect
10).
"""

import logging
import warnings

import numpy as np

from rl_tuner.env import melody_env
from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import melody_features as rewards_batch
from rl_tuner.music import music_theory

AUTOCORRELATION_KEYS = tuple(f'autocorrelation{lag}'
                             for lag in music_theory.AUTOCORRELATION_LAGS)
# Interval-count keys and the interval codes each counts (`None`: wider than
# an octave).
INTERVAL_STAT_CODES = {
    'num_octave_jumps': None,
    'num_fifths': (intervals.FIFTH,),
    'num_thirds': (intervals.THIRD,),
    'num_sixths': (intervals.SIXTH,),
    'num_seconds': (intervals.SECOND,),
    'num_fourths': (intervals.FOURTH,),
    'num_sevenths': (intervals.SEVENTH,),
    'num_rest_intervals': (intervals.REST_INTERVAL,),
    'num_special_rest_intervals': (
        intervals.REST_INTERVAL_AFTER_THIRD_OR_FIFTH,),
    'num_in_key_preferred_intervals': (intervals.IN_KEY_FIFTH,
                                       intervals.IN_KEY_THIRD),
}
# The per-composition count keys, in the original dictionary's order.
COUNT_KEYS = (
    'notes_not_in_key', 'notes_in_motif', 'notes_in_repeated_motif',
    'num_starting_tonic', 'num_repeated_notes', 'num_octave_jumps',
    'num_fifths', 'num_thirds', 'num_sixths', 'num_seconds', 'num_fourths',
    'num_sevenths', 'num_rest_intervals', 'num_special_rest_intervals',
    'num_in_key_preferred_intervals', 'num_resolved_leaps', 'num_leap_twice',
    'num_high_unique', 'num_low_unique')
# Counts beyond the original's dictionary (rhythm).
EXTRA_COUNT_KEYS = ('num_note_onsets', 'num_leading_silent_steps')
# Every per-composition statistic, in the stat_dict's order.
PER_COMPOSITION_KEYS = AUTOCORRELATION_KEYS + COUNT_KEYS + EXTRA_COUNT_KEYS
# Compositions processed together; bounds memory and keeps arrays in cache.
DEFAULT_CHUNK_SIZE = 4096


def stats_config(key, tonic_note, config):
  """(MusicTheoryConfig, start tonic class) the statistics judge by.

  With key None the intervals are judged in C major and only the start
  statistic uses tonic_note (as in the original); with an explicit key, the
  key and tonic_note define the tonic triad too.
  """
  if config is not None:
    if key is not None:
      raise ValueError('pass either config or key, not both')
    return config, config.tonic
  if key is None:
    return music_theory.DEFAULT_CONFIG, int(tonic_note)
  return (music_theory.MusicTheoryConfig(key=key, tonic=tonic_note),
          int(tonic_note))


def as_compositions(compositions):
  """compositions as int64 [N, L], L >= 1, checked to hold classes only.

  Raises:
    ValueError: another shape, or a value outside [0, NUM_CLASSES).
  """
  compositions = np.asarray(compositions, dtype=np.int64)
  if compositions.ndim != 2 or compositions.shape[1] == 0:
    raise ValueError('compositions must be an int array [N, L] with L >= 1; '
                     f'got shape {compositions.shape}')
  if compositions.size and (compositions.min() < 0 or
                            compositions.max() >= keys.NUM_CLASSES):
    raise ValueError(f'classes must lie in [0, {keys.NUM_CLASSES})')
  return compositions


def interval_counts(interval):
  """bool arrays [B] per interval-count key for interval codes [B]."""
  counts = {}
  for stat, codes in INTERVAL_STAT_CODES.items():
    if codes is None:
      counts[stat] = interval > intervals.OCTAVE
    else:
      counts[stat] = np.isin(interval, codes)
  return counts


def _rhythm_counts(compositions):
  """EXTRA_COUNT_KEYS of compositions [B, L], as int64 arrays [B]."""
  onsets = compositions >= keys.NUM_SPECIAL_EVENTS
  length = compositions.shape[1]
  first_note = np.where(onsets.any(axis=1), onsets.argmax(axis=1), length)
  return {'num_note_onsets': onsets.sum(axis=1).astype(np.int64),
          'num_leading_silent_steps': first_note.astype(np.int64)}


def _chunk_stats(compositions, config, tonic_note):
  """Per-composition statistics of compositions [B, L], as arrays [B].

  The compositions are replayed through a MelodyEnv, the environment the
  rewards use, so statistics and rewards judge by the same rules.
  """
  batch, length = compositions.shape
  counts = {name: np.zeros(batch, np.int64) for name in COUNT_KEYS}
  env = melody_env.MelodyEnv(batch, config)
  for t in range(length):
    action = compositions[:, t]
    for name, hit in interval_counts(env.interval(action)).items():
      counts[name] += hit
    counts['notes_not_in_key'] += ~config.key_mask[action]
    if t == 0:
      counts['num_starting_tonic'] += action == tonic_note
    counts['num_repeated_notes'] += env.repeats_excessively(action)
    counts['notes_in_motif'] += (env.motif_unique_notes(action) >=
                                 music_theory.MIN_NOTES_IN_MOTIF)
    counts['notes_in_repeated_motif'] += env.repeated_motif(action)
    outcome = env.leap_outcome(action)
    counts['num_resolved_leaps'] += outcome == intervals.LEAP_RESOLVED
    counts['num_leap_twice'] += outcome == intervals.LEAP_DOUBLED
    env.step(action)
  counts['num_high_unique'] += rewards_batch.detect_high_unique(compositions)
  counts['num_low_unique'] += rewards_batch.detect_low_unique(compositions)
  counts.update(_rhythm_counts(compositions))
  autocorrelations = {
      name: rewards_batch.autocorrelate(compositions, lag)
      for name, lag in zip(AUTOCORRELATION_KEYS,
                           music_theory.AUTOCORRELATION_LAGS)}
  return {**autocorrelations, **counts}


def stat_dict_from_per_composition(per_composition, num_compositions,
                                   composition_length):
  """The stat_dict of per-composition statistics (arrays [N] by key)."""
  stat_dict = {name: [float(v) for v in per_composition[name]]
               for name in AUTOCORRELATION_KEYS}
  stat_dict.update({name: int(np.sum(per_composition[name]))
                    for name in COUNT_KEYS + EXTRA_COUNT_KEYS})
  stat_dict['num_compositions'] = int(num_compositions)
  stat_dict['total_notes'] = int(num_compositions * composition_length)
  return stat_dict


def compute_composition_stats_for_compositions(
    compositions, key=None, tonic_note=keys.C_MAJOR_TONIC,
    per_composition=False, config=None, chunk_size=DEFAULT_CHUNK_SIZE):
  """Music-theory statistics of N compositions of L steps (vectorized).

  Args:
    compositions: int array-like [N, L] of classes.
    key: classes in key (default C major). With an explicit key, tonic_note
      is also the tonic of the key's triad for the interval statistics.
    tonic_note: class whose presence at step 0 counts as starting with the
      tonic.
    per_composition: also return each composition's statistics.
    config: a music_theory.MusicTheoryConfig to use instead of key and
      tonic_note (e.g. for labels='encoding').
    chunk_size: compositions processed per numpy pass.

  Returns:
    stat_dict (see the module docstring; counts as Python ints,
    autocorrelation lists of Python floats with NaN), and if per_composition,
    also a dict with the same keys minus num_compositions / total_notes,
    mapping to arrays [N] (float64 for autocorrelation, int64 for counts).
  """
  compositions = as_compositions(compositions)
  config, tonic_note = stats_config(key, tonic_note, config)
  chunks = [_chunk_stats(compositions[start:start + chunk_size], config,
                         tonic_note)
            for start in range(0, len(compositions), chunk_size)]
  names = PER_COMPOSITION_KEYS
  if chunks:
    per_comp = {name: np.concatenate([c[name] for c in chunks])
                for name in names}
  else:
    per_comp = {name: np.zeros(0) for name in names}
  stat_dict = stat_dict_from_per_composition(per_comp, *compositions.shape)
  if per_composition:
    return stat_dict, per_comp
  return stat_dict


def compute_composition_stats(rl_tuner, num_compositions=10000,
                              composition_length=32, key=None,
                              tonic_note=keys.C_MAJOR_TONIC, config=None):
  """Lets a model compose, then computes the statistics of its melodies.

  Contract: `rl_tuner.generate_compositions(num_compositions,
  composition_length)` returns an int array-like [num_compositions,
  composition_length] of classes, each row one melody composed from a fresh
  start (the model primed as for evaluation, notes chosen by the model
  without exploration).

  Args:
    rl_tuner: an object with the generate_compositions method above.
    num_compositions: number of melodies.
    composition_length: steps per melody.
    key: classes in key (default C major).
    tonic_note: tonic class (default C4, class 14).
    config: a music_theory.MusicTheoryConfig to judge by instead of key and
      tonic_note (RLTuner passes its own: the run's key, tonic, labels).

  Returns:
    stat_dict (see compute_composition_stats_for_compositions). The report
    text is logged at INFO level.
  """
  compositions = np.asarray(
      rl_tuner.generate_compositions(num_compositions, composition_length))
  expected = (num_compositions, composition_length)
  if compositions.shape != expected:
    raise ValueError(f'generate_compositions returned shape '
                     f'{compositions.shape}; expected {expected}')
  if config is not None:
    stat_dict = compute_composition_stats_for_compositions(compositions,
                                                           config=config)
  else:
    stat_dict = compute_composition_stats_for_compositions(
        compositions, key=key, tonic_note=tonic_note)
  logging.getLogger(__name__).debug('%s', get_stat_dict_string(stat_dict))
  return stat_dict


def nanmean(values):
  """np.nanmean of `values` as float64, NaN (no warning) if all are NaN."""
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', RuntimeWarning)
    return np.nanmean(np.asarray(values, dtype=np.float64))


def get_stat_dict_string(stat_dict, print_interval_stats=True):
  """The original's plain-text report of a stat_dict (same text).

  Args:
    stat_dict: from compute_composition_stats*.
    print_interval_stats: include the per-composition interval averages.

  Returns:
    str of several tab-indented lines.
  """
  total_notes = float(stat_dict['total_notes'])
  num_compositions = float(stat_dict['num_compositions'])
  resolved = float(stat_dict['num_resolved_leaps'])
  leaps = float(stat_dict['num_leap_twice']) + resolved
  percent_resolved = resolved / leaps if leaps > 0 else np.nan

  def count(name):
    return str(float(stat_dict[name]))

  def per_note(name):
    return str(float(stat_dict[name]) / total_notes)

  def per_composition(name):
    return str(float(stat_dict[name]) / num_compositions)

  lines = [
      f'Total compositions: {num_compositions}',
      f'Total notes:{total_notes}',
      f'\tCompositions starting with tonic: {count("num_starting_tonic")}',
      f'\tCompositions with unique highest note:{count("num_high_unique")}',
      f'\tCompositions with unique lowest note:{count("num_low_unique")}',
      f'\tNumber of resolved leaps:{count("num_resolved_leaps")}',
      f'\tNumber of double leaps:{count("num_leap_twice")}',
      f'\tNotes not in key:{count("notes_not_in_key")}',
      f'\tNotes in motif:{count("notes_in_motif")}',
      f'\tNotes in repeated motif:{count("notes_in_repeated_motif")}',
      f'\tNotes excessively repeated:{count("num_repeated_notes")}',
      '',
      '\tPercent compositions starting with tonic:'
      f'{per_composition("num_starting_tonic")}',
      '\tPercent compositions with unique highest note:'
      f'{per_composition("num_high_unique")}',
      '\tPercent compositions with unique lowest note:'
      f'{per_composition("num_low_unique")}',
      f'\tPercent of leaps resolved:{percent_resolved}',
      f'\tPercent notes not in key:{per_note("notes_not_in_key")}',
      f'\tPercent notes in motif:{per_note("notes_in_motif")}',
      '\tPercent notes in repeated motif:'
      f'{per_note("notes_in_repeated_motif")}',
      '\tPercent notes excessively repeated:'
      f'{per_note("num_repeated_notes")}',
      '',
  ]
  for name, lag in zip(AUTOCORRELATION_KEYS, music_theory.AUTOCORRELATION_LAGS):
    lines.append(f'\tAverage autocorrelation of lag{lag}:'
                 f'{nanmean(stat_dict[name])}')
  if print_interval_stats:
    lines.append('')
    for label, name in (('octave jumps', 'num_octave_jumps'),
                        ('sevenths', 'num_sevenths'),
                        ('fifths', 'num_fifths'),
                        ('sixths', 'num_sixths'),
                        ('fourths', 'num_fourths'),
                        ('rest intervals', 'num_rest_intervals'),
                        ('seconds', 'num_seconds'),
                        ('thirds', 'num_thirds'),
                        ('in key preferred intervals',
                         'num_in_key_preferred_intervals'),
                        ('special rest intervals',
                         'num_special_rest_intervals')):
      lines.append(f'\tAvg. num {label} per composition:'
                   f'{per_composition(name)}')
  return '\n'.join(lines) + '\n\n'
