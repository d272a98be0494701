"""Table 1 of a reproduction over several seeds: mean ± sd, and marks.

Each (model, seed) gives a Table-1 summary (`table1.table1_summary`:
fractions and mean autocorrelations). Over the seeds, every cell becomes
{'mean', 'sd', 'n'} (`mean_sd.mean_sd`: sd is the sample standard
deviation, n - 1, of the seeds' finite values; None with one value),
written as "mean ± sd" by `mean_sd.format_mean_sd`, the same formatter as
the sweep's tables.

A cell is marked (MARK) when it has a paper value and that value lies more
than MARK_SDS sample sds from our mean: |paper - mean| > 2 sd. A cell
without an sd (fewer than two finite seed values) is never marked; one with
sd 0 is marked whenever the paper's value differs from our mean.
"""

from rl_tuner.reports import mean_sd as mean_sd_lib
from rl_tuner.reports import table1 as table1_lib

MARK = '†'
MARK_SDS = 2.0
MARK_RULE = ("the paper's value lies more than 2 sd from our mean "
             '(|paper - mean| > 2 sd)')
SD_NOTE = 'sample standard deviation over seeds (n - 1)'


def _rows():
  return dict(table1_lib.TABLE1_ROWS), dict(table1_lib.EXTRA_ROWS)


def aggregate(per_seed):
  """Mean and sd over seeds of every model's Table-1 cells.

  Args:
    per_seed: dict seed -> dict model -> table1 summary (row -> float, NaN
      or None where undefined).

  Returns:
    dict model -> dict row -> {'mean', 'sd', 'n'} (`mean_sd.mean_sd`),
    models in the first seed's order, rows in TABLE1_ROWS then EXTRA_ROWS
    order (an extra row only where some seed has it).
  """
  paper_rows, extra_rows = _rows()
  tables = list(per_seed.values())
  result = {}
  for model in (tables[0] if tables else {}):
    summaries = [table[model] for table in tables if model in table]
    result[model] = {
        row: mean_sd_lib.mean_sd([s.get(row) for s in summaries])
        for row in list(paper_rows) + list(extra_rows)
        if row in paper_rows or any(row in s for s in summaries)}
  return result


def is_marked(paper_value, stat):
  """Whether |paper - mean| > MARK_SDS * sd (False without an sd or paper)."""
  if paper_value is None or stat['mean'] is None or stat['sd'] is None:
    return False
  return abs(paper_value - stat['mean']) > MARK_SDS * stat['sd']


def marked_cells(means, paper_models):
  """The cells whose paper value lies more than 2 sd from our mean.

  Args:
    means: `aggregate`'s result.
    paper_models: dict model -> the paper's model ('note_rnn', 'q', 'psi',
      'g') its column is compared with, or None.

  Returns:
    list of {'model', 'row', 'paper', 'mean', 'sd', 'n'}, in table order.
  """
  paper_rows, _ = _rows()
  marks = []
  for model, stats in means.items():
    paper = table1_lib.PAPER_TABLE1.get(paper_models.get(model))
    if not paper:
      continue
    for row in paper_rows:
      stat = stats.get(row)
      if stat and is_marked(paper.get(row), stat):
        marks.append(dict(stat, model=model, row=row, paper=paper[row]))
  return marks


def seeds_text(seeds):
  """'seed 0' or 'seeds 0, 1, 2'."""
  return ('seed ' if len(seeds) == 1 else 'seeds ') + ', '.join(
      str(s) for s in seeds)


def cell_text(stat, kind, marked):
  """A results-page cell: 'mean ± sd', then the mark when marked."""
  text = mean_sd_lib.format_mean_sd(stat, kind)
  return f'{text} {MARK}' if marked else text


def marks_footnote(marks, titles):
  """One line naming every marked cell (or saying there is none)."""
  if not marks:
    return ("No cell is marked: every paper value lies within 2 sd of our "
            'mean, or the cell has no sd.')
  parts = []
  for mark in marks:
    label, kind = table1_lib.TABLE1_ROWS[mark['row']]
    parts.append(
        f'{titles.get(mark["model"], mark["model"])}, {label.lower()} '
        f'(ours {mean_sd_lib.format_mean_sd(mark, kind)}, paper '
        f'{table1_lib.format_value(mark["paper"], kind)})')
  return f'{MARK} {MARK_RULE[0].upper()}{MARK_RULE[1:]}: ' + '; '.join(
      parts) + '.'


def markdown(means, seeds, titles, paper_models, references=None):
  """table1.md of several seeds.

  Args:
    means: `aggregate`'s result.
    seeds: the seeds, in order.
    titles: dict model -> column title.
    paper_models: dict model -> paper model or None (`marked_cells`).
    references: optional list of tables shaped like PAPER_TABLE1 (the
      original code's), written after ours: "ours / reference (paper)".

  Returns:
    (markdown text with its legend and footnote, the marked cells).
  """
  paper_rows, extra_rows = _rows()
  marks = marked_cells(means, paper_models)
  marked = {(m['model'], m['row']) for m in marks}
  models = list(means)
  legend = (f'Each cell: ours as mean ± sd over {seeds_text(seeds)} '
            '(sample sd, n - 1)' +
            (' / the original code on this machine' if references else '') +
            f' (paper). {MARK}: {MARK_RULE}.')
  lines = [legend, '',
           '| metric | ' + ' | '.join(titles.get(m, m) for m in models) +
           ' |',
           '|---|' + '---|' * len(models)]
  for row, (label, kind) in paper_rows.items():
    cells = []
    for model in models:
      paper_model = paper_models.get(model)
      cell = mean_sd_lib.format_mean_sd(means[model][row], kind)
      for reference in references or ():
        if paper_model in reference:
          cell += ' / ' + table1_lib.format_value(
              reference[paper_model][row], kind)
      if paper_model in table1_lib.PAPER_TABLE1:
        cell += (' (' + table1_lib.format_value(
            table1_lib.PAPER_TABLE1[paper_model][row], kind) + ')')
      if (model, row) in marked:
        cell += ' ' + MARK
      cells.append(cell)
    lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
  for row, (label, kind) in extra_rows.items():
    if any(row in means[m] for m in models):
      lines.append(f'| {label} (not in the paper) | ' + ' | '.join(
          mean_sd_lib.format_mean_sd(
              means[m].get(row, mean_sd_lib.mean_sd([])), kind)
          for m in models) + ' |')
  lines += ['', marks_footnote(marks, titles)]
  return '\n'.join(lines) + '\n', marks


def table_json(per_seed, means, marks, seeds, original_code):
  """table1.json of several seeds (JSON-ready apart from NaN).

  Returns:
    {'seeds', 'sd', 'ours': model -> row -> mean_sd, 'ours_per_seed':
    str(seed) -> model -> table1, 'paper', 'original_code_here' (or None),
    'mark', 'mark_rule', 'marked': [{'model', 'row', 'paper', 'mean', 'sd',
    'n'}]}.
  """
  return {
      'seeds': list(seeds),
      'sd': SD_NOTE,
      'ours': means,
      'ours_per_seed': {str(seed): table for seed, table in per_seed.items()},
      'paper': table1_lib.PAPER_TABLE1,
      'original_code_here': original_code,
      'mark': MARK,
      'mark_rule': MARK_RULE,
      'marked': marks,
  }
