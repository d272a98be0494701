r"""Converts any Note RNN checkpoint into this project's format.

  python bin/note_rnn_export.py --checkpoint=rl_tuner_note_rnn.ckpt \
      --output_dir=models/paper_note_rnn

Reads whatever `NoteRNN.load` reads (a TF1 Note RNN checkpoint in any of the
original's namings, a Magenta basic_rnn checkpoint or .mag bundle, a
training run's best/ folder) and writes a NoteRNN.save folder. JSON files
given with --metadata_json are stored in its metadata (e.g. a training run's
metrics.json), with the source and --note. This is how the embedded default
model is installed (see BUILD.md).

--output_dir is checked before the checkpoint is read. Exit status: 0 on
success, 2 (with one line on stderr) on bad flags, an unusable --output_dir,
a full disk, or a missing or unreadable checkpoint.
"""

import json
import os

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

# pylint: disable=g-import-not-at-top,wrong-import-position
from note_rnn.runtime import outputs

# pylint: enable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string('checkpoint', None, 'Note RNN to read.')
flags.DEFINE_string('output_dir', None, 'NoteRNN.save folder to write.')
flags.DEFINE_list('metadata_json', [],
                  'name=path.json pairs stored under metadata[name].')
flags.DEFINE_string('note', '', 'Free text stored as metadata["note"].')
FLAGS = flags.FLAGS

TOOL = 'note_rnn_export'
# Errors whose message is the user's answer (one line, exit 2); OutputError
# is a ValueError.
USAGE_ERRORS = (FileNotFoundError, ValueError)


def export(checkpoint, output_dir, metadata_files=(), note=''):
  """Loads `checkpoint`, saves it to `output_dir`; returns the metadata."""
  # Imported here: --help need not load TensorFlow.
  from note_rnn.model import note_rnn_model as model_lib  # pylint: disable=g-import-not-at-top
  model = model_lib.NoteRNN.load(checkpoint)
  metadata = dict(model.metadata or {})
  # The format and the file's name only: no machine path goes into a model.
  kind, _, path = model.source.partition(': ')
  metadata['exported_from'] = f'{kind}: {os.path.basename(os.path.normpath(path))}'
  for name, path in metadata_files:
    with open(path) as f:
      metadata[name] = json.load(f)
  if note:
    metadata['note'] = note
  model.save(output_dir, metadata=metadata)
  return metadata



def _main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.checkpoint or not FLAGS.output_dir:
    return script_setup.fail(TOOL,
                             '--checkpoint and --output_dir are required')
  pairs = []
  for item in FLAGS.metadata_json:
    name, sep, path = item.partition('=')
    if not sep or not os.path.isfile(path):
      return script_setup.fail(
          TOOL, f'--metadata_json takes name=existing.json, got {item!r}')
    pairs.append((name, path))
  # Before the checkpoint is read: a run that cannot write fails at once.
  outputs.check_output_dir(FLAGS.output_dir, '--output_dir')
  export(FLAGS.checkpoint, FLAGS.output_dir, pairs, FLAGS.note)
  print(f'Wrote {FLAGS.output_dir}')
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('output_dir'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
