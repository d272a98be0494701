r"""Compares Note RNNs on one evaluation file: loss, accuracy, perplexity.

  python bin/note_rnn_evaluate.py \
      --sequence_example_file=corpus/eval_melodies.tfrecord \
      --checkpoints=embedded=,paper=rl_tuner_note_rnn.ckpt

Prints a Markdown table (one column per model) and, with --output_json,
writes the figures. Each model is scored as in training (steps from
`skip_first_n_losses` on, melodies cut to `max_sequence_length`) and over
every real step; both are reported.

Where --output_json goes is checked before any model is loaded. Exit
status: 0 on success, 2 (with one line on stderr) on bad flags, an
unusable --output_json location, a full disk, or a missing or unreadable
model or file.
"""

import json
import os

import script_setup  # First: quiet start-up, repository on sys.path.
from absl import app
from absl import flags

# pylint: disable=g-import-not-at-top,wrong-import-position
from note_rnn import encoding
from note_rnn import outputs
# pylint: enable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string('sequence_example_file', None,
                    'TFRecord of melody SequenceExamples to score.')
flags.DEFINE_list('checkpoints', ['embedded='],
                  "name=path pairs, or paths (named after their last "
                  'component); an empty path is the embedded default model.')
flags.DEFINE_integer('batch_size', 128, 'Melodies per batch (speed only).')
flags.DEFINE_string('output_json', '', 'Where to write the figures.')
FLAGS = flags.FLAGS

TOOL = 'note_rnn_evaluate'
# Errors whose message is the user's answer (one line, exit 2); OutputError
# is a ValueError.
USAGE_ERRORS = (FileNotFoundError, ValueError)

ROWS = (('loss', 'cross-entropy per step (nats)'),
        ('accuracy', 'next-step accuracy'),
        ('log_perplexity', 'log-perplexity'),
        ('mean_log_likelihood_per_step', 'log-likelihood per step'))


def compare(named_paths, sequence_example_file, batch_size=128):
  """Scores every model; returns dict name -> training.evaluate result."""
  # Imported here: --help need not load TensorFlow.
  from note_rnn import model as model_lib  # pylint: disable=g-import-not-at-top
  from note_rnn import training  # pylint: disable=g-import-not-at-top
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


def check_output_json(path):
  """Checks that the file `path` can be written; creates nothing.

  Raises:
    outputs.OutputError: naming --output_json and the path.
  """
  if os.path.isdir(path):
    raise outputs.OutputError(
        f'--output_json={path}: is a directory, not a file')
  try:
    outputs.check_output_dir(os.path.dirname(os.path.abspath(path)),
                             'folder')
  except outputs.OutputError as e:
    raise outputs.OutputError(f'--output_json={path}: {e}') from e



def _main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.sequence_example_file:
    return script_setup.fail(TOOL, '--sequence_example_file is required')
  pairs = []
  for item in FLAGS.checkpoints:
    name, sep, path = item.partition('=')
    if not sep:  # A bare path: named after its file or folder.
      name, path = os.path.basename(os.path.normpath(item)), item
    if not name:
      return script_setup.fail(
          TOOL, f'--checkpoints takes name=path or a path, got {item!r}')
    if name in dict(pairs):
      return script_setup.fail(
          TOOL, f'--checkpoints names {name!r} twice; write name=path')
    pairs.append((name, path))
  if FLAGS.output_json:
    # Before any model is loaded: a run that cannot write fails at once.
    check_output_json(FLAGS.output_json)
  results = compare(pairs, FLAGS.sequence_example_file, FLAGS.batch_size)
  print(markdown(results))
  if FLAGS.output_json:
    encoding.write_file_atomically(
        FLAGS.output_json, json.dumps(results, indent=2, default=str).encode())
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('output_json'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
