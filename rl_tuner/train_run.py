"""One RL Tuner training run: its settings, validation, outputs, reloading.

`TrainSettings` holds every setting of `bin/rl_tuner_train.py`; its field
metadata is the flags' help text, and its defaults are the original command
line's. `run(settings)` trains and writes every output; `load_tuner(run_dir)`
rebuilds a finished run's tuner. The command-line tools and the paper
reproduction share these, so a flag file means the same everywhere.
"""

import dataclasses
import json
import logging
import os
import time
import typing

from note_rnn import encoding
from rl_tuner import dqn_hparams as dqn_hparams_lib
from rl_tuner import rl_tuner_ops

SUMMARY_NAME = 'summary.json'
TUNED_NOTE_RNN = 'tuned_note_rnn'

# Accepted values of the settings that name a choice.
ALGORITHMS = rl_tuner_ops.ALGORITHM_NAMES
EXPLORATION_MODES = rl_tuner_ops.EXPLORATION_MODES
PRIMING_MODES = rl_tuner_ops.PRIMING_MODES
NOTE_RNN_TYPES = rl_tuner_ops.NOTE_RNN_TYPES
DQN_PRESETS = tuple(sorted(dqn_hparams_lib.PRESETS))
KEY_MODES = ('major', 'minor')
LABELS = ('encoding', 'original')
# Settings that override the DQN preset when given.
DQN_FIELDS = ('discount_rate', 'random_action_probability', 'minibatch_size',
              'train_every_nth', 'store_every_nth', 'max_experience',
              'target_network_update_rate', 'learning_rate')


class UsageError(ValueError):
  """A setting that cannot work; the CLIs print it as one line, exit 2."""


def _field(default, help_text, choices=None):
  return dataclasses.field(default=default,
                           metadata={'help': help_text, 'choices': choices})


@dataclasses.dataclass(frozen=True)
class TrainSettings:
  """Everything a training run needs; field help doubles as flag help."""
  # The original command line's settings and defaults.
  output_dir: str = _field(
      '', 'Directory for checkpoints, plots, MIDI and statistics.')
  note_rnn_checkpoint_dir: str = _field(
      '', 'Directory holding the Note RNN checkpoint to tune; the file '
      '--note_rnn_checkpoint_name inside it is used if present, else the '
      'latest checkpoint there.')
  note_rnn_checkpoint_name: str = _field(
      'note_rnn.ckpt', 'File name of the checkpoint inside '
      '--note_rnn_checkpoint_dir.')
  note_rnn_checkpoint_file: str = _field(
      '', 'Path of the Note RNN checkpoint to tune (overrides the directory '
      'flags): a NoteRNN.save directory, a Magenta TF1 Note RNN checkpoint, '
      'or a basic_rnn .mag bundle. Empty (and no directory): the embedded '
      'default model.')
  note_rnn_type: str = _field(
      'default', "'default': the paper's LSTM; 'basic_rnn': a Magenta "
      'basic_rnn model.', NOTE_RNN_TYPES)
  note_rnn_hparams: str = _field(
      '', "Note RNN hparam overrides 'name=value,...' checked against the "
      'checkpoint (e.g. rnn_layer_sizes=[512,512]).')
  midi_primer: str = _field(
      '', "MIDI file priming every melody (priming_mode 'single_midi').")
  training_steps: int = _field(
      1000000, 'Environment steps (notes) to train for.')
  exploration_steps: int = _field(
      500000, 'Environment steps over which the probability of a random '
      'action anneals from 1.0 to --random_action_probability (egreedy).')
  exploration_mode: str = _field(
      'boltzmann', "'egreedy' (epsilon-greedy) or 'boltzmann' (sample from "
      'the softmax of the action values).', EXPLORATION_MODES)
  output_every_nth: int = _field(
      50000, 'Evaluate, record rewards and checkpoint every n environment '
      'steps.')
  num_notes_in_melody: int = _field(
      32, 'Notes (sixteenth steps) per composition.')
  reward_scaler: float = _field(
      0.1, 'Weight of the music-theory reward (1/c in the paper).')
  training_data_path: str = _field(
      '', "TFRecord of melody SequenceExamples (priming_mode 'random_midi');"
      ' comma-separated for several.')
  algorithm: str = _field('q', 'Learning algorithm.', ALGORITHMS)
  # Settings the original command line did not expose.
  reward_mode: str = _field(
      'music_theory_all', "Reward function (g and pure_rl always use "
      "'music_theory_only').")
  priming_mode: str = _field('random_note', 'How each composition starts.',
                             PRIMING_MODES)
  stochastic_observations: bool = _field(
      False, 'Sample the next observation from the policy instead of '
      'playing the greedy action.')
  dqn_preset: str = _field(
      'magenta_cli', 'DQN hyperparameter preset; the settings below '
      'override it.', DQN_PRESETS)
  discount_rate: typing.Optional[float] = _field(
      None, 'Discount gamma per note.')
  random_action_probability: typing.Optional[float] = _field(
      None, 'Final epsilon of egreedy exploration.')
  minibatch_size: typing.Optional[int] = _field(
      None, 'Transitions per gradient step.')
  train_every_nth: typing.Optional[int] = _field(
      None, 'One gradient step every n environment steps.')
  store_every_nth: typing.Optional[int] = _field(
      None, 'Store one transition every n environment steps.')
  max_experience: typing.Optional[int] = _field(None, 'Replay capacity.')
  target_network_update_rate: typing.Optional[float] = _field(
      None, 'Soft target update rate eta.')
  learning_rate: typing.Optional[float] = _field(None, 'Adam learning rate.')
  num_parallel_melodies: int = _field(
      1, 'Melodies composed side by side (one batched network call per '
      'beat); step counts stay environment steps.')
  num_eval_compositions: int = _field(
      100, 'Compositions per evaluation during training.')
  num_stat_compositions: int = _field(
      1000, 'Compositions for the final music-theory statistics.')
  key: str = _field('C', 'Key of the music-theory rewards (tonic name, e.g. '
                    'C, G, F#, Bb).')
  key_mode: str = _field('major', 'Major or natural minor.', KEY_MODES)
  labels: str = _field(
      'original', "'original': the reward code's swapped class 0/1 labels "
      "(reproduces the paper); 'encoding': class 0 = hold, class 1 = rest.",
      LABELS)
  seed: int = _field(0, 'Seed of every random choice.')
  resume: bool = _field(
      False, 'Continue from the newest checkpoint in --output_dir.')

  def replace(self, **changes):
    """A copy with `changes`; unknown names raise UsageError."""
    unknown = sorted(set(changes) - set(field_names()))
    if unknown:
      raise UsageError(f'unknown setting(s) {unknown}')
    return dataclasses.replace(self, **changes)

  def to_dict(self):
    return dataclasses.asdict(self)


def field_names():
  return tuple(f.name for f in dataclasses.fields(TrainSettings))


def field_type(field):
  """The Python type of a setting: str, int, float or bool."""
  hint = typing.get_type_hints(TrainSettings)[field.name]
  args = [a for a in typing.get_args(hint) if a is not type(None)]
  return args[0] if args else hint


def _parse_value(field, text):
  kind = field_type(field)
  if kind is bool:
    lowered = text.strip().lower()
    if lowered in ('true', '1', 'yes', ''):
      return True
    if lowered in ('false', '0', 'no'):
      return False
    raise UsageError(f'--{field.name} takes true or false, got {text!r}')
  try:
    return kind(text)
  except ValueError as e:
    raise UsageError(f'--{field.name} takes a {kind.__name__}, got '
                     f'{text!r}') from e


def read_flagfile(path):
  """Settings given in an absl flag file ('--name=value' lines, # comments).

  Returns:
    dict name -> typed value, for the fields of TrainSettings. Lines naming
    other flags raise UsageError.
  """
  fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
  values = {}
  with open(path) as f:
    for number, line in enumerate(f, 1):
      line = line.strip()
      if not line or line.startswith('#'):
        continue
      if not line.startswith('--'):
        raise UsageError(f'{path}:{number}: expected --name=value')
      name, _, text = line[2:].partition('=')
      if name.startswith('no') and name[2:] in fields and not text:
        values[name[2:]] = False
        continue
      if name not in fields:
        raise UsageError(f'{path}:{number}: unknown setting --{name}')
      values[name] = _parse_value(fields[name], text)
  return values


def note_rnn_checkpoint(settings):
  """Path of the Note RNN to tune, or None for the embedded default."""
  if settings.note_rnn_checkpoint_file:
    path = settings.note_rnn_checkpoint_file
  elif settings.note_rnn_checkpoint_dir:
    directory = settings.note_rnn_checkpoint_dir
    named = os.path.join(directory, settings.note_rnn_checkpoint_name)
    path = named if os.path.exists(named) else directory
  else:
    return None
  if not os.path.exists(path):
    raise UsageError(f'Note RNN checkpoint not found: {path}')
  return path


def validate(settings):
  """Checks the settings up front.

  Returns:
    dict with 'checkpoint', 'dqn_hparams', 'music_theory_config',
    'training_files' and 'note_rnn_hparams'.

  Raises:
    UsageError: naming the setting and the problem.
  """
  # Imported here so that a bad flag is reported before TensorFlow loads.
  from note_rnn import hparams as note_rnn_hparams_lib  # pylint: disable=g-import-not-at-top
  from rl_tuner import rewards  # pylint: disable=g-import-not-at-top

  if not settings.output_dir:
    raise UsageError('--output_dir is required')
  for field in dataclasses.fields(TrainSettings):
    choices = field.metadata['choices']
    value = getattr(settings, field.name)
    if choices and value not in choices:
      raise UsageError(f'unknown --{field.name} {value!r}; valid values: '
                       f'{", ".join(choices)}')
  try:
    rewards.check_reward_mode(settings.reward_mode)
  except ValueError as e:
    raise UsageError(str(e)) from e
  for name in ('training_steps', 'output_every_nth', 'num_notes_in_melody',
               'num_parallel_melodies', 'num_eval_compositions'):
    if getattr(settings, name) < 1:
      raise UsageError(f'--{name} must be >= 1, got '
                       f'{getattr(settings, name)}')
  if settings.exploration_steps < 0 or settings.num_stat_compositions < 0:
    raise UsageError('--exploration_steps and --num_stat_compositions must '
                     'be >= 0')
  if settings.priming_mode == 'single_midi':
    if not settings.midi_primer:
      raise UsageError('--priming_mode=single_midi needs --midi_primer')
    if not os.path.isfile(settings.midi_primer):
      raise UsageError(f'--midi_primer not found: {settings.midi_primer}')
  training_files = [p for p in settings.training_data_path.split(',') if p]
  if settings.priming_mode == 'random_midi':
    if not training_files:
      raise UsageError('--priming_mode=random_midi needs '
                       '--training_data_path')
    for path in training_files:
      if not os.path.isfile(path):
        raise UsageError(f'--training_data_path not found: {path}')
  try:
    hparams = dqn_hparams_lib.PRESETS[settings.dqn_preset]().replace(
        **{name: getattr(settings, name) for name in DQN_FIELDS
           if getattr(settings, name) is not None})
    config = rewards.MusicTheoryConfig.for_key(
        settings.key, settings.key_mode,
        num_notes_in_melody=settings.num_notes_in_melody,
        labels=settings.labels)
    note_rnn_hparams = None
    if settings.note_rnn_hparams:
      base = (note_rnn_hparams_lib.basic_rnn_hparams()
              if settings.note_rnn_type == 'basic_rnn' else
              note_rnn_hparams_lib.default_hparams())
      note_rnn_hparams = base.parse(settings.note_rnn_hparams)
  except ValueError as e:
    raise UsageError(str(e)) from e
  return {
      'checkpoint': note_rnn_checkpoint(settings),
      'dqn_hparams': hparams,
      'music_theory_config': config,
      'training_files': training_files or None,
      'note_rnn_hparams': note_rnn_hparams,
  }


def make_tuner(settings, derived=None, output_dir=None, checkpoint=None,
               summary_writer=None):
  """Builds the RLTuner a run's settings describe (networks loaded)."""
  from rl_tuner import rl_tuner as rl_tuner_lib  # pylint: disable=g-import-not-at-top
  derived = derived or validate(settings)
  return rl_tuner_lib.RLTuner(
      output_dir or settings.output_dir,
      dqn_hparams=derived['dqn_hparams'],
      reward_mode=settings.reward_mode,
      reward_scaler=settings.reward_scaler,
      exploration_mode=settings.exploration_mode,
      priming_mode=settings.priming_mode,
      stochastic_observations=settings.stochastic_observations,
      algorithm=settings.algorithm,
      note_rnn_checkpoint_file=checkpoint or derived['checkpoint'],
      note_rnn_type=settings.note_rnn_type,
      note_rnn_hparams=derived['note_rnn_hparams'],
      num_notes_in_melody=settings.num_notes_in_melody,
      midi_primer=settings.midi_primer or None,
      save_name=settings.algorithm + '.ckpt',
      output_every_nth=settings.output_every_nth,
      training_file_list=derived['training_files'],
      summary_writer=summary_writer,
      num_parallel_melodies=settings.num_parallel_melodies,
      seed=settings.seed,
      music_theory_config=derived['music_theory_config'],
      num_eval_compositions=settings.num_eval_compositions)


def write_statistics(rlt, num_compositions, output_dir, name):
  """Statistics of `num_compositions` melodies: text, Table-1 JSON and md.

  Returns:
    (stat_dict, table1 summary dict).
  """
  from rl_tuner import rl_tuner_eval_metrics  # pylint: disable=g-import-not-at-top
  stat_dict = rlt.evaluate_music_theory_metrics(
      num_compositions=num_compositions)
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
  return stat_dict, table


def run(settings):
  """Trains (or resumes), then writes every output. Returns the summary."""
  from rl_tuner import rl_tuner as rl_tuner_lib  # pylint: disable=g-import-not-at-top
  derived = validate(settings)
  output_dir = settings.output_dir
  has_checkpoint = bool(rl_tuner_lib.list_checkpoints(
      os.path.join(output_dir, rl_tuner_lib.CHECKPOINT_SUBDIR)))
  if has_checkpoint and not settings.resume:
    raise UsageError(f'{output_dir} already holds a run; pass --resume to '
                     'continue it or choose another --output_dir')
  start = time.time()
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  summary_writer = tf.summary.create_file_writer(
      os.path.join(output_dir, 'tensorboard'))
  rlt = make_tuner(settings, derived, summary_writer=summary_writer)
  if has_checkpoint:
    try:
      rlt.restore_from_directory(output_dir)
    except ValueError as e:
      raise UsageError(f'cannot resume: {e}') from e
  remaining = settings.training_steps - rlt.env_steps
  logging.info('Training %s for %d environment steps (from step %d)',
               rlt.algorithm, max(remaining, 0), rlt.env_steps)
  train_start = time.time()
  if remaining > 0:
    rlt.train(num_steps=remaining,
              exploration_period=settings.exploration_steps)
  train_seconds = time.time() - train_start

  name = rlt.algorithm
  rlt.save_model_and_figs(name)
  rlt.q_network.save(os.path.join(output_dir, TUNED_NOTE_RNN), metadata={
      'tuned_by': 'rl_tuner', 'algorithm': rlt.algorithm,
      'env_steps': rlt.env_steps})
  notes, midi_path = rlt.generate_music_sequence(
      title=name, visualize_probs=True, prob_image_name=name + '.png')
  table = None
  if settings.num_stat_compositions > 0:
    _, table = write_statistics(rlt, settings.num_stat_compositions,
                                output_dir, name)
  summary = {
      'settings': settings.to_dict(),
      'dqn_hparams': derived['dqn_hparams'].to_dict(),
      'note_rnn_checkpoint': derived['checkpoint'] or 'embedded default',
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
      os.path.join(output_dir, SUMMARY_NAME),
      json.dumps(summary, indent=2, default=str).encode())
  return summary


def load_summary(run_dir):
  """Reads <run_dir>/summary.json; raises UsageError if it is not a run."""
  if not os.path.isdir(run_dir):
    raise UsageError(f'run directory not found: {run_dir}')
  path = os.path.join(run_dir, SUMMARY_NAME)
  if not os.path.isfile(path):
    raise UsageError(f'{run_dir} is not an rl_tuner_train run: no '
                     f'{SUMMARY_NAME}')
  try:
    with open(path) as f:
      summary = json.load(f)
  except ValueError as e:
    raise UsageError(f'cannot read {path}: {e}') from e
  if not isinstance(summary.get('settings'), dict) or (
      'algorithm' not in summary['settings']):
    raise UsageError(f'{path} holds no run settings')
  return summary


def settings_from_summary(summary):
  """The TrainSettings a summary.json records (unknown keys ignored)."""
  known = set(field_names())
  return TrainSettings(**{k: v for k, v in summary['settings'].items()
                          if k in known})


def load_tuner(run_dir, output_dir=None, checkpoint_name=None):
  """Rebuilds a finished run's RLTuner and restores its networks.

  The tuned Q-network the run saved fixes the network shapes (the restored
  checkpoint then overwrites all three networks); the MIDI priming modes
  prime with the Note RNN the run started from when that file still exists,
  as training did.

  Returns:
    (RLTuner, summary dict, path of the checkpoint restored).
  """
  summary = load_summary(run_dir)
  settings = settings_from_summary(summary)
  tuned = os.path.join(run_dir, TUNED_NOTE_RNN)
  if not os.path.isdir(tuned):
    raise UsageError(f'{run_dir} has no {TUNED_NOTE_RNN}/ (the run did not '
                     'finish)')
  checkpoint = tuned
  original = summary.get('note_rnn_checkpoint')
  if settings.priming_mode != 'random_note':
    if original and os.path.exists(original):
      checkpoint = original
    else:
      logging.warning('The Note RNN the run started from (%s) is gone; '
                      'priming with the tuned network instead.', original)
  settings = settings.replace(note_rnn_checkpoint_file=checkpoint,
                              note_rnn_checkpoint_dir='', resume=False,
                              note_rnn_hparams='')
  try:
    rlt = make_tuner(settings, output_dir=output_dir or run_dir)
    path = rlt.restore_from_directory(run_dir,
                                      checkpoint_name=checkpoint_name or None)
  except (FileNotFoundError, ValueError) as e:
    raise UsageError(str(e)) from e
  return rlt, summary, path
