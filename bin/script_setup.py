"""Start-up shared by the bin/ scripts; import it before anything else.

Quiets TensorFlow's C++ info lines and pydub's note (pydub comes with
note_seq) that ffmpeg, an audio tool these scripts do not use, is missing;
and makes the repository importable when a script runs from a checkout.
"""

import functools
import os
import sys
import warnings

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
warnings.filterwarnings('ignore', message="Couldn't find ffmpeg")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
  sys.path.insert(0, REPO_ROOT)

# Exit status of a script given unusable flags or inputs.
EXIT_USAGE = 2


def fail(tool, message):
  """Prints `tool: error: message` to stderr; returns EXIT_USAGE."""
  print(f'{tool}: error: {message}', file=sys.stderr)
  return EXIT_USAGE


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def one_line_errors(tool, error_types=(), disk_full_where='the outputs',
                    resumable=False):
  """Decorates a script's main(argv): expected failures end in one line.

  An error of `error_types`, or any error meaning the disk is full, prints
  `tool: error: <first line>` to stderr and returns EXIT_USAGE; anything
  else is a bug and keeps its traceback.

  Args:
    tool: the script name for the message.
    error_types: exception classes whose message is the user's answer.
    disk_full_where: what was being written, for the disk-full line.
    resumable: the disk-full line says the run can be resumed.
  """
  from note_rnn import outputs  # pylint: disable=g-import-not-at-top

  def decorate(main):
    @functools.wraps(main)
    def wrapped(argv):
      try:
        return main(argv)
      except tuple(error_types) as e:
        if outputs.is_disk_full(e):
          return fail(tool, outputs.disk_full_message(disk_full_where,
                                                      resumable))
        return fail(tool, _first_line(e))
      except Exception as e:  # pylint: disable=broad-except
        if outputs.is_disk_full(e):
          return fail(tool, outputs.disk_full_message(disk_full_where,
                                                      resumable))
        raise
    return wrapped
  return decorate


def define_melody_flags():
  """Defines the melody-extraction flags shared by the dataset tools."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  from note_rnn import melody_pipeline  # pylint: disable=g-import-not-at-top
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
  from note_rnn import melody_pipeline  # pylint: disable=g-import-not-at-top
  values = flags.FLAGS
  return melody_pipeline.MelodyOptions(
      min_bars=values.min_bars,
      max_steps=values.max_steps,
      min_unique_pitches=values.min_unique_pitches,
      gap_bars=values.gap_bars,
      ignore_polyphonic_notes=values.ignore_polyphonic_notes)
