"""Tests of the scalar music-theory rewards against the original's outputs.

The golden file (../shared/golden/rewards.json.gz) holds, for 300
compositions of 32 steps, every reward function's value at every step (pass
1) and collect_reward's value for every reward mode (pass 2), computed by the
unmodified original code. Everything must match to 1e-9 except the defects
this port fixes (5 and 12 show up here); for those the tests show exactly
which entries differ and that the port's values there are the intended ones.
"""

import functools
import gzip
import json

import numpy as np
import pytest

from rl_tuner import rl_tuner_ops as ops
from rl_tuner.testing import reference_rewards as rewards
from rl_tuner.testing.composition import Composition

TOL = 1e-9
SCALER = 0.7
C = rewards.DEFAULT_CONFIG
ENCODING = rewards.MusicTheoryConfig(labels='encoding')
G_MAJOR = rewards.MusicTheoryConfig.for_key('G', 'major')
A_MINOR = rewards.MusicTheoryConfig.for_key('A', 'minor')

# Pass-1 values of the golden file and the functions that reproduce them.
STATELESS = {
    'key': rewards.reward_key,
    'tonic': rewards.reward_tonic,
    'repeating': rewards.reward_penalize_repeating,
    'autocorr': rewards.reward_penalize_autocorrelation,
    'motif': rewards.reward_motif,
    'repeated_motif': rewards.reward_repeated_motif,
    'preferred_intervals': rewards.reward_preferred_intervals,
    'high_low_unique': rewards.reward_high_low_unique,
    'key_distribute_prob': rewards.reward_key_distribute_prob,
    'non_repeating': rewards.reward_non_repeating,
}


@functools.lru_cache(maxsize=1)
def _load(path):
  with gzip.open(path, 'rt') as f:
    return json.load(f)


@pytest.fixture
def golden(golden_dir):
  return _load(str(golden_dir / 'rewards.json.gz'))


def composition_with(notes, beat=None):
  comp = Composition(notes=list(notes))
  comp.beat = len(notes) if beat is None else beat
  return comp


def _pass1(notes):
  """Replays golden pass 1 on one composition; yields (beat, values)."""
  comp = Composition()
  for beat, action in enumerate(notes):
    obs = notes[beat - 1] if beat else action
    values = {name: fn(comp, action) for name, fn in STATELESS.items()}
    values['scale'] = rewards.reward_scale(obs, action)
    values['interval'] = rewards.detect_sequential_interval(comp, action)[0]
    # The total through music_theory_reward on a copy, the leap term through
    # music_theory_terms; both update the leap state the same way.
    twin = comp.copy()
    values['music_theory_total'] = rewards.music_theory_reward(twin, action)
    terms = rewards.music_theory_terms(comp, action)
    assert twin == comp
    assert sum(terms.values()) == values['music_theory_total']
    values['leap'] = terms['leap']
    values['leap_state_after'] = list(comp.leap_state)
    yield beat, values
    comp.append(action)


@functools.lru_cache(maxsize=1)
def _replayed_pass1(path):
  """[composition][beat] -> values of the port, for the golden file."""
  return [[values for _, values in _pass1(comp['notes'])]
          for comp in _load(path)['compositions']]


@pytest.fixture
def pass1(golden_dir):
  return _replayed_pass1(str(golden_dir / 'rewards.json.gz'))


def test_every_pass1_value_matches_the_original(golden, pass1):
  """Every function at every step, except non_repeating where it was None."""
  num_checked = 0
  for comp, replayed in zip(golden['compositions'], pass1):
    for beat, values in enumerate(replayed):
      step = comp['steps'][beat]
      assert step['action'] == comp['notes'][beat]
      for name, value in values.items():
        expected = step[name]
        if name == 'non_repeating' and expected is None:
          continue  # Defect 5, see the next test.
        if name == 'leap_state_after':
          assert value == expected, (comp['index'], beat)
        else:
          assert value == pytest.approx(expected, abs=TOL), (
              comp['index'], beat, name)
        num_checked += 1
  assert num_checked > 300 * 32 * 14


def test_non_repeating_penalizes_where_the_original_returned_none(golden,
                                                                 pass1):
  """Defect 5: None exactly where the repeat penalty applies; now -100."""
  num_none = 0
  for comp, replayed in zip(golden['compositions'], pass1):
    for beat, values in enumerate(replayed):
      step = comp['steps'][beat]
      if step['non_repeating'] is None:
        num_none += 1
        assert step['repeating'] == rewards.REPEAT_PENALTY
        assert values['non_repeating'] == rewards.REPEAT_PENALTY
      else:
        assert step['repeating'] == 0.0
        assert values['non_repeating'] == rewards.NON_REPEATING_REWARD
  assert num_none == 946


def test_music_theory_total_is_bit_exact(golden, pass1):
  """The total equals the golden total bit for bit (original sum order)."""
  for comp, replayed in zip(golden['compositions'], pass1):
    for beat, values in enumerate(replayed):
      assert values['music_theory_total'] == comp['steps'][beat][
          'music_theory_total']


def _pass2(golden, mode):
  """Replays golden pass 2 for one mode; returns rewards, accumulators."""
  scores = golden['collect_reward']['reward_scores']
  all_rewards = []
  note_rnn_last_n = 0.0
  music_theory_last_n = 0.0
  for c, comp in enumerate(golden['compositions']):
    state = Composition()
    row = []
    notes = comp['notes']
    for beat, action in enumerate(notes):
      obs = notes[beat - 1] if beat else action
      parts = rewards.collect_reward(state, obs, action, scores[c][beat],
                                     mode, SCALER)
      note_rnn_last_n += parts.note_rnn
      music_theory_last_n += parts.music_theory
      row.append(parts)
      state.append(action)
    all_rewards.append(row)
  return all_rewards, note_rnn_last_n, music_theory_last_n


UNCHANGED_MODES = ('scale', 'key', 'key_and_tonic', 'music_theory_random',
                   'preferred_intervals', 'music_theory_all',
                   'music_theory_only')


@pytest.mark.parametrize('mode', UNCHANGED_MODES)
def test_collect_reward_modes_match_the_original(golden, mode):
  expected = golden['collect_reward']['modes'][mode]
  note_rnn = golden['collect_reward']['note_rnn_rewards']
  parts, note_rnn_last_n, music_theory_last_n = _pass2(golden, mode)
  for c, row in enumerate(parts):
    for b, p in enumerate(row):
      assert p.total == pytest.approx(expected['rewards'][c][b], abs=TOL)
      assert p.note_rnn == pytest.approx(note_rnn[c][b], abs=TOL)
  assert note_rnn_last_n == pytest.approx(expected['note_rnn_reward_last_n'],
                                          abs=TOL, rel=0)
  assert music_theory_last_n == pytest.approx(
      expected['music_theory_reward_last_n'], abs=TOL, rel=0)


def test_mode_non_repeating_fixes_the_type_error(golden):
  """Defect 5: the 946 TypeError entries become -100 * 0.7; rest equal."""
  expected = golden['collect_reward']['modes']['non_repeating']
  parts, note_rnn_last_n, music_theory_last_n = _pass2(golden,
                                                       'non_repeating')
  error = "TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'"
  assert expected['exceptions'] == {error: 946}
  fixed_sum = 0.0
  num_fixed = 0
  for c, row in enumerate(parts):
    for b, p in enumerate(row):
      golden_value = expected['rewards'][c][b]
      if golden_value == error:
        num_fixed += 1
        assert golden['compositions'][c]['steps'][b]['non_repeating'] is None
        assert p.total == p.music_theory == rewards.REPEAT_PENALTY * SCALER
      else:
        assert p.total == pytest.approx(golden_value, abs=TOL)
      fixed_sum += p.music_theory if golden_value == error else 0.0
  assert num_fixed == 946
  assert note_rnn_last_n == pytest.approx(expected['note_rnn_reward_last_n'],
                                          abs=TOL, rel=0)
  # The original accumulated only the non-failing steps.
  assert fixed_sum == pytest.approx(946 * -70.0)
  assert music_theory_last_n == pytest.approx(
      expected['music_theory_reward_last_n'] + fixed_sum, abs=1e-6)


@pytest.mark.parametrize('mode, terms', [
    ('music_theory_basic', ('key', 'tonic', 'repeating')),
    ('music_theory_basic_plus_variety',
     ('key', 'tonic', 'repeating', 'autocorr')),
])
def test_basic_modes_report_their_music_theory_part(golden, mode, terms):
  """Defect 12: rewards unchanged; the accumulator no longer stays 0."""
  expected = golden['collect_reward']['modes'][mode]
  note_rnn = golden['collect_reward']['note_rnn_rewards']
  parts, note_rnn_last_n, music_theory_last_n = _pass2(golden, mode)
  intended_sum = 0.0
  for c, row in enumerate(parts):
    steps = golden['compositions'][c]['steps']
    for b, p in enumerate(row):
      assert p.total == pytest.approx(expected['rewards'][c][b], abs=TOL)
      # The music-theory part is the mode's terms (from pass 1) times 0.7,
      # which is also the golden total minus log p.
      mode_reward = sum(steps[b][t] for t in terms)
      assert p.music_theory == pytest.approx(mode_reward * SCALER, abs=TOL)
      assert p.music_theory == pytest.approx(
          expected['rewards'][c][b] - note_rnn[c][b], abs=1e-9)
      intended_sum += mode_reward * SCALER
  assert expected['music_theory_reward_last_n'] == 0.0
  assert music_theory_last_n == pytest.approx(intended_sum, rel=1e-12)
  assert music_theory_last_n < -1000  # Mostly repeat penalties.
  assert note_rnn_last_n == pytest.approx(expected['note_rnn_reward_last_n'],
                                          abs=TOL, rel=0)


def test_unknown_reward_mode_lists_the_valid_modes():
  with pytest.raises(ValueError) as error:
    rewards.collect_reward(Composition(), 14, 14, np.zeros(38), 'bogus', 1.0)
  message = str(error.value)
  assert "'bogus'" in message
  for mode in rewards.REWARD_MODES:
    assert mode in message
  assert len(rewards.REWARD_MODES) == 10


def test_one_hot_actions_equal_int_actions():
  comp = composition_with([14, 16, 18, 0, 21, 26, 1, 23])
  onehot = ops.make_onehot([21], ops.NUM_CLASSES)[0]
  a, b = comp.copy(), comp.copy()
  assert (rewards.music_theory_reward(a, onehot) ==
          rewards.music_theory_reward(b, 21))
  assert a == b
  assert rewards.reward_from_reward_rnn_scores(onehot, np.arange(38.0)) == (
      rewards.reward_from_reward_rnn_scores(21, np.arange(38.0)))


def test_reward_from_reward_rnn_scores_is_log_softmax():
  # Uniform scores: log(1/38).
  assert rewards.reward_from_reward_rnn_scores(5, np.zeros(38)) == (
      pytest.approx(-np.log(38)))


# ---------------------------------------------------------------------------
# Labels: 'original' (0 = NOTE_OFF, 1 = NO_EVENT) versus 'encoding'
# (0 = hold = NO_EVENT, 1 = rest = NOTE_OFF). Expected values by hand.


def test_tonic_after_the_last_bars_first_step_follows_the_labels():
  # 32 notes: the last bar starts at beat 28; at beat 29 only NO_EVENT earns
  # +3: class 1 under the original labels, class 0 (hold) under the
  # encoding's.
  comp = composition_with([2] * 29)
  assert rewards.reward_tonic(comp, 1, C) == 3.0
  assert rewards.reward_tonic(comp, 0, C) == 0.0
  assert rewards.reward_tonic(comp, 0, ENCODING) == 3.0
  assert rewards.reward_tonic(comp, 1, ENCODING) == 0.0
  # From beat 30 on, either special class earns it under both labellings.
  comp.beat = 30
  for config in (C, ENCODING):
    assert rewards.reward_tonic(comp, 0, config) == 3.0
    assert rewards.reward_tonic(comp, 1, config) == 3.0


def test_repeated_note_off_follows_the_labels():
  # [5, 1, 1] then 1: the run back from the end holds two 1s. Under the
  # encoding's labels 1 is NOTE_OFF (a rest) and more than one repeated rest
  # is excessive: -100. Under the original's, 1 is NO_EVENT: 2 repeats of a
  # plain note are allowed (limit 4): 0.
  comp = composition_with([5, 1, 1])
  assert rewards.reward_penalize_repeating(comp, 1, ENCODING) == -100.0
  assert rewards.reward_penalize_repeating(comp, 1, C) == 0.0
  comp = composition_with([5, 0, 0])
  assert rewards.reward_penalize_repeating(comp, 0, C) == -100.0
  assert rewards.reward_penalize_repeating(comp, 0, ENCODING) == 0.0


def test_repeat_limits():
  # Five plain repeats are allowed, six are not (limit: more than 4
  # earlier ones); with a hold or rest in the run the limit is 6.
  assert rewards.reward_penalize_repeating(composition_with([9] * 4), 9) == 0
  assert rewards.reward_penalize_repeating(composition_with([9] * 5),
                                           9) == -100.0
  with_breaks = [9, 0, 9, 9, 1, 9, 9, 9]  # six 9s
  assert rewards.reward_penalize_repeating(composition_with(with_breaks),
                                           9) == 0
  assert rewards.reward_penalize_repeating(
      composition_with(with_breaks + [9]), 9) == -100.0


def test_hold_and_rest_intervals_follow_the_labels():
  # After the tonic C4 (class 14), class 0 is a rest under the original
  # labels (REST_INTERVAL_AFTER_THIRD_OR_FIFTH, 0.15 * 5 = 0.75) and a hold
  # under the encoding's (HOLD_INTERVAL_AFTER..., 0.3 * 5 = 1.5).
  comp = composition_with([14])
  assert rewards.detect_sequential_interval(comp, 0, C)[0] == -2
  assert rewards.reward_preferred_intervals(comp, 0, C) == pytest.approx(0.75)
  assert rewards.detect_sequential_interval(comp, 0, ENCODING)[0] == -2.5
  assert rewards.reward_preferred_intervals(comp, 0, ENCODING) == 1.5
  # After C#4 (class 15, neither tonic nor fifth), class 1: a hold under
  # the original labels (0.075 * 5 = 0.375), a rest under the encoding's
  # (0.05 * 5 = 0.25).
  comp = composition_with([15])
  assert rewards.reward_preferred_intervals(comp, 1, C) == pytest.approx(0.375)
  assert rewards.reward_preferred_intervals(comp, 1, ENCODING) == (
      pytest.approx(0.25))


def test_scale_no_event_bonus_follows_the_labels():
  # obs 2 (C3), action 1: NO_EVENT under the original labels earns 0.1; it
  # is not a step up and not in the scale, so nothing else.
  assert rewards.reward_scale(2, 1, C) == 0.1
  assert rewards.reward_scale(2, 1, ENCODING) == 0.0
  assert rewards.reward_scale(2, 0, ENCODING) == 0.1


# ---------------------------------------------------------------------------
# Other keys (defect 10: the interval rules use the configured key).


def test_key_configs():
  assert rewards.MusicTheoryConfig.for_key('C') == C
  assert G_MAJOR.tonic == 21  # G4
  assert A_MINOR.tonic == ops.A_MINOR_TONIC
  # A natural minor has the pitches of C major.
  assert A_MINOR.key == ops.C_MAJOR_KEY
  assert (C.third_interval, G_MAJOR.third_interval,
          A_MINOR.third_interval) == (4, 4, 3)
  # Triads: G (9, 21, 33), D (4, 16, 28), B (13, 25, 37).
  assert G_MAJOR.tonic_notes == {9, 21, 33}
  assert G_MAJOR.fifth_notes == {4, 16, 28}
  assert G_MAJOR.third_notes == {13, 25, 37}
  assert A_MINOR.third_notes == {2, 14, 26}  # C
  with pytest.raises(ValueError):
    rewards.MusicTheoryConfig(labels='swapped')
  with pytest.raises(ValueError):
    rewards.MusicTheoryConfig(tonic=1)


def test_g_major_key_and_tonic():
  # F3 = class 7 is in C major, not in G major; F#3 = class 8 the reverse.
  empty = Composition()
  assert rewards.reward_key(empty, 7, G_MAJOR) == -1.0
  assert rewards.reward_key(empty, 7, C) == 0.0
  assert rewards.reward_key(empty, 8, G_MAJOR) == 0.0
  assert rewards.reward_key(empty, 8, C) == -1.0
  assert rewards.reward_tonic(empty, 21, G_MAJOR) == 3.0
  assert rewards.reward_tonic(empty, 14, G_MAJOR) == 0.0
  # 21 classes of 36 pitches plus 2 special events are in key.
  assert rewards.reward_key_distribute_prob(empty, 8, G_MAJOR) == 1.0 / 23


def test_g_major_intervals():
  # C4 (14) -> G4 (21): a fifth from the tonic in C major (0.1 * 5 = 0.5);
  # in G major C is not in the tonic triad: a plain fifth (0.02 * 5 = 0.1).
  comp = composition_with([14])
  assert rewards.detect_sequential_interval(comp, 21, C)[0] == -5
  assert rewards.detect_sequential_interval(comp, 21, G_MAJOR)[0] == 7
  assert rewards.reward_preferred_intervals(comp, 21, G_MAJOR) == (
      pytest.approx(0.1))
  # G4 (21) -> B4 (25): a major third from the tonic in G major
  # (0.15 * 5 = 0.75); in C major G is not C or E: a plain third (0.45).
  comp = composition_with([21])
  assert rewards.reward_preferred_intervals(comp, 25, G_MAJOR) == 0.75
  assert rewards.reward_preferred_intervals(comp, 25, C) == pytest.approx(0.45)
  # A rest (class 0, original labels) after D4 (16), the fifth of G:
  # 0.15 * 5 = 0.75 in G, a plain rest interval 0.25 in C. (The original
  # raised NameError here for any explicit key.)
  comp = composition_with([16])
  assert rewards.reward_preferred_intervals(comp, 0, G_MAJOR) == 0.75
  assert rewards.reward_preferred_intervals(comp, 0, C) == 0.25


def test_a_minor_intervals():
  # A4 (23) -> C5 (26): 3 semitones from the tonic of A minor: an in-key
  # third (0.75); in C major 3 semitones earn nothing.
  comp = composition_with([23])
  assert rewards.detect_sequential_interval(comp, 26, A_MINOR)[0] == -3
  assert rewards.reward_preferred_intervals(comp, 26, A_MINOR) == 0.75
  assert rewards.reward_preferred_intervals(comp, 26, C) == 0.0
  # A4 -> C#5 (27): 4 semitones, a plain third in both (0.09 * 5 = 0.45).
  assert rewards.reward_preferred_intervals(comp, 27, A_MINOR) == (
      pytest.approx(0.45))
  # E4 (18) -> B4 (25): a fifth from the fifth of A minor (0.5), a plain
  # fifth in C major (0.1).
  comp = composition_with([18])
  assert rewards.reward_preferred_intervals(comp, 25, A_MINOR) == 0.5
  assert rewards.reward_preferred_intervals(comp, 25, C) == pytest.approx(0.1)


def test_g_major_scale():
  # E4 (18) -> F#4 (20): up 2 semitones (0.05), F# in the G scale (0.01),
  # next degree after E (0.8): 0.86. In C major F# is not in the scale.
  assert G_MAJOR.scale[:8] == (9, 11, 13, 14, 16, 18, 20, 21)
  assert rewards.reward_scale(18, 20, G_MAJOR) == pytest.approx(0.86)
  assert rewards.reward_scale(18, 20, C) == pytest.approx(0.05)


# ---------------------------------------------------------------------------
# Leaps, by hand.


def test_leap_up_then_gradual_return():
  comp = Composition()
  outcomes = []
  for note in (14, 23, 21, 18, 14):  # C4, up a sixth to A4, down by steps
    outcomes.append(rewards.reward_leap_up_back(comp, note))
    comp.append(note)
    if note == 23:
      assert comp.leap_state == (ops.ASCENDING, 14, 0)
  # Reaching C4 again (<= where the leap started) resolves it: +5.
  assert outcomes == [0.0, 0.0, 0.0, 0.0, 5.0]
  # Steps since the leap: 21, 18 and 14 (18 -> 14 is an in-key third).
  assert comp.leap_state == (0, None, 3)


def test_leap_twice_and_quick_leap_back():
  comp = Composition()
  outcomes = []
  for note in (14, 21, 28, 14):  # C4, G4 (fifth up), D5 (fifth up), C4
    outcomes.append(rewards.reward_leap_up_back(comp, note))
    comp.append(note)
  # The second upward leap is doubled (-5); leaping back down right away
  # (0 steps since, not more than 6) clears the leap without a reward.
  assert outcomes == [0.0, 0.0, -5.0, 0.0]
  assert comp.leap_state == (0, None, 0)
