r"""Measures the quickstart under both class-label conventions (README choice).

  python examples/labels_choice.py --output_dir=docs/labels_choice

The original's reward code calls class 0 NOTE_OFF and class 1 NO_EVENT; the
encoding means the reverse (0 = hold, 1 = rest). This script trains the
quickstart (configs/quickstart.flags) once with --labels=original and once
with --labels=encoding (or reuses finished runs given with --original_run and
--encoding_run), lets the untuned embedded Note RNN and both tuned models
compose --num_melodies melodies each (--seed), and writes:
  <output_dir>/labels_choice.json   every figure below, per model
  <output_dir>/labels_choice.md     the same as a table
  <output_dir>/<model>.png          piano roll of the first 8 melodies
  <output_dir>/<model>_NNN.mid      those 8 melodies as MIDI
Rhythm: share of sixteenth steps that start a note, silent steps before the
first note, mean sounding length of a note (sixteenths). Rules: the Table-1
rows, each model judged by the labels it was tuned with (the untuned model by
the original's).
"""

import json
import os
import sys

from absl import app
from absl import flags
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'bin'))
# pylint: disable=g-import-not-at-top,wrong-import-position
import script_setup  # First: quiet TensorFlow start-up.

from note_rnn import audio
from note_rnn import encoding
from note_rnn import generation
from note_rnn.runtime import outputs
from rl_tuner import rl_tuner_eval_metrics as metrics
from rl_tuner.experiments import train_run
from rl_tuner.run import settings as settings_lib

# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
LABELS = ('original', 'encoding')
NUM_SAMPLES = 8
TABLE_ROWS = ('note_onsets', 'leading_silent_steps', 'mean_note_length',
              'notes_not_in_key', 'notes_excessively_repeated',
              'leaps_resolved', 'notes_in_motif',
              'compositions_starting_with_tonic', 'mean_autocorrelation_lag1')


def train(labels, output_dir, seed):
  """Trains the quickstart with `labels`; returns its run directory."""
  run_dir = os.path.join(output_dir, 'runs', labels)
  if os.path.isfile(os.path.join(run_dir, train_run.SUMMARY_NAME)):
    return run_dir
  flag_file = os.path.join(ROOT, 'configs', 'quickstart.flags')
  settings = train_run.TrainSettings().replace(
      **settings_lib.read_flagfile(flag_file)).replace(
          labels=labels, output_dir=run_dir, seed=seed)
  train_run.run(settings)
  return run_dir


def mean_note_length(melodies):
  """Mean sounding length in sixteenths of the notes of melodies [N, L].

  A note sounds from its onset through the holds (class 0) after it; a rest
  (class 1) or the next onset ends it (the encoding's meaning).
  """
  lengths = []
  for melody in melodies:
    length = 0
    for event in melody:
      if event >= encoding.NUM_SPECIAL_EVENTS:
        if length:
          lengths.append(length)
        length = 1
      elif event == 0 and length:
        length += 1
      elif length:
        lengths.append(length)
        length = 0
    if length:
      lengths.append(length)
  return float(np.mean(lengths)) if lengths else float('nan')


def measure(rlt, name, output_dir, num_melodies):
  """Composes with `rlt`; writes samples; returns the model's figures."""
  melodies = np.asarray(rlt.generate_compositions(
      num_melodies, rlt.num_notes_in_melody))
  stats = metrics.compute_composition_stats_for_compositions(
      melodies, config=rlt.music_theory_config)
  figures = metrics.table1_summary(stats)
  figures['mean_note_length'] = mean_note_length(melodies)
  figures['labels'] = rlt.settings.labels
  samples = melodies[:NUM_SAMPLES]
  for i, melody in enumerate(samples):
    audio.classes_to_midi_file(
        [int(c) for c in melody], os.path.join(output_dir,
                                               f'{name}_{i:03d}.mid'))
  generation.plot_piano_roll(samples, os.path.join(output_dir, f'{name}.png'),
                             titles=[f'{name} {i}' for i in range(len(samples))])
  return figures


def markdown(results, num_melodies):
  lines = [f'{num_melodies:,} melodies per model (seed {FLAGS.seed}).', '',
           '| figure | ' + ' | '.join(results) + ' |',
           '|---|' + '---|' * len(results)]
  for row in TABLE_ROWS:
    cells = []
    for figures in results.values():
      value = figures[row]
      fraction = row not in ('leading_silent_steps', 'mean_note_length',
                             'mean_autocorrelation_lag1')
      cells.append(f'{100 * value:.1f}%' if fraction else f'{value:.2f}')
    lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def main(argv):
  del argv
  output_dir = FLAGS.output_dir
  if not output_dir:
    raise app.UsageError('--output_dir is required')
  os.makedirs(output_dir, exist_ok=True)
  runs = {'original': FLAGS.original_run, 'encoding': FLAGS.encoding_run}
  for labels in LABELS:
    runs[labels] = runs[labels] or train(labels, output_dir, FLAGS.seed)
  results = {}
  tuned = {}
  for labels in LABELS:
    rlt, _, _ = train_run.load_tuner(runs[labels],
                                     output_dir=os.path.join(output_dir,
                                                             'scratch'))
    tuned[labels] = rlt
  # The untuned model: the same settings, networks not restored.
  untuned = train_run.make_tuner(
      train_run.settings_from_summary(train_run.load_summary(
          runs['original'])).replace(resume=False),
      output_dir=os.path.join(output_dir, 'scratch'))
  for name, rlt in (('untuned', untuned), ('tuned_original_labels',
                                           tuned['original']),
                    ('tuned_encoding_labels', tuned['encoding'])):
    rlt.rng = np.random.default_rng(FLAGS.seed)
    results[name] = measure(rlt, name, output_dir, FLAGS.num_melodies)
    print(name, json.dumps({k: round(results[name][k], 4)
                            for k in TABLE_ROWS}))
  outputs.write_file_atomically(
      os.path.join(output_dir, 'labels_choice.json'),
      metrics.table1_to_json(results).encode())
  outputs.write_file_atomically(
      os.path.join(output_dir, 'labels_choice.md'),
      markdown(results, FLAGS.num_melodies).encode())


def define_flags():
  """The script's flags (defined only when it runs, so tests can import it)."""
  flags.DEFINE_string('output_dir', None, 'Where the figures, piano rolls and '
                      'MIDI go (runs are trained into <output_dir>/runs).')
  flags.DEFINE_string('original_run', '', 'A finished quickstart run with '
                      '--labels=original to reuse (default: train one).')
  flags.DEFINE_string('encoding_run', '', 'A finished quickstart run with '
                      '--labels=encoding to reuse (default: train one).')
  flags.DEFINE_integer('num_melodies', 2000, 'Melodies composed per model.')
  flags.DEFINE_integer('seed', 0, 'Seed of the training runs and of the '
                       'composing.')


if __name__ == '__main__':
  define_flags()
  script_setup.run(main)
