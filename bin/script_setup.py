"""Start-up shared by the bin/ scripts; import it before anything else.

Quiets TensorFlow's C++ info lines and pydub's note (pydub comes with
note_seq) that ffmpeg, an audio tool these scripts do not use, is missing;
and makes the repository importable when a script runs from a checkout.
"""

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
