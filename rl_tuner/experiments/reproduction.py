"""Reproduces the paper's Table 1 and Figure 2 from one Note RNN checkpoint.

For each algorithm (Q, Psi, G and optionally the RL-only baseline) and each
seed, a run with the paper's settings (configs/paper_*.flags) trains into
its own subdirectory (`run_dir`: <output_dir>/<algorithm> with one seed,
<output_dir>/<algorithm>/seed_<n> with several; runs that are complete are
not retrained, interrupted ones resume). Then, per seed, the untuned Note
RNN and every tuned model compose N melodies each, and the statistics
become Table 1 next to the paper's numbers (with several seeds: mean ± sd
over seeds, cells far from the paper marked; `reproduction_table`); the
evaluation histories become the two panels of Figure 2 (with several
seeds: the mean over seeds with a ± sd band); a few melodies per model (of
the first seed) are written as MIDI and WAV and drawn as piano rolls;
report.html shows it all.
"""

import logging
import os
import time

import numpy as np

from note_rnn import audio
from note_rnn import generation
from note_rnn.runtime import outputs
from rl_tuner.agents import registry
from rl_tuner.experiments import train_run
from rl_tuner.reports import report_page
from rl_tuner.reports import reproduction_table
from rl_tuner.reports import sample_media
from rl_tuner.reports import table1 as table1_lib
from rl_tuner.run import settings as settings_lib

# Matplotlib is imported by the function that uses it: rl_tuner_reproduce
# --help, which reads the defaults here, does not load it.

# Algorithm -> flag file of its paper settings, inside the configs folder.
CONFIG_FILES = {
    **{name: spec.paper_flagfile
       for name, spec in registry.ALGORITHMS.items() if spec.paper_flagfile},
    # The original code's G update (defect 7: its Reward RNN trained too).
    'g_original': 'paper_g_original.flags',
}
DEFAULT_ALGORITHMS = ('q', 'psi', 'g')
# Column titles; 'note_rnn' is the untuned model (one dict for the tables
# and the results page).
TITLES = report_page.TITLES
# Column title -> the paper's (and the original code's) model it is set
# against. The original's G trained its Reward RNN too (defect 7), so the
# paper's G column is what the 'g_original' run reproduces as well.
PAPER_MODELS = {'Note RNN': 'note_rnn', 'Q': 'q', 'Psi': 'psi', 'G': 'g',
                TITLES['g_original']: 'g'}
NUM_SAMPLE_MELODIES = 3
# Figure 2's panels: (history key, file name, y label).
FIGURE2_PANELS = (
    ('note_rnn_log_p', 'figure2a_log_p.png',
     'Average log p(a|s) per note (Reward RNN)'),
    ('music_theory', 'figure2b_music_theory.png',
     'Average music-theory reward per note (x reward_scaler)'))


def _write_json(path, value):
  outputs.write_file_atomically(
      path, (table1_lib.table1_to_json(value) + '\n').encode())


def _is_complete(run_dir, training_steps):
  try:
    summary = train_run.load_summary(run_dir)
  except train_run.UsageError:
    return False
  return summary.get('env_steps', 0) >= training_steps


def check_seeds(seeds, flag='--seeds'):
  """The seeds as a list of ints; UsageError naming `flag` if unusable.

  Seeds must be integers >= 0 (text such as '2' is read), each given once,
  at least one.
  """
  seeds = list(seeds)
  if not seeds:
    raise train_run.UsageError(f'{flag}: no seed given')
  checked = []
  for seed in seeds:
    try:
      value = int(str(seed).strip())
    except ValueError:
      raise train_run.UsageError(
          f'{flag}: {seed!r} is not an integer') from None
    if value < 0:
      raise train_run.UsageError(f'{flag}: {value} is negative')
    checked.append(value)
  if len(set(checked)) != len(checked):
    raise train_run.UsageError(f'{flag}: a seed is given twice')
  return checked


def run_dir(output_dir, algorithm, seed, seeds):
  """Where `algorithm` trains with `seed`.

  One seed keeps the single-seed layout, <output_dir>/<algorithm> (so
  earlier reproductions resume); several train into
  <output_dir>/<algorithm>/seed_<seed>.
  """
  if len(seeds) == 1:
    return os.path.join(output_dir, algorithm)
  return os.path.join(output_dir, algorithm, f'seed_{seed}')


def run_settings(algorithm, configs_dir, overrides):
  """TrainSettings of one algorithm: defaults < its flag file < overrides."""
  settings = train_run.TrainSettings()
  config = os.path.join(configs_dir, CONFIG_FILES[algorithm])
  settings = settings.replace(**settings_lib.read_flagfile(config))
  return settings.replace(**overrides)


def train_all(algorithms, output_dir, configs_dir, overrides, seeds=None):
  """Trains every (algorithm, seed) run that is not complete yet.

  Args:
    algorithms: keys of CONFIG_FILES.
    output_dir: the reproduction's folder.
    configs_dir: folder of the paper_*.flags files.
    overrides: settings replacing the paper's (its 'seed' is the one seed
      when `seeds` is None).
    seeds: the seeds (default [overrides['seed'] or 0]).

  Returns:
    dict run (its folder relative to output_dir: 'q', or 'q/seed_1' with
    several seeds) -> {'settings', 'trained_now', 'train_seconds'}.
  """
  seeds = check_seeds(seeds if seeds is not None else
                      [overrides.get('seed') or 0])
  records = {}
  for seed in seeds:
    for algorithm in algorithms:
      directory = run_dir(output_dir, algorithm, seed, seeds)
      name = os.path.relpath(directory, output_dir).replace(os.sep, '/')
      settings = run_settings(algorithm, configs_dir, dict(
          overrides, seed=seed, output_dir=directory, resume=True,
          num_stat_compositions=0))
      if _is_complete(directory, settings.training_steps):
        logging.info('%s is complete in %s; not retraining', name,
                     directory)
        summary = train_run.load_summary(directory)
        records[name] = {'settings': summary['settings'],
                         'trained_now': False, 'train_seconds': None}
        continue
      logging.info('Training %s into %s', name, directory)
      start = time.time()
      summary = train_run.run(settings)
      records[name] = {'settings': summary['settings'], 'trained_now': True,
                       'train_seconds': time.time() - start}
  return records


def _histories(rlt):
  steps = [rlt.output_every_nth * i for i in range(len(rlt.eval_avg_reward))]
  return {'steps': steps,
          'note_rnn_log_p': list(rlt.eval_avg_note_rnn_reward),
          'music_theory': list(rlt.eval_avg_music_theory_reward)}


def evaluate_models(algorithms, output_dir, configs_dir, overrides,
                    num_compositions, seed, seeds=None):
  """Table-1 statistics, histories and sample melodies of every model.

  The untuned column is the Note RNN of the checkpoint itself, sampled from
  its softmax with random-note priming, like the tuned models. Every model
  composes with a generator seeded by `seed`; the tuned models are the runs
  of that seed (`run_dir`; `seeds` says the layout, default [seed]).

  Returns:
    dict model -> {'table1', 'stat_dict', 'history', 'samples', 'seconds'}.
  """
  seeds = seeds or [seed]
  results = {}
  base = run_settings('q', configs_dir, dict(
      overrides, seed=seed, output_dir=os.path.join(output_dir, 'note_rnn')))
  tuners = {'note_rnn': train_run.make_tuner(base)}
  for algorithm in algorithms:
    tuners[algorithm], _, _ = train_run.load_tuner(
        run_dir(output_dir, algorithm, seed, seeds))
  for model, rlt in tuners.items():
    rlt.rng = np.random.default_rng(seed)
    start = time.time()
    stat_dict = rlt.evaluate_music_theory_metrics(
        num_compositions=num_compositions)
    samples = rlt.generate_compositions(NUM_SAMPLE_MELODIES)
    results[model] = {
        'table1': table1_lib.table1_summary(stat_dict),
        'stat_dict': {k: v for k, v in stat_dict.items()
                      if not k.startswith('autocorrelation')},
        'history': None if model == 'note_rnn' else _histories(rlt),
        'samples': [[int(c) for c in row] for row in samples],
        'seconds': time.time() - start,
    }
    logging.info('%s (seed %d): %d compositions evaluated in %.1f s', model,
                 seed, num_compositions, results[model]['seconds'])
  return results


def history_band(histories, key):
  """A curve over seeds: (steps, mean, sd or None) of one history key.

  Args:
    histories: the seeds' histories of one model ({'steps', key: values}).
    key: 'note_rnn_log_p' or 'music_theory'.

  Returns:
    steps (those every history has, in order), the mean over seeds at each
    (numpy [S]), and the sample sd (n - 1; numpy [S]) or None with one
    history.
  """
  common = set(histories[0]['steps'])
  for history in histories[1:]:
    common &= set(history['steps'])
  steps = [s for s in histories[0]['steps'] if s in common]
  values = np.array([[dict(zip(h['steps'], h[key]))[s] for s in steps]
                     for h in histories], dtype=float).reshape(
                         len(histories), len(steps))
  sd = values.std(axis=0, ddof=1) if len(histories) > 1 else None
  return steps, values.mean(axis=0), sd


def plot_figure2(histories, output_dir, seeds=None):
  """The paper's Figure 2, panels (a) and (b), as two PNGs.

  Args:
    histories: dict model -> list of its histories, one per seed (models
      without one are left out).
    output_dir: where the PNGs go.
    seeds: the seeds, for the title (several: each curve is the mean over
      seeds with a shaded band of ± one sample sd).

  Returns:
    Paths of the log p(a|s) panel and the music-theory panel.
  """
  # Matplotlib: imported here to keep rl_tuner_reproduce --help fast.
  from rl_tuner.reports import plots  # pylint: disable=g-import-not-at-top
  seeds = seeds or [None]
  paths = []
  for key, name, ylabel in FIGURE2_PANELS:
    figure, axes = plots.plt.subplots(figsize=(7, 4.5))
    curves = {m: [h for h in runs if h] for m, runs in histories.items()}
    curves = {m: runs for m, runs in curves.items() if runs}
    for index, (model, runs) in enumerate(curves.items()):
      steps, mean, sd = history_band(runs, key)
      color = f'C{index % 10}'
      axes.plot(steps, mean, marker='.', color=color,
                label=TITLES.get(model, model))
      if sd is not None:
        axes.fill_between(steps, mean - sd, mean + sd, color=color,
                          alpha=0.2, linewidth=0)
    if key == 'music_theory':
      # The untrained models' large penalties would flatten the rest.
      axes.set_yscale('symlog', linthresh=1.0)
    axes.set_xlabel('Training steps (environment steps)')
    axes.set_ylabel(ylabel)
    over = (f'\nmean over {len(seeds)} seeds, band ± one sd'
            if len(seeds) > 1 else '')
    axes.set_title(f'Figure 2({"a" if key == "note_rnn_log_p" else "b"}): '
                   f'evaluation during training, 100 compositions{over}')
    axes.grid(alpha=0.3)
    axes.legend(loc='best')
    figure.tight_layout()
    path = os.path.join(output_dir, name)
    plots.save_figure(figure, path)
    paths.append(path)
  return paths


def write_samples(results, output_dir, audio_options=None):
  """Each model's sample melodies as MIDI, WAV and piano roll, and one PNG.

  Writes samples/<model>_<index>.mid, .png and (audio on) .wav with
  samples/audio.json (`sample_media`), and samples_piano_roll.png of all.

  Returns:
    (path of samples_piano_roll.png, audio record or None).
  """
  audio_options = audio_options or audio.AudioOptions()
  record = sample_media.write(
      output_dir, {model: result['samples'] for model, result in
                   results.items()}, TITLES, audio_options)
  melodies, titles = [], []
  for model, result in results.items():
    for index, classes in enumerate(result['samples']):
      melodies.append(classes)
      titles.append(f'{TITLES.get(model, model)} #{index}')
  path = os.path.join(output_dir, 'samples_piano_roll.png')
  generation.plot_piano_roll(melodies, path, titles=titles)
  return path, record


def _original_code(compare_with_original_code):
  return table1_lib.ORIGINAL_CODE_TABLE1 if compare_with_original_code else None


def paper_models(models):
  """dict model -> the paper's model its column is compared with, or None."""
  return {m: PAPER_MODELS.get(TITLES.get(m, m)) for m in models}


def write_table(results, output_dir, compare_with_original_code):
  """table1.json and table1.md of one seed; returns the markdown."""
  columns = {TITLES.get(m, m): r['table1'] for m, r in results.items()}
  original = _original_code(compare_with_original_code)
  markdown = table1_lib.table1_markdown(columns, include_paper=True,
                                        paper_columns=PAPER_MODELS,
                                        references=original and [original])
  legend = ('Each cell: ours / the original code on this machine (paper)'
            if compare_with_original_code else 'Each cell: ours (paper)')
  outputs.write_file_atomically(
      os.path.join(output_dir, 'table1.md'),
      f'{legend}.\n\n{markdown}'.encode())
  _write_json(os.path.join(output_dir, 'table1.json'), {
      'ours': {m: r['table1'] for m, r in results.items()},
      'paper': table1_lib.PAPER_TABLE1,
      'original_code_here': original,
  })
  return markdown


def write_seed_table(per_seed_results, output_dir,
                     compare_with_original_code):
  """table1.json and table1.md of several seeds: mean ± sd, marks.

  Args:
    per_seed_results: dict seed -> `evaluate_models`' result.

  Returns:
    (the markdown, {model: {row: mean_sd}}, the marked cells).
  """
  per_seed = {seed: {m: r['table1'] for m, r in results.items()}
              for seed, results in per_seed_results.items()}
  means = reproduction_table.aggregate(per_seed)
  original = _original_code(compare_with_original_code)
  markdown, marks = reproduction_table.markdown(
      means, list(per_seed), TITLES, paper_models(means),
      references=original and [original])
  outputs.write_file_atomically(os.path.join(output_dir, 'table1.md'),
                                markdown.encode())
  _write_json(os.path.join(output_dir, 'table1.json'),
              reproduction_table.table_json(per_seed, means, marks,
                                            list(per_seed), original))
  return markdown, means, marks


def check_arguments(algorithms, num_compositions, seeds, seed_flag='--seeds'):
  """Checks a reproduction's arguments before anything is written.

  Returns:
    The seeds (`check_seeds`).

  Raises:
    train_run.UsageError: an algorithm without paper settings, fewer than
      one composition, or unusable seeds (naming `seed_flag`).
  """
  for algorithm in algorithms:
    if algorithm not in CONFIG_FILES:
      raise train_run.UsageError(
          f'unknown algorithm {algorithm!r}; valid: {sorted(CONFIG_FILES)}')
  if num_compositions < 1:
    raise train_run.UsageError('--num_compositions must be >= 1')
  return check_seeds(seeds, seed_flag)


def reproduce(output_dir, configs_dir, algorithms=DEFAULT_ALGORITHMS,
              overrides=None, num_compositions=100000, seed=0,
              compare_with_original_code=False, command_line=None,
              audio_options=None, seeds=None):
  """Trains, evaluates and writes every output. Returns reproduction.json.

  seeds (default [seed]): with several, every model trains and composes
  once per seed, Table 1 is the mean ± sd over seeds and Figure 2 shows
  bands; reproduction.json then holds 'seeds', 'per_seed' (each seed's
  models, as 'models' holds them with one seed), 'models' (each model's
  'table1_mean_sd' and the first seed's 'samples') and 'marked'.
  audio_options (audio.AudioOptions, default on at 80 qpm) say how the
  sample melodies are also written as WAV; report.html shows everything.
  """
  seeds = (check_arguments(algorithms, num_compositions, [seed], '--seed')
           if seeds is None else
           check_arguments(algorithms, num_compositions, seeds))
  audio_options = (audio_options or audio.AudioOptions()).check()
  overrides = dict(overrides or {}, seed=seeds[0])
  # Each algorithm's run writes its samples the same way.
  overrides.update(audio=audio_options.enabled, qpm=audio_options.qpm,
                   audio_program=audio_options.program,
                   audio_renderer=audio_options.renderer)
  os.makedirs(output_dir, exist_ok=True)
  start = time.time()
  trained = train_all(algorithms, output_dir, configs_dir, overrides, seeds)
  per_seed = {s: evaluate_models(algorithms, output_dir, configs_dir,
                                 overrides, num_compositions, s, seeds)
              for s in seeds}
  results = per_seed[seeds[0]]
  record = {
      'command': command_line,
      'algorithms': list(algorithms),
      'num_compositions': num_compositions,
  }
  if len(seeds) == 1:
    markdown = write_table(results, output_dir, compare_with_original_code)
    record.update(seed=seeds[0], seeds=seeds, overrides=overrides,
                  runs=trained, models=results)
  else:
    markdown, means, marks = write_seed_table(per_seed, output_dir,
                                              compare_with_original_code)
    overrides = {k: v for k, v in overrides.items() if k != 'seed'}
    record.update(
        seeds=seeds, overrides=overrides, runs=trained,
        per_seed={str(s): r for s, r in per_seed.items()},
        models={m: {'table1_mean_sd': means[m], 'samples_seed': seeds[0],
                    'samples': r['samples']} for m, r in results.items()},
        marked=marks)
  figures = plot_figure2(
      {m: [per_seed[s][m]['history'] for s in seeds] for m in results},
      output_dir, seeds)
  piano_roll, audio_record = write_samples(results, output_dir,
                                           audio_options)
  record.update(
      figures=[os.path.basename(p) for p in figures + [piano_roll]],
      audio=audio_record, wall_seconds=time.time() - start)
  _write_json(os.path.join(output_dir, 'reproduction.json'), record)
  logging.info('Results page: %s (open it in a browser)',
               report_page.write_report(output_dir))
  print(markdown)
  return record
