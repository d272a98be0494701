r"""Reproduces the paper's Table 1 and Figure 2 (Q, Psi, G; optionally RL only).

  python bin/rl_tuner_reproduce.py --output_dir=runs/paper \
      --note_rnn_checkpoint_file=rl_tuner_note_rnn.ckpt \
      --compare_with_original_code --seeds=0,1,2

Trains each algorithm with the paper's settings (configs/paper_*.flags) into
<output_dir>/<algorithm> (complete runs are skipped, interrupted ones
resume), evaluates the untuned Note RNN and every tuned model on
--num_compositions melodies, and writes table1.md / table1.json ("ours
(paper)" per cell), figure2a_log_p.png and figure2b_music_theory.png,
samples/*.mid with .wav and piano rolls (samples_piano_roll.png of all),
reproduction.json, and report.html, a page showing all of it with an audio
player per melody. A reduced run: --training_steps=20000
--num_compositions=2000.

With several --seeds, every model trains once per seed into
<output_dir>/<algorithm>/seed_<n> and composes --num_compositions melodies
per seed (the untuned Note RNN too); Table 1 shows mean ± sd over the seeds
(sample sd, n - 1) and marks with a dagger each cell whose paper value lies
more than 2 sd from our mean; Figure 2 draws the mean over seeds with a
shaded ± sd band; the sample melodies are the first seed's.
"""

import os
import sys

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

from note_rnn import audio
from rl_tuner.experiments import reproduction
from rl_tuner.experiments import train_run

flags.DEFINE_string('output_dir', None, 'Where every run and output goes.')
flags.DEFINE_string('note_rnn_checkpoint_file', '',
                    'Note RNN to tune (any format NoteRNN.load reads); '
                    'empty: the embedded default model.')
flags.DEFINE_list('algorithms', list(reproduction.DEFAULT_ALGORITHMS),
                  f'Algorithms to train, from {sorted(reproduction.CONFIG_FILES)}.')
flags.DEFINE_bool('include_rl_only', False,
                  "Also train the paper's RL-only baseline (pure_rl).")
flags.DEFINE_integer('num_compositions', 100000,
                     'Compositions per model for Table 1.')
flags.DEFINE_integer('training_steps', None,
                     "Environment steps per model (default: the paper's "
                     '1,000,000).')
flags.DEFINE_integer('exploration_steps', None,
                     'Exploration period (default: the paper\'s, or half of '
                     '--training_steps when that is given).')
flags.DEFINE_integer('output_every_nth', None,
                     'Evaluation interval of Figure 2 (default: the paper\'s '
                     '100,000, or a tenth of --training_steps when given).')
flags.DEFINE_integer('num_parallel_melodies', None,
                     'Melodies composed side by side during training '
                     "(default 1, the original's schedule).")
flags.DEFINE_string('configs_dir', os.path.join(script_setup.REPO_ROOT, 'configs'),
                    'Folder holding paper_*.flags.')
flags.DEFINE_bool('compare_with_original_code', False,
                  'Also show, per cell, what the original code reaches on a '
                  "2-vCPU CPU from the paper's checkpoint (only meaningful "
                  'for that checkpoint).')
flags.DEFINE_integer('seed', 0, 'Seed of training and evaluation (one '
                     'seed; --seeds wins when given).')
flags.DEFINE_list('seeds', None,
                  'Seeds (e.g. 0,1,2): every model trains and composes once '
                  'per seed; Table 1 is mean ± sd over them, Figure 2 has '
                  '± sd bands. Default: --seed alone.')
flags.DEFINE_bool('ray', False,
                  'Train the models side by side on Ray (one CPU each; a '
                  "local Ray, or the cluster at RAY_ADDRESS; pip install -e "
                  "'.[sweep]'), then evaluate here.")
# --audio, --qpm, --audio_program, --audio_renderer of the sample melodies.
audio.define_flags()
flags.adopt_module_key_flags(audio)
FLAGS = flags.FLAGS


def overrides_from_flags():
  """Settings given on the command line that replace the paper's."""
  overrides = {}
  if FLAGS.note_rnn_checkpoint_file:
    if not os.path.exists(FLAGS.note_rnn_checkpoint_file):
      raise train_run.UsageError('Note RNN checkpoint not found: '
                                 f'{FLAGS.note_rnn_checkpoint_file}')
    overrides['note_rnn_checkpoint_file'] = FLAGS.note_rnn_checkpoint_file
  if FLAGS.training_steps is not None:
    overrides['training_steps'] = FLAGS.training_steps
    overrides['exploration_steps'] = FLAGS.training_steps // 2
    overrides['output_every_nth'] = max(1, FLAGS.training_steps // 10)
  if FLAGS.exploration_steps is not None:
    overrides['exploration_steps'] = FLAGS.exploration_steps
  if FLAGS.output_every_nth is not None:
    overrides['output_every_nth'] = FLAGS.output_every_nth
  if FLAGS.num_parallel_melodies is not None:
    overrides['num_parallel_melodies'] = FLAGS.num_parallel_melodies
  return overrides


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  algorithms = list(FLAGS.algorithms)
  if FLAGS.include_rl_only and 'pure_rl' not in algorithms:
    algorithms.append('pure_rl')
  try:
    if not FLAGS.output_dir:
      raise train_run.UsageError('--output_dir is required')
    # Every value is checked before anything is trained or written.
    given = ((FLAGS.seeds, '--seeds') if FLAGS.seeds is not None else
             ([FLAGS.seed], '--seed'))
    seeds = reproduction.check_arguments(algorithms, FLAGS.num_compositions,
                                         *given)
    if FLAGS.ray:
      from rl_tuner.experiments import sweep_ray  # pylint: disable=g-import-not-at-top
      sweep_ray.train_reproduction_runs(
          algorithms, FLAGS.output_dir, FLAGS.configs_dir,
          overrides_from_flags(), seeds=seeds)
    reproduction.reproduce(
        FLAGS.output_dir, FLAGS.configs_dir, algorithms,
        overrides=overrides_from_flags(),
        num_compositions=FLAGS.num_compositions, seeds=seeds,
        compare_with_original_code=FLAGS.compare_with_original_code,
        command_line=' '.join(sys.argv),
        audio_options=audio.options_from_flags())
  except (train_run.UsageError, audio.AudioError) as e:
    sys.exit(script_setup.fail('rl_tuner_reproduce', e))


if __name__ == '__main__':
  script_setup.run(main)
