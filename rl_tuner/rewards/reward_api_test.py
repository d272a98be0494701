"""The reward interface: registry, loading, weights, checks, stateful rewards."""

import re

import numpy as np
import pytest

from note_rnn.model import sampling
from rl_tuner.env import melody_env
from rl_tuner.rewards import reward_api
from rl_tuner.rewards import reward_specs
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
  reward = reward_specs.load(f'{path}:low')
  assert reward.name == 'low'
  assert list(reward.make()(None, np.array([3, 20]))) == [1.0, 0.0]
  module_reward = reward_specs.load('rl_tuner.rewards.reward_api_test:high_notes')
  assert module_reward.make() is high_notes
  with pytest.raises(reward_api.RewardError, match='callables there: low'):
    reward_specs.load(f'{path}:missing')
  with pytest.raises(reward_api.RewardError, match='not found'):
    reward_specs.load(f'{tmp_path}/absent.py:low')
  with pytest.raises(reward_api.RewardError, match='cannot import'):
    reward_specs.load('no_such_package_here:low')


def test_a_broken_reward_file_is_one_clear_error(tmp_path):
  path = tmp_path / 'broken.py'
  path.write_text('def low(state, actions)\n  return 1\n')
  with pytest.raises(reward_api.RewardError,
                     match=r'reward file .*broken.py raised SyntaxError '
                     'while loading'):
    reward_specs.load(f'{path}:low')


@pytest.mark.parametrize('code,message', [
    ('import sys\nsys.exit(0)\n', 'exited with status 0 while loading'),
    ('import sys\nsys.exit()\n', 'exited with status 0 while loading'),
    ('import sys\nsys.exit(3)\n', 'exited with status 3 while loading'),
    ("raise ValueError('no\\nconfig')\n",
     'raised ValueError while loading: no config$'),
])
def test_a_reward_file_that_exits_or_raises_on_import_says_so(
    tmp_path, code, message):
  path = tmp_path / 'exits.py'
  path.write_text(code + 'def low(state, actions):\n  return 0\n')
  with pytest.raises(reward_api.RewardError) as error:
    reward_specs.load(f'{path}:low')
  assert str(error.value).startswith(f'reward file {path} ')
  assert '\n' not in str(error.value)
  assert re.search(message, str(error.value)), error.value


def test_a_reward_file_is_any_python_file_whatever_its_name(tmp_path,
                                                            monkeypatch):
  for name in ('r.txt', 'rewards', 'my.rewards.cfg'):
    path = tmp_path / name
    path.write_text('def low(state, actions):\n'
                    '  return (actions < 10) * 1.0\n')
    reward = reward_specs.load(f'{path}:low')
    assert list(reward.make()(None, np.array([3, 20]))) == [1.0, 0.0]
  monkeypatch.chdir(tmp_path)  # A bare file name in the current folder.
  assert reward_specs.load('r.txt:low').name == 'low'


def test_unknown_names_list_the_valid_ones():
  with pytest.raises(reward_api.RewardError) as error:
    reward_specs.load('chord_tonez')
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
    (lambda s, a: np.array([0.0, np.nan]), r'nan for melody 1\b'),
    (lambda s, a: [np.inf, -np.inf], r'inf for melody 0 \(and 1 more\)'),
    (lambda s, a: [0.0, 1e30], r'1e\+30 for melody 1, beyond the 1e\+06'),
    (lambda s, a: [0.0, -2e6], r'-2000000.0 for melody 1, beyond'),
    (lambda s, a: np.ones((2, 1)), r'shape \(2, 1\); expected \(2,\)'),
    (lambda s, a: np.array([1 + 0j, 2]), 'complex numbers'),
    (lambda s, a: [1.0, 2j], 'complex numbers'),
    (lambda s, a: np.array(['1', '2']), 'not numbers'),
    (lambda s, a: ['a', 'b'], 'not numbers'),
    (lambda s, a: None, 'not numbers'),
])
def test_bad_outputs_name_the_reward(output, message):
  def wrong(state, actions):
    return output(state, actions)
  rs = reward_api.reward_set('key', extra=[wrong])
  env = melody_env.MelodyEnv(2, CONFIG, rs.bind())
  with pytest.raises(reward_api.RewardCallError,
                     match=f"^reward 'wrong' returned .*{message}.*"
                     r'\(training call 1\)$'):
    env.step(np.array([14, 16]))
  with pytest.raises(reward_api.RewardError,
                     match=f"^reward 'wrong' returned .*{message}"):
    reward_api.probe(rs, 2, CONFIG)


def test_usable_outputs_are_real_numbers_of_any_kind():
  for value in ([1, 0], [True, False], np.array([1e6, -1e6], np.float32),
                np.array([1, 2], object), (0.5, 2)):
    np.testing.assert_array_equal(
        reward_api.check_output('r', value, 2),
        np.asarray(value, np.float64))


def test_a_reward_failing_late_names_its_call_and_value():
  calls = []

  def flaky(state, actions):
    calls.append(1)
    if len(calls) == 3:
      raise KeyError('gone')
    if len(calls) == 5:
      return np.array([0.0, 2e7])
    return np.zeros(len(actions))
  rs = reward_api.reward_set('custom_only', extra=[flaky])
  bound = rs.bind()
  env = melody_env.MelodyEnv(2, CONFIG, bound)
  env.step(np.array([14, 16]))
  env.step(np.array([14, 16]))
  with pytest.raises(reward_api.RewardCallError,
                     match=r"^reward 'flaky' raised KeyError: 'gone' "
                     r'\(training call 3\)$'):
    env.step(np.array([14, 16]))
  evaluation = melody_env.MelodyEnv(2, CONFIG, rs.bind(bound.costs,
                                                       'evaluation'))
  evaluation.step(np.array([14, 16]))
  with pytest.raises(reward_api.RewardCallError) as error:
    evaluation.step(np.array([14, 16]))
  error.value.where = 'in the evaluation at env step 64'
  assert str(error.value) == (
      "reward 'flaky' returned 20000000.0 for melody 1, beyond the 1e+06 a "
      'reward may reach (evaluation call 2, in the evaluation at env step 64)')
  assert bound.costs.calls('flaky', 'training') == 3
  assert bound.costs.calls('flaky', 'evaluation') == 2
  assert bound.costs.per_call('flaky', 'training') >= 0.0


def test_a_reward_calling_sys_exit_is_a_failure_not_an_exit():
  def leaves(state, actions):
    raise SystemExit(0)
  rs = reward_api.reward_set('custom_only', extra=[leaves])
  env = melody_env.MelodyEnv(2, CONFIG, rs.bind())
  with pytest.raises(reward_api.RewardCallError,
                     match=r"reward 'leaves' called sys.exit\(0\)"):
    env.step(np.array([14, 16]))
  with pytest.raises(reward_api.RewardError,
                     match=r'first call: it called sys.exit\(0\)'):
    reward_api.probe(rs, 2, CONFIG)


def test_probe_names_a_reward_that_raises():
  def crashes(state, actions):
    return state.no_such_attribute
  rs = reward_api.reward_set('custom_only', extra=[crashes])
  with pytest.raises(reward_api.RewardError,
                     match="reward 'crashes' failed on its first call: "
                     'it raised AttributeError'):
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
  assert reward_specs.parse_weights('key=1, chord_tones=2.5,') == {
      'key': 1.0, 'chord_tones': 2.5}
  for bad in ('key', 'key=x', '=2', 'key=inf'):
    with pytest.raises(reward_api.RewardError):
      reward_specs.parse_weights(bad)
  assert reward_specs.parse_options(['chord_tones.progression=C, G',
                                   'chord_tones.steps_per_chord=16']) == {
                                       'chord_tones': {
                                           'progression': 'C, G',
                                           'steps_per_chord': '16'}}
  with pytest.raises(reward_api.RewardError, match='reward_name.option'):
    reward_specs.parse_options(['progression=C'])


def test_parse_weights_refuses_a_repeated_key_and_nonfinite_values():
  # Not the last value silently: the name and both values.
  with pytest.raises(reward_api.RewardError,
                     match=r"gives 'key' twice \(1 and 5\)"):
    reward_specs.parse_weights('key=1,key=5')
  with pytest.raises(reward_api.RewardError, match='tonic'):
    reward_specs.parse_weights('tonic=2, key=1, tonic =2')
  for bad in ('key=nan', 'key=-inf', 'mine=inf'):
    with pytest.raises(reward_api.RewardError, match='not a finite number'):
      reward_specs.parse_weights(bad)


def test_parse_weights_allows_negative_weights_only_for_own_rewards():
  assert reward_specs.parse_weights('my_penalty=-2,key=0') == {
      'my_penalty': -2.0, 'key': 0.0}
  for name in ('key', 'tonic', 'leap', reward_api.NOTE_RNN):
    with pytest.raises(reward_api.RewardError,
                       match=f"'{name}=-0.5' is negative.*built-in term"):
      reward_specs.parse_weights(f'{name}=-0.5')


def test_a_stateful_reward_failing_in_reset_is_named():
  class BadReset:

    def reset(self, batch_size):
      raise IndexError(f'no room for {batch_size}')

    def __call__(self, state, actions):
      return np.zeros(len(actions))
  rs = reward_api.reward_set('custom_only', extra=[BadReset])
  with pytest.raises(reward_api.RewardCallError,
                     match=r"^reward 'bad_reset' raised IndexError: no room "
                     r'for 2 in reset\(2\) \(training call 0\)$') as error:
    melody_env.MelodyEnv(2, CONFIG, rs.bind())
  assert error.value.in_reset


# --- Slips that once left this file green (issue 28) ------------------------


@pytest.mark.parametrize('value', [np.ones((2, 1)), np.ones((1, 2)),
                                   [[0.5], [1.5]]])
def test_check_output_refuses_b_values_in_another_shape_that_would_broadcast(
    value):
  # B values, but not shaped [B]: a size check alone lets them through, and
  # a [B, 1] reward then broadcasts against the [B] terms.
  with pytest.raises(reward_api.RewardError,
                     match=r"^reward 'r' returned shape \((2, 1|1, 2)\); "
                     r'expected \(2,\): one value per melody$'):
    reward_api.check_output('r', value, 2)


@pytest.mark.parametrize('weights', [
    {'key': 0.5, 'high_notes': 0.25},
    {'key': 0.0, 'tonic': 0.75, 'high_notes': -1.5},
])
def test_weights_below_one_scale_their_reward_as_weights_above_one_do(
    weights):
  # Every weight but exactly 1 multiplies its term: below 1, 0 and negative
  # (for a user's own reward) too, not only weights above 1.
  melodies = np.array([[14, 16, 0, 12, 18, 1], [21, 2, 23, 23, 23, 23]])
  plain = reward_api.reward_set('key_and_tonic', extra=[high_notes],
                                reward_scaler=2.0)
  weighted = reward_api.reward_set('key_and_tonic', extra=[high_notes],
                                   weights=weights, reward_scaler=2.0)
  _, ones = _step_all(plain, melodies)
  _, scaled = _step_all(weighted, melodies)
  factors = np.array([weights.get(name, 1.0) for name in plain.term_names])
  checked = 0
  for a, b in zip(ones, scaled):
    np.testing.assert_allclose(b.terms, a.terms * factors[:, None])
    np.testing.assert_allclose(b.total, 2.0 * (factors @ a.terms))
    checked += int(np.any((a.terms != 0) & (factors[:, None] != 1)))
  assert checked >= 3  # The weighted terms are not all zero.
