r"""Composes melodies with a model tuned by bin/rl_tuner_train.py.

Example:

  python bin/rl_tuner_generate.py --run_dir=runs/q --num_outputs=10

Reads the run directory that rl_tuner_train wrote (summary.json with the
run's settings, checkpoints/ and tuned_note_rnn/), rebuilds the RL Tuner with
those settings, restores its three networks from the newest checkpoint, and
lets the tuned policy compose: softmax of the Q-network's values for q, psi
and pure_rl, softmax of G + Reward RNN logits for g; each melody starts from
a fresh priming of the run's priming mode. Writes into --output_dir (default
<run_dir>/generated) one MIDI file per melody, melodies.json (the classes and
how they were made) and piano_roll.png.
"""

import json
import os
import sys

import script_setup  # First: quiet start-up, repository on sys.path.
from absl import app
from absl import flags

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

from note_rnn import encoding
from note_rnn import generation
from rl_tuner import train_run

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

MELODIES_JSON = 'melodies.json'
PIANO_ROLL_PNG = 'piano_roll.png'
UsageError = train_run.UsageError


def generate(run_dir, output_dir=None, num_outputs=10, num_steps=32, seed=0,
             sampling='sample', checkpoint_name=None):
  """Composes `num_outputs` melodies with the run's tuned policy.

  Returns:
    dict written to melodies.json: the melodies (class lists), their MIDI
    file names, and the run, checkpoint, algorithm and settings used.
  """
  if num_outputs < 1 or num_steps < 1:
    raise UsageError('--num_outputs and --num_steps must be >= 1')
  output_dir = output_dir or os.path.join(run_dir, 'generated')
  rlt, _, checkpoint = train_run.load_tuner(run_dir, output_dir,
                                            checkpoint_name)
  rlt.rng = np.random.default_rng(seed)
  melodies = rlt.generate_compositions(num_outputs, num_steps,
                                       sample=sampling == 'sample')
  melodies = [[int(c) for c in row] for row in melodies]
  midi_files = []
  for index, classes in enumerate(melodies):
    name = f'{rlt.algorithm}_{index:03d}.mid'
    encoding.classes_to_midi_file(classes, os.path.join(output_dir, name))
    midi_files.append(name)
  generation.plot_piano_roll(
      melodies, os.path.join(output_dir, PIANO_ROLL_PNG),
      titles=[f'{rlt.algorithm} melody {i} ({sampling})'
              for i in range(len(melodies))])
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
  }
  encoding.write_file_atomically(
      os.path.join(output_dir, MELODIES_JSON),
      json.dumps(result, indent=2).encode())
  return result


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  try:
    if not FLAGS.run_dir:
      raise UsageError('--run_dir is required')
    result = generate(FLAGS.run_dir, FLAGS.output_dir, FLAGS.num_outputs,
                      FLAGS.num_steps, FLAGS.seed, FLAGS.sampling,
                      FLAGS.checkpoint_name)
  except UsageError as e:
    sys.exit(script_setup.fail('rl_tuner_generate', e))
  output_dir = FLAGS.output_dir or os.path.join(FLAGS.run_dir, 'generated')
  print(f'Wrote {len(result["melodies"])} melodies ({result["algorithm"]}, '
        f'checkpoint {result["checkpoint"]}) to {output_dir}')


if __name__ == '__main__':
  app.run(main)
