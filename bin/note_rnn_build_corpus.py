#!/usr/bin/env python
"""Builds the default Note RNN's training data from music21's folk corpus.

    pip install -e '.[corpus]'
    python bin/note_rnn_build_corpus.py --output_dir=data/folk

Reads public-domain folk tunes and chorale melodies shipped inside the
music21 package (O'Neill's Music of Ireland, Ryan's Mammoth Collection,
Aird's Airs, miscFolk, the soprano lines of the Bach chorales; the Essen
collection, licensed for non-commercial use only, with --include_essen),
turns each tune into a NoteSequence (see `note_rnn.corpus`) and writes
`training_melodies.tfrecord` and `eval_melodies.tfrecord` in --output_dir,
exactly as `bin/note_rnn_create_dataset.py` does. Whole tunes go to one
split. The evaluation split is also written per collection
(`eval_<collection>.tfrecord`). Collections named in --heldout_collections
never enter either split: each is written whole to
`heldout_<collection>.tfrecord`, all of them to `heldout_melodies.tfrecord`
(for early stopping or testing on other traditions):

    python bin/note_rnn_build_corpus.py --output_dir=data/heldout \
        --heldout_collections=essenFolksong,bach --max_heldout_tunes=2000

The Essen collection (non-commercial licence) may be held out without
--include_essen: it is then read for evaluation only, as the manifest says.
`corpus_manifest.json` records the settings and per-collection counts. A
summary and per-collection tables (tunes, note_seq and music21 parse
results, melodies; the split) are printed at the end. --output_dir is checked
before the corpus is read; the outputs are renamed into place together, so a
failed run (a full disk) leaves it as it was. Exit status: 0 on success, 2
(with one line on stderr) on bad flags, an unusable --output_dir, a full
disk, without music21, or when no melody was found.
"""

import os
import time

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top

from note_rnn.corpus import corpus_build as corpus  # pylint: disable=g-import-not-at-top
from note_rnn.corpus import corpus_sources  # pylint: disable=g-import-not-at-top
from note_rnn.data import dataset_runner  # pylint: disable=g-import-not-at-top
from note_rnn.data import tune_parsing  # pylint: disable=g-import-not-at-top
from note_rnn.data import tunes  # pylint: disable=g-import-not-at-top
from note_rnn.runtime import durations  # pylint: disable=g-import-not-at-top
from note_rnn.runtime import outputs  # pylint: disable=g-import-not-at-top

TOOL = 'note_rnn_build_corpus'
# Exit status for unusable flags, a missing music21 or no melody.
EXIT_USAGE = script_setup.EXIT_USAGE
# Errors whose message is the user's answer (one line, exit 2); OutputError
# and Music21NotInstalledError are among them.
USAGE_ERRORS = (ValueError, FileNotFoundError,
                tunes.Music21NotInstalledError, outputs.OutputError)

# The importable entry point, re-exported for callers of this script.
build_corpus_dataset = corpus.build_corpus_dataset

flags.DEFINE_string(
    'output_dir', None,
    'Folder for training_melodies.tfrecord, eval_melodies.tfrecord, the '
    'per-collection eval_*/heldout_* files and corpus_manifest.json '
    '(created if missing; existing files are replaced).')
flags.DEFINE_list(
    'collections', list(corpus_sources.DEFAULT_COLLECTIONS),
    'Comma-separated music21 corpus folders to read; known: '
    f'{", ".join(sorted(corpus_sources.COLLECTIONS))}.')
flags.DEFINE_list(
    'heldout_collections', [],
    'Comma-separated collections whose melodies never enter training or '
    'the eval split (taken out of --collections): each is written whole to '
    'heldout_<name>.tfrecord, all together to heldout_melodies.tfrecord. '
    'essenFolksong may be held out without --include_essen (evaluation '
    'only; its licence is non-commercial).')
flags.DEFINE_integer(
    'max_heldout_tunes', 0,
    'Read a random sample (drawn with --seed, kept in file order) of at '
    'most this many tunes of each held-out collection (0 = all); caps the '
    'time spent parsing a big one such as essenFolksong (about 8,500 '
    'tunes).')
flags.DEFINE_boolean(
    'include_essen', False,
    'Also read essenFolksong (about 8,500 tunes). Its licence allows '
    'non-commercial use only: do not ship a model trained on it in a '
    'commercial product.')
flags.DEFINE_enum(
    'parser', tune_parsing.PARSER_AUTO, list(tune_parsing.PARSERS),
    'ABC parser: music21 (reads ties, tuplets, chords, variant endings, '
    'pickups), note_seq (Magenta\'s; rejects many tunes), or auto (runs '
    'both, uses music21\'s result and note_seq\'s where music21 fails).')
flags.DEFINE_float(
    'eval_ratio', dataset_runner.DEFAULT_EVAL_RATIO,
    'Fraction of tunes whose melodies go to the evaluation set, in [0, 1].')
flags.DEFINE_integer(
    'seed', 0,
    'Seed of the train/eval split and of the order of melodies in the '
    'output files; same corpus and seed give byte-identical files.')
flags.DEFINE_integer(
    'num_workers', os.cpu_count() or 1,
    'Processes parsing and encoding tunes; 1 works in this process. The '
    'output does not depend on it.')
flags.DEFINE_integer(
    'max_tunes_per_collection', 0,
    'Read only the first this many tunes of each collection (0 = all; for '
    'quick tests).')
flags.DEFINE_boolean(
    'expand_repeats', True,
    'Play repeats and variant endings out as performed (music21 parser); '
    'False keeps the written order.')
flags.DEFINE_string(
    'corpus_dir', None,
    'Folder laid out like music21\'s corpus/ (one sub-folder per '
    'collection); default: the installed music21\'s.')
script_setup.define_melody_flags()
# Shown by --help with the tool's own flags, not only under --helpfull.
flags.adopt_module_key_flags(script_setup)

FLAGS = flags.FLAGS


def _fail(message):
  return script_setup.fail(TOOL, message)


def _validate_flags():
  """Returns an error message for unusable flags, or None."""
  if not FLAGS.output_dir:
    return '--output_dir is required'
  if not 0.0 <= FLAGS.eval_ratio <= 1.0:
    return f'--eval_ratio must lie in [0, 1]; got {FLAGS.eval_ratio}'
  if FLAGS.num_workers < 1:
    return f'--num_workers must be >= 1; got {FLAGS.num_workers}'
  if FLAGS.max_tunes_per_collection < 0:
    return ('--max_tunes_per_collection must be >= 0; got '
            f'{FLAGS.max_tunes_per_collection}')
  if FLAGS.max_heldout_tunes < 0:
    return f'--max_heldout_tunes must be >= 0; got {FLAGS.max_heldout_tunes}'
  if FLAGS.corpus_dir and not os.path.isdir(FLAGS.corpus_dir):
    return f'--corpus_dir={FLAGS.corpus_dir} is not a folder'
  try:
    corpus_sources.resolve_collections(
        set(FLAGS.collections) - set(FLAGS.heldout_collections),
        FLAGS.include_essen)
  except ValueError as e:
    return f'--collections: {e}'
  try:
    corpus_sources.resolve_split_collections(
        FLAGS.collections, FLAGS.heldout_collections, FLAGS.include_essen)
  except ValueError as e:
    return f'--heldout_collections: {e}'
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
  # Before music21 or the corpus is read: a run that cannot write fails at
  # once.
  outputs.check_output_dir(FLAGS.output_dir, '--output_dir')
  start = time.monotonic()
  try:
    stats = build_corpus_dataset(
        FLAGS.output_dir, corpus_dir=FLAGS.corpus_dir,
        collection_names=FLAGS.collections,
        include_essen=FLAGS.include_essen, parser=FLAGS.parser,
        eval_ratio=FLAGS.eval_ratio, seed=FLAGS.seed, options=options,
        num_workers=FLAGS.num_workers,
        max_tunes_per_collection=FLAGS.max_tunes_per_collection,
        expand_repeats=FLAGS.expand_repeats,
        heldout_collection_names=FLAGS.heldout_collections,
        max_heldout_tunes=FLAGS.max_heldout_tunes)
  except dataset_runner.EmptyCorpusError as e:
    if e.stats is not None:
      print(e.stats.summary())
    return _fail(str(e))
  print(stats.summary())
  print('wall time: '
        f'{durations.format_duration(time.monotonic() - start)}')
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('output_dir'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
