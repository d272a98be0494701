"""A sweep's results: Table 1 per setting, the trade-off plot, samples.

Trials that differ only in their seed form one setting. From the trials'
run directories (their summary.json) `write_results` writes, into the
sweep's folder:

  sweep.json   every trial (settings, state, error, final evaluation,
               Table 1) and every setting's mean and sd over its seeds;
  sweep.md     the paper's Table 1 rows per setting as mean ± sd over seeds,
               and each setting's final log p(a|s) and music-theory reward;
  tradeoff.png mean per-note log p(a|s) of the Note RNN against the mean
               per-note music-theory reward, one point per setting with
               error bars of one sd over seeds, labelled;
  samples/     each trial's sample melody as MIDI, and one piano roll per
               setting (samples/<setting>.png);
  sweep.html   a page to choose by ear: per setting, a melody of each trial
               with an audio player (the trials' own WAV files), the
               trade-off plot and Table 1 (`rl_tuner.report_page`'s
               templates; not written where jinja2 is missing).

The music-theory reward is divided by the trial's reward_scaler, so that
settings with different scalers are compared in the rules' own unit (the
training log and summary.json show it with the scaler applied). sd is the
sample standard deviation (n - 1); with one seed there is none.
"""

import json
import os

from note_rnn import audio
from note_rnn import generation
from note_rnn.runtime import outputs
from rl_tuner.agents import registry
from rl_tuner.experiments import sweep
from rl_tuner.reports import mean_sd as mean_sd_lib
from rl_tuner.reports import report_page
from rl_tuner.reports import sample_media
from rl_tuner.reports import table1 as table1_lib

RESULTS_JSON = 'sweep.json'
RESULTS_MD = 'sweep.md'
RESULTS_HTML = 'sweep.html'
SWEEP_TEMPLATE = 'sweep_report.html.j2'
TRADEOFF_PNG = 'tradeoff.png'
SAMPLES_DIR = 'samples'
# Column titles of the algorithms.
ALGORITHM_TITLES = {name: spec.title
                    for name, spec in registry.ALGORITHMS.items()}


# Mean ± sd over seeds and its text (rl_tuner.reports.mean_sd).
mean_sd = mean_sd_lib.mean_sd
format_mean_sd = mean_sd_lib.format_mean_sd


def setting_label(trial):
  """'Q, scaler 2' and any other swept value of the trial's setting."""
  settings = trial.settings
  parts = [ALGORITHM_TITLES.get(settings.algorithm, settings.algorithm),
           f'scaler {settings.reward_scaler:g}']
  for name, value in trial.group:
    if name not in ('algorithm', 'reward_scaler'):
      parts.append(f'{name}={sweep.trial_name({name: value}).split("=", 1)[1]}')
  return ', '.join(parts)


def setting_key(trial):
  """Folder-safe name of the trial's setting (its name without the seed)."""
  return sweep.trial_name(dict(trial.group)) if trial.group else 'all'


def trial_record(trial, outcome):
  """What one trial gave: state, error and final evaluation (JSON-ready)."""
  summary = sweep.read_summary(trial.run_dir)
  complete = sweep.is_complete(trial)
  state = sweep.DONE if complete else outcome.get('state', sweep.PENDING)
  if state == sweep.DONE and not complete:
    state = sweep.FAILED  # Reported done, but its summary is missing.
  record = {'name': trial.name, 'run_dir': trial.run_dir,
            'swept': trial.swept, 'state': state,
            'error': outcome.get('error') if state == sweep.FAILED else None,
            'setting': setting_key(trial), 'label': setting_label(trial)}
  if not complete:
    return record
  final = summary.get('final_eval', {})
  scaler = trial.settings.reward_scaler
  music_theory = final.get('music_theory_per_note')
  record.update({
      'env_steps': summary.get('env_steps'),
      'train_seconds': summary.get('train_seconds_this_run'),
      'note_rnn_log_p_per_note': final.get('note_rnn_log_p_per_note'),
      'music_theory_per_note_scaled': music_theory,
      'music_theory_per_note': (music_theory / scaler
                                if music_theory is not None and scaler
                                else None),
      'table1': summary.get('table1'),
      'sample_classes': (summary.get('sample_melody') or {}).get('classes'),
  })
  return record


def setting_rows(records):
  """Per setting: its trials and the mean / sd over seeds of every number.

  Returns:
    list of dicts {'setting', 'label', 'trials', 'done', 'failed',
    'table1': {row: mean_sd}, 'note_rnn_log_p_per_note': mean_sd,
    'music_theory_per_note': mean_sd}, in the trials' order.
  """
  rows = {}
  for record in records:
    rows.setdefault(record['setting'], {'setting': record['setting'],
                                        'label': record['label'],
                                        'records': []})['records'].append(
                                            record)
  table_rows = list(table1_lib.TABLE1_ROWS) + list(table1_lib.EXTRA_ROWS)
  result = []
  for row in rows.values():
    done = [r for r in row['records'] if r['state'] == sweep.DONE]
    tables = [r['table1'] for r in done if r.get('table1')]
    result.append({
        'setting': row['setting'], 'label': row['label'],
        'trials': [r['name'] for r in row['records']],
        'done': len(done),
        'failed': sum(r['state'] == sweep.FAILED for r in row['records']),
        'table1': {name: mean_sd([t.get(name) for t in tables])
                   for name in table_rows
                   if any(name in t for t in tables)},
        'note_rnn_log_p_per_note': mean_sd(
            [r.get('note_rnn_log_p_per_note') for r in done]),
        'music_theory_per_note': mean_sd(
            [r.get('music_theory_per_note') for r in done]),
    })
  return result


def markdown(rows, trials_total, failed):
  """sweep.md: Table 1 per setting (mean ± sd over seeds) and the
  trade-off numbers."""
  labels = [r['label'] for r in rows]
  lines = [
      f'Sweep of {trials_total} trial(s) in {len(rows)} setting(s). Each '
      'cell: mean ± sample sd over the setting\'s seeds (no sd with one '
      'seed); Table 1 statistics of each run\'s num_stat_compositions '
      'melodies.', '',
      '| metric | ' + ' | '.join(labels) + ' |',
      '|---|' + '---|' * len(rows),
      '| seeds done / failed | ' + ' | '.join(
          f'{r["done"]} / {r["failed"]}' for r in rows) + ' |']
  for name, (label, kind) in list(table1_lib.TABLE1_ROWS.items()) + list(
      table1_lib.EXTRA_ROWS.items()):
    if not any(name in r['table1'] for r in rows):
      continue
    empty = {'mean': None, 'sd': None, 'n': 0}
    lines.append(f'| {label} | ' + ' | '.join(
        format_mean_sd(r['table1'].get(name, empty), kind) for r in rows) +
                 ' |')
  lines += ['', 'Final evaluation, per note (the trade-off of '
            f'{TRADEOFF_PNG}; music-theory reward without the '
            'reward_scaler):', '',
            '| setting | log p(a|s) | music-theory reward |',
            '|---|---|---|']
  for r in rows:
    lines.append(f'| {r["label"]} | '
                 f'{format_mean_sd(r["note_rnn_log_p_per_note"], "value")} | '
                 f'{format_mean_sd(r["music_theory_per_note"], "value")} |')
  if failed:
    lines += ['', 'Failed trials (re-run the same command to retry them):',
              '']
    lines += [f'- {r["name"]}: {r["error"]}' for r in failed]
  return '\n'.join(lines) + '\n'


def plot_tradeoff(rows, path):
  """The trade-off plot: log p(a|s) against music-theory reward, per
  setting, error bars one sd over seeds; returns path (None if no point)."""
  points = [r for r in rows if r['note_rnn_log_p_per_note']['mean'] is not None
            and r['music_theory_per_note']['mean'] is not None]
  if not points:
    return None
  # Matplotlib: imported here to keep rl_tuner_sweep --help fast.
  from rl_tuner.reports import plots  # pylint: disable=g-import-not-at-top
  figure, axes = plots.plt.subplots(figsize=(9, 5))
  colors = {}
  markers = 'osD^v<>Pp*hX'
  for index, row in enumerate(points):
    x, y = row['music_theory_per_note'], row['note_rnn_log_p_per_note']
    algorithm = row['label'].split(',')[0]
    color = colors.setdefault(algorithm, f'C{len(colors) % 10}')
    axes.errorbar(x['mean'], y['mean'], xerr=x['sd'] or 0,
                  yerr=y['sd'] or 0, fmt=markers[index % len(markers)],
                  color=color, capsize=3, markersize=7,
                  label=f'{row["label"]} (n={y["n"]})')
  # A legend, not labels beside the points: close points stay readable.
  axes.legend(loc='upper left', bbox_to_anchor=(1.02, 1.0), fontsize=8,
              borderaxespad=0)
  axes.set_xlabel('Music-theory reward per note (without reward_scaler)')
  axes.set_ylabel('log p(a|s) per note (Note RNN)')
  axes.set_title('Trade-off per setting: mean ± sd over seeds')
  axes.grid(alpha=0.3)
  figure.tight_layout()
  plots.save_figure(figure, path)
  return path


def write_samples(records, output_dir):
  """Each finished trial's melody as MIDI; a piano roll per setting.

  Returns:
    dict setting -> {'midi': [paths], 'piano_roll': path}, paths relative
    to output_dir.
  """
  sample_dir = os.path.join(output_dir, SAMPLES_DIR)
  by_setting = {}
  for record in records:
    if record['state'] == sweep.DONE and record.get('sample_classes'):
      by_setting.setdefault(record['setting'], []).append(record)
  written = {}
  for setting, group in by_setting.items():
    midi = []
    for record in group:
      path = os.path.join(sample_dir, record['name'] + '.mid')
      audio.classes_to_midi_file(record['sample_classes'], path)
      midi.append(os.path.relpath(path, output_dir))
    roll = os.path.join(sample_dir, setting + '.png')
    generation.plot_piano_roll(
        [r['sample_classes'] for r in group], roll,
        titles=[f'{r["label"]}: {r["name"]}' for r in group])
    written[setting] = {'midi': midi,
                        'piano_roll': os.path.relpath(roll, output_dir)}
  return written


def _trial_melody(record, output_dir):
  """The first tuned sample melody of a finished trial, as the page's
  melody macro shows it (files in the trial's samples/), or None."""
  summary = sweep.read_summary(record['run_dir']) or {}
  algorithm = (summary.get('settings') or {}).get('algorithm')
  classes = ((summary.get('samples') or {}).get(algorithm) or [None])[0]
  if not classes:
    return None
  qpm = (summary.get('audio') or {}).get('qpm') or (
      summary.get('settings') or {}).get('qpm') or 80.0
  where = sample_media.paths(record['run_dir'], algorithm, 0)

  def relative(key):
    if not os.path.isfile(where[key]):
      return None
    return os.path.relpath(where[key], output_dir).replace(os.sep, '/')
  seed = record['swept'].get('seed')
  return {'title': record['name'] if seed is None else f'seed {seed}',
          'steps': len(classes),
          'seconds': audio.melody_seconds(len(classes), qpm),
          'midi': relative('midi'), 'wav': relative('wav'),
          'png': relative('png')}


def write_page(output_dir, rows, records):
  """sweep.html: per setting, a melody of each trial to hear (the trials'
  own WAV files and piano rolls), the trade-off plot and Table 1.

  Uses the results-page templates (`rl_tuner.report_page`); returns the
  path, or None where jinja2 is not installed.
  """
  try:
    import jinja2  # pylint: disable=g-import-not-at-top
    del jinja2
  except ImportError:
    return None
  by_setting = {}
  for record in records:
    by_setting.setdefault(record['setting'], []).append(record)
  settings, audio_record = [], None
  for row in rows:
    done = [r for r in by_setting[row['setting']]
            if r['state'] == sweep.DONE]
    melodies = [m for m in (_trial_melody(r, output_dir) for r in done) if m]
    for r in done:
      audio_record = audio_record or sample_media.read_audio_record(
          r['run_dir'])
    settings.append({
        'label': row['label'], 'done': row['done'], 'failed': row['failed'],
        'log_p': format_mean_sd(row['note_rnn_log_p_per_note'], 'value'),
        'music_theory': format_mean_sd(row['music_theory_per_note'],
                                       'value'),
        'melodies': melodies,
        'reports': [{'name': r['name'], 'href': os.path.relpath(
            os.path.join(r['run_dir'], report_page.REPORT_NAME),
            output_dir).replace(os.sep, '/')} for r in done]})
  empty = {'mean': None, 'sd': None, 'n': 0}

  def table_rows(table_rows_spec):
    return [{'label': label, 'cells': [
        {'value': format_mean_sd(row['table1'].get(name, empty), kind),
         'references': []} for row in rows]}
            for name, (label, kind) in table_rows_spec.items()
            if any(name in row['table1'] for row in rows)]
  context = {
      'title': f'Sweep: {len(records)} trials in {len(rows)} settings',
      'lead': (f'Folder {os.path.basename(os.path.abspath(output_dir))}: '
               f'{sum(r["state"] == sweep.DONE for r in records)} trials '
               'done. Choose a setting by ear, then check its numbers.'),
      'audio': (dict(audio_record, seconds_per_step=audio.step_seconds(
          audio_record['qpm'])) if audio_record else None),
      'settings': settings,
      'tradeoff': {'title': 'Trade-off', 'src': TRADEOFF_PNG,
                   'exists': os.path.isfile(os.path.join(output_dir,
                                                         TRADEOFF_PNG)),
                   'caption': 'log p(a|s) against the music-theory reward '
                              'per note, mean ± sd over seeds.'},
      'table': {'titles': [row['label'] for row in rows],
                'rows': table_rows(table1_lib.TABLE1_ROWS),
                'extra_rows': table_rows(table1_lib.EXTRA_ROWS)},
      'failed': [r for r in records if r['state'] == sweep.FAILED],
  }
  path = os.path.join(output_dir, RESULTS_HTML)
  outputs.write_file_atomically(
      path, report_page.render(SWEEP_TEMPLATE, context).encode('utf-8'))
  return path


def write_results(output_dir, trials, outcome, extra=None):
  """Writes sweep.json, sweep.md, tradeoff.png and samples/.

  Args:
    output_dir: the sweep's folder.
    trials: every sweep.Trial of the plan.
    outcome: dict trial name -> {'state', 'error'} from the runner (trials
      absent from it are judged by their run directory alone).
    extra: more JSON-ready fields for sweep.json (the command, timings).

  Returns:
    The sweep.json record.
  """
  records = [trial_record(t, outcome.get(t.name, {})) for t in trials]
  rows = setting_rows(records)
  failed = [r for r in records if r['state'] == sweep.FAILED]
  tradeoff = plot_tradeoff(rows, os.path.join(output_dir, TRADEOFF_PNG))
  samples = write_samples(records, output_dir)
  for row in rows:
    row['samples'] = samples.get(row['setting'])
  states = {s: sum(r['state'] == s for r in records) for s in sweep.STATES}
  record = dict(extra or {})
  record.update({
      'trials_total': len(records),
      'trials_by_state': states,
      'settings': rows,
      'trials': [{k: v for k, v in r.items() if k != 'sample_classes'}
                 for r in records],
      'tradeoff_plot': os.path.basename(tradeoff) if tradeoff else None,
  })
  outputs.write_file_atomically(
      os.path.join(output_dir, RESULTS_JSON),
      (json.dumps(table1_lib.json_ready(record), indent=2, default=str) +
       '\n').encode())
  outputs.write_file_atomically(
      os.path.join(output_dir, RESULTS_MD),
      markdown(rows, len(records), failed).encode())
  write_page(output_dir, rows, records)
  return record
