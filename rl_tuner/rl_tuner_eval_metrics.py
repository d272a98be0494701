"""How well compositions follow the music-theory rules: the paper's Table 1.

`compute_composition_stats_for_compositions` computes the original's
statistics dictionary for N compositions at once (numpy over the N
compositions, a loop over the L steps), through the same batched detections
as the batched rewards (`rewards_batch`). `compute_composition_stats_reference`
computes the same dictionary one note at a time through the scalar reward
functions, as the original did; it is the reference the fast path is tested
against.

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

import json
import logging
import math
import warnings

import numpy as np

from rl_tuner.env import melody_env
from rl_tuner.magenta import not_applicable
from rl_tuner.testing import reference_rewards as rewards
from rl_tuner.music import melody_features as rewards_batch
from rl_tuner import rl_tuner_ops as ops
from rl_tuner.testing.composition import Composition

AUTOCORRELATION_KEYS = tuple(f'autocorrelation{lag}'
                             for lag in rewards.AUTOCORRELATION_LAGS)
# Interval-count keys and the interval codes each counts (`None`: wider than
# an octave).
INTERVAL_STAT_CODES = {
    'num_octave_jumps': None,
    'num_fifths': (ops.FIFTH,),
    'num_thirds': (ops.THIRD,),
    'num_sixths': (ops.SIXTH,),
    'num_seconds': (ops.SECOND,),
    'num_fourths': (ops.FOURTH,),
    'num_sevenths': (ops.SEVENTH,),
    'num_rest_intervals': (ops.REST_INTERVAL,),
    'num_special_rest_intervals': (ops.REST_INTERVAL_AFTER_THIRD_OR_FIFTH,),
    'num_in_key_preferred_intervals': (ops.IN_KEY_FIFTH, ops.IN_KEY_THIRD),
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


def _stats_config(key, tonic_note, config):
  """The MusicTheoryConfig and start tonic the statistics use.

  With key None the intervals are judged in C major and only the start
  statistic uses tonic_note (as in the original); with an explicit key, the
  key and tonic_note define the tonic triad too.
  """
  if config is not None:
    if key is not None:
      raise ValueError('pass either config or key, not both')
    return config, config.tonic
  if key is None:
    return rewards.DEFAULT_CONFIG, int(tonic_note)
  return rewards.MusicTheoryConfig(key=key, tonic=tonic_note), int(tonic_note)


def _as_compositions(compositions):
  compositions = np.asarray(compositions, dtype=np.int64)
  if compositions.ndim != 2 or compositions.shape[1] == 0:
    raise ValueError('compositions must be an int array [N, L] with L >= 1; '
                     f'got shape {compositions.shape}')
  if compositions.size and (compositions.min() < 0 or
                            compositions.max() >= ops.NUM_CLASSES):
    raise ValueError(f'classes must lie in [0, {ops.NUM_CLASSES})')
  return compositions


def _interval_counts(interval):
  """bool arrays [B] per interval-count key for interval codes [B]."""
  counts = {}
  for stat, codes in INTERVAL_STAT_CODES.items():
    if codes is None:
      counts[stat] = interval > ops.OCTAVE
    else:
      counts[stat] = np.isin(interval, codes)
  return counts


def _rhythm_counts(compositions):
  """EXTRA_COUNT_KEYS of compositions [B, L], as int64 arrays [B]."""
  onsets = compositions >= ops.NUM_SPECIAL_EVENTS
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
    for name, hit in _interval_counts(env.interval(action)).items():
      counts[name] += hit
    counts['notes_not_in_key'] += ~config.key_mask[action]
    if t == 0:
      counts['num_starting_tonic'] += action == tonic_note
    counts['num_repeated_notes'] += env.repeats_excessively(action)
    counts['notes_in_motif'] += (env.motif_unique_notes(action) >=
                                 rewards.MIN_NOTES_IN_MOTIF)
    counts['notes_in_repeated_motif'] += env.repeated_motif(action)
    outcome = env.leap_outcome(action)
    counts['num_resolved_leaps'] += outcome == ops.LEAP_RESOLVED
    counts['num_leap_twice'] += outcome == ops.LEAP_DOUBLED
    env.step(action)
  counts['num_high_unique'] += rewards_batch.detect_high_unique(compositions)
  counts['num_low_unique'] += rewards_batch.detect_low_unique(compositions)
  counts.update(_rhythm_counts(compositions))
  autocorrelations = {
      name: rewards_batch.autocorrelate(compositions, lag)
      for name, lag in zip(AUTOCORRELATION_KEYS, rewards.AUTOCORRELATION_LAGS)}
  return {**autocorrelations, **counts}


def _stat_dict_from_per_composition(per_composition, num_compositions,
                                    composition_length):
  stat_dict = {name: [float(v) for v in per_composition[name]]
               for name in AUTOCORRELATION_KEYS}
  stat_dict.update({name: int(np.sum(per_composition[name]))
                    for name in COUNT_KEYS + EXTRA_COUNT_KEYS})
  stat_dict['num_compositions'] = int(num_compositions)
  stat_dict['total_notes'] = int(num_compositions * composition_length)
  return stat_dict


def compute_composition_stats_for_compositions(
    compositions, key=None, tonic_note=ops.C_MAJOR_TONIC,
    per_composition=False, config=None, chunk_size=DEFAULT_CHUNK_SIZE):
  """Music-theory statistics of N compositions of L steps (vectorized).

  Args:
    compositions: int array-like [N, L] of classes.
    key: classes in key (default C major). With an explicit key, tonic_note
      is also the tonic of the key's triad for the interval statistics.
    tonic_note: class whose presence at step 0 counts as starting with the
      tonic.
    per_composition: also return each composition's statistics.
    config: a rewards.MusicTheoryConfig to use instead of key and tonic_note
      (e.g. for labels='encoding').
    chunk_size: compositions processed per numpy pass.

  Returns:
    stat_dict (see the module docstring; counts as Python ints,
    autocorrelation lists of Python floats with NaN), and if per_composition,
    also a dict with the same keys minus num_compositions / total_notes,
    mapping to arrays [N] (float64 for autocorrelation, int64 for counts).
  """
  compositions = _as_compositions(compositions)
  config, tonic_note = _stats_config(key, tonic_note, config)
  chunks = [_chunk_stats(compositions[start:start + chunk_size], config,
                         tonic_note)
            for start in range(0, len(compositions), chunk_size)]
  names = PER_COMPOSITION_KEYS
  if chunks:
    per_comp = {name: np.concatenate([c[name] for c in chunks])
                for name in names}
  else:
    per_comp = {name: np.zeros(0) for name in names}
  stat_dict = _stat_dict_from_per_composition(per_comp, *compositions.shape)
  if per_composition:
    return stat_dict, per_comp
  return stat_dict


def _reference_composition_stats(notes, config, tonic_note):
  """One composition's statistics, note by note with the scalar functions."""
  counts = dict.fromkeys(COUNT_KEYS, 0)
  composition = Composition()
  for note in notes:
    interval, _, _ = rewards.detect_sequential_interval(composition, note,
                                                        config)
    for name, hit in _interval_counts(np.array([interval])).items():
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
    if outcome == ops.LEAP_RESOLVED:
      counts['num_resolved_leaps'] += 1
    elif outcome == ops.LEAP_DOUBLED:
      counts['num_leap_twice'] += 1
    composition.append(note)
  counts['num_high_unique'] = int(rewards.detect_high_unique(notes))
  counts['num_low_unique'] = int(rewards.detect_low_unique(notes))
  onsets = [note >= ops.NUM_SPECIAL_EVENTS for note in notes]
  counts['num_note_onsets'] = sum(onsets)
  counts['num_leading_silent_steps'] = (onsets.index(True) if any(onsets)
                                        else len(notes))
  stats = {name: float(ops.autocorrelate(list(notes), lag))
           for name, lag in zip(AUTOCORRELATION_KEYS,
                                rewards.AUTOCORRELATION_LAGS)}
  stats.update(counts)
  return stats


def compute_composition_stats_reference(
    compositions, key=None, tonic_note=ops.C_MAJOR_TONIC,
    per_composition=False, config=None):
  """Same as compute_composition_stats_for_compositions, one note at a time.

  Slow (the original's algorithm through the scalar reward functions); the
  reference the vectorized path is checked against.
  """
  compositions = _as_compositions(compositions)
  config, tonic_note = _stats_config(key, tonic_note, config)
  rows = [_reference_composition_stats([int(n) for n in notes], config,
                                       tonic_note)
          for notes in compositions]
  names = PER_COMPOSITION_KEYS
  per_comp = {name: np.array([row[name] for row in rows],
                             np.float64 if name in AUTOCORRELATION_KEYS
                             else np.int64)
              for name in names}
  stat_dict = _stat_dict_from_per_composition(per_comp, *compositions.shape)
  if per_composition:
    return stat_dict, per_comp
  return stat_dict


def compute_composition_stats(rl_tuner, num_compositions=10000,
                              composition_length=32, key=None,
                              tonic_note=ops.C_MAJOR_TONIC, config=None):
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
    config: a rewards.MusicTheoryConfig to judge by instead of key and
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


def _nanmean(values):
  with warnings.catch_warnings():
    warnings.simplefilter('ignore', RuntimeWarning)
    return np.nanmean(np.asarray(values, dtype=np.float64))


def _ratio(numerator, denominator):
  return float(numerator) / denominator if denominator else math.nan


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
  for name, lag in zip(AUTOCORRELATION_KEYS, rewards.AUTOCORRELATION_LAGS):
    lines.append(f'\tAverage autocorrelation of lag{lag}:'
                 f'{_nanmean(stat_dict[name])}')
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


# ---------------------------------------------------------------------------
# Table 1 of the paper.

# Row name -> (label in the paper, 'fraction' or 'value').
TABLE1_ROWS = {
    'notes_excessively_repeated': ('Notes excessively repeated', 'fraction'),
    'mean_autocorrelation_lag1': ('Mean autocorrelation lag 1', 'value'),
    'mean_autocorrelation_lag2': ('Mean autocorrelation lag 2', 'value'),
    'mean_autocorrelation_lag3': ('Mean autocorrelation lag 3', 'value'),
    'notes_not_in_key': ('Notes not in key', 'fraction'),
    'compositions_starting_with_tonic': ('Compositions starting with tonic',
                                         'fraction'),
    'leaps_resolved': ('Leaps resolved', 'fraction'),
    'compositions_with_unique_max_note': ('Compositions with unique max note',
                                          'fraction'),
    'compositions_with_unique_min_note': ('Compositions with unique min note',
                                          'fraction'),
    'notes_in_motif': ('Notes in motif', 'fraction'),
    'notes_in_repeated_motif': ('Notes in repeated motif', 'fraction'),
}

# Rows beyond the paper (rhythm), from EXTRA_COUNT_KEYS; written after the
# paper's rows when a stat_dict has them.
EXTRA_ROWS = {
    'note_onsets': ('Steps that start a note', 'fraction'),
    'leading_silent_steps': ('Silent steps before the first note', 'value'),
}

# The paper's Table 1 (100,000 compositions per model), as fractions.
PAPER_TABLE1 = {
    model: dict(zip(TABLE1_ROWS, values)) for model, values in {
        'note_rnn': (0.633, -0.16, 0.14, -0.13, 0.001, 0.009, 0.772, 0.647,
                     0.494, 0.059, 0.00007),
        'q': (0.0, -0.11, 0.03, 0.03, 0.010, 0.288, 0.911, 0.564, 0.519,
              0.757, 0.0011),
        'psi': (0.0002, -0.10, -0.01, 0.01, 0.006, 0.287, 0.900, 0.594,
                0.583, 0.738, 0.0009),
        'g': (0.0003, 0.55, 0.31, 0.17, 0.287, 0.0, 0.522, 0.371, 0.565,
              0.693, 0.0001),
    }.items()}
# What the unmodified original code reaches on a 2-vCPU CPU from the paper's
# checkpoint with the paper's settings (Note RNN: 10,000 compositions; tuned
# models: 5,000 each), as reported in the project's reference notes.
ORIGINAL_CODE_TABLE1 = {
    model: dict(zip(TABLE1_ROWS, values)) for model, values in {
        'note_rnn': (0.639, -0.158, 0.142, -0.128, 0.0084, 0.0009, 0.775,
                     0.647, 0.491, 0.056, 0.00004),
        'q': (0.00001, -0.078, -0.033, 0.014, 0.0079, 0.155, 0.890, 0.598,
              0.642, 0.740, 0.00014),
        'psi': (0.000125, -0.127, -0.010, 0.011, 0.0103, 0.163, 0.797, 0.641,
                0.619, 0.733, 0.00004),
        'g': (0.00125, 0.241, 0.094, 0.046, 0.192, 0.032, 0.589, 0.563,
              0.628, 0.757, 0.0),
    }.items()}
# Column titles of the paper's models.
PAPER_MODEL_NAMES = {'note_rnn': 'Note RNN', 'q': 'Q', 'psi': 'Psi', 'g': 'G'}


def table1_summary(stat_dict):
  """The rows of the paper's Table 1 from a stat_dict.

  Returns:
    dict row name (TABLE1_ROWS order) -> float: fractions of notes
    (repeats, not in key, motif, repeated motif), of compositions (starting
    with tonic, unique max / min), of leaps (resolved among resolved plus
    doubled), and mean autocorrelations over non-constant compositions.
    NaN where the denominator is 0. When stat_dict has the EXTRA_COUNT_KEYS
    (every stat_dict this project computes), EXTRA_ROWS follow: the fraction
    of steps that start a note, and the mean number of silent steps before a
    composition's first note.
  """
  notes = stat_dict['total_notes']
  comps = stat_dict['num_compositions']
  resolved = stat_dict['num_resolved_leaps']
  summary = {
      'notes_excessively_repeated': _ratio(stat_dict['num_repeated_notes'],
                                           notes),
      'mean_autocorrelation_lag1': float(_nanmean(
          stat_dict['autocorrelation1'])),
      'mean_autocorrelation_lag2': float(_nanmean(
          stat_dict['autocorrelation2'])),
      'mean_autocorrelation_lag3': float(_nanmean(
          stat_dict['autocorrelation3'])),
      'notes_not_in_key': _ratio(stat_dict['notes_not_in_key'], notes),
      'compositions_starting_with_tonic': _ratio(
          stat_dict['num_starting_tonic'], comps),
      'leaps_resolved': _ratio(resolved,
                               resolved + stat_dict['num_leap_twice']),
      'compositions_with_unique_max_note': _ratio(
          stat_dict['num_high_unique'], comps),
      'compositions_with_unique_min_note': _ratio(
          stat_dict['num_low_unique'], comps),
      'notes_in_motif': _ratio(stat_dict['notes_in_motif'], notes),
      'notes_in_repeated_motif': _ratio(stat_dict['notes_in_repeated_motif'],
                                        notes),
  }
  if all(key in stat_dict for key in EXTRA_COUNT_KEYS):
    summary['note_onsets'] = _ratio(stat_dict['num_note_onsets'], notes)
    summary['leading_silent_steps'] = _ratio(
        stat_dict['num_leading_silent_steps'], comps)
  return summary


def json_ready(value):
  """`value` with numpy scalars as Python numbers and NaN / inf as None
  (JSON has neither), through dicts, lists and tuples."""
  if isinstance(value, dict):
    return {k: json_ready(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [json_ready(v) for v in value]
  if isinstance(value, (float, np.floating)):
    return float(value) if math.isfinite(value) else None
  if isinstance(value, np.integer):
    return int(value)
  return value


def table1_to_json(summary, indent=2):
  """JSON text of a summary (or a dict of summaries); NaN becomes null."""
  return json.dumps(json_ready(summary), indent=indent)


def _format_cell(value, kind):
  if value is None or math.isnan(value):
    return 'n/a'
  if kind == 'fraction':
    return f'{100 * value:.3g}%'
  return f'{value:.3g}'


def _paper_model(column_name):
  normalized = column_name.strip().lower().replace(' ', '_').replace('-', '_')
  return normalized if normalized in PAPER_TABLE1 else None


def table1_markdown(columns, include_paper=True, paper_columns=None,
                    references=None):
  """A Markdown table of Table 1 with several models side by side.

  Args:
    columns: dict column title -> table1_summary(...).
    include_paper: write the paper's value in brackets after ours, as
      "ours (paper)", for columns that correspond to a model of the paper.
    paper_columns: dict column title -> paper model ('note_rnn', 'q', 'psi',
      'g'); by default a title matching one of those (case and spaces
      ignored, e.g. 'Note RNN', 'Q') is that model.
    references: optional list of tables shaped like PAPER_TABLE1 (e.g.
      [ORIGINAL_CODE_TABLE1]) whose values are written after ours, separated
      by " / ", before the paper's: "ours / reference (paper)".

  Returns:
    str: the table, fractions as percentages, autocorrelations as numbers.
  """
  paper_columns = dict(paper_columns or {})
  for title in columns:
    paper_columns.setdefault(title, _paper_model(title))
  lines = ['| metric | ' + ' | '.join(columns) + ' |',
           '|---|' + '---|' * len(columns)]
  for row, (label, kind) in TABLE1_ROWS.items():
    cells = []
    for title, summary in columns.items():
      cell = _format_cell(summary.get(row), kind)
      model = paper_columns.get(title)
      for reference in references or ():
        if model in reference:
          cell += ' / ' + _format_cell(reference[model][row], kind)
      if include_paper and model is not None:
        cell += f' ({_format_cell(PAPER_TABLE1[model][row], kind)})'
      cells.append(cell)
    lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
  for row, (label, kind) in EXTRA_ROWS.items():
    if any(row in summary for summary in columns.values()):
      cells = [_format_cell(summary.get(row), kind)
               for summary in columns.values()]
      lines.append(f'| {label} (not in the paper) | ' + ' | '.join(cells) +
                   ' |')
  return '\n'.join(lines) + '\n'


# The original's note-by-note helpers raise NotApplicableError (BUILD.md).
__getattr__ = not_applicable.module_getattr(__name__,
                                            not_applicable.EVAL_METRICS)
