"""The settings of an RL Tuner run: stated once, checked once, passed down.

`TrainSettings` holds every setting of `bin/rl_tuner_train.py`; each field's
metadata is its flag's help text, and the defaults are the original command
line's. `define_flags` makes the absl flags from the fields and
`from_flags` reads them back; `read_flagfile` reads a flag file with absl
itself. `resolve` checks the settings and builds the objects they name (DQN
hyperparameters, music-theory config, reward set, checkpoint path) that the
tuner uses; the `RLTuner` constructor's Magenta-style arguments become a
TrainSettings too, so both go through the same checks.

Nothing here imports TensorFlow, so a bad flag is reported at once.
"""

import dataclasses
import math
import numbers
import os
import typing

from absl import flags

from note_rnn import audio as audio_lib
from note_rnn import encoding
from note_rnn.model import hparams as note_rnn_hparams_lib
from rl_tuner.agents import exploration
from rl_tuner.agents import registry
from rl_tuner.agents.dqn import dqn_hparams as dqn_hparams_lib
from rl_tuner.env import priming
from rl_tuner.music import music_theory
from rl_tuner.rewards import reward_api
from rl_tuner.rewards import reward_specs


class UsageError(ValueError):
  """A setting that cannot work; the CLIs print it as one line, exit 2."""


class CheckpointNotFoundError(UsageError, FileNotFoundError):
  """The Note RNN checkpoint a setting names does not exist."""


# Accepted values of the settings that name a choice.
ALGORITHMS = registry.NAMES
EXPLORATION_MODES = exploration.EXPLORATION_MODES
PRIMING_MODES = priming.PRIMING_MODES
NOTE_RNN_TYPES = note_rnn_hparams_lib.NOTE_RNN_TYPES
DQN_PRESETS = tuple(sorted(dqn_hparams_lib.PRESETS))
KEY_MODES = ('major', 'minor')
LABELS = ('encoding', 'original')
REWARD_MODES = reward_api.REWARD_MODES
# Settings that override the DQN preset when given.
DQN_FIELDS = ('discount_rate', 'random_action_probability', 'minibatch_size',
              'train_every_nth', 'store_every_nth', 'max_experience',
              'target_network_update_rate', 'learning_rate')


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
      0.1, 'Weight of the music-theory reward (1/c in the paper): it '
      'multiplies every term but log p(a|s). To weaken the rules give a '
      'smaller positive value (a negative one would reward breaking them, '
      '0 would switch them all off).')
  training_data_path: str = _field(
      '', "TFRecord of melody SequenceExamples (priming_mode 'random_midi');"
      ' comma-separated for several.')
  algorithm: str = _field('q', registry.help_text(), ALGORITHMS)
  # Settings the original command line did not expose.
  reward_mode: str = _field(
      'music_theory_all', "Built-in reward mode (g and pure_rl always use "
      "'music_theory_only', or 'custom_only' for 'custom'); 'custom' and "
      "'custom_only' hold only the --reward terms, with and without log p.",
      REWARD_MODES)
  reward: typing.Tuple[str, ...] = _field(
      (), 'Extra reward (repeatable): a registered name, '
      'path/to/file.py:function or package.module:function; a function '
      '(state, actions) -> float [B], or a class for a reward with state.')
  reward_weights: str = _field(
      '', "Weights of reward terms by name, e.g. 'key=1,chord_tones=2' "
      '(default 1 each; each term once). Finite numbers; 0 switches a term '
      'off. A negative weight is refused for the built-in terms and '
      'note_rnn (it would reward breaking the rule, or unlikely notes) and '
      "allowed for your own --reward terms, to make one a penalty.")
  reward_option: typing.Tuple[str, ...] = _field(
      (), "Option of a class reward (repeatable): 'name.option=value'.")
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
  reward_rnn_trainable: bool = _field(
      False, "g only: the original code's G update, which also trained the "
      "'frozen' Reward RNN through the TD target (its defect 7); "
      'reproduces the original\'s G column, not the paper\'s method.')
  xla_updates: bool = _field(
      False, 'Compile the gradient steps with XLA: about a third less time '
      'per update on a CPU, for about 2 s of compiling per run and '
      'minibatch count; pays off from ~50,000 steps (the paper configs set '
      'it). Results equal the plain graph\'s to float tolerance.')
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
  audio: bool = _field(
      True, 'Write the sample melodies as WAV beside their MIDI files, and '
      'to TensorBoard as audio at each evaluation (--noaudio: neither).')
  qpm: float = _field(encoding.DEFAULT_QPM, audio_lib.QPM_HELP)
  audio_program: int = _field(audio_lib.DEFAULT_PROGRAM,
                              audio_lib.PROGRAM_HELP)
  audio_renderer: str = _field('auto', audio_lib.RENDERER_HELP,
                               audio_lib.RENDERERS)
  seed: typing.Optional[int] = _field(0, 'Seed of every random choice.')
  resume: bool = _field(
      False, 'Continue from the newest checkpoint in --output_dir. Every '
      'setting that changes what the run computes must be the '
      "checkpoint's (a difference is refused, listed); --training_steps, "
      'the statistics, audio, replay and XLA settings may change.')
  keep_replay: bool = _field(
      False, 'Keep the replay memory (checkpoints/replay/: 120 MB of the '
      "quickstart's 129 MB) when the run ends. Only a kept replay lets "
      '--resume with more --training_steps extend a finished run; without '
      'it the run drops the replay at its end and says so.')

  def replace(self, **changes):
    """A copy with `changes`; unknown names raise UsageError."""
    unknown = sorted(set(changes) - set(field_names()))
    if unknown:
      raise UsageError(f'unknown setting(s) {unknown}')
    return dataclasses.replace(self, **changes)

  def to_dict(self):
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}

  @classmethod
  def from_dict(cls, values):
    """Settings from to_dict's output (unknown keys ignored)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    known = {}
    for name, value in values.items():
      if name in fields:
        if field_type(fields[name]) is tuple:
          value = tuple(value or ())
        known[name] = value
    return cls(**known)


# RLTuner constructor arguments that are objects rather than settings.
_OBJECT_ARGUMENTS = ('dqn_hparams', 'music_theory_config',
                     'training_file_list', 'rewards')


def from_arguments(arguments):
  """TrainSettings from the RLTuner constructor's arguments, by name.

  Arguments named like a setting become it (None: the setting's default,
  except seed, where None means unseeded); note_rnn_hparams counts when it
  is a string, reward_weights may be a dict. Without a dqn_preset the DQN
  hyperparameters are the original class's defaults ('class_defaults',
  discount 0.95), not the command line's.
  """
  given = dict(arguments)
  given.setdefault('dqn_preset', 'class_defaults')
  if not isinstance(given.get('note_rnn_hparams'), str):
    given['note_rnn_hparams'] = None
  weights = given.get('reward_weights')
  if isinstance(weights, dict):
    given['reward_weights'] = ','.join(f'{k}={v}' for k, v in weights.items())
  algorithm = given.get('algorithm')
  given['algorithm'] = registry.canonical_name(algorithm)
  return TrainSettings(**{
      name: given[name] for name in field_names()
      if name in given and (given[name] is not None or name == 'seed') and
      name not in _OBJECT_ARGUMENTS})


def field_names():
  return tuple(f.name for f in dataclasses.fields(TrainSettings))


def field_type(field):
  """The Python type of a setting: str, int, float, bool or tuple."""
  hint = typing.get_type_hints(TrainSettings)[field.name]
  if typing.get_origin(hint) is tuple:
    return tuple
  args = [a for a in typing.get_args(hint) if a is not type(None)]
  return args[0] if args else hint


_DEFINE = {str: flags.DEFINE_string, int: flags.DEFINE_integer,
           float: flags.DEFINE_float, bool: flags.DEFINE_bool,
           tuple: flags.DEFINE_multi_string}


def define_flags(flag_values=flags.FLAGS):
  """One absl flag per TrainSettings field, with its default and help."""
  for field in dataclasses.fields(TrainSettings):
    help_text = field.metadata['help']
    if field.metadata['choices']:
      help_text += f' One of: {", ".join(field.metadata["choices"])}.'
    if field.name in NUMBER_RANGES:
      help_text += f' Must be {NUMBER_RANGES[field.name].text()}.'
    default = field.default
    kind = field_type(field)
    if kind is tuple:
      default = list(default)
    _DEFINE[kind](field.name, default, help_text, flag_values=flag_values)


def from_flags(flag_values=flags.FLAGS, only_present=False):
  """TrainSettings (or, with only_present, a dict) from parsed flags."""
  values = {}
  for field in dataclasses.fields(TrainSettings):
    flag = flag_values[field.name]
    if only_present and not flag.present:
      continue
    value = flag.value
    if field_type(field) is tuple:
      value = tuple(value or ())
    values[field.name] = value
  return values if only_present else TrainSettings(**values)


def read_flagfile(path):
  """The settings an absl flag file gives, parsed by absl itself.

  Returns:
    dict name -> value of the settings the file sets.

  Raises:
    UsageError: the file is missing, or names an unknown flag or a bad value.
  """
  if not os.path.isfile(path):
    raise UsageError(f'flag file not found: {path}')
  flag_values = flags.FlagValues()
  define_flags(flag_values)
  try:
    flag_values(['read_flagfile', f'--flagfile={path}'])
  except flags.Error as e:
    raise UsageError(f'{path}: {e}') from e
  return from_flags(flag_values, only_present=True)


@dataclasses.dataclass(frozen=True)
class Resolved:
  """What checked settings name, built once.

  Attributes:
    checkpoint: Note RNN path to load, or None for the embedded model.
    dqn_hparams: DQNHParams.
    music_theory_config: music_theory.MusicTheoryConfig of the run's key, labels
      and melody length; rewards and statistics both judge by it.
    training_files: list of TFRecord paths, or None.
    note_rnn_hparams: NoteRNNHParams overrides, or None.
    reward_set: reward_api.RewardSet (the algorithm's forced mode applied).
  """
  checkpoint: typing.Optional[str]
  dqn_hparams: typing.Any
  music_theory_config: typing.Any
  training_files: typing.Optional[typing.List[str]]
  note_rnn_hparams: typing.Any
  reward_set: typing.Any


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
    raise CheckpointNotFoundError(
        f'Note RNN checkpoint not found: {path}. Pass '
        'note_rnn_checkpoint_file (--note_rnn_checkpoint_file) pointing at a '
        "Note RNN checkpoint: this project's NoteRNN.save directory, a "
        'Magenta TF1 Note RNN checkpoint such as rl_tuner_note_rnn.ckpt, or '
        'a basic_rnn .mag bundle.')
  return path


def effective_reward_mode(algorithm, mode):
  """The reward mode `algorithm` uses when `mode` is asked for (its
  registry row's reward rule: g and pure_rl leave log p out)."""
  return registry.get(algorithm).reward_mode(mode)


def _check_choices(settings):
  for field in dataclasses.fields(TrainSettings):
    choices = field.metadata['choices']
    if field.name == 'algorithm':
      choices = tuple(registry.ALGORITHMS)  # The registry as it is now.
    value = getattr(settings, field.name)
    if choices and value not in choices:
      raise UsageError(f'unknown --{field.name} {value!r}; valid values: '
                       f'{", ".join(choices)}')


@dataclasses.dataclass(frozen=True)
class NumberRange:
  """The values a numeric setting may take: always finite.

  Attributes:
    low, high: the bounds (None: unbounded on that side).
    low_open, high_open: whether the bound itself is excluded.
    whole: whether the value must be a whole number (a count).
  """
  low: typing.Optional[float] = None
  high: typing.Optional[float] = None
  low_open: bool = False
  high_open: bool = False
  whole: bool = False

  def text(self):
    """The range in words: '>= 1 (a whole number)', 'in (0, 1] (a finite
    number)'."""
    kind = '(a whole number)' if self.whole else '(a finite number)'
    if self.low is not None and self.high is not None:
      return (f'in {"(" if self.low_open else "["}{self.low:g}, '
              f'{self.high:g}{")" if self.high_open else "]"} {kind}')
    if self.low is not None:
      return f'{">" if self.low_open else ">="} {self.low:g} {kind}'
    if self.high is not None:
      return f'{"<" if self.high_open else "<="} {self.high:g} {kind}'
    return kind[1:-1]

  def admits(self, value):
    """Whether `value` is a number in the range (nan and inf never are)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
      return False
    value = float(value)
    if not math.isfinite(value) or (self.whole and not value.is_integer()):
      return False
    if self.low is not None and (value <= self.low if self.low_open
                                 else value < self.low):
      return False
    return self.high is None or (value < self.high if self.high_open
                                 else value <= self.high)


_COUNT = NumberRange(low=1, whole=True)  # 0 would do nothing, or divide by 0.
_SOME = NumberRange(low=0, whole=True)   # 0 means none.
_SHARE = NumberRange(low=0, high=1)      # A probability or discount.
# Every numeric setting's range, checked in `resolve` (None: the setting's
# preset or unset value stands; unseeded for seed). The DQN settings are
# checked again on the hyperparameters an RLTuner is given as an object.
NUMBER_RANGES = {
    'training_steps': _COUNT,
    'exploration_steps': _SOME,
    'output_every_nth': _COUNT,
    'num_notes_in_melody': _COUNT,
    # It multiplies every term but log p: 0 switches the rules off and a
    # negative value rewards breaking them, so neither is a weaker rule.
    'reward_scaler': NumberRange(low=0, low_open=True),
    'discount_rate': _SHARE,
    'random_action_probability': _SHARE,
    'minibatch_size': _COUNT,
    'train_every_nth': _COUNT,
    'store_every_nth': _COUNT,
    'max_experience': _COUNT,
    # 0 would freeze the target network at the Note RNN for good.
    'target_network_update_rate': NumberRange(low=0, high=1, low_open=True),
    'learning_rate': NumberRange(low=0, low_open=True),
    'num_parallel_melodies': _COUNT,
    'num_eval_compositions': _COUNT,
    'num_stat_compositions': _SOME,
    'seed': NumberRange(low=0, whole=True),  # numpy takes no negative seed.
    # --qpm (finite, > 0) and --audio_program (a General MIDI program,
    # 0-127) are checked by note_rnn.audio, as for every tool that writes
    # audio.
}


def check_number(name, value):
  """Returns `value` if setting `name` may take it, else raises UsageError.

  The message is one line naming the flag, the value and the range.
  """
  allowed = NUMBER_RANGES[name]
  if not allowed.admits(value):
    hint = ''
    if name == 'reward_scaler':
      hint = ('; it multiplies every music-theory term: to weaken the rules '
              'give a smaller positive value')
    raise UsageError(f'--{name} must be {allowed.text()}, got {value!r}'
                     f'{hint}')
  return value


def _check_numbers(settings):
  """Every numeric setting finite and in NUMBER_RANGES (None: unset)."""
  for name in NUMBER_RANGES:
    value = getattr(settings, name)
    if value is not None:
      check_number(name, value)
  try:
    audio_options(settings).check()
  except audio_lib.AudioError as e:
    raise UsageError(str(e)) from e


def _check_dqn_hparams(values):
  """The DQN hyperparameters in force: a dict, or a DQNHParams given as an
  object (its own checks let nan and inf through)."""
  if not isinstance(values, dict):
    values = values.to_dict()
  for name in DQN_FIELDS:
    check_number(name, values[name])
  if values['minibatch_size'] > values['max_experience']:
    raise UsageError(f'--minibatch_size={values["minibatch_size"]} exceeds '
                     f'--max_experience={values["max_experience"]}: the '
                     'replay would never hold a minibatch, so nothing would '
                     'be learnt')


def audio_options(settings):
  """The audio.AudioOptions the settings give (not checked)."""
  return audio_lib.AudioOptions(settings.audio, settings.qpm,
                                settings.audio_program,
                                settings.audio_renderer)


def _check_priming(settings, training_files):
  if settings.priming_mode == 'single_midi':
    if not settings.midi_primer:
      raise UsageError('--priming_mode=single_midi needs --midi_primer, a '
                       'MIDI file to prime the melodies with')
    if not os.path.isfile(settings.midi_primer):
      raise UsageError(f'--midi_primer not found: {settings.midi_primer}')
  if settings.priming_mode == 'random_midi':
    if not training_files:
      raise UsageError('--priming_mode=random_midi needs '
                       '--training_data_path, TFRecord file(s) of melodies')
    for path in training_files:
      if not os.path.isfile(path):
        raise UsageError(f'--training_data_path not found: {path}')


def resolve(settings, dqn_hparams=None, music_theory_config=None,
            note_rnn_hparams=None, training_files=None, rewards_extra=(),
            check_output_dir=True):
  """Checks the settings and builds what they name.

  Args:
    settings: TrainSettings.
    dqn_hparams, music_theory_config, note_rnn_hparams, training_files:
      objects given directly (the RLTuner constructor's arguments) that
      replace the settings' textual forms.
    rewards_extra: reward objects (functions, classes, `reward_api.Reward`)
      added after the --reward specs.
    check_output_dir: whether --output_dir must be set.

  Returns:
    Resolved.

  Raises:
    UsageError: naming the setting and the problem.
  """
  if check_output_dir and not settings.output_dir:
    raise UsageError('--output_dir is required')
  _check_choices(settings)
  _check_numbers(settings)
  if settings.reward_rnn_trainable and settings.algorithm != 'g':
    raise UsageError('--reward_rnn_trainable applies to --algorithm=g only '
                     f'(got --algorithm={settings.algorithm})')
  if training_files is None:
    training_files = [p for p in settings.training_data_path.split(',') if p]
  elif isinstance(training_files, str):
    training_files = [training_files]
  _check_priming(settings, training_files)
  try:
    if dqn_hparams is None:
      preset = dqn_hparams_lib.PRESETS[settings.dqn_preset]()
      overrides = {name: getattr(settings, name) for name in DQN_FIELDS
                   if getattr(settings, name) is not None}
      # Before DQNHParams checks them, so that a bad one names its flag.
      _check_dqn_hparams(dict(preset.to_dict(), **overrides))
      dqn_hparams = preset.replace(**overrides)
    else:  # A DQNHParams, dict, HParams or object with the field names.
      dqn_hparams = dqn_hparams_lib.coerce(dqn_hparams)
    _check_dqn_hparams(dqn_hparams)
    if music_theory_config is None:
      music_theory_config = music_theory.MusicTheoryConfig.for_key(
          settings.key, settings.key_mode, labels=settings.labels)
    music_theory_config = dataclasses.replace(
        music_theory_config, num_notes_in_melody=settings.num_notes_in_melody)
    if note_rnn_hparams is None and settings.note_rnn_hparams:
      base = (note_rnn_hparams_lib.basic_rnn_hparams()
              if settings.note_rnn_type == 'basic_rnn' else
              note_rnn_hparams_lib.default_hparams())
      note_rnn_hparams = base.parse(settings.note_rnn_hparams)
    reward_set = reward_api.reward_set(
        effective_reward_mode(settings.algorithm, settings.reward_mode),
        extra=_load_rewards(settings) + [
            reward_specs.load(item) if isinstance(item, str) else item
            for item in rewards_extra],
        weights=reward_specs.parse_weights(settings.reward_weights),
        reward_scaler=settings.reward_scaler)
    reward_api.probe(reward_set, settings.num_parallel_melodies,
                     music_theory_config)
  except ValueError as e:
    raise UsageError(str(e)) from e
  return Resolved(
      checkpoint=note_rnn_checkpoint(settings),
      dqn_hparams=dqn_hparams,
      music_theory_config=music_theory_config,
      training_files=training_files or None,
      note_rnn_hparams=note_rnn_hparams,
      reward_set=reward_set)


def _load_rewards(settings):
  """The --reward specs as rewards, with their --reward_option options."""
  options = reward_specs.parse_options(settings.reward_option)
  loaded = []
  used = set()
  for spec in settings.reward:
    attribute = spec.rpartition(':')[2].strip()
    names = (attribute, reward_api.snake_case(attribute))
    given = next((options[n] for n in names if n in options), None)
    used.update(names)
    loaded.append(reward_specs.load(spec, options=given))
  unknown = sorted(set(options) - used)
  if unknown:
    raise UsageError(f'--reward_option names {unknown}, not a --reward of '
                     'this run')
  return loaded
