"""The reward interface: registry, loading, weights, checks, stateful rewards."""

import numpy as np
import pytest

from note_rnn.model import sampling
from rl_tuner.env import melody_env
from rl_tuner.rewards import reward_api
from rl_tuner.testing import reference_rewards as rewards

CONFIG = rewards.DEFAULT_CONFIG


def high_notes(state, actions):
  """+1 for classes above middle C (class 14)."""
  return (actions > 14).astype(float)


class CountPitches:
  """Stateful: the number of pitches each melody played before, times scale."""

  def __init__(self, scale='1'):
    self.scale = float(scale)
    self.count = None
    self.resets = 0

  def reset(self, batch_size):
    self.count = np.zeros(batch_size)
    self.resets += 1

  def __call__(self, state, actions):
    value = self.count * self.scale
    self.count = self.count + (actions >= 2)
    return value


def _step_all(reward_set, melodies, logits=None):
  melodies = np.asarray(melodies)
  env = melody_env.MelodyEnv(len(melodies), CONFIG, reward_set.bind())
  return env, [env.step(melodies[:, t], None if logits is None else logits[t])
               for t in range(melodies.shape[1])]


def test_modes_are_weighted_lists_of_registered_rewards():
  for mode, terms in reward_api.MODES.items():
    for name, weight in terms:
      assert weight == 1.0
      assert name == reward_api.NOTE_RNN or name in (
          reward_api.registered_names()), (mode, name)
  assert reward_api.reward_set('music_theory_all').term_names == (
      rewards.MUSIC_THEORY_TERMS + ('note_rnn',))


def test_user_reward_added_to_a_mode_and_weighted():
  melodies = np.array([[14, 16, 0, 12, 18, 1], [21, 2, 23, 23, 23, 23]])
  logits = np.random.default_rng(0).normal(size=(6, 2, 38))
  base = reward_api.reward_set('key_and_tonic', reward_scaler=0.5)
  extended = reward_api.reward_set(
      'key_and_tonic', extra=[high_notes], reward_scaler=0.5,
      weights={'high_notes': 3.0, 'key': 2.0})
  assert extended.term_names == ('key', 'tonic', 'high_notes')
  _, plain = _step_all(base, melodies, logits)
  _, weighted = _step_all(extended, melodies, logits)
  for t, (a, b) in enumerate(zip(plain, weighted)):
    high = (melodies[:, t] > 14).astype(float)
    key_part = a.terms[0]
    # total = 0.5 * (2 * key + tonic + 3 * high); log p is not in this mode.
    np.testing.assert_allclose(
        b.total, 0.5 * (2 * key_part + a.terms[1] + 3 * high))
    np.testing.assert_allclose(b.terms[2], 3 * high)
    np.testing.assert_allclose(b.music_theory, b.total)
    # log p is recorded in every mode.
    np.testing.assert_allclose(b.note_rnn, sampling.log_softmax(
        logits[t])[np.arange(2), melodies[:, t]])


def test_custom_modes_replace_the_rules():
  melodies = np.array([[14, 16, 30, 12]])
  logits = np.random.default_rng(1).normal(size=(4, 1, 38))
  with_log_p = reward_api.reward_set('custom', extra=[high_notes],
                                     reward_scaler=2.0)
  without = reward_api.reward_set('custom_only', extra=[high_notes],
                                  reward_scaler=2.0)
  assert with_log_p.term_names == ('note_rnn', 'high_notes')
  _, a = _step_all(with_log_p, melodies, logits)
  _, b = _step_all(without, melodies, logits)
  for t in range(4):
    high = float(melodies[0, t] > 14)
    assert b[t].total[0] == 2.0 * high
    assert a[t].total[0] == pytest.approx(2.0 * high + a[t].note_rnn[0])
  with pytest.raises(reward_api.RewardError, match='needs at least one'):
    reward_api.reward_set('custom_only')


def test_note_rnn_weight():
  melodies = np.array([[14, 16]])
  logits = np.random.default_rng(2).normal(size=(2, 1, 38))
  rs = reward_api.reward_set('custom', weights={'note_rnn': 0.25})
  _, parts = _step_all(rs, melodies, logits)
  for p in parts:
    assert p.total[0] == pytest.approx(0.25 * p.note_rnn[0])


def test_stateful_rewards_get_their_own_instance_per_environment():
  rs = reward_api.reward_set('custom_only', extra=[CountPitches])
  assert rs.term_names == ('count_pitches',)
  melodies = np.array([[14, 0, 16, 1, 18], [0, 0, 0, 21, 1]])
  env_a, parts = _step_all(rs, melodies)
  np.testing.assert_array_equal([p.total for p in parts],
                                [[0, 0], [1, 0], [1, 0], [2, 0], [2, 1]])
  env_b, _ = _step_all(rs, melodies[:, :2])
  counter_a = env_a.rewards._terms[0][3]  # pylint: disable=protected-access
  counter_b = env_b.rewards._terms[0][3]  # pylint: disable=protected-access
  assert counter_a is not counter_b
  np.testing.assert_array_equal(counter_a.count, [3, 1])
  env_a.reset()
  np.testing.assert_array_equal(counter_a.count, [0, 0])
  assert counter_a.resets == 2


def test_class_options_are_passed_as_strings():
  reward = reward_api.as_reward(CountPitches, options={'scale': '2.5'})
  assert reward.make().scale == 2.5
  with pytest.raises(reward_api.RewardError, match='cannot build'):
    reward_api.as_reward(CountPitches, options={'nope': '1'}).make()
  with pytest.raises(reward_api.RewardError, match='only a class'):
    reward_api.as_reward(high_notes, options={'a': '1'})


def test_load_from_a_file_and_a_module(tmp_path):
  path = tmp_path / 'mine.py'
  path.write_text('import numpy as np\n'
                  'def low(state, actions):\n'
                  '  return (actions < 10) * 1.0\n')
  reward = reward_api.load(f'{path}:low')
  assert reward.name == 'low'
  assert list(reward.make()(None, np.array([3, 20]))) == [1.0, 0.0]
  module_reward = reward_api.load('rl_tuner.rewards.reward_api_test:high_notes')
  assert module_reward.make() is high_notes
  with pytest.raises(reward_api.RewardError, match='callables there: low'):
    reward_api.load(f'{path}:missing')
  with pytest.raises(reward_api.RewardError, match='not found'):
    reward_api.load(f'{tmp_path}/absent.py:low')
  with pytest.raises(reward_api.RewardError, match='cannot import'):
    reward_api.load('no_such_package_here:low')


def test_a_broken_reward_file_is_one_clear_error(tmp_path):
  path = tmp_path / 'broken.py'
  path.write_text('def low(state, actions)\n  return 1\n')
  with pytest.raises(reward_api.RewardError,
                     match=r'cannot load reward file .*broken.py: '
                     'SyntaxError'):
    reward_api.load(f'{path}:low')


def test_unknown_names_list_the_valid_ones():
  with pytest.raises(reward_api.RewardError) as error:
    reward_api.load('chord_tonez')
  assert 'chord_tonez' in str(error.value)
  for name in ('key', 'tonic', 'leap', 'scale'):
    assert name in str(error.value)
  with pytest.raises(reward_api.RewardError, match='valid modes: scale'):
    reward_api.reward_set('loud')
  with pytest.raises(reward_api.RewardError, match=r"\['nope'\]"):
    reward_api.reward_set('key_and_tonic', weights={'nope': 1.0})


@pytest.mark.parametrize('output,message', [
    (lambda s, a: np.zeros(len(a) + 1), r'shape \(3,\); expected \(2,\)'),
    (lambda s, a: 1.0, r'shape \(\); expected \(2,\)'),
    (lambda s, a: np.array([0.0, np.nan]), r'NaN or infinity for melodies '
     r'\[1\]'),
    (lambda s, a: ['a', 'b'], 'not numbers'),
    (lambda s, a: None, 'not numbers'),
])
def test_bad_outputs_name_the_reward(output, message):
  def wrong(state, actions):
    return output(state, actions)
  rs = reward_api.reward_set('key', extra=[wrong])
  env = melody_env.MelodyEnv(2, CONFIG, rs.bind())
  with pytest.raises(reward_api.RewardError,
                     match=f"reward 'wrong' returned .*{message}"):
    env.step(np.array([14, 16]))
  with pytest.raises(reward_api.RewardError, match="reward 'wrong'"):
    reward_api.probe(rs, 2, CONFIG)


def test_probe_names_a_reward_that_raises():
  def crashes(state, actions):
    return state.no_such_attribute
  rs = reward_api.reward_set('custom_only', extra=[crashes])
  with pytest.raises(reward_api.RewardError,
                     match="reward 'crashes' failed on its first call: "
                     'AttributeError'):
    reward_api.probe(rs, 3, CONFIG)


def test_register_and_clashing_names():
  @reward_api.register(name='test_only_high', replace=True)
  def _high(state, actions):
    return high_notes(state, actions)
  assert 'test_only_high' in reward_api.registered_names()
  rs = reward_api.reward_set('key', extra=['test_only_high'])
  assert rs.term_names == ('key_distribute_prob', 'test_only_high')
  with pytest.raises(reward_api.RewardError, match='already registered'):
    reward_api.register(_high, name='test_only_high')
  with pytest.raises(reward_api.RewardError, match='reserved'):
    reward_api.register(_high, name='note_rnn')
  with pytest.raises(reward_api.RewardError, match="named 'key'"):
    def key(state, actions):  # pylint: disable=unused-variable
      return high_notes(state, actions)
    reward_api.reward_set('key_and_tonic', extra=[key])


def test_parse_weights_and_options():
  assert reward_api.parse_weights('key=1, chord_tones=2.5,') == {
      'key': 1.0, 'chord_tones': 2.5}
  for bad in ('key', 'key=x', '=2', 'key=inf'):
    with pytest.raises(reward_api.RewardError):
      reward_api.parse_weights(bad)
  assert reward_api.parse_options(['chord_tones.progression=C, G',
                                   'chord_tones.steps_per_chord=16']) == {
                                       'chord_tones': {
                                           'progression': 'C, G',
                                           'steps_per_chord': '16'}}
  with pytest.raises(reward_api.RewardError, match='reward_name.option'):
    reward_api.parse_options(['progression=C'])
