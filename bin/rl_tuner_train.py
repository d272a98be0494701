r"""Tunes a Note RNN with reinforcement learning (the original rl_tuner_train).

Example (the paper's Q-learning run):

  python bin/rl_tuner_train.py --flagfile=configs/paper_q.flags \
      --note_rnn_checkpoint_file=rl_tuner_note_rnn.ckpt --output_dir=runs/q

Writes into --output_dir: checkpoints (resumable with --resume), the reward
histories (.npz), PNG plots of training and evaluation rewards and target
values, a generated melody (MIDI + note-probability heatmap), statistics of
--num_stat_compositions compositions (text, Table-1 JSON and markdown), the
tuned Q-network as a Note RNN (`tuned_note_rnn/`), and summary.json.
Flag defaults are the original command line's; configs/ holds presets.
"""

import json
import logging
import os
import sys
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
from rl_tuner import dqn
from rl_tuner import dqn_hparams as dqn_hparams_lib
from rl_tuner import rewards
from rl_tuner import rl_tuner as rl_tuner_lib
from rl_tuner import rl_tuner_eval_metrics
from note_rnn import hparams as note_rnn_hparams_lib
from note_rnn import encoding
# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

# The original command line's flags and defaults.
flags.DEFINE_string('output_dir', None,
                    'Directory for checkpoints, plots, MIDI and statistics.')
flags.DEFINE_string('note_rnn_checkpoint_dir', '',
                    'Directory holding the Note RNN checkpoint to tune; the '
                    'file --note_rnn_checkpoint_name inside it is used if '
                    'present, else the latest checkpoint there.')
flags.DEFINE_string('note_rnn_checkpoint_name', 'note_rnn.ckpt',
                    'File name of the checkpoint inside '
                    '--note_rnn_checkpoint_dir.')
flags.DEFINE_string('note_rnn_checkpoint_file', '',
                    'Path of the Note RNN checkpoint to tune (overrides the '
                    'directory flags): a NoteRNN.save directory, a Magenta '
                    'TF1 Note RNN checkpoint, or a basic_rnn .mag bundle. '
                    'Empty (and no directory): the embedded default model.')
flags.DEFINE_enum('note_rnn_type', 'default', rl_tuner_lib.NOTE_RNN_TYPES,
                  "'default': the paper's LSTM; 'basic_rnn': a Magenta "
                  'basic_rnn model.')
flags.DEFINE_string('note_rnn_hparams', '',
                    "Note RNN hparam overrides 'name=value,...' checked "
                    'against the checkpoint (e.g. rnn_layer_sizes=[512,512]).')
flags.DEFINE_string('midi_primer', '',
                    "MIDI file priming every melody (priming_mode "
                    "'single_midi').")
flags.DEFINE_integer('training_steps', 1000000,
                     'Environment steps (notes) to train for.')
flags.DEFINE_integer('exploration_steps', 500000,
                     'Environment steps over which the probability of a '
                     'random action anneals from 1.0 to '
                     '--random_action_probability (egreedy).')
flags.DEFINE_enum('exploration_mode', 'boltzmann',
                  rl_tuner_lib.EXPLORATION_MODES,
                  "'egreedy' (epsilon-greedy) or 'boltzmann' (sample from "
                  'the softmax of the action values).')
flags.DEFINE_integer('output_every_nth', 50000,
                     'Evaluate, record rewards and checkpoint every n '
                     'environment steps.')
flags.DEFINE_integer('num_notes_in_melody', 32,
                     'Notes (sixteenth steps) per composition.')
flags.DEFINE_float('reward_scaler', 0.1,
                   'Weight of the music-theory reward (1/c in the paper).')
flags.DEFINE_string('training_data_path', '',
                    "TFRecord of melody SequenceExamples (priming_mode "
                    "'random_midi'); comma-separated for several.")
flags.DEFINE_string('algorithm', 'q',
                    f'Learning algorithm: one of {sorted(dqn.ALGORITHMS)}.')

# Settings the original command line did not expose.
flags.DEFINE_string('reward_mode', 'music_theory_all',
                    f'Reward function: one of {", ".join(rewards.REWARD_MODES)}'
                    " (g and pure_rl always use 'music_theory_only').")
flags.DEFINE_enum('priming_mode', 'random_note', rl_tuner_lib.PRIMING_MODES,
                  'How each composition starts.')
flags.DEFINE_bool('stochastic_observations', False,
                  'Sample the next observation from the policy instead of '
                  'playing the greedy action.')
flags.DEFINE_enum('dqn_preset', 'magenta_cli',
                  sorted(dqn_hparams_lib.PRESETS),
                  'DQN hyperparameter preset; the flags below override it.')
flags.DEFINE_float('discount_rate', None, 'Discount gamma per note.')
flags.DEFINE_float('random_action_probability', None,
                   'Final epsilon of egreedy exploration.')
flags.DEFINE_integer('minibatch_size', None, 'Transitions per gradient step.')
flags.DEFINE_integer('train_every_nth', None,
                     'One gradient step every n environment steps.')
flags.DEFINE_integer('store_every_nth', None,
                     'Store one transition every n environment steps.')
flags.DEFINE_integer('max_experience', None, 'Replay capacity.')
flags.DEFINE_float('target_network_update_rate', None,
                   'Soft target update rate eta.')
flags.DEFINE_float('learning_rate', None, 'Adam learning rate.')
flags.DEFINE_integer('num_parallel_melodies', 1,
                     'Melodies composed side by side (one batched network '
                     'call per beat).')
flags.DEFINE_integer('num_eval_compositions', 100,
                     'Compositions per evaluation during training.')
flags.DEFINE_integer('num_stat_compositions', 1000,
                     'Compositions for the final music-theory statistics.')
flags.DEFINE_string('key', 'C', 'Key of the music-theory rewards (tonic '
                    'name, e.g. C, G, F#, Bb).')
flags.DEFINE_enum('key_mode', 'major', ['major', 'minor'],
                  'Major or natural minor.')
flags.DEFINE_enum('labels', 'original', sorted(rewards.LABELS),
                  "'original': the reward code's swapped class 0/1 labels "
                  "(reproduces the paper); 'encoding': class 0 = hold, "
                  'class 1 = rest.')
flags.DEFINE_integer('seed', 0, 'Seed of every random choice.')
flags.DEFINE_bool('resume', False,
                  'Continue from the newest checkpoint in --output_dir.')

_DQN_FLAGS = ('discount_rate', 'random_action_probability', 'minibatch_size',
              'train_every_nth', 'store_every_nth', 'max_experience',
              'target_network_update_rate', 'learning_rate')


class UsageError(ValueError):
  """A flag value that cannot work; reported as one line, exit code 2."""


def note_rnn_checkpoint(values):
  """Path of the Note RNN to tune from the checkpoint flags, or None."""
  if values['note_rnn_checkpoint_file']:
    path = values['note_rnn_checkpoint_file']
  elif values['note_rnn_checkpoint_dir']:
    directory = values['note_rnn_checkpoint_dir']
    named = os.path.join(directory, values['note_rnn_checkpoint_name'])
    path = named if os.path.exists(named) else directory
  else:
    return None
  if not os.path.exists(path):
    raise UsageError(f'Note RNN checkpoint not found: {path}')
  return path


def validate(values):
  """Checks flag values up front; returns the derived settings.

  Args:
    values: dict of flag name -> value.

  Returns:
    dict with 'checkpoint', 'dqn_hparams', 'music_theory_config',
    'training_files', 'note_rnn_hparams'.

  Raises:
    UsageError: naming the flag and the problem.
  """
  if not values['output_dir']:
    raise UsageError('--output_dir is required')
  try:
    dqn.get_algorithm(values['algorithm'])
    rewards.check_reward_mode(values['reward_mode'])
  except ValueError as e:
    raise UsageError(str(e)) from e
  for name in ('training_steps', 'output_every_nth', 'num_notes_in_melody',
               'num_parallel_melodies', 'num_eval_compositions'):
    if values[name] < 1:
      raise UsageError(f'--{name} must be >= 1, got {values[name]}')
  if values['exploration_steps'] < 0 or values['num_stat_compositions'] < 0:
    raise UsageError('--exploration_steps and --num_stat_compositions must '
                     'be >= 0')
  if values['priming_mode'] == 'single_midi':
    if not values['midi_primer']:
      raise UsageError("--priming_mode=single_midi needs --midi_primer")
    if not os.path.isfile(values['midi_primer']):
      raise UsageError(f'--midi_primer not found: {values["midi_primer"]}')
  training_files = [p for p in values['training_data_path'].split(',') if p]
  if values['priming_mode'] == 'random_midi':
    if not training_files:
      raise UsageError('--priming_mode=random_midi needs '
                       '--training_data_path')
    for path in training_files:
      if not os.path.isfile(path):
        raise UsageError(f'--training_data_path not found: {path}')
  try:
    hparams = dqn_hparams_lib.PRESETS[values['dqn_preset']]().replace(
        **{name: values[name] for name in _DQN_FLAGS
           if values[name] is not None})
    config = rewards.MusicTheoryConfig.for_key(
        values['key'], values['key_mode'],
        num_notes_in_melody=values['num_notes_in_melody'],
        labels=values['labels'])
    note_rnn_hparams = None
    if values['note_rnn_hparams']:
      base = (note_rnn_hparams_lib.basic_rnn_hparams()
              if values['note_rnn_type'] == 'basic_rnn' else
              note_rnn_hparams_lib.default_hparams())
      note_rnn_hparams = base.parse(values['note_rnn_hparams'])
  except ValueError as e:
    raise UsageError(str(e)) from e
  return {
      'checkpoint': note_rnn_checkpoint(values),
      'dqn_hparams': hparams,
      'music_theory_config': config,
      'training_files': training_files or None,
      'note_rnn_hparams': note_rnn_hparams,
  }


def run(values):
  """Trains, then writes every output. Returns the summary dict."""
  settings = validate(values)
  output_dir = values['output_dir']
  has_checkpoint = bool(rl_tuner_lib.list_checkpoints(
      os.path.join(output_dir, rl_tuner_lib.CHECKPOINT_SUBDIR)))
  if has_checkpoint and not values['resume']:
    raise UsageError(f'{output_dir} already holds a run; pass --resume to '
                     'continue it or choose another --output_dir')
  start = time.time()
  summary_writer = None
  try:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    summary_writer = tf.summary.create_file_writer(
        os.path.join(output_dir, 'tensorboard'))
  except Exception:  # pylint: disable=broad-except
    logging.warning('TensorBoard summaries disabled')
  rlt = rl_tuner_lib.RLTuner(
      output_dir,
      dqn_hparams=settings['dqn_hparams'],
      reward_mode=values['reward_mode'],
      reward_scaler=values['reward_scaler'],
      exploration_mode=values['exploration_mode'],
      priming_mode=values['priming_mode'],
      stochastic_observations=values['stochastic_observations'],
      algorithm=values['algorithm'],
      note_rnn_checkpoint_file=settings['checkpoint'],
      note_rnn_type=values['note_rnn_type'],
      note_rnn_hparams=settings['note_rnn_hparams'],
      num_notes_in_melody=values['num_notes_in_melody'],
      midi_primer=values['midi_primer'] or None,
      save_name=values['algorithm'] + '.ckpt',
      output_every_nth=values['output_every_nth'],
      training_file_list=settings['training_files'],
      summary_writer=summary_writer,
      num_parallel_melodies=values['num_parallel_melodies'],
      seed=values['seed'],
      music_theory_config=settings['music_theory_config'],
      num_eval_compositions=values['num_eval_compositions'])
  if has_checkpoint:
    try:
      rlt.restore_from_directory(output_dir)
    except ValueError as e:
      raise UsageError(f'cannot resume: {e}') from e
  remaining = values['training_steps'] - rlt.env_steps
  logging.info('Training %s for %d environment steps (from step %d)',
               rlt.algorithm, max(remaining, 0), rlt.env_steps)
  train_start = time.time()
  if remaining > 0:
    rlt.train(num_steps=remaining,
              exploration_period=values['exploration_steps'])
  train_seconds = time.time() - train_start

  name = rlt.algorithm
  rlt.save_model_and_figs(name)
  rlt.q_network.save(os.path.join(output_dir, 'tuned_note_rnn'), metadata={
      'tuned_by': 'rl_tuner', 'algorithm': rlt.algorithm,
      'env_steps': rlt.env_steps})
  notes, midi_path = rlt.generate_music_sequence(
      title=name, visualize_probs=True, prob_image_name=name + '.png')
  stat_dict = None
  table = None
  if values['num_stat_compositions'] > 0:
    stat_dict = rlt.evaluate_music_theory_metrics(
        num_compositions=values['num_stat_compositions'])
    report = rl_tuner_eval_metrics.get_stat_dict_string(stat_dict)
    encoding.write_file_atomically(
        os.path.join(output_dir, 'music_theory_stats.txt'), report.encode())
    table = rl_tuner_eval_metrics.table1_summary(stat_dict)
    encoding.write_file_atomically(
        os.path.join(output_dir, 'table1.json'),
        rl_tuner_eval_metrics.table1_to_json(table).encode())
    encoding.write_file_atomically(
        os.path.join(output_dir, 'table1.md'),
        rl_tuner_eval_metrics.table1_markdown({name: table}).encode())
  summary = {
      'settings': {k: v for k, v in values.items()},
      'dqn_hparams': settings['dqn_hparams'].to_dict(),
      'note_rnn_checkpoint': settings['checkpoint'] or 'embedded default',
      'note_rnn_layer_sizes': list(rlt.q_network.layer_sizes),
      'env_steps': rlt.env_steps,
      'gradient_steps': rlt.iteration,
      'train_seconds_this_run': train_seconds,
      'wall_seconds_this_run': time.time() - start,
      'final_eval': {
          'note_rnn_log_p_per_note': rlt.eval_avg_note_rnn_reward[-1],
          'music_theory_per_note': rlt.eval_avg_music_theory_reward[-1],
      },
      'sample_melody': {'classes': notes, 'midi': os.path.basename(midi_path)},
      'table1': table,
  }
  encoding.write_file_atomically(
      os.path.join(output_dir, 'summary.json'),
      json.dumps(summary, indent=2, default=str).encode())
  return summary


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  values = {f.name: f.value
            for f in FLAGS.get_flags_for_module(sys.modules[__name__])}
  try:
    summary = run(values)
  except UsageError as e:
    print(f'rl_tuner_train: error: {e}', file=sys.stderr)
    sys.exit(2)
  print(f'Done: {summary["env_steps"]} environment steps in '
        f'{summary["train_seconds_this_run"]:.1f} s; outputs in '
        f'{values["output_dir"]}')


if __name__ == '__main__':
  app.run(main)
