"""The scalar motif and interval rewards, worked out by hand.

No golden file is needed: every expected value below is derived in the
comments from the original's amounts (checked first).
"""

import pytest

from rl_tuner.music import intervals
from rl_tuner.testing import reference_rewards as rewards
from rl_tuner.testing.composition import Composition

C = rewards.DEFAULT_CONFIG
G_MAJOR = rewards.MusicTheoryConfig.for_key('G', 'major')


def composition_with(notes, beat=None):
  comp = Composition(notes=list(notes))
  comp.beat = len(notes) if beat is None else beat
  return comp


# ---------------------------------------------------------------------------
# Motifs and intervals, worked out by hand (no golden file needed).
#
# Classes: class = MIDI pitch - 46, so C4 (60) = 14, D4 = 16, E4 = 18,
# F4 = 19, F#4 = 20, G4 = 21, G#4 = 22, A4 = 23, B4 = 25, C5 = 26, D5 = 28.
# Classes 0 and 1 are the hold and the rest (special events, not pitches).


def test_motif_constants():
  # The hand-worked values below assume these amounts.
  assert (rewards.MOTIF_BAR_LENGTH, rewards.MIN_NOTES_IN_MOTIF) == (8, 3)
  assert (rewards.MOTIF_REWARD, rewards.MOTIF_BONUS_PER_NOTE,
          rewards.REPEATED_MOTIF_REWARD) == (3.0, 0.3, 4.0)


def test_motif_with_three_distinct_pitches():
  # Last bar (7 notes + the action) C4 hold D4 rest E4 hold C4 hold: three
  # distinct pitches {14, 16, 18} -> MOTIF_REWARD = 3.0 with no bonus. Were
  # the hold and rest counted as pitches there would be 5: 3.6.
  comp = composition_with([14, 0, 16, 1, 18, 0, 14])
  assert rewards.detect_last_motif(comp.notes + [0]) == (
      [14, 0, 16, 1, 18, 0, 14, 0], 3)
  assert rewards.reward_motif(comp, 0) == 3.0


def test_motif_bonus_per_extra_pitch():
  # C4 D4 E4 F4 G4 hold hold + rest: 5 distinct pitches -> 3.0 + (5 - 3) *
  # 0.3 = 3.6.
  comp = composition_with([14, 16, 18, 19, 21, 0, 0])
  assert rewards.reward_motif(comp, 1) == pytest.approx(3.6, abs=1e-12)
  # Four distinct pitches: 3.0 + 1 * 0.3 = 3.3.
  comp = composition_with([14, 16, 18, 0, 14, 16, 18])
  assert rewards.reward_motif(comp, 19) == pytest.approx(3.3, abs=1e-12)
  # Eight distinct pitches: 3.0 + 5 * 0.3 = 4.5.
  comp = composition_with([14, 16, 18, 19, 21, 23, 25])
  assert rewards.reward_motif(comp, 26) == pytest.approx(4.5, abs=1e-12)


def test_no_motif_below_three_pitches_or_a_bar():
  # Two distinct pitches (C4, D4) among holds and rests: no motif, 0. Were
  # the special classes counted as pitches there would be 4 (3.3).
  comp = composition_with([14, 0, 16, 1, 14, 0, 16])
  assert rewards.detect_last_motif(comp.notes + [1]) == (None, 2)
  assert rewards.reward_motif(comp, 1) == 0.0
  # Only holds and rests around a single pitch: 1 distinct pitch, 0.
  assert rewards.reward_motif(composition_with([0, 1, 0, 1, 0, 1, 0]),
                              14) == 0.0
  # Seven steps (6 notes + the action), all distinct pitches: shorter than
  # a bar, 0.
  comp = composition_with([14, 16, 18, 19, 21, 23])
  assert rewards.detect_last_motif(comp.notes + [25]) == (None, 0)
  assert rewards.reward_motif(comp, 25) == 0.0
  # Only the last 8 steps count: A4 B4 C5 earlier, then C4 x6, D4 x2 in the
  # last bar: 2 distinct pitches, 0.
  comp = composition_with([23, 25, 26, 14, 14, 14, 14, 14, 14, 16])
  assert rewards.reward_motif(comp, 16) == 0.0


# A motif of 5 distinct pitches (C4 D4 E4 F4 G4) with a hold and rests.
_MOTIF5 = [14, 16, 18, 19, 21, 0, 1, 0]
# A motif of 3 distinct pitches (C4 D4 E4).
_MOTIF3 = [14, 0, 16, 0, 18, 0, 14, 1]


def test_repeated_motif_reward():
  # The motif, then the motif again: the action completes the second copy,
  # and the first (notes[:-7], the first 8 steps) lies wholly before it.
  # 5 distinct pitches: REPEATED_MOTIF_REWARD + (5 - 3) = 4 + 2 = 6.
  comp = composition_with(_MOTIF5 + _MOTIF5[:7])
  assert rewards.detect_repeated_motif(comp, _MOTIF5[7]) == (True, _MOTIF5)
  assert rewards.reward_repeated_motif(comp, _MOTIF5[7]) == 6.0
  # 3 distinct pitches: 4 + 0 = 4.
  comp = composition_with(_MOTIF3 + _MOTIF3[:7])
  assert rewards.reward_repeated_motif(comp, _MOTIF3[7]) == 4.0
  # Something else between the copies does not matter: 4 + 2 = 6.
  comp = composition_with(_MOTIF5 + [23, 0, 25] + _MOTIF5[:7])
  assert rewards.reward_repeated_motif(comp, _MOTIF5[7]) == 6.0


def test_repeated_motif_needs_an_earlier_copy():
  # A motif (5 distinct pitches) after a different bar: not repeated, 0 (the
  # plain motif reward still applies: 3.6).
  comp = composition_with([23, 25, 26, 0, 23, 25, 26, 1] + _MOTIF5[:7])
  assert rewards.detect_repeated_motif(comp, _MOTIF5[7]) == (False, None)
  assert rewards.reward_repeated_motif(comp, _MOTIF5[7]) == 0.0
  assert rewards.reward_motif(comp, _MOTIF5[7]) == pytest.approx(3.6)
  # The first copy once the last action differs: not repeated, 0.
  comp = composition_with(_MOTIF5 + _MOTIF5[:7])
  assert rewards.reward_repeated_motif(comp, 23) == 0.0
  # A bar repeated exactly but with 2 distinct pitches is no motif: 0.
  bar = [14, 0, 16, 0, 14, 0, 16, 0]
  comp = composition_with(bar + bar[:7])
  assert rewards.reward_repeated_motif(comp, bar[7]) == 0.0


def test_repeated_motif_ignores_overlapping_copies():
  # C4 D4 E4 repeated (period 3). With 11 steps the last bar, steps 3..10,
  # equals steps 0..7, but that copy overlaps the last bar: the search looks
  # only at notes[:-7] (3 notes here), so 0.
  melody = [14, 16, 18] * 4  # 12 classes; the action is melody[10] = 16.
  comp = composition_with(melody[:10])
  assert melody[3:11] == melody[0:8]
  assert rewards.reward_repeated_motif(comp, 16) == 0.0
  # With 19 steps the last bar, steps 11..18, equals steps 2..9, which lie
  # wholly in notes[:-7] = steps 0..10: repeated, 3 distinct pitches, 4.
  melody = [14, 16, 18] * 7  # The action is melody[18] = 14.
  comp = composition_with(melody[:18])
  assert melody[11:19] == melody[2:10]
  assert rewards.reward_repeated_motif(comp, 14) == 4.0


def test_interval_constants():
  # The codes and table entries the hand-worked interval tests rely on.
  assert (intervals.IN_KEY_THIRD, intervals.IN_KEY_FIFTH, intervals.THIRD,
          intervals.MINOR_THIRD, intervals.FIFTH, intervals.SECOND) == (
              -3, -5, 4, 3, 7, 2)
  assert rewards.PREFERRED_INTERVAL_SCALER == 5.0
  assert rewards.INTERVAL_REWARDS[intervals.IN_KEY_THIRD] == 0.15
  assert rewards.INTERVAL_REWARDS[intervals.IN_KEY_FIFTH] == 0.1
  assert rewards.INTERVAL_REWARDS[intervals.THIRD] == 0.09
  assert rewards.INTERVAL_REWARDS[intervals.FIFTH] == 0.02
  assert rewards.INTERVAL_REWARDS[intervals.SECOND] == 0.08
  # No entry for a minor third (3 semitones): it earns 0.
  assert intervals.MINOR_THIRD not in rewards.INTERVAL_REWARDS


def _interval(prev_notes, action, config=C):
  comp = composition_with(prev_notes)
  return (rewards.detect_sequential_interval(comp, action, config)[0],
          rewards.reward_preferred_intervals(comp, action, config))


def test_c_major_intervals_by_hand():
  # C major: tonic triad C (2, 14, 26), E (6, 18, 30), G (9, 21, 33).
  # C4 -> E4: a major third from the tonic: IN_KEY_THIRD, 0.15 * 5 = 0.75.
  assert _interval([14], 18) == (intervals.IN_KEY_THIRD, pytest.approx(0.75))
  # E4 -> C4: a third down from the third: IN_KEY_THIRD, 0.75.
  assert _interval([18], 14) == (intervals.IN_KEY_THIRD, pytest.approx(0.75))
  # E4 -> G4: 3 semitones, a minor third; C major's third is 4 semitones, so
  # a plain interval 3, which the table does not list: 0.
  assert _interval([18], 21) == (3, 0.0)
  # C4 -> G4: a fifth from the tonic: IN_KEY_FIFTH, 0.1 * 5 = 0.5.
  assert _interval([14], 21) == (intervals.IN_KEY_FIFTH, pytest.approx(0.5))
  # G4 -> D5: a fifth from the fifth: IN_KEY_FIFTH, 0.5.
  assert _interval([21], 28) == (intervals.IN_KEY_FIFTH, pytest.approx(0.5))
  # D4 -> F4: 3 semitones: 0.
  assert _interval([16], 19) == (3, 0.0)
  # D4 -> F#4: 4 semitones, but D is not C or E: a plain THIRD,
  # 0.09 * 5 = 0.45.
  assert _interval([16], 20) == (intervals.THIRD, pytest.approx(0.45))
  # D4 -> A4: 7 semitones, D is not C or G: a plain FIFTH, 0.02 * 5 = 0.1.
  assert _interval([16], 23) == (intervals.FIFTH, pytest.approx(0.1))
  # C4 -> D4: a SECOND, 0.08 * 5 = 0.4.
  assert _interval([14], 16) == (intervals.SECOND, pytest.approx(0.4))
  # Holds and rests are skipped to find the previous pitch: C4 hold rest
  # -> E4 is still an in-key third (0.75).
  assert _interval([14, 0, 1], 18) == (intervals.IN_KEY_THIRD,
                                       pytest.approx(0.75))
  # As in the original, the rule looks at the previous note and the size
  # only: E4 -> G#4 (4 semitones up from the third) is an IN_KEY_THIRD
  # although G# is not in C major.
  assert _interval([18], 22) == (intervals.IN_KEY_THIRD, pytest.approx(0.75))


def test_g_major_intervals_by_hand():
  # G major: tonic triad G (9, 21, 33), B (13, 25, 37), D (4, 16, 28).
  # G4 -> B4: a major third from the tonic: IN_KEY_THIRD, 0.75.
  assert _interval([21], 25, G_MAJOR) == (intervals.IN_KEY_THIRD,
                                          pytest.approx(0.75))
  # B4 -> G4: a third down from the third: IN_KEY_THIRD, 0.75.
  assert _interval([25], 21, G_MAJOR) == (intervals.IN_KEY_THIRD,
                                          pytest.approx(0.75))
  # C4 -> E4: C is not G or B in G major: a plain THIRD, 0.09 * 5 = 0.45
  # (0.75 in C major).
  assert _interval([14], 18, G_MAJOR) == (intervals.THIRD, pytest.approx(0.45))
  assert _interval([14], 18, C) == (intervals.IN_KEY_THIRD, pytest.approx(0.75))
  # B4 -> D5: 3 semitones from the third: not G major's third size: 0.
  assert _interval([25], 28, G_MAJOR) == (3, 0.0)
  # G4 -> D5: a fifth from the tonic: IN_KEY_FIFTH (0.5) in G major and,
  # from C major's fifth, in C major too.
  assert _interval([21], 28, G_MAJOR) == (intervals.IN_KEY_FIFTH,
                                          pytest.approx(0.5))
  assert _interval([21], 28, C) == (intervals.IN_KEY_FIFTH, pytest.approx(0.5))
  # D4 -> A4: a fifth from G major's fifth (0.5); a plain fifth in C (0.1).
  assert _interval([16], 23, G_MAJOR) == (intervals.IN_KEY_FIFTH,
                                          pytest.approx(0.5))
  assert _interval([16], 23, C) == (intervals.FIFTH, pytest.approx(0.1))
