#!/usr/bin/env python
"""Samples melodies from a Note RNN into MIDI files and a piano-roll PNG.

    python bin/note_rnn_generate.py --checkpoint=runs/note_rnn/best \\
      --num_outputs=8 --num_steps=128 --output_dir=out/ \\
      [--primer_midi=primer.mid] [--temperature=1.0] [--seed=0]

All melodies are sampled together in one batch. Each starts with the first
melody of --primer_midi (kept in its key, folded into MIDI pitches [48, 84)),
or with one random pitch. Writes OUTPUT_DIR/melody_000.mid, ... and
OUTPUT_DIR/piano_roll.png, melody_000.wav, ... (--noaudio: none; see
--audio_renderer), and prints each melody's class sequence (0 = hold,
1 = rest, k >= 2 = MIDI pitch 46 + k). --output_dir is checked before the
model is loaded. Exit status: 0 on success, 2 (with one line on stderr) on
bad flags, an unusable --output_dir, a full disk, a missing or unreadable
checkpoint or primer.
"""

import os

# pylint: disable=g-import-not-at-top
import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

from note_rnn import audio
from note_rnn import encoding
from note_rnn import generation
from note_rnn.model import checkpoint_import
from note_rnn.runtime import outputs

# pylint: enable=g-import-not-at-top

TOOL = 'note_rnn_generate'
EXIT_USAGE = script_setup.EXIT_USAGE
# Errors whose message is the user's answer (one line, exit 2).
USAGE_ERRORS = (FileNotFoundError, checkpoint_import.CheckpointError,
                encoding.MidiReadError, generation.GenerationError,
                outputs.OutputError)

# The importable entry point, re-exported for callers of this script.
generate = generation.generate

flags.DEFINE_string(
    'checkpoint', '',
    'Note RNN to sample from: any path NoteRNN.load reads (a NoteRNN save '
    'folder such as RUN_DIR/best or RUN_DIR/checkpoint, a TF1 Note RNN '
    'checkpoint, a Magenta basic_rnn checkpoint or .mag bundle). Empty: the '
    'embedded default model.')
flags.DEFINE_integer('num_outputs', 10, 'Number of melodies to sample.')
flags.DEFINE_integer(
    'num_steps', generation.DEFAULT_NUM_STEPS,
    'Length of each melody in sixteenth-note steps, primer included '
    '(16 steps = one 4/4 bar).')
flags.DEFINE_string(
    'output_dir', None,
    'Folder for the MIDI files and piano_roll.png (created if missing; files '
    'of the same names are replaced).')
flags.DEFINE_string(
    'primer_midi', None,
    'Optional MIDI file whose first melody starts every output; default: '
    'one random pitch per melody.')
flags.DEFINE_float(
    'temperature', generation.DEFAULT_TEMPERATURE,
    'Softmax temperature: logits are divided by it before sampling (< 1 '
    'sharper, > 1 more random; 0 always picks the most likely class).')
flags.DEFINE_integer(
    'seed', None, 'Seed of the random first notes and of sampling; '
    'default: a fresh one each run.')
flags.DEFINE_float(
    'qpm', encoding.DEFAULT_QPM,
    'Tempo of the MIDI and WAV files in quarter notes per minute.')
flags.DEFINE_boolean('plot', True, 'Also write the piano roll piano_roll.png.')
# --audio, --audio_program, --audio_renderer (tempo: --qpm above).
audio.define_flags(qpm=False)
flags.adopt_module_key_flags(audio)

FLAGS = flags.FLAGS


def _fail(message):
  return script_setup.fail(TOOL, message)


def _validate_flags():
  """Returns an error message for unusable flags, or None."""
  if not FLAGS.output_dir:
    return '--output_dir is required'
  if FLAGS.num_outputs < 1:
    return f'--num_outputs must be >= 1; got {FLAGS.num_outputs}'
  if FLAGS.num_steps < 2:
    return f'--num_steps must be >= 2; got {FLAGS.num_steps}'
  if not FLAGS.temperature >= 0:
    return f'--temperature must be >= 0; got {FLAGS.temperature}'
  if not FLAGS.qpm > 0:
    return f'--qpm must be > 0; got {FLAGS.qpm}'
  if FLAGS.primer_midi and not os.path.isfile(FLAGS.primer_midi):
    return f'--primer_midi={FLAGS.primer_midi} is not a file'
  try:
    _audio_options().check()
  except audio.AudioError as e:
    return str(e)
  return None


def _audio_options():
  return audio.AudioOptions(FLAGS.audio, FLAGS.qpm, FLAGS.audio_program,
                            FLAGS.audio_renderer)



def _main(argv):
  if len(argv) > 1:
    return _fail(f'unexpected arguments: {" ".join(argv[1:])}')
  error = _validate_flags()
  if error:
    return _fail(error)
  # Before the model is loaded: a run that cannot write fails at once.
  outputs.check_output_dir(FLAGS.output_dir, '--output_dir')
  result = generate(
      FLAGS.checkpoint or None, FLAGS.output_dir, FLAGS.num_outputs,
      num_steps=FLAGS.num_steps, primer_midi=FLAGS.primer_midi,
      temperature=FLAGS.temperature, seed=FLAGS.seed, qpm=FLAGS.qpm,
      plot=FLAGS.plot, audio_options=_audio_options())
  print(f'Model: {result.model_source}')
  for path, classes in zip(result.midi_paths, result.class_sequences):
    print(f'{os.path.basename(path)}: {" ".join(str(c) for c in classes)}')
  if result.piano_roll_path:
    print(f'Piano roll: {result.piano_roll_path}')
  if result.audio:
    print(f'Audio: {len(result.wav_paths)} WAV files beside the MIDI files '
          f'({result.audio["description"]}, {result.audio["qpm"]:g} qpm)')
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location('output_dir'),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
