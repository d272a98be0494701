"""A results page per run: report.html beside what a run or reproduction wrote.

`write_report(directory)` reads what `bin/rl_tuner_train.py` (summary.json)
or `bin/rl_tuner_reproduce.py` (reproduction.json, table1.json) left in
`directory` and writes `directory/report.html` from the jinja2 templates in
`templates/`. Images and audio are not copied: the page links the PNG and
WAV files beside it by relative paths, so the folder works when copied or
opened offline. Only files that exist are linked; what a run did not write
is named on the page instead.

A train run's page: the settings (changed ones marked), Table 1 of the run
next to the untuned Note RNN and the paper, the training and evaluation
curves (one line per reward term in RewardTerms-*.png), and the sample
melodies as piano rolls with an audio player each, untuned and tuned side
by side. A reproduction's page: Table 1 with the original code's and the
paper's figures, both panels of Figure 2, and the samples of every model;
of a reproduction over several seeds, Table 1 as mean ± sd with the cells
far from the paper marked (`reproduction_table`).
"""

import json
import os

from note_rnn import audio
from note_rnn import encoding
from note_rnn.runtime import outputs
from rl_tuner.agents import registry
from rl_tuner.reports import reproduction_table
from rl_tuner.reports import sample_media
from rl_tuner.reports import table1 as table1_lib
from rl_tuner.run import run_folder
from rl_tuner.run import settings as settings_lib

# jinja2 is imported by the functions that render pages: the tools' --help,
# which import this module, need not load it.

REPORT_NAME = 'report.html'
TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'templates')
RUN_TEMPLATE = 'run_report.html.j2'
REPRODUCTION_TEMPLATE = 'reproduction_report.html.j2'
REPRODUCTION_JSON = 'reproduction.json'
# Model key -> title (the reproduction's columns).
TITLES = {'note_rnn': 'Note RNN',
          **{name: spec.title for name, spec in registry.ALGORITHMS.items()},
          'g_original': "G, original's Reward-RNN update"}
# Curves of a train run: (title, file name pattern, what it shows).
RUN_FIGURES = (
    ('Evaluation rewards', 'EvaluationRewards-{}.png',
     'Mean reward per note of the evaluation melodies over training: total, '
     'music theory (scaled) and the Note RNN\'s log p(a|s).'),
    ('Reward terms', 'RewardTerms-{}.png',
     'Each reward term\'s share of the evaluation reward, one line per '
     'term.'),
    ('Training rewards', 'TrainRewards-{}.png',
     'Rewards summed over each block of --output_every_nth steps.'),
    ('Target values', 'TargetVals-{}.png',
     'Mean next-state value of the sampled minibatches.'),
)
REPRODUCTION_FIGURES = (
    ('Figure 2(a)', 'figure2a_log_p.png',
     'Average log p(a|s) per note of the Reward RNN during training.'),
    ('Figure 2(b)', 'figure2b_music_theory.png',
     'Average music-theory reward per note during training.'),
)


class ReportError(ValueError):
  """A folder that holds no run or reproduction, or unreadable results."""


def _read_json(path):
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise ReportError(f'cannot read {path}: {e}') from e


# A Table 1 value as shown (rl_tuner.reports.table1).
format_value = table1_lib.format_value


def table1(columns, references, value_text=None):
  """Table 1 as rows of cells for the template.

  Args:
    columns: list of (title, table1 summary dict or None, paper model key
      or None).
    references: list of (label, table shaped like PAPER_TABLE1 or None),
      shown under each value of a column whose model they hold.
    value_text: function (title, summary, row name, kind) -> a cell's
      text; default format_value of summary[row].

  Returns:
    {'titles': [...], 'rows': [{'label', 'cells'}] (the paper's eleven
    rows), 'extra_rows': [...] (rows beyond the paper that some column
    has)}; a cell is {'value': str, 'references': [(label, str)]}.
  """
  if value_text is None:
    def value_text(title, summary, name, kind):
      del title  # Unused.
      return format_value(summary.get(name), kind)

  def row(name, label, kind, with_references):
    cells = []
    for title, summary, model in columns:
      cell = {'value': value_text(title, summary or {}, name, kind),
              'references': []}
      for reference_label, reference in references if with_references else ():
        if reference and model in reference:
          cell['references'].append(
              (reference_label, format_value(reference[model].get(name),
                                             kind)))
      cells.append(cell)
    return {'label': label, 'cells': cells}

  return {
      'titles': [title for title, _, _ in columns],
      'rows': [row(name, label, kind, True)
               for name, (label, kind) in table1_lib.TABLE1_ROWS.items()],
      'extra_rows': [
          row(name, label, kind, False)
          for name, (label, kind) in table1_lib.EXTRA_ROWS.items()
          if any(name in (summary or {}) for _, summary, _ in columns)],
  }


def _figure(directory, title, name, caption):
  path = os.path.join(directory, name)
  return {'title': title, 'src': name, 'caption': caption,
          'exists': os.path.isfile(path)}


def _sample(directory, model, index, classes, title, qpm):
  """A sample melody's files (relative paths; None where missing)."""
  where = sample_media.paths(directory, model, index)
  def relative(key):
    if not os.path.isfile(where[key]):
      return None
    return os.path.relpath(where[key], directory).replace(os.sep, '/')
  return {'title': f'{title} #{index}', 'midi': relative('midi'),
          'wav': relative('wav'), 'png': relative('png'),
          'steps': len(classes),
          'seconds': audio.melody_seconds(len(classes), qpm)}


def _audio_facts(record):
  if not record:
    return None
  return dict(record, seconds_per_step=audio.step_seconds(record['qpm']))


def _samples_qpm(record):
  return record['qpm'] if record else encoding.DEFAULT_QPM


def run_context(run_dir):
  """What the train-run template shows, from the run's files."""
  try:
    summary = run_folder.load_summary(run_dir)
  except run_folder.UsageError as e:
    raise ReportError(str(e)) from e
  settings = summary['settings']
  defaults = settings_lib.TrainSettings().to_dict()
  algorithm = settings['algorithm']
  title = TITLES.get(algorithm, algorithm)
  record = summary.get('audio') or sample_media.read_audio_record(run_dir)
  qpm = record['qpm'] if record else settings.get('qpm', encoding.DEFAULT_QPM)
  samples = summary.get('samples') or {}
  untuned = [_sample(run_dir, run_folder.UNTUNED_MODEL, i, classes,
                     run_folder.UNTUNED_TITLE, qpm)
             for i, classes in enumerate(
                 samples.get(run_folder.UNTUNED_MODEL, []))]
  tuned = [_sample(run_dir, algorithm, i, classes, f'{title} (tuned)', qpm)
           for i, classes in enumerate(samples.get(algorithm, []))]
  pairs = [(untuned[i] if i < len(untuned) else None,
            tuned[i] if i < len(tuned) else None)
           for i in range(max(len(untuned), len(tuned)))]
  melody = summary.get('sample_melody') or {}
  heatmap = None
  if melody:
    stem = os.path.splitext(melody['midi'])[0]
    def existing(name):
      return name if os.path.isfile(os.path.join(run_dir, name)) else None
    heatmap = {
        'png': existing(stem + '.png'),
        'wav': existing(stem + audio.WAV_SUFFIX),
        'midi': existing(melody['midi']),
        'seconds': audio.melody_seconds(len(melody['classes']),
                                        settings.get('qpm', qpm)),
        'steps': len(melody['classes'])}
  paper_model = algorithm if algorithm in table1_lib.PAPER_TABLE1 else None
  return {
      'kind': 'run',
      'title': f'RL Tuner run: {title} learning',
      'run_dir_name': os.path.basename(os.path.abspath(run_dir)),
      'summary': summary,
      'algorithm': algorithm,
      'algorithm_title': title,
      'settings': [{'name': name, 'value': value,
                    'changed': name in defaults and value != defaults[name]}
                   for name, value in settings.items()],
      'table': table1(
          [(run_folder.UNTUNED_TITLE, summary.get('table1_untuned_note_rnn'),
            'note_rnn'),
           (f'{title} (this run)', summary.get('table1'), paper_model)],
          [('paper', table1_lib.PAPER_TABLE1)]),
      'has_table': summary.get('table1') is not None,
      'figures': [_figure(run_dir, name, pattern.format(algorithm), caption)
                  for name, pattern, caption in RUN_FIGURES],
      'pairs': pairs,
      'heatmap': heatmap,
      'audio': _audio_facts(record),
      'final_eval': summary.get('final_eval') or {},
      'reward_terms': summary.get('reward_terms') or [],
  }


def _seed_facts(record, table_json):
  """How the page states its seeds and marks.

  Returns:
    {'seeds': [...], 'several': bool, 'text': 'seed 0' or 'seeds 0, 1, 2',
    'marked': set of (model, row), 'footnote': the marks' line or None}.
  """
  seeds = record.get('seeds') or [record.get('seed')]
  several = len(seeds) > 1
  marks = (table_json.get('marked') or []) if several else []
  return {
      'seeds': seeds, 'several': several,
      'text': reproduction_table.seeds_text(seeds),
      'marked': {(m['model'], m['row']) for m in marks},
      'footnote': (reproduction_table.marks_footnote(marks, TITLES)
                   if several else None),
  }


def reproduction_context(directory):
  """What the reproduction template shows, from its files.

  One seed (also the folders written before --seeds): each cell is that
  seed's value. Several seeds: each cell is the mean ± sd over seeds
  (table1.json 'ours' holds mean_sd dicts), marked where table1.json's
  'marked' lists it, with a footnote naming the marked cells.
  """
  record = _read_json(os.path.join(directory, REPRODUCTION_JSON))
  table_path = os.path.join(directory, 'table1.json')
  if not os.path.isfile(table_path):
    raise ReportError(f'{directory} has no table1.json')
  table_json = _read_json(table_path)
  seeds = _seed_facts(record, table_json)
  models = list(record.get('models') or table_json['ours'])
  references = []
  if table_json.get('original_code_here'):
    references.append(('original code', table_json['original_code_here']))
  references.append(('paper', table_json.get('paper') or
                     table1_lib.PAPER_TABLE1))
  audio_record = sample_media.read_audio_record(directory)
  qpm = _samples_qpm(audio_record)
  samples = []
  for model in models:
    melodies = (record.get('models', {}).get(model) or {}).get('samples', [])
    samples.append({
        'title': TITLES.get(model, model),
        'melodies': [_sample(directory, model, i, classes,
                             TITLES.get(model, model), qpm)
                     for i, classes in enumerate(melodies)]})
  labels = [label for label, _ in references]
  value_text = None
  caption = (f'Statistics of {record["num_compositions"]:,} melodies of '
             f'each model; under each value: {", ".join(labels)}.')
  figures = [_figure(directory, *f) for f in REPRODUCTION_FIGURES]
  if seeds['several']:
    key = {TITLES.get(m, m): m for m in models}
    empty = {'mean': None, 'sd': None, 'n': 0}

    def marked_mean_sd(title, summary, name, kind):
      return reproduction_table.cell_text(
          summary.get(name, empty), kind,
          (key[title], name) in seeds['marked'])
    value_text = marked_mean_sd
    caption = (f'Mean ± sd over {seeds["text"]} (sample sd, n - 1) of '
               'the statistics of '
               f'{record["num_compositions"]:,} melodies of each model per '
               f'seed; under each value: {", ".join(labels)}. '
               f'{reproduction_table.MARK}: {reproduction_table.MARK_RULE}.')
    for figure in figures:
      figure['caption'] += (f' Each curve: the mean over {seeds["text"]}, '
                            'the band ± one sd.')
  return {
      'kind': 'reproduction',
      'title': 'RL Tuner: the paper\'s Table 1 and Figure 2 reproduced',
      'dir_name': os.path.basename(os.path.abspath(directory)),
      'record': record,
      'seeds': seeds,
      'table': table1(
          [(TITLES.get(m, m), table_json['ours'].get(m),
            m if m in table1_lib.PAPER_TABLE1 else None) for m in models],
          references, value_text),
      'table_caption': caption,
      'reference_labels': labels,
      'figures': figures,
      'samples': samples,
      'audio': _audio_facts(audio_record),
  }


def kind_of(directory):
  """'run' (summary.json) or 'reproduction' (reproduction.json)."""
  if not os.path.isdir(directory):
    raise ReportError(f'directory not found: {directory}')
  if os.path.isfile(os.path.join(directory, run_folder.SUMMARY_NAME)):
    return 'run'
  if os.path.isfile(os.path.join(directory, REPRODUCTION_JSON)):
    return 'reproduction'
  raise ReportError(f'{directory} holds neither an rl_tuner_train run '
                    f'({run_folder.SUMMARY_NAME}) nor a reproduction '
                    f'({REPRODUCTION_JSON})')


def render(template_name, context):
  """HTML text of a template (autoescaped; a missing value is an error)."""
  import jinja2  # pylint: disable=g-import-not-at-top
  environment = jinja2.Environment(
      loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
      autoescape=True, undefined=jinja2.StrictUndefined,
      trim_blocks=True, lstrip_blocks=True)
  return environment.get_template(template_name).render(**context)


def build(directory):
  """(HTML text, context) of the page for `directory`.

  Raises:
    ReportError: not a run or reproduction, or its files lack what the
      page shows.
  """
  import jinja2  # pylint: disable=g-import-not-at-top
  kind = kind_of(directory)
  try:
    if kind == 'run':
      template, context = RUN_TEMPLATE, run_context(directory)
    else:
      template, context = (REPRODUCTION_TEMPLATE,
                           reproduction_context(directory))
    return render(template, context), context
  except ReportError:
    raise
  except (jinja2.UndefinedError, KeyError, TypeError, ValueError,
          AttributeError) as e:
    raise ReportError(f'{directory}: its results lack what the page shows '
                      f'({e})') from e


def write_report(directory):
  """Writes `directory/report.html` atomically; returns its path."""
  html, _ = build(directory)
  path = os.path.join(directory, REPORT_NAME)
  outputs.write_file_atomically(path, html.encode('utf-8'))
  return path


def sample_melodies(directory):
  """(melodies by model, titles by model) a page of `directory` shows."""
  if kind_of(directory) == 'run':
    summary = run_folder.load_summary(directory)
    algorithm = summary['settings']['algorithm']
    return (summary.get('samples') or {}), {
        run_folder.UNTUNED_MODEL: run_folder.UNTUNED_TITLE,
        algorithm: f'{TITLES.get(algorithm, algorithm)} (tuned)'}
  record = _read_json(os.path.join(directory, REPRODUCTION_JSON))
  return ({model: result.get('samples', [])
           for model, result in (record.get('models') or {}).items()},
          dict(TITLES))
