"""Settings: one dataclass, read by absl, checked once."""

import dataclasses
import pathlib

from absl import flags
import pytest

from rl_tuner import rl_tuner as rl_tuner_lib
from rl_tuner.run import settings as settings_lib

CONFIGS = pathlib.Path(__file__).resolve().parent.parent.parent / 'configs'


def test_flag_files_are_read_by_absl(tmp_path):
  path = tmp_path / 'run.flags'
  path.write_text(f'--flagfile={CONFIGS / "quickstart.flags"}\n'
                  '# A comment\n--algorithm=psi\n--reward_scaler=2.5\n'
                  '--nostochastic_observations\n'
                  '--reward=a.py:one\n--reward=b:two\n--seed=3\n')
  values = settings_lib.read_flagfile(str(path))
  assert values['algorithm'] == 'psi'
  assert values['reward_scaler'] == 2.5
  assert values['stochastic_observations'] is False
  assert values['reward'] == ('a.py:one', 'b:two')
  assert values['seed'] == 3
  # Nested flag files are absl's: quickstart's settings come along.
  assert 'training_steps' in values
  settings = settings_lib.TrainSettings().replace(**values)
  assert settings.reward == ('a.py:one', 'b:two')


@pytest.mark.parametrize('line,message', [
    ('--no_such_flag=1', 'no_such_flag'),
    ('--training_steps=many', 'training_steps'),
])
def test_bad_flag_files_are_usage_errors(tmp_path, line, message):
  path = tmp_path / 'bad.flags'
  path.write_text(line + '\n')
  with pytest.raises(settings_lib.UsageError, match=message):
    settings_lib.read_flagfile(str(path))
  with pytest.raises(settings_lib.UsageError, match='not found'):
    settings_lib.read_flagfile(str(tmp_path / 'absent.flags'))


def test_flags_round_trip_through_the_dataclass():
  flag_values = flags.FlagValues()
  settings_lib.define_flags(flag_values)
  flag_values(['prog', '--algorithm=g', '--reward=x.py:f',
               '--reward_option=f.size=3', '--key=G'])
  settings = settings_lib.from_flags(flag_values)
  assert settings.algorithm == 'g' and settings.key == 'G'
  assert settings.reward == ('x.py:f',)
  assert settings.reward_option == ('f.size=3',)
  again = settings_lib.TrainSettings.from_dict(settings.to_dict())
  assert again == settings


def test_the_constructor_arguments_become_the_settings(tmp_path):
  rlt = rl_tuner_lib.RLTuner(
      str(tmp_path), algorithm='default', reward_scaler=2.0,
      exploration_mode='boltzmann', num_notes_in_melody=16,
      output_every_nth=7, num_parallel_melodies=3, seed=None,
      reward_weights={'key': 2.0}, initialize_immediately=False)
  settings = rlt.settings
  assert settings.algorithm == 'q'  # The original's alias.
  assert (settings.reward_scaler, settings.exploration_mode,
          settings.num_notes_in_melody, settings.output_every_nth,
          settings.num_parallel_melodies) == (2.0, 'boltzmann', 16, 7, 3)
  assert settings.seed is None
  assert settings.reward_weights == 'key=2.0'
  assert dict((n, w) for n, w, _ in rlt.reward_set.terms)['key'] == 2.0
  assert rlt.music_theory_config.num_notes_in_melody == 16


def test_resolve_checks_once_and_builds_the_objects(tmp_path):
  settings = settings_lib.TrainSettings(
      output_dir=str(tmp_path), key='D', key_mode='minor', labels='encoding',
      num_notes_in_melody=24, algorithm='pure_rl', dqn_preset='paper',
      discount_rate=0.9)
  resolved = settings_lib.resolve(settings)
  assert resolved.checkpoint is None  # The embedded model.
  assert resolved.dqn_hparams.discount_rate == 0.9
  assert resolved.dqn_hparams.minibatch_size == 32
  config = resolved.music_theory_config
  assert (config.labels, config.num_notes_in_melody) == ('encoding', 24)
  assert resolved.reward_set.mode == 'music_theory_only'
  with pytest.raises(settings_lib.UsageError, match='--output_dir'):
    settings_lib.resolve(settings.replace(output_dir=''))
  with pytest.raises(settings_lib.UsageError, match='--key_mode'):
    settings_lib.resolve(settings.replace(key_mode='dorian'))
  with pytest.raises(settings_lib.UsageError,
                     match="--reward_option names \\['nope'\\]"):
    settings_lib.resolve(settings.replace(reward_option=('nope.a=1',)))


@pytest.mark.parametrize('name,value,message', [
    ('reward_scaler', float('nan'), r'--reward_scaler must be > 0 \(a '
     r'finite number\), got nan; it multiplies every music-theory term'),
    ('reward_scaler', float('inf'), 'got inf'),
    ('reward_scaler', 0.0, r'--reward_scaler must be > 0 .*got 0\.0'),
    ('reward_scaler', -1.0, r'got -1\.0'),
    ('learning_rate', float('nan'), r'--learning_rate must be > 0 .*got nan'),
    ('learning_rate', 0.0, r'--learning_rate must be > 0'),
    ('discount_rate', float('nan'), r'--discount_rate must be in \[0, 1\]'),
    ('discount_rate', 1.01, r'--discount_rate .*got 1\.01'),
    ('random_action_probability', -0.1, r'in \[0, 1\] .*got -0\.1'),
    ('target_network_update_rate', 0.0, r'must be in \(0, 1\]'),
    ('target_network_update_rate', float('inf'), r'in \(0, 1\] .*got inf'),
    ('minibatch_size', 0, r'--minibatch_size must be >= 1 \(a whole '
     r'number\), got 0'),
    ('max_experience', 4, '--minibatch_size=32 exceeds --max_experience=4'),
    ('training_steps', 0, '--training_steps must be >= 1'),
    ('output_every_nth', 2.5, r'--output_every_nth must be >= 1 \(a whole '
     r'number\), got 2\.5'),
    ('num_eval_compositions', 0, '--num_eval_compositions must be >= 1'),
    ('num_stat_compositions', -1, '--num_stat_compositions must be >= 0'),
    ('exploration_steps', -5, '--exploration_steps must be >= 0'),
    ('seed', -1, r'--seed must be >= 0 \(a whole number\), got -1'),
    ('qpm', float('nan'), '--qpm must be > 0; got nan'),
])
def test_a_bad_number_is_refused_naming_the_flag_and_value(
    tmp_path, name, value, message):
  settings = settings_lib.TrainSettings(output_dir=str(tmp_path / 'run'))
  with pytest.raises(settings_lib.UsageError, match=message):
    settings_lib.resolve(settings.replace(**{name: value}))
  assert not (tmp_path / 'run').exists()


def test_the_ranges_admit_their_edges_and_unset_values(tmp_path):
  settings = settings_lib.TrainSettings(
      output_dir=str(tmp_path), discount_rate=0.0,
      random_action_probability=1.0, target_network_update_rate=1.0,
      exploration_steps=0,
      num_stat_compositions=0, reward_scaler=1e-6, seed=None,
      minibatch_size=8, max_experience=8)
  resolved = settings_lib.resolve(settings)
  assert (resolved.dqn_hparams.discount_rate,
          resolved.dqn_hparams.target_network_update_rate) == (0.0, 1.0)
  # DQN hyperparameters given as an object are checked too.
  with pytest.raises(settings_lib.UsageError, match='--learning_rate'):
    settings_lib.resolve(settings, dqn_hparams={'learning_rate': float('nan')})
  # Every numeric field has a range (qpm and audio_program: note_rnn.audio).
  numeric = {f.name for f in dataclasses.fields(settings_lib.TrainSettings)
             if settings_lib.field_type(f) in (int, float)}
  assert numeric - set(settings_lib.NUMBER_RANGES) == {'qpm', 'audio_program'}


def test_help_states_each_range():
  flag_values = flags.FlagValues()
  settings_lib.define_flags(flag_values)
  assert flag_values['learning_rate'].help.endswith(
      'Must be > 0 (a finite number).')
  assert flag_values['discount_rate'].help.endswith(
      'Must be in [0, 1] (a finite number).')
  assert 'smaller positive value' in flag_values['reward_scaler'].help
  assert 'negative weight is refused for the built-in terms' in (
      flag_values['reward_weights'].help)
