"""What a resumed run must share with its checkpoint (no TensorFlow here)."""

import pytest

from rl_tuner.run import resume_settings
from rl_tuner.run import settings as settings_lib

NOTE_RNN = {'sha256': 'ab' * 32, 'path': 'note_rnn'}


def _identity(**changes):
  settings = settings_lib.TrainSettings(**changes)
  resolved = settings_lib.resolve(settings, check_output_dir=False)
  return resume_settings.identity(settings, resolved.reward_set,
                                  resolved.dqn_hparams, NOTE_RNN,
                                  resolved.training_files)


def test_every_setting_is_compared_unless_listed_as_free_to_change():
  names = set(settings_lib.field_names())
  free = set(resume_settings.MAY_CHANGE_ON_RESUME)
  assert free <= names
  identity = _identity()
  for name in sorted(names - free):
    if name in resume_settings._RESOLVED:  # pylint: disable=protected-access
      # A setting compared through what it resolves to.
      key = resume_settings._RESOLVED[name]  # pylint: disable=protected-access
      assert key in identity or key in ('midi_primer', 'training_data'), name
    else:
      assert name in identity, f'{name} is neither compared nor free'
  for name in free:
    assert name not in identity


@pytest.mark.parametrize('changes,expected', [
    (dict(reward_scaler=2.0, reward_weights='key=3'),
     ['reward_scaler: 0.1 -> 2.0', 'reward_weights.key: 1.0 -> 3.0']),
    (dict(discount_rate=0.9), ['dqn_hparams.discount_rate: 0.5 -> 0.9']),
    (dict(dqn_preset='class_defaults'),
     ['dqn_hparams.discount_rate: 0.5 -> 0.95']),
    (dict(labels='encoding', key_mode='minor'),
     ['key_mode: "major" -> "minor"', 'labels: "original" -> "encoding"']),
    (dict(priming_mode='random_midi', training_data_path=__file__),
     ['priming_mode: "random_note" -> "random_midi"']),
])
def test_differences_name_each_setting_with_both_values(changes, expected):
  found = resume_settings.differences(_identity(), _identity(**changes))
  for text in expected:
    assert any(line.startswith(text) for line in found), (text, found)


def test_output_only_settings_make_no_difference():
  # The paper's preset has the command line's values: the same run.
  assert not resume_settings.differences(_identity(), _identity(
      dqn_preset='paper', num_stat_compositions=5, audio=False, qpm=90.0,
      audio_program=1, training_steps=7, output_dir='elsewhere', resume=True,
      keep_replay=True, xla_updates=True))


def test_files_are_compared_by_content_not_path(tmp_path):
  first, moved, other = (tmp_path / n for n in ('a.mid', 'b.mid', 'c.mid'))
  first.write_bytes(b'MThd one')
  moved.write_bytes(b'MThd one')
  other.write_bytes(b'MThd two')
  stored = {'midi_primer': resume_settings.file_identity(str(first))}
  assert not resume_settings.differences(
      stored, {'midi_primer': resume_settings.file_identity(str(moved))})
  (line,) = resume_settings.differences(
      stored, {'midi_primer': resume_settings.file_identity(str(other))})
  assert line.startswith(f'midi_primer: {first} (sha256 ')
  assert f'-> {other} (sha256 ' in line


def test_an_older_checkpoint_is_compared_on_what_it_has():
  state = {'algorithm': 'q', 'reward_terms': ['key'],
           'num_parallel_melodies': 1}
  current = {'algorithm': 'q', 'reward_terms': ['key'],
             'num_parallel_melodies': 4, 'seed': 3}
  with pytest.raises(settings_lib.UsageError) as error:
    resume_settings.check(state, current, 'runs/x/checkpoints/q-64')
  message = str(error.value)
  assert message.startswith('cannot resume from runs/x/checkpoints/q-64: '
                            'it was trained with other settings: '
                            'num_parallel_melodies: 1 -> 4. Only ')
  resume_settings.check({**state, 'num_parallel_melodies': 4}, current, 'p')
