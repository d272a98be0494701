"""The paper's Table 1 of a statistics dictionary: rows, JSON, Markdown.

`table1_summary` turns a stat_dict (`rl_tuner.evaluation.statistics`) into
the paper's eleven rows (fractions and mean autocorrelations) and the
rhythm rows beyond the paper; `table1_to_json` and `table1_markdown` write
them, next to the paper's figures (PAPER_TABLE1) and those of the original
code (ORIGINAL_CODE_TABLE1); `format_value` is how a results page shows one
value.
"""

import json
import math

import numpy as np

from rl_tuner.evaluation import statistics

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


def _ratio(numerator, denominator):
  return float(numerator) / denominator if denominator else math.nan


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
      'mean_autocorrelation_lag1': float(statistics.nanmean(
          stat_dict['autocorrelation1'])),
      'mean_autocorrelation_lag2': float(statistics.nanmean(
          stat_dict['autocorrelation2'])),
      'mean_autocorrelation_lag3': float(statistics.nanmean(
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
  if all(key in stat_dict for key in statistics.EXTRA_COUNT_KEYS):
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


def format_value(value, kind):
  """A Table 1 value as shown: fractions as percentages, else 3 digits."""
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return 'n/a'
  if kind == 'fraction':
    return f'{100 * value:.3g}%'
  return f'{value:.3g}'
