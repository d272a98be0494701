"""Start-up shared by the bin/ scripts; import it before anything else.

A CPU run of a tool shows only the tool's own lines. TensorFlow's start-up
lines (CUDA probes on a machine without a GPU, oneDNN notes, absl's "All
log messages before absl::InitializeLog()") are held back: TensorFlow is
imported, when some module first imports it, with the C-level stderr sent
to a buffer, and whatever is not known start-up noise is written out after.
TensorFlow's own Python INFO lines (e.g. per-checkpoint timings) are
silenced too, as is pydub's note (pydub comes with note_seq) that ffmpeg, an
audio tool these scripts do not use, is missing. `--verbosity=1` (or -v 1)
or a TF_CPP_MIN_LOG_LEVEL set by the user brings everything back.

Also makes the repository importable when a script runs from a checkout.
"""

import contextlib
import functools
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile
import warnings

warnings.filterwarnings('ignore', message="Couldn't find ffmpeg")

# Start-up lines of TensorFlow that say nothing about this run.
NOISE = (
    'All log messages before absl::InitializeLog()',
    'cudart_stub.cc', 'Could not find cuda drivers', 'failed call to cuInit',
    'cuda_platform.cc', 'cuda_executor.cc', 'Unable to register cu',
    'oneDNN custom operations are on', 'TF_ENABLE_ONEDNN_OPTS',
    'This TensorFlow binary is optimized',
    'To enable the following instructions',
    'rebuild TensorFlow with the appropriate compiler flags',
    'TF-TRT Warning', 'computation_placer.cc',
    'oneDNN supports DT_BOOL only',
)


def _verbose(argv):
  """Whether the command line asks for TensorFlow's own lines."""
  for i, arg in enumerate(argv):
    if arg.startswith(('--verbosity=', '-v=')):
      value = arg.split('=', 1)[1]
    elif arg in ('--verbosity', '-v') and i + 1 < len(argv):
      value = argv[i + 1]
    else:
      continue
    try:
      return int(value) >= 1
    except ValueError:
      return False
  return False


@contextlib.contextmanager
def _stderr_filtered(noise=NOISE):
  """Sends file descriptor 2 to a buffer; writes back lines not in noise."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as buffer:
    os.dup2(buffer.fileno(), 2)
    try:
      yield
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      buffer.seek(0)
      text = buffer.read().decode('utf-8', 'replace')
      kept = [line for line in text.splitlines()
              if line.strip() and not any(n in line for n in noise)]
      if kept:
        sys.stderr.write('\n'.join(kept) + '\n')


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
  """Imports tensorflow (and sets up its devices) under _stderr_filtered."""

  def find_spec(self, name, path=None, target=None):
    del path, target
    if name != 'tensorflow':
      return None
    sys.meta_path.remove(self)
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
      return spec
    spec.loader = _QuietLoader(spec.loader)
    return spec


class _QuietLoader(importlib.abc.Loader):

  def __init__(self, loader):
    self._loader = loader

  def create_module(self, spec):
    return self._loader.create_module(spec)

  def exec_module(self, module):
    with _stderr_filtered():
      self._loader.exec_module(module)
      # Device set-up (the CUDA probe) logs on first use: do it here.
      module.config.list_logical_devices()
    logging.getLogger('tensorflow').setLevel(logging.WARNING)
    from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
    absl_logging.get_absl_handler().addFilter(_drop_library_info)


def _drop_library_info(record):
  """Drops INFO lines TensorFlow and Keras log through absl (their own
  code, e.g. a timing per checkpoint); keeps warnings and the tools' lines."""
  return record.levelno >= logging.WARNING or not any(
      part in record.pathname for part in (
          f'{os.sep}tensorflow{os.sep}', f'{os.sep}keras{os.sep}',
          f'{os.sep}tf_keras{os.sep}'))


if not _verbose(sys.argv) and 'TF_CPP_MIN_LOG_LEVEL' not in os.environ:
  os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
  if 'tensorflow' not in sys.modules:
    sys.meta_path.insert(0, _QuietTensorFlowFinder())

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

# Exit status of a script given unusable flags or inputs.
EXIT_USAGE = 2


def _help_requested(argv):
  return any(arg.split('=', 1)[0] in ('--help', '-h', '-?', '--helpshort',
                                      '--helpfull', '--helpxml')
             for arg in argv[1:])


def tool_name(argv=None):
  """The running tool's name: its script's file name without .py."""
  argv = sys.argv if argv is None else argv
  return os.path.splitext(os.path.basename(argv[0]))[0] if argv else 'tool'


def stray_arguments_message(arguments):
  """The one line for arguments that are not flags (e.g. a run folder given
  without its --dir=)."""
  listed = ', '.join(repr(a) for a in arguments)
  return (f'unexpected argument{"s" if len(arguments) > 1 else ""} {listed}: '
          'this tool takes only flags, as --name=value (--help lists '
          'them)')


def run(main, positional_args=False):
  """absl's app.run(main) with the exit codes a user expects.

  `--help` (and its kinds) exits 0, not absl's 1; a flag absl cannot parse
  (unknown, misspelled, a missing --flagfile) exits EXIT_USAGE like every
  other bad input, not 1. An argument that is not a flag (a stray
  `runs/quickstart`) is one line naming it and EXIT_USAGE, not absl's page
  of help and 1, unless the tool takes positional arguments.

  Args:
    main: the tool's main(argv); argv[1:] are the arguments left after the
      flags.
    positional_args: whether main takes arguments besides the flags (no
      tool here does).
  """
  from absl import app  # pylint: disable=g-import-not-at-top
  started = []

  def started_main(argv):
    started.append(True)
    if len(argv) > 1 and not positional_args:
      return fail(tool_name(argv), stray_arguments_message(argv[1:]))
    return main(argv)
  try:
    app.run(started_main)
  except SystemExit as e:
    if not started and e.code == 1:
      raise SystemExit(0 if _help_requested(sys.argv) else EXIT_USAGE) from e
    raise


def fail(tool, message):
  """Prints `tool: error: message` to stderr; returns EXIT_USAGE."""
  print(f'{tool}: error: {message}', file=sys.stderr)
  return EXIT_USAGE


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def flag_location(name, default=None):
  """A function giving '--name=value' of a flag (or of `default(FLAGS)`
  when the flag is empty), 'the outputs' when neither is set."""
  def where():
    from absl import flags  # pylint: disable=g-import-not-at-top
    value = flags.FLAGS[name].value or (default(flags.FLAGS) if default
                                         else None)
    return f'--{name}={value}' if value else 'the outputs'
  return where


def _where(disk_full_where):
  return disk_full_where() if callable(disk_full_where) else disk_full_where


def one_line_errors(tool, error_types=(), disk_full_where='the outputs',
                    resumable=False):
  """Decorates a script's main(argv): expected failures end in one line.

  An error of `error_types`, or any error meaning the disk is full, prints
  `tool: error: <first line>` to stderr and returns EXIT_USAGE; anything
  else is a bug and keeps its traceback.

  Args:
    tool: the script name for the message.
    error_types: exception classes whose message is the user's answer.
    disk_full_where: what was being written, for the disk-full line: a
      string, or a function giving it when the disk fills (e.g.
      `flag_location('output_dir')`, read after the flags are parsed).
    resumable: the disk-full line says the run can be resumed.
  """
  from note_rnn.runtime import outputs  # pylint: disable=g-import-not-at-top

  def decorate(main):
    @functools.wraps(main)
    def wrapped(argv):
      try:
        return main(argv)
      except tuple(error_types) as e:
        if outputs.is_disk_full(e):
          return fail(tool, outputs.disk_full_message(_where(disk_full_where),
                                                      resumable))
        return fail(tool, _first_line(e))
      except Exception as e:  # pylint: disable=broad-except
        if outputs.is_disk_full(e):
          return fail(tool, outputs.disk_full_message(_where(disk_full_where),
                                                      resumable))
        raise
    return wrapped
  return decorate


def define_melody_flags():
  """Defines the melody-extraction flags shared by the dataset tools."""
  from absl import flags  # pylint: disable=g-import-not-at-top

  from note_rnn.data import melody_pipeline  # pylint: disable=g-import-not-at-top
  flags.DEFINE_integer(
      'min_bars', melody_pipeline.DEFAULT_MIN_BARS,
      'Drop melodies shorter than this many bars.')
  flags.DEFINE_integer(
      'max_steps', melody_pipeline.DEFAULT_MAX_STEPS,
      'Truncate melodies longer than this many sixteenth-note steps.')
  flags.DEFINE_integer(
      'min_unique_pitches', melody_pipeline.DEFAULT_MIN_UNIQUE_PITCHES,
      'Drop melodies with fewer distinct pitch classes than this.')
  flags.DEFINE_float(
      'gap_bars', melody_pipeline.DEFAULT_GAP_BARS,
      'A silence of this many bars or more ends a melody.')
  flags.DEFINE_boolean(
      'ignore_polyphonic_notes', True,
      'Keep the highest of notes starting on the same step (True), or drop '
      'the rest of a track from its first such chord (False, as melody_rnn '
      'does).')


def melody_options_from_flags():
  """`MelodyOptions` from the flags of `define_melody_flags` (ValueError)."""
  from absl import flags  # pylint: disable=g-import-not-at-top

  from note_rnn.data import melody_pipeline  # pylint: disable=g-import-not-at-top
  values = flags.FLAGS
  return melody_pipeline.MelodyOptions(
      min_bars=values.min_bars,
      max_steps=values.max_steps,
      min_unique_pitches=values.min_unique_pitches,
      gap_bars=values.gap_bars,
      ignore_polyphonic_notes=values.ignore_polyphonic_notes)
