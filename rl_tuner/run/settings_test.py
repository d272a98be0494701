"""Settings: one dataclass, read by absl, checked once."""

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
