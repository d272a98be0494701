#!/usr/bin/env python
"""Trains the Note RNN on melody TFRecords with the paper's recipe.

    python bin/note_rnn_train.py \\
      --sequence_example_file=data/training_melodies.tfrecord \\
      --eval_sequence_example_file=data/eval_melodies.tfrecord \\
      --run_dir=runs/note_rnn --num_training_steps=30000

The data come from bin/note_rnn_create_dataset.py. Progress lines go to the
log, TensorBoard scalars to RUN_DIR/tensorboard, the latest checkpoint to
RUN_DIR/checkpoint (its model/ folder is what `NoteRNN.load` and
--init_checkpoint read), the best-eval weights to RUN_DIR/best and a summary
to RUN_DIR/metrics.json. Running again with the same --run_dir resumes,
exactly: a run killed at any step and run again ends with the weights,
metrics and TensorBoard curves of an uninterrupted one. See
`note_rnn.training` for the recipe.

The input files (every record read, the first ones parsed) and --run_dir are
checked before a model is built or anything is written. Exit status: 0 on
success, 2 with one line on stderr on bad flags, unusable input files, a
--run_dir that cannot be written or whose checkpoints are all damaged, or a
full disk (free space and run the same command again to resume).
"""

import os
import sys

# pylint: disable=g-import-not-at-top
import script_setup  # First: quiet start-up, repository on sys.path.

from absl import flags
from absl import logging

from note_rnn.model import checkpoint_import
from note_rnn.model import hparams as hparams_lib
from note_rnn.runtime import outputs
from note_rnn.training import training

# pylint: enable=g-import-not-at-top

EXIT_USAGE = script_setup.EXIT_USAGE
TOOL = 'note_rnn_train'
# Errors whose message is the user's answer (one line, exit 2).
# FloatingPointError: a non-finite loss (its message says what to lower).
USAGE_ERRORS = (training.TrainingError, checkpoint_import.CheckpointError,
                outputs.OutputError, FileNotFoundError, FloatingPointError)

# The importable entry point, re-exported for callers of this script.
train = training.train

flags.DEFINE_string(
    'sequence_example_file', None,
    'TFRecord of training melodies (tf.train.SequenceExample, as written by '
    'note_rnn_create_dataset.py).')
flags.DEFINE_string(
    'eval_sequence_example_file', None,
    'Optional TFRecord of evaluation melodies, evaluated every '
    '--eval_every_n steps and at the end; the best weights go to '
    'RUN_DIR/best.')
flags.DEFINE_string(
    'run_dir', None,
    'Folder for checkpoints, TensorBoard logs and metrics.json; an existing '
    'run in it is resumed.')
flags.DEFINE_integer(
    'num_training_steps', None,
    'Total gradient steps of the run (a resumed run continues up to this).')
flags.DEFINE_string(
    'hparams', '',
    'Comma-separated name=value overrides of the Note RNN hparams, e.g. '
    '"rnn_layer_sizes=[64,64],batch_size=32"; applied to the defaults (or to '
    'the --init_checkpoint model\'s hparams). A resumed run keeps its own.')
flags.DEFINE_float(
    'dropout_keep_prob', None,
    'Probability of keeping each LSTM output unit in training (Magenta '
    'basic_rnn\'s DropoutWrapper(output_keep_prob); it trains with 0.5); '
    '1.0 = no dropout. Evaluation and generation never drop units. Same as '
    '--hparams=dropout_keep_prob=P, and wins over it. Default: the hparams\' '
    'value (1.0, or the --init_checkpoint model\'s); a resumed run keeps its '
    'own.')
flags.DEFINE_integer(
    'seed', None,
    'Seed of weight initialization and data order; same seed, same data, '
    f'same result on CPU. Default: {training.DEFAULT_SEED} for a new run, '
    'the run\'s own seed when resuming.')
flags.DEFINE_string(
    'init_checkpoint', None,
    'Start a new run from these weights (any checkpoint NoteRNN.load reads: '
    'a NoteRNN save folder, a TF1 Note RNN checkpoint, a Magenta basic_rnn '
    'checkpoint or .mag bundle). Ignored when resuming.')
flags.DEFINE_enum(
    'optimizer', None, list(training.OPTIMIZERS),
    'Optimizer. Default: adagrad (what the paper\'s checkpoint was trained '
    'with; its initial rate 0.5 makes Adam diverge) for a new run, the run\'s '
    'own when resuming.')
flags.DEFINE_integer(
    'eval_every_n', training.DEFAULT_EVAL_EVERY_N,
    'Training steps between evaluations on --eval_sequence_example_file.')
flags.DEFINE_integer(
    'checkpoint_every_n', training.DEFAULT_CHECKPOINT_EVERY_N,
    'Training steps between checkpoints (one is always written at the end).')
flags.DEFINE_integer(
    'log_every_n', training.DEFAULT_LOG_EVERY_N,
    'Training steps between progress lines and TensorBoard training scalars.')
flags.DEFINE_integer(
    'stop_after_evals_without_improvement', 0,
    'Stop once this many evaluations in a row did not lower the best eval '
    'loss (0: train all --num_training_steps).')
flags.DEFINE_boolean(
    'resume', False,
    'Resuming an existing run in --run_dir is automatic; with --resume, a '
    '--run_dir without a checkpoint is an error instead of a new run.')

FLAGS = flags.FLAGS


def _fail(message):
  return script_setup.fail(TOOL, message)


def _validate_flags():
  """Returns an error message for unusable flags, or None."""
  if not FLAGS.sequence_example_file:
    return '--sequence_example_file is required'
  if not os.path.isfile(FLAGS.sequence_example_file):
    return (f'--sequence_example_file={FLAGS.sequence_example_file} is not '
            'a file')
  if (FLAGS.eval_sequence_example_file and
      not os.path.isfile(FLAGS.eval_sequence_example_file)):
    return (f'--eval_sequence_example_file='
            f'{FLAGS.eval_sequence_example_file} is not a file')
  if not FLAGS.run_dir:
    return '--run_dir is required'
  if FLAGS.num_training_steps is None or FLAGS.num_training_steps < 1:
    return '--num_training_steps must be given as a positive integer'
  for name in ('eval_every_n', 'checkpoint_every_n', 'log_every_n'):
    if FLAGS[name].value < 1:
      return f'--{name} must be >= 1; got {FLAGS[name].value}'
  if FLAGS.stop_after_evals_without_improvement < 0:
    return '--stop_after_evals_without_improvement must be >= 0'
  if FLAGS.init_checkpoint and not os.path.exists(FLAGS.init_checkpoint) and (
      not os.path.exists(FLAGS.init_checkpoint + '.index')):
    return f'--init_checkpoint={FLAGS.init_checkpoint} does not exist'
  if FLAGS.dropout_keep_prob is not None and not (
      0.0 < FLAGS.dropout_keep_prob <= 1.0):
    return ('--dropout_keep_prob must lie in (0, 1]; got '
            f'{FLAGS.dropout_keep_prob}')
  try:
    hparams_lib.default_hparams().parse(FLAGS.hparams)
  except ValueError as e:
    return f'--hparams: {e}'
  if FLAGS.resume and not training.checkpoint_dirs(FLAGS.run_dir):
    return (f'--resume: --run_dir={FLAGS.run_dir} holds no checkpoint to '
            'resume')
  return None



def _hparams_overrides():
  """--hparams, with --dropout_keep_prob added after it (so it wins)."""
  overrides = [FLAGS.hparams] if FLAGS.hparams else []
  if FLAGS.dropout_keep_prob is not None:
    overrides.append(f'dropout_keep_prob={FLAGS.dropout_keep_prob!r}')
  return ','.join(overrides)


def _main(argv):
  if len(argv) > 1:
    return _fail(f'unexpected arguments: {" ".join(argv[1:])}')
  error = _validate_flags()
  if error:
    return _fail(error)
  # Before anything is read: a run that cannot write fails at once.
  outputs.check_output_dir(FLAGS.run_dir, '--run_dir')
  logging.set_verbosity(logging.INFO)
  train(FLAGS.sequence_example_file, FLAGS.run_dir, FLAGS.num_training_steps,
        eval_sequence_example_file=FLAGS.eval_sequence_example_file,
        hparams=_hparams_overrides() or None, seed=FLAGS.seed,
        init_checkpoint=FLAGS.init_checkpoint, optimizer=FLAGS.optimizer,
        eval_every_n=FLAGS.eval_every_n,
        checkpoint_every_n=FLAGS.checkpoint_every_n,
        log_every_n=FLAGS.log_every_n,
        stop_after_evals_without_improvement=(
            FLAGS.stop_after_evals_without_improvement),
        command_line=sys.argv)
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('run_dir'),
    resumable=True)(_main)


if __name__ == '__main__':
  script_setup.run(main)
