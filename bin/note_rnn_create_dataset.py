#!/usr/bin/env python
"""Builds Note RNN training data from MIDI, ABC or NoteSequence TFRecords.

    python bin/note_rnn_create_dataset.py --input=corpus/ --output_dir=data/

Melodies are extracted as Magenta's melody_rnn pipeline does (see
`note_rnn.melody_pipeline`; files are read by `note_rnn.source_files` and the
job is run by `note_rnn.dataset_runner`), transposed to C major, encoded to
the 38 classes and written as `training_melodies.tfrecord` and
`eval_melodies.tfrecord` (tf.train.SequenceExample, Magenta's layout, by
default) in --output_dir. Whole source files go to one split. A summary of
what was read, skipped and kept is printed at the end; every file that
failed, with its reason, is listed in `failed_files.txt` beside the outputs.

Bad input fails only its own file: files or NoteSequences over the bounds
of `source_files` (MAX_INPUT_BYTES) and `melody_pipeline` (MAX_INPUT_NOTES,
MAX_INPUT_STEPS) are refused before they are expanded (`file_too_large`,
`too_many_notes`, `too_many_steps`); a file that kills its worker process
again when retried alone is `worker_crashed`. A chunk of NoteSequence
records that kills its worker is split, so only the record at fault fails.

ABC files are decoded as ABC tools do (a byte order mark, an
`%abc-charset` / `I:abc-charset` line, else UTF-8, then Windows-1252 /
latin-1), split into tunes and parsed one tune at a time by --abc_parser:
music21 (the `corpus` extra, pip install -e '.[corpus]'), which reads
rests, ties, tuplets, chords (top note), repeats (played out) and variant
endings, or note_seq's ABC parser, which rejects tunes with rests, tuplets,
chords or variant endings and ignores ties and repeats; `auto` (the
default) is music21 when it is installed. The parser used is named on
stderr and in the summary; a tune that fails is counted under its parser's
error class and message (`abc_tune_parse_error: note_seq:TupletError:
Tuplets are not supported.`; numbers in messages become N, so that one
error of many tunes is counted once) and the file's other
tunes are kept. Tunes too big for music21 to read quickly (a bar much
longer than its meter, over 4,096 notes; `abc_text.MUSIC21_MAX_*`) are
skipped with their reason.

--layout=compact writes class indices (tf.train.Example, int64
`melody_classes`, ~1 byte per step) instead of Magenta's one-hot
SequenceExamples (~170 bytes per step); note_rnn_train, note_rnn_evaluate
and the RL Tuner's --training_data_path read both, Magenta's tools only
the default. --num_shards=N writes each split as N files
(`training_melodies.tfrecord-00000-of-0000N`, ...; note_rnn_train reads
them with a glob). --runner=ray reads the files as Ray tasks (local Ray of
--num_workers CPUs, or the cluster at --ray_address / RAY_ADDRESS; needs
pip install -e '.[sweep]'): same melodies, statistics and split as the
local runner.

--output_dir is checked before any input is read; the outputs are renamed
into place together, so a failed run (a full disk) leaves it as it was.
Exit status: 0 on success, 2 (with one line on stderr) on bad flags
(--abc_parser=music21 without music21 too), an unusable --output_dir, a
full disk, or when no melody was found.
"""

import os

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top

from note_rnn.data import dataset_runner  # pylint: disable=g-import-not-at-top
from note_rnn.data import example_layouts  # pylint: disable=g-import-not-at-top
from note_rnn.data import melody_pipeline  # pylint: disable=g-import-not-at-top
from note_rnn.data import source_files  # pylint: disable=g-import-not-at-top
from note_rnn.runtime import outputs  # pylint: disable=g-import-not-at-top

TOOL = 'note_rnn_create_dataset'
EXIT_USAGE = script_setup.EXIT_USAGE
# Errors whose message is the user's answer (one line, exit 2).
USAGE_ERRORS = (source_files.InputError, outputs.OutputError)

# The importable entry points, re-exported for callers of this script.
create_dataset = dataset_runner.create_dataset
EmptyCorpusError = dataset_runner.EmptyCorpusError
MelodyOptions = melody_pipeline.MelodyOptions

flags.DEFINE_string(
    'input', None,
    'Folder (searched recursively) or glob pattern of .mid/.midi/.abc files, '
    'or a TFRecord file of NoteSequences (.tfrecord).')
flags.DEFINE_string(
    'output_dir', None,
    'Folder for training_melodies.tfrecord, eval_melodies.tfrecord and '
    'failed_files.txt (created if missing; existing files are replaced).')
flags.DEFINE_float(
    'eval_ratio', dataset_runner.DEFAULT_EVAL_RATIO,
    'Fraction of source files (or NoteSequence records) whose melodies go to '
    'the evaluation set, in [0, 1].')
flags.DEFINE_integer(
    'seed', 0,
    'Seed of the train/eval split and of the order of melodies in the '
    'output files; same input and seed give byte-identical files.')
script_setup.define_melody_flags()
# Shown by --help with the tool's own flags, not only under --helpfull.
flags.adopt_module_key_flags(script_setup)
flags.DEFINE_integer(
    'num_workers', os.cpu_count() or 1,
    'Worker processes reading and encoding files (even 1: a file that '
    'kills its worker is retried alone, then failed as worker_crashed); '
    'with --runner=ray, the CPUs of a local Ray.')
flags.DEFINE_enum('layout', example_layouts.DEFAULT,
                  list(example_layouts.LAYOUTS), example_layouts.HELP)
flags.DEFINE_integer('num_shards', 1,
                     'Files per split: 1 writes training_melodies.tfrecord '
                     'and eval_melodies.tfrecord; N writes each as N shards '
                     '<name>-0000i-of-0000N.')
flags.DEFINE_enum('runner', 'local', list(dataset_runner.RUNNERS),
                  "Where files are read: 'local' worker processes, or "
                  "'ray' tasks (same outputs).")
flags.DEFINE_enum(
    'abc_parser', source_files.ABC_PARSER_AUTO,
    list(source_files.ABC_PARSERS),
    "What reads ABC tunes: 'music21' (reads rests, ties, tuplets, chords, "
    "repeats and variant endings; pip install -e '.[corpus]'), 'note_seq' "
    "(rejects tunes with rests, tuplets, chords or variant endings, "
    "ignores ties and repeats), or 'auto': music21 if installed, else "
    "note_seq.")
flags.DEFINE_string('ray_address', '',
                    'Ray cluster of --runner=ray (default RAY_ADDRESS, else '
                    'a local Ray); the input must be readable at the same '
                    'path on every node.')

FLAGS = flags.FLAGS


def _fail(message):
  return script_setup.fail(TOOL, message)


def _validate_flags():
  """Returns an error message for unusable flags, or None."""
  if not FLAGS.input:
    return '--input is required (a folder, glob or .tfrecord file)'
  if not FLAGS.output_dir:
    return '--output_dir is required'
  if not 0.0 <= FLAGS.eval_ratio <= 1.0:
    return f'--eval_ratio must lie in [0, 1]; got {FLAGS.eval_ratio}'
  if FLAGS.num_workers < 1:
    return f'--num_workers must be >= 1; got {FLAGS.num_workers}'
  if FLAGS.num_shards < 1:
    return f'--num_shards must be >= 1; got {FLAGS.num_shards}'
  if FLAGS.runner == 'ray':
    try:
      import ray  # pylint: disable=g-import-not-at-top
      del ray
    except ImportError:
      return ("--runner=ray needs Ray (an optional extra): pip install -e "
              "'.[sweep]'")
  if FLAGS.abc_parser == source_files.ABC_PARSER_MUSIC21:
    try:
      source_files.resolve_abc_parser(FLAGS.abc_parser)
    except source_files.Music21MissingError as e:
      return str(e)
  return None



def _main(argv):
  if len(argv) > 1:
    return _fail(f'unexpected arguments: {" ".join(argv[1:])}')
  error = _validate_flags()
  if error:
    return _fail(error)
  try:
    options = script_setup.melody_options_from_flags()
  except ValueError as e:
    return _fail(str(e))
  # Before any input is read: a run that cannot write fails at once.
  outputs.check_output_dir(FLAGS.output_dir, '--output_dir')
  try:
    stats = create_dataset(
        FLAGS.input, FLAGS.output_dir, eval_ratio=FLAGS.eval_ratio,
        seed=FLAGS.seed, options=options, num_workers=FLAGS.num_workers,
        layout=FLAGS.layout, num_shards=FLAGS.num_shards,
        runner=FLAGS.runner, ray_address=FLAGS.ray_address or None,
        abc_parser=FLAGS.abc_parser)
  except EmptyCorpusError as e:
    if e.stats is not None and e.stats.files_found:
      print(e.stats.summary())
    return _fail(str(e))
  print(stats.summary())
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('output_dir'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
