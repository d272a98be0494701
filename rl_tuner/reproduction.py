"""Reproduces the paper's Table 1 and Figure 2 from one Note RNN checkpoint.

For each algorithm (Q, Psi, G and optionally the RL-only baseline) a run
with the paper's settings (configs/paper_*.flags) trains into its own
subdirectory (runs that are complete are not retrained; interrupted ones
resume). Then the untuned Note RNN and every tuned model compose N melodies
each, and the statistics become Table 1 next to the paper's numbers; the
evaluation histories become the two panels of Figure 2; a few melodies per
model are written as MIDI and drawn as piano rolls.
"""

import json
import logging
import os
import time

import numpy as np

from note_rnn import encoding
from note_rnn import generation
from rl_tuner import settings as settings_lib
from rl_tuner import train_run
# Matplotlib and the evaluation metrics are imported by the functions that
# use them: rl_tuner_reproduce --help, which reads the defaults here, loads
# neither.

# Algorithm -> flag file of its paper settings, inside the configs folder.
CONFIG_FILES = {
    'q': 'paper_q.flags',
    'psi': 'paper_psi.flags',
    'g': 'paper_g.flags',
    'pure_rl': 'paper_rl_only.flags',
}
DEFAULT_ALGORITHMS = ('q', 'psi', 'g')
# Column titles; 'note_rnn' is the untuned model.
TITLES = {'note_rnn': 'Note RNN', 'q': 'Q', 'psi': 'Psi', 'g': 'G',
          'pure_rl': 'RL only'}
PAPER_MODELS = {'Note RNN': 'note_rnn', 'Q': 'q', 'Psi': 'psi', 'G': 'g'}
NUM_SAMPLE_MELODIES = 3


def _write_json(path, value):
  # pylint: disable-next=g-import-not-at-top
  from rl_tuner import rl_tuner_eval_metrics as metrics
  encoding.write_file_atomically(
      path, (metrics.table1_to_json(value) + '\n').encode())


def _is_complete(run_dir, training_steps):
  try:
    summary = train_run.load_summary(run_dir)
  except train_run.UsageError:
    return False
  return summary.get('env_steps', 0) >= training_steps


def run_settings(algorithm, configs_dir, overrides):
  """TrainSettings of one algorithm: defaults < its flag file < overrides."""
  settings = train_run.TrainSettings()
  config = os.path.join(configs_dir, CONFIG_FILES[algorithm])
  settings = settings.replace(**settings_lib.read_flagfile(config))
  return settings.replace(**overrides)


def train_all(algorithms, output_dir, configs_dir, overrides):
  """Trains every algorithm that is not complete yet.

  Returns:
    dict algorithm -> {'settings', 'trained_now', 'train_seconds'}.
  """
  records = {}
  for algorithm in algorithms:
    run_dir = os.path.join(output_dir, algorithm)
    settings = run_settings(algorithm, configs_dir, dict(
        overrides, output_dir=run_dir, resume=True, num_stat_compositions=0))
    if _is_complete(run_dir, settings.training_steps):
      logging.info('%s is complete in %s; not retraining', algorithm,
                   run_dir)
      summary = train_run.load_summary(run_dir)
      records[algorithm] = {'settings': summary['settings'],
                            'trained_now': False,
                            'train_seconds': None}
      continue
    logging.info('Training %s into %s', algorithm, run_dir)
    start = time.time()
    summary = train_run.run(settings)
    records[algorithm] = {'settings': summary['settings'],
                          'trained_now': True,
                          'train_seconds': time.time() - start}
  return records


def _histories(rlt):
  steps = [rlt.output_every_nth * i for i in range(len(rlt.eval_avg_reward))]
  return {'steps': steps,
          'note_rnn_log_p': list(rlt.eval_avg_note_rnn_reward),
          'music_theory': list(rlt.eval_avg_music_theory_reward)}


def evaluate_models(algorithms, output_dir, configs_dir, overrides,
                    num_compositions, seed):
  """Table-1 statistics, histories and sample melodies of every model.

  The untuned column is the Note RNN of the checkpoint itself, sampled from
  its softmax with random-note priming, like the tuned models.

  Returns:
    dict model -> {'table1', 'stat_dict', 'history', 'samples', 'seconds'}.
  """
  # pylint: disable-next=g-import-not-at-top
  from rl_tuner import rl_tuner_eval_metrics as metrics
  results = {}
  base = run_settings('q', configs_dir, dict(
      overrides, output_dir=os.path.join(output_dir, 'note_rnn')))
  tuners = {'note_rnn': train_run.make_tuner(base)}
  for algorithm in algorithms:
    tuners[algorithm], _, _ = train_run.load_tuner(
        os.path.join(output_dir, algorithm))
  for model, rlt in tuners.items():
    rlt.rng = np.random.default_rng(seed)
    start = time.time()
    stat_dict = rlt.evaluate_music_theory_metrics(
        num_compositions=num_compositions)
    samples = rlt.generate_compositions(NUM_SAMPLE_MELODIES)
    results[model] = {
        'table1': metrics.table1_summary(stat_dict),
        'stat_dict': {k: v for k, v in stat_dict.items()
                      if not k.startswith('autocorrelation')},
        'history': None if model == 'note_rnn' else _histories(rlt),
        'samples': [[int(c) for c in row] for row in samples],
        'seconds': time.time() - start,
    }
    logging.info('%s: %d compositions evaluated in %.1f s', model,
                 num_compositions, results[model]['seconds'])
  return results


def plot_figure2(results, output_dir):
  """The paper's Figure 2, panels (a) and (b), as two PNGs.

  Returns:
    Paths of the log p(a|s) panel and the music-theory panel.
  """
  panels = (('note_rnn_log_p', 'figure2a_log_p.png',
             'Average log p(a|s) per note (Reward RNN)'),
            ('music_theory', 'figure2b_music_theory.png',
             'Average music-theory reward per note (x reward_scaler)'))
  # pylint: disable=g-import-not-at-top
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  # pylint: enable=g-import-not-at-top
  paths = []
  for key, name, ylabel in panels:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for model, result in results.items():
      history = result['history']
      if history:
        axes.plot(history['steps'], history[key], marker='.',
                  label=TITLES.get(model, model))
    if key == 'music_theory':
      # The untrained models' large penalties would flatten the rest.
      axes.set_yscale('symlog', linthresh=1.0)
    axes.set_xlabel('Training steps (environment steps)')
    axes.set_ylabel(ylabel)
    axes.set_title(f'Figure 2({"a" if key == "note_rnn_log_p" else "b"}): '
                   'evaluation during training, 100 compositions')
    axes.grid(alpha=0.3)
    axes.legend(loc='best')
    figure.tight_layout()
    path = os.path.join(output_dir, name)
    figure.savefig(path + '.tmp.png', dpi=100)
    plt.close(figure)
    os.replace(path + '.tmp.png', path)
    paths.append(path)
  return paths


def write_samples(results, output_dir):
  """MIDI files of each model's sample melodies and one piano-roll PNG."""
  sample_dir = os.path.join(output_dir, 'samples')
  os.makedirs(sample_dir, exist_ok=True)
  melodies, titles = [], []
  for model, result in results.items():
    for index, classes in enumerate(result['samples']):
      encoding.classes_to_midi_file(
          classes, os.path.join(sample_dir, f'{model}_{index}.mid'))
      melodies.append(classes)
      titles.append(f'{TITLES.get(model, model)} #{index}')
  path = os.path.join(output_dir, 'samples_piano_roll.png')
  generation.plot_piano_roll(melodies, path, titles=titles)
  return path


def write_table(results, output_dir, compare_with_original_code):
  """table1.json and table1.md; returns the markdown."""
  # pylint: disable-next=g-import-not-at-top
  from rl_tuner import rl_tuner_eval_metrics as metrics
  columns = {TITLES.get(m, m): r['table1'] for m, r in results.items()}
  references = ([metrics.ORIGINAL_CODE_TABLE1] if compare_with_original_code
                else None)
  markdown = metrics.table1_markdown(columns, include_paper=True,
                                     paper_columns=PAPER_MODELS,
                                     references=references)
  legend = ('Each cell: ours / the original code on this machine (paper)'
            if compare_with_original_code else 'Each cell: ours (paper)')
  encoding.write_file_atomically(
      os.path.join(output_dir, 'table1.md'),
      f'{legend}.\n\n{markdown}'.encode())
  _write_json(os.path.join(output_dir, 'table1.json'), {
      'ours': {m: r['table1'] for m, r in results.items()},
      'paper': metrics.PAPER_TABLE1,
      'original_code_here': (metrics.ORIGINAL_CODE_TABLE1
                             if compare_with_original_code else None),
  })
  return markdown


def reproduce(output_dir, configs_dir, algorithms=DEFAULT_ALGORITHMS,
              overrides=None, num_compositions=100000, seed=0,
              compare_with_original_code=False, command_line=None):
  """Trains, evaluates and writes every output. Returns reproduction.json."""
  for algorithm in algorithms:
    if algorithm not in CONFIG_FILES:
      raise train_run.UsageError(
          f'unknown algorithm {algorithm!r}; valid: {sorted(CONFIG_FILES)}')
  if num_compositions < 1:
    raise train_run.UsageError('--num_compositions must be >= 1')
  overrides = dict(overrides or {}, seed=seed)
  os.makedirs(output_dir, exist_ok=True)
  start = time.time()
  trained = train_all(algorithms, output_dir, configs_dir, overrides)
  results = evaluate_models(algorithms, output_dir, configs_dir, overrides,
                            num_compositions, seed)
  markdown = write_table(results, output_dir, compare_with_original_code)
  figures = plot_figure2(results, output_dir)
  piano_roll = write_samples(results, output_dir)
  record = {
      'command': command_line,
      'algorithms': list(algorithms),
      'num_compositions': num_compositions,
      'seed': seed,
      'overrides': overrides,
      'runs': trained,
      'models': {m: {k: v for k, v in r.items()} for m, r in results.items()},
      'figures': [os.path.basename(p) for p in figures + [piano_roll]],
      'wall_seconds': time.time() - start,
  }
  _write_json(os.path.join(output_dir, 'reproduction.json'), record)
  print(markdown)
  return record
