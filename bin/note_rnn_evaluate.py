r"""Compares Note RNNs on evaluation files: loss, accuracy, perplexity.

  python bin/note_rnn_evaluate.py \
      --sequence_example_file=corpus/eval_melodies.tfrecord \
      --checkpoints=embedded=,paper=rl_tuner_note_rnn.ckpt

Prints a Markdown table (one column per model) and, with --output_json,
writes the figures. Each model is scored as in training (steps from
`skip_first_n_losses` on, melodies cut to `max_sequence_length`) and over
every real step; both are reported.

Several files (a comma-separated list or globs in --sequence_example_file,
each named after its file name without `.tfrecord`, and/or name=path pairs
in --collections) are scored one by one, each model loaded once, and the
table has one row per file (collection): melodies, steps counted, and per
model the cross-entropy per step as in training (nats) and the next-step
accuracy:

  python bin/note_rnn_evaluate.py \
      --sequence_example_file='corpus/eval_*.tfrecord,corpus/heldout_*' \
      --checkpoints=embedded=,paper=rl_tuner_note_rnn.ckpt \
      --output_json=per_collection.json

Where --output_json goes is checked before any model is loaded. Exit
status: 0 on success, 2 (with one line on stderr) on bad flags, an
unusable --output_json location, a full disk, or a missing or unreadable
model or file.
"""

import glob
import json
import os

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

# pylint: disable=g-import-not-at-top,wrong-import-position
from note_rnn.runtime import outputs
from note_rnn.training import evaluate

# pylint: enable=g-import-not-at-top,wrong-import-position

flags.DEFINE_list(
    'sequence_example_file', [],
    'TFRecord(s) of melody SequenceExamples to score: a file, or a '
    'comma-separated list of files and globs (each file a row of the '
    'per-collection table, named after its file name without .tfrecord).')
flags.DEFINE_list(
    'collections', [],
    'name=path pairs of TFRecords to score as named rows of the '
    'per-collection table (after those of --sequence_example_file).')
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
  if not FLAGS.sequence_example_file and not FLAGS.collections:
    return script_setup.fail(
        TOOL, '--sequence_example_file (or --collections) is required')
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
  single = (len(FLAGS.sequence_example_file) == 1 and not FLAGS.collections
            and not glob.has_magic(FLAGS.sequence_example_file[0]))
  if single:
    # One file: the table of every metric, as before.
    results = evaluate.compare(pairs, FLAGS.sequence_example_file[0],
                               FLAGS.batch_size)
    print(evaluate.markdown(results))
  else:
    named_files = evaluate.collection_files(FLAGS.sequence_example_file,
                                            FLAGS.collections)
    by_collection = evaluate.compare_collections(pairs, named_files,
                                                 FLAGS.batch_size)
    print(evaluate.collections_markdown(by_collection))
    results = {
        'metric': ('loss: cross-entropy per step (nats) and accuracy: '
                   'next-step accuracy, over the steps counted in training '
                   '(from skip_first_n_losses on, melodies cut to '
                   'max_sequence_length); without_skip: every real step'),
        'checkpoints': {name: next(iter(by_collection.values()))[name][
            'source'] for name, _ in pairs},
        'collections': {
            collection: {'file': path, 'results': by_collection[collection]}
            for collection, path in named_files},
        'table': evaluate.collections_markdown(by_collection),
    }
  if FLAGS.output_json:
    outputs.write_file_atomically(
        FLAGS.output_json, json.dumps(results, indent=2, default=str).encode())
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('output_json'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
