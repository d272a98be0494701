r"""Composes melodies with a model tuned by bin/rl_tuner_train.py.

Example:

  python bin/rl_tuner_generate.py --run_dir=runs/q --num_outputs=10

Reads the run directory that rl_tuner_train wrote (summary.json with the
run's settings, checkpoints/ and tuned_note_rnn/), rebuilds the RL Tuner with
those settings, restores its three networks from the newest checkpoint, and
lets the tuned policy compose: softmax of the Q-network's values for q, psi
and pure_rl, softmax of G + Reward RNN logits for g; each melody starts from
a fresh priming of the run's priming mode. Writes into --output_dir (default
<run_dir>/generated) one MIDI file per melody with a WAV file beside it
(--noaudio: none; --qpm, --audio_program, --audio_renderer say how),
melodies.json (the classes and how they were made) and piano_roll.png.

The output location is checked before anything is loaded, and the files are
written into a temporary folder inside it and moved into place together:
a run that fails (an unusable or damaged run directory or checkpoint, a
full disk) prints one line, exits with status 2 and leaves --output_dir as
it was (not even created).
"""

import json
import os

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags
# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

from note_rnn import audio
from note_rnn.runtime import outputs
from rl_tuner.experiments import train_run

FLAGS = flags.FLAGS

flags.DEFINE_string('run_dir', None,
                    'Output directory of an rl_tuner_train run (holds '
                    'summary.json, checkpoints/ and tuned_note_rnn/).')
flags.DEFINE_string('output_dir', None,
                    'Where to write the melodies; default <run_dir>/generated.')
flags.DEFINE_integer('num_outputs', 10, 'Number of melodies to compose.')
flags.DEFINE_integer('num_steps', 32,
                     'Length of each melody in sixteenth-note steps.')
flags.DEFINE_integer('seed', 0,
                     'Seed of the priming and sampling; the same run, seed '
                     'and flags give the same melodies.')
flags.DEFINE_enum('sampling', 'sample', ['sample', 'argmax'],
                  "'sample': draw each note from the policy's softmax; "
                  "'argmax': play the most probable note.")
flags.DEFINE_string('checkpoint_name', '',
                    'Checkpoint directory inside <run_dir>/checkpoints to '
                    'restore (e.g. q-500000); default: the newest.')
# --audio, --qpm, --audio_program, --audio_renderer.
audio.define_flags()
flags.adopt_module_key_flags(audio)

TOOL = 'rl_tuner_generate'
MELODIES_JSON = 'melodies.json'
PIANO_ROLL_PNG = 'piano_roll.png'
UsageError = train_run.UsageError
# Errors whose message is the user's answer (one line, exit 2).
USAGE_ERRORS = (UsageError, outputs.OutputError, audio.AudioError)


def default_output_dir(run_dir):
  return os.path.join(run_dir, 'generated')


def generate(run_dir, output_dir=None, num_outputs=10, num_steps=32, seed=0,
             sampling='sample', checkpoint_name=None, audio_options=None):
  """Composes `num_outputs` melodies with the run's tuned policy.

  Args:
    audio_options: audio.AudioOptions: the tempo of the MIDI files and, when
      enabled, WAV files beside them. None: AudioOptions() (80 qpm, WAV on).

  Returns:
    dict written to melodies.json: the melodies (class lists), their MIDI
    and WAV file names, and the run, checkpoint, algorithm, audio and
    settings used.

  Raises:
    outputs.OutputError: `output_dir` cannot be written (checked first).
    UsageError: bad arguments, or a missing, unfinished or damaged run.
    audio.AudioError: unusable audio options.
  """
  if num_outputs < 1 or num_steps < 1:
    raise UsageError('--num_outputs and --num_steps must be >= 1')
  audio_options = (audio_options or audio.AudioOptions()).check()
  output_dir = output_dir or default_output_dir(run_dir)
  outputs.check_output_dir(output_dir, '--output_dir')
  rlt, _, checkpoint = train_run.load_tuner(run_dir, output_dir,
                                            checkpoint_name)
  rlt.rng = np.random.default_rng(seed)
  melodies = rlt.generate_compositions(num_outputs, num_steps,
                                       sample=sampling == 'sample')
  melodies = [[int(c) for c in row] for row in melodies]
  writers = []
  midi_files, wav_files = [], []
  renderer = audio_options.get_renderer() if audio_options.enabled else None
  for index, classes in enumerate(melodies):
    name = f'melody_{index:03d}.mid'  # As bin/note_rnn_generate.py names them.
    writers.append((name, lambda path, classes=classes: (
        audio.classes_to_midi_file(classes, path, qpm=audio_options.qpm))))
    midi_files.append(name)
    if renderer is not None:
      wav_files.append(audio.wav_path_for(name))
      writers.append((wav_files[-1], lambda path, classes=classes: (
          audio.write_melody_wav(classes, path, audio_options.qpm,
                                 audio_options.program, renderer))))
  titles = [f'{rlt.algorithm} melody {i} ({sampling})'
            for i in range(len(melodies))]
  # Imported here: --help need not load TensorFlow.
  from note_rnn import generation  # pylint: disable=g-import-not-at-top
  writers.append((PIANO_ROLL_PNG, lambda path: generation.plot_piano_roll(
      melodies, path, titles=titles)))
  result = {
      'run_dir': os.path.abspath(run_dir),
      'checkpoint': os.path.basename(checkpoint),
      'env_steps': rlt.env_steps,
      'algorithm': rlt.algorithm,
      'priming_mode': rlt.priming_mode,
      'sampling': sampling,
      'seed': seed,
      'num_steps': num_steps,
      'melodies': melodies,
      'midi_files': midi_files,
      'wav_files': wav_files,
      'audio': audio_options.record(renderer) if renderer else None,
      'qpm': audio_options.qpm,
  }
  data = json.dumps(result, indent=2).encode()
  writers.append((MELODIES_JSON,
                  lambda path: outputs.write_file_atomically(path, data)))
  # generated/ is made here, with the first file; a failure removes it.
  outputs.write_files_together(output_dir, writers)
  return result



def _main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  if not FLAGS.run_dir:
    raise UsageError('--run_dir is required')
  result = generate(FLAGS.run_dir, FLAGS.output_dir, FLAGS.num_outputs,
                    FLAGS.num_steps, FLAGS.seed, FLAGS.sampling,
                    FLAGS.checkpoint_name, audio.options_from_flags())
  output_dir = FLAGS.output_dir or default_output_dir(FLAGS.run_dir)
  print(f'Wrote {len(result["melodies"])} melodies ({result["algorithm"]}, '
        f'checkpoint {result["checkpoint"]}) to {output_dir}')
  if result['audio']:
    print(f'Audio: WAV beside each MIDI file ({result["audio"]["description"]}'
          f', {result["qpm"]:g} qpm)')
  return 0


# Expected failures (and a full disk) print one line and return 2.
main = script_setup.one_line_errors(
    TOOL, USAGE_ERRORS,
    disk_full_where=script_setup.flag_location(
        'output_dir', lambda values: values.run_dir and default_output_dir(
            values.run_dir)),
    resumable=False)(_main)


if __name__ == '__main__':
  script_setup.run(main)
