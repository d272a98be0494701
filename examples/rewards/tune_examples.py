r"""Tunes the embedded Note RNN with each example reward; prints, writes MIDI.

  python examples/rewards/tune_examples.py --output_dir=runs/reward_examples

For each example (rhythm, modulate, chord_tones): Q learning with 16 melodies
for --training_steps, the example reward plus log p(a|s) (reward mode
'custom'), then its own statistic on --num_compositions melodies before and
after tuning, four melodies of each as MIDI, and a piano roll of them
(<output_dir>/<example>/). The same runs back examples_test.py.
"""

import importlib.util
import os
import sys

from absl import app
from absl import flags

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
# pylint: disable=g-import-not-at-top,wrong-import-position
from note_rnn import audio
from note_rnn import generation
from rl_tuner import rl_tuner as rl_tuner_lib
from rl_tuner.rewards import reward_specs

# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

NUM_SAMPLES = 4
DQN = {'minibatch_size': 32, 'train_every_nth': 5, 'discount_rate': 0.5,
       'target_network_update_rate': 0.01}


def load_module(name):
  spec = importlib.util.spec_from_file_location(
      f'example_{name}', os.path.join(HERE, f'{name}.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def examples():
  """name -> (reward spec, options, statistic of melodies [N, L], weight).

  The weight multiplies the reward against log p(a|s) (`reward_weights`):
  the chord-tone reward, +/-1 on a quarter of the steps only, is weighted
  4, without which 6,000 steps barely move the embedded model (seed 0:
  chord tones 0.446 -> 0.465 at weight 1 or 2, 0.515 at 4).
  """
  chords = load_module('chord_tones').ChordTones(progression='C F G C')
  return {
      'rhythm': (f'{HERE}/rhythm.py:eighth_note_onsets', None,
                 load_module('rhythm').statistic, 1.0),
      'modulate': (f'{HERE}/modulate.py:modulate_to_dominant', None,
                   load_module('modulate').statistic, 1.0),
      'chord_tones': (f'{HERE}/chord_tones.py:ChordTones',
                      {'progression': 'C F G C'}, chords.statistic, 4.0),
  }


def tune(output_dir, spec, options, training_steps, num_compositions, seed,
         weight=1.0):
  """(melodies before [N, L], melodies after) of one tuning run."""
  reward = reward_specs.load(spec, options=options)
  rlt = rl_tuner_lib.RLTuner(
      output_dir, reward_mode='custom', rewards=[reward],
      reward_weights={reward.name: weight} if weight != 1.0 else None,
      exploration_mode='egreedy', output_every_nth=10**9,
      num_parallel_melodies=16, seed=seed, num_eval_compositions=16,
      dqn_hparams=DQN)
  before = rlt.generate_compositions(num_compositions)
  rlt.train(num_steps=training_steps, exploration_period=training_steps // 2)
  return before, rlt.generate_compositions(num_compositions)


def main(argv):
  del argv
  if not FLAGS.output_dir:
    raise app.UsageError('--output_dir is required')
  for name, (spec, options, statistic, weight) in examples().items():
    out = os.path.join(FLAGS.output_dir, name)
    before, after = tune(out, spec, options, FLAGS.training_steps,
                         FLAGS.num_compositions, FLAGS.seed, weight)
    print(f'{name}: statistic {statistic(before):.3f} before, '
          f'{statistic(after):.3f} after {FLAGS.training_steps} steps')
    samples = list(before[:NUM_SAMPLES]) + list(after[:NUM_SAMPLES])
    titles = ([f'before {i}' for i in range(NUM_SAMPLES)] +
              [f'after {i}' for i in range(NUM_SAMPLES)])
    for title, melody in zip(titles, samples):
      audio.classes_to_midi_file(
          [int(c) for c in melody],
          os.path.join(out, title.replace(' ', '_') + '.mid'))
    generation.plot_piano_roll(samples, os.path.join(out, 'piano_roll.png'),
                               titles=titles)


def define_flags():
  """The script's flags (defined only when run, not when imported)."""
  flags.DEFINE_string('output_dir', '', 'Where MIDI and piano rolls go.')
  flags.DEFINE_integer('training_steps', 6000,
                       'Environment steps per example.')
  flags.DEFINE_integer('num_compositions', 2000,
                       'Melodies the statistics are measured on.')
  flags.DEFINE_integer('seed', 0, 'Seed of the runs.')


if __name__ == '__main__':
  define_flags()
  app.run(main)
