"""Tests of report_page: what a run's and a reproduction's page show.

The pages are parsed with the standard library's HTML parser; the browser
test (report_page_browser_test.py) checks that they load and play.
"""

import html.parser
import json
import os
import pathlib
import shutil

import pytest

from note_rnn import audio
from note_rnn import encoding
from rl_tuner.reports import report_page
from rl_tuner.reports import sample_media
from rl_tuner.reports import table1
from rl_tuner.run import settings as settings_lib

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
RESULTS = REPO / 'docs' / 'results'
BUILTIN = audio.AudioOptions(renderer='builtin')


class _Page(html.parser.HTMLParser):
  """Collects what the tests look at: tags with attributes, table cells."""

  def __init__(self, text):
    super().__init__()
    self.tags = []  # (tag, attrs dict)
    self.tables = {}  # id -> list of rows, each a list of cell texts
    self._table = None
    self._cell = None
    self.text = []
    self.feed(text)

  def handle_starttag(self, tag, attrs):
    attrs = dict(attrs)
    self.tags.append((tag, attrs))
    if tag == 'table':
      self._table = self.tables.setdefault(attrs.get('id'), [])
    elif tag == 'tr' and self._table is not None:
      self._table.append([])
    elif tag in ('td', 'th') and self._table is not None:
      self._cell = []

  def handle_endtag(self, tag):
    if tag in ('td', 'th') and self._cell is not None:
      self._table[-1].append(' '.join(''.join(self._cell).split()))
      self._cell = None
    elif tag == 'table':
      self._table = None

  def handle_data(self, data):
    self.text.append(data)
    if self._cell is not None:
      self._cell.append(data)

  def sources(self, tag):
    return [attrs['src'] for t, attrs in self.tags if t == tag]


def _table(value):
  """A Table-1 summary with every row set to `value`, rhythm rows too."""
  rows = {name: value for name in table1.TABLE1_ROWS}
  rows.update(note_onsets=0.5, leading_silent_steps=0.25)
  return rows


def _fake_run(run_dir, settings=None, with_samples=True):
  """A run folder as rl_tuner_train leaves it, without training."""
  settings = settings or settings_lib.TrainSettings(
      output_dir=str(run_dir), training_steps=64, reward_scaler=2.0)
  melody = [encoding.pitch_to_class(60), 0, 1, encoding.pitch_to_class(67)]
  samples = {'note_rnn': [melody * 8, melody[::-1] * 8],
             'q': [melody * 4, melody * 8]}
  os.makedirs(run_dir, exist_ok=True)
  record = None
  if with_samples:
    record = sample_media.write(str(run_dir), samples,
                                {'note_rnn': 'Note RNN (untuned)',
                                 'q': 'q (tuned)'}, BUILTIN)
  # One curve written, the others missing.
  shutil.copy(RESULTS / 'embedded_model' / 'figure2a_log_p.png',
              run_dir / 'EvaluationRewards-q.png')
  summary = {
      'settings': settings.to_dict(),
      'reward_terms': [{'name': 'key', 'weight': 1.0},
                       {'name': 'note_rnn', 'weight': 1.0}],
      'note_rnn_checkpoint': 'embedded default',
      'note_rnn_layer_sizes': [8],
      'env_steps': 64, 'gradient_steps': 11,
      'train_seconds_this_run': 1.5,
      'final_eval': {'note_rnn_log_p_per_note': -3.5,
                     'music_theory_per_note': -0.5,
                     'music_theory_per_note_before_tuning': -1.25},
      'sample_melody': {'classes': melody * 8, 'midi': 'q.mid'},
      'table1': _table(0.0123),
      'table1_untuned_note_rnn': _table(0.5),
      'samples': samples if with_samples else None,
      'audio': record,
  }
  (run_dir / 'summary.json').write_text(json.dumps(summary))
  return summary


def test_run_page_shows_settings_table_curves_and_samples(tmp_path):
  run_dir = tmp_path / 'run'
  _fake_run(run_dir)
  path = report_page.write_report(str(run_dir))
  assert path == str(run_dir / 'report.html')
  text = pathlib.Path(path).read_text()
  page = _Page(text)

  # Table 1: the paper's eleven rows, untuned and tuned columns, and the
  # paper's values under them.
  table = page.tables['table1']
  assert table[0] == ['Metric', 'Note RNN (untuned)', 'Q (this run)']
  assert len(table) == 1 + 11
  assert [row[0] for row in table[1:]] == [
      label for label, _ in table1.TABLE1_ROWS.values()]
  not_in_key = table[1 + list(table1.TABLE1_ROWS).index('notes_not_in_key')]
  assert not_in_key[1] == '50% paper: 0.1%'
  assert not_in_key[2] == '1.23% paper: 1%'
  extra = page.tables['table1-extra']
  assert extra[1] == ['Steps that start a note', '50%', '50%']

  # Settings: every one, those changed from the defaults marked.
  settings_rows = {row[0]: row[1] for row in page.tables['settings-table'][1:]}
  assert len(settings_rows) == len(settings_lib.field_names())
  assert settings_rows['--reward_scaler'] == '2.0'
  changed = [attrs for tag, attrs in page.tags
             if tag == 'tr' and attrs.get('class') == 'changed']
  # output_dir, training_steps and reward_scaler differ from the defaults.
  assert len(changed) == 3

  # Curves: the one written is shown, the missing ones are named.
  assert 'EvaluationRewards-q.png' in page.sources('img')
  assert 'TrainRewards-q.png was not written.' in text

  # Samples: untuned and tuned side by side, a piano roll and a player
  # each; durations from the melodies' steps at 80 qpm.
  images = page.sources('img')
  for model, count in (('note_rnn', 2), ('q', 2)):
    for index in range(count):
      assert f'samples/{model}_{index}.png' in images
  players = [attrs for tag, attrs in page.tags if tag == 'audio']
  assert [p['src'] for p in players] == [
      'samples/note_rnn_0.wav', 'samples/q_0.wav', 'samples/note_rnn_1.wav',
      'samples/q_1.wav']
  assert [float(p['data-seconds']) for p in players] == [6.0, 3.0, 6.0, 6.0]
  assert 'FluidSynth' not in text and 'built-in renderer' in text

  # Every link is relative and points at a file of the folder.
  links = [attrs['href'] for tag, attrs in page.tags if tag == 'a']
  assert 'samples/q_1.mid' in links
  for source in images + [p['src'] for p in players] + links:
    assert not os.path.isabs(source) and ':' not in source, source
    assert (run_dir / source).is_file(), source


def test_run_page_escapes_values(tmp_path):
  run_dir = tmp_path / 'run'
  _fake_run(run_dir, settings_lib.TrainSettings(
      output_dir='<script>alert(1)</script>'))
  text = pathlib.Path(report_page.write_report(str(run_dir))).read_text()
  assert '<script>' not in text
  assert '&lt;script&gt;alert(1)&lt;/script&gt;' in text


def test_run_page_without_audio_or_samples(tmp_path):
  run_dir = tmp_path / 'run'
  _fake_run(run_dir, with_samples=False)
  page = _Page(pathlib.Path(report_page.write_report(str(run_dir)))
               .read_text())
  assert not page.sources('audio')
  assert 'This run recorded no sample melodies' in ''.join(page.text)


def _copy_reproduction(name, tmp_path):
  """A committed results folder without its page, WAVs and piano rolls."""
  target = tmp_path / name
  shutil.copytree(RESULTS / name, target, ignore=shutil.ignore_patterns(
      '*.wav', '*_[0-9].png', 'audio.json', 'report.html'))
  return target


def test_reproduction_page_has_table_figures_and_every_model(tmp_path):
  directory = _copy_reproduction('paper_checkpoint', tmp_path)
  record = json.loads((directory / 'reproduction.json').read_text())
  melodies = {m: r['samples'] for m, r in record['models'].items()}
  sample_media.write(str(directory), melodies, report_page.TITLES, BUILTIN,
                     overwrite=False)
  page = _Page(pathlib.Path(report_page.write_report(str(directory)))
               .read_text())
  table = page.tables['table1']
  assert table[0] == ['Metric', 'Note RNN', 'Q', 'Psi', 'G', 'RL only']
  assert len(table) == 1 + 11
  # Ours, the original code's and the paper's figures (table1.md's).
  repeated = table[1]
  assert repeated[1] == '63.9% original code: 63.9% paper: 63.3%'
  assert repeated[5] == '0.00838%'  # RL only: no reference.
  images = page.sources('img')
  assert images[:2] == ['figure2a_log_p.png', 'figure2b_music_theory.png']
  players = page.sources('audio')
  assert len(players) == 5 * 3
  for model in record['models']:
    for index in range(3):
      assert f'samples/{model}_{index}.wav' in players
      assert f'samples/{model}_{index}.png' in images
  for source in images + players:
    assert (directory / source).is_file(), source
  # The committed MIDI files were kept, not rewritten.
  assert ((directory / 'samples' / 'q_0.mid').read_bytes() ==
          (RESULTS / 'paper_checkpoint' / 'samples' / 'q_0.mid').read_bytes())


@pytest.mark.parametrize('name, num_players', [
    ('paper_checkpoint', 15),  # Five models, three samples each.
    ('embedded_model', 15),
    ('paper_checkpoint_seeds', 12),  # Note RNN, Q, Psi and G; first seed.
])
def test_committed_results_have_a_current_page(name, num_players):
  # docs/results/*/report.html is what the tool writes today from the
  # folder's own files (regenerate with bin/rl_tuner_report.py --dir=...).
  directory = RESULTS / name
  html_text, _ = report_page.build(str(directory))
  assert (directory / 'report.html').read_text() == html_text
  page = _Page(html_text)
  for source in page.sources('img') + page.sources('audio'):
    assert (directory / source).is_file(), source
  assert len(page.sources('audio')) == num_players
  record = sample_media.read_audio_record(str(directory))
  for source in page.sources('audio'):
    samples, rate = audio.read_wav(directory / source)
    assert rate == record['sample_rate']
    assert len(samples) == audio.num_samples(32, record['qpm'], rate)


def test_not_a_run_is_refused(tmp_path):
  with pytest.raises(report_page.ReportError, match='holds neither'):
    report_page.write_report(str(tmp_path))
  (tmp_path / 'summary.json').write_text('{"settings": {"algorithm": "q"}}')
  with pytest.raises(report_page.ReportError, match='lack what the page'):
    report_page.write_report(str(tmp_path))
  assert not (tmp_path / 'report.html').exists()
