r"""Writes the results page (report.html) of a run or a reproduction folder.

  python bin/rl_tuner_report.py --dir=runs/quickstart
  python bin/rl_tuner_report.py --dir=docs/results/paper_checkpoint

bin/rl_tuner_train.py and bin/rl_tuner_reproduce.py write the page
themselves; this tool writes it again for a folder they made (after the
templates changed, or for results made before pages existed). Sample
melodies the folder records (summary.json "samples", reproduction.json
"models.*.samples") that lack a WAV file or a piano roll get them, rendered
as --audio_renderer, --qpm and --audio_program say; files that exist are
kept. Images and audio stay beside the page, linked by relative paths.

The folder is read and the page built before anything is written: a folder
that is not a run or reproduction, or that cannot be written, ends in one
line and exit status 2 with nothing written.
"""

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

# pylint: disable=g-import-not-at-top,wrong-import-position
from note_rnn import audio
from note_rnn.runtime import outputs
from rl_tuner.reports import report_page
from rl_tuner.reports import sample_media

TOOL = 'rl_tuner_report'

flags.DEFINE_string('dir', None,
                    'Folder of an rl_tuner_train run (summary.json) or of an '
                    'rl_tuner_reproduce reproduction (reproduction.json); '
                    'report.html is written into it.')
flags.DEFINE_integer('seed', 0,
                     'Accepted as by every tool; nothing here is random (the '
                     'same folder always gives the same page).')
# --audio, --qpm, --audio_program, --audio_renderer (for missing WAVs).
audio.define_flags()
flags.adopt_module_key_flags(audio)
FLAGS = flags.FLAGS


def write(directory, audio_options=None):
  """Adds missing sample media to `directory` and writes report.html.

  Returns:
    Path of report.html.

  Raises:
    report_page.ReportError: not a run or reproduction, unreadable files.
    outputs.OutputError: the folder cannot be written.
  """
  audio_options = (audio_options or audio.AudioOptions()).check()
  report_page.build(directory)  # Refuses a bad folder before any write.
  outputs.check_output_dir(directory, '--dir')
  melodies, titles = report_page.sample_melodies(directory)
  if any(melodies.values()):
    sample_media.write(directory, melodies, titles, audio_options,
                       overwrite=False)
  return report_page.write_report(directory)


def _main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.dir:
    raise outputs.OutputError('--dir is required')
  path = write(FLAGS.dir, audio.options_from_flags())
  print(f'Wrote {path}; open it in a browser.')
  return 0


# Errors whose message is the user's answer (one line, exit 2).
USAGE_ERRORS = (report_page.ReportError, outputs.OutputError,
                audio.AudioError)

main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS, disk_full_where=script_setup.flag_location('dir'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
