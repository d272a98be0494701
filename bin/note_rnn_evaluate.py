r"""Compares Note RNNs on one evaluation file: loss, accuracy, perplexity.

  python bin/note_rnn_evaluate.py \
      --sequence_example_file=corpus/eval_melodies.tfrecord \
      --checkpoints=embedded=,paper=rl_tuner_note_rnn.ckpt

Prints a Markdown table (one column per model) and, with --output_json,
writes the figures. Each model is scored as in training (steps from
`skip_first_n_losses` on, melodies cut to `max_sequence_length`) and over
every real step; both are reported.
"""

import json
import sys

import script_setup  # First: quiet start-up, repository on sys.path.
from absl import app
from absl import flags

from note_rnn import encoding
from note_rnn import model as model_lib
from note_rnn import training

flags.DEFINE_string('sequence_example_file', None,
                    'TFRecord of melody SequenceExamples to score.')
flags.DEFINE_list('checkpoints', ['embedded='],
                  "name=path pairs; an empty path is the embedded default "
                  'model.')
flags.DEFINE_integer('batch_size', 128, 'Melodies per batch (speed only).')
flags.DEFINE_string('output_json', '', 'Where to write the figures.')
FLAGS = flags.FLAGS

ROWS = (('loss', 'cross-entropy per step (nats)'),
        ('accuracy', 'next-step accuracy'),
        ('log_perplexity', 'log-perplexity'),
        ('mean_log_likelihood_per_step', 'log-likelihood per step'))


def compare(named_paths, sequence_example_file, batch_size=128):
  """Scores every model; returns dict name -> training.evaluate result."""
  results = {}
  for name, path in named_paths:
    model = model_lib.NoteRNN.load(path or None)
    results[name] = training.evaluate(model, sequence_example_file,
                                      batch_size=batch_size)
    results[name]['source'] = model.source
  return results


def markdown(results):
  """Two tables' worth of rows: training-style and all steps."""
  names = list(results)
  lines = ['| metric | ' + ' | '.join(names) + ' |',
           '|---|' + '---|' * len(names)]
  for scope, label in ((None, 'as in training'), ('without_skip',
                                                  'all steps')):
    for key, title in ROWS:
      cells = []
      for name in names:
        figures = results[name][scope] if scope else results[name]
        cells.append(f'{figures[key]:.4f}')
      lines.append(f'| {title} ({label}) | ' + ' | '.join(cells) + ' |')
  steps = ' | '.join(str(results[n]['num_steps']) for n in names)
  lines.append(f'| steps scored (as in training) | {steps} |')
  return '\n'.join(lines) + '\n'


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.sequence_example_file:
    sys.exit(script_setup.fail('note_rnn_evaluate',
                               '--sequence_example_file is required'))
  pairs = []
  for item in FLAGS.checkpoints:
    name, sep, path = item.partition('=')
    if not sep or not name:
      sys.exit(script_setup.fail(
          'note_rnn_evaluate', f'--checkpoints takes name=path, got {item!r}'))
    pairs.append((name, path))
  try:
    results = compare(pairs, FLAGS.sequence_example_file, FLAGS.batch_size)
  except (FileNotFoundError, ValueError) as e:
    sys.exit(script_setup.fail('note_rnn_evaluate', e))
  print(markdown(results))
  if FLAGS.output_json:
    encoding.write_file_atomically(
        FLAGS.output_json, json.dumps(results, indent=2, default=str).encode())


if __name__ == '__main__':
  app.run(main)
