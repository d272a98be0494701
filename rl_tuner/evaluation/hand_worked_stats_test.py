"""Composition statistics of tiny melodies, counted by hand.

Tests of statistics.compute_composition_stats_for_compositions
that need no reference material: every expected count below is worked out
step by step in the comments.

Classes: class = MIDI pitch - 46, so C4 (60) = 14, D4 = 16, E4 = 18,
F4 = 19, G4 = 21, A4 = 23, C5 = 26. Under the default ('original') labels
class 0 is NOTE_OFF (a rest) and class 1 NO_EVENT (a hold).

Interval codes (rewards.detect_sequential_interval): a third of the key's
size (4 semitones in a major key) from the tonic or the third, and a fifth
from the tonic or the fifth, are in-key preferred intervals (-3 / -5) and
count in num_in_key_preferred_intervals, not in num_thirds / num_fifths;
3 semitones (minor third), 1 (half step), 8, 12 and holds count nowhere; a
rest counts in num_rest_intervals, or in num_special_rest_intervals after
the tonic or the fifth.
"""

import numpy as np

from rl_tuner.evaluation import statistics
from rl_tuner.testing import reference_rewards as rewards

G_MAJOR = rewards.MusicTheoryConfig.for_key('G')

# Melody A, C major. Step by step (t: note, interval code -> statistic):
#   t0 C4 14  first note               -> -
#   t1 E4 18  C->E, 4 from the tonic   -> in-key third (in-key preferred)
#   t2 G4 21  E->G, 3 semitones        -> -
#   t3 C4 14  G->C, 7 from the fifth   -> in-key fifth (in-key preferred)
#   t4 D4 16  2 semitones              -> second
#   t5 F4 19  3 semitones              -> -
#   t6 rest 0 after F (not C or G)     -> rest interval
#   t7 E4 18  F->E (rest skipped), 1   -> -
#   t8 C4 14  E->C, 4 from the third   -> in-key third (in-key preferred)
#   t9 hold 1 after C                  -> - (holds count nowhere)
# In-key preferred: 3 (2 of them thirds; the original, defect 3, counted
# only the fifth: 1). Motif ends (>= 3 distinct pitches in the last 8
# steps): t7 [14 18 21 14 16 19 0 18] 5 pitches, t8 and t9 too -> 3.
MELODY_A = [14, 18, 21, 14, 16, 19, 0, 18, 14, 1]

# Melody B, C major: two pitches, then a third one.
#   t1 rest after C (the tonic)  -> special rest interval
#   t2 C4 after C, unison        -> -
#   t3 rest after C              -> special rest interval
#   t4 D4 after C, 2             -> second
#   t5 rest after D              -> rest interval
#   t6 D4 unison                 -> -
#   t7 rest after D              -> rest interval
#   t8 E4 after D, 2             -> second
#   t9 rest after E (not C or G) -> rest interval
# In-key preferred: 0. Motif ends: t7 [14 0 14 0 16 0 16 0] has 2 distinct
# pitches (the rests do not count): no; t8 [0 14 0 16 0 16 0 18] and t9
# [14 0 16 0 16 0 18 0] have 3: 2.
MELODY_B = [14, 0, 14, 0, 16, 0, 16, 0, 18, 0]

# Melody C, C major.
#   t1 A4 23  D->A, 7, D not C or G -> fifth (plain)
#   t2 G4 21  2                     -> second
#   t3 E4 18  3                     -> -
#   t4 C4 14  E->C, 4 from the third -> in-key third
#   t5 G4 21  C->G, 7 from the tonic -> in-key fifth
#   t6 C5 26  5                     -> fourth
#   t7 E4 18  8                     -> -
#   t8 hold 1                       -> -
#   t9 rest 0 after E (hold skipped) -> rest interval
# In-key preferred: 2. Motif ends: t7 [16 23 21 18 14 21 26 18] (6
# pitches), t8 (6), t9 [21 18 14 21 26 18 1 0] (4): 3.
MELODY_C = [16, 23, 21, 18, 14, 21, 26, 18, 1, 0]


def _stats(melodies, config=rewards.DEFAULT_CONFIG):
  return statistics.compute_composition_stats_for_compositions(
      np.array(melodies, np.int64), config=config)


def test_in_key_preferred_intervals_count_thirds_and_fifths():
  # Per melody (see the step tables above): A 3 (two thirds, one fifth),
  # B 0, C 2 (one third, one fifth).
  assert _stats([MELODY_A])['num_in_key_preferred_intervals'] == 3
  assert _stats([MELODY_B])['num_in_key_preferred_intervals'] == 0
  assert _stats([MELODY_C])['num_in_key_preferred_intervals'] == 2
  stats = _stats([MELODY_A, MELODY_B, MELODY_C])
  assert stats['num_in_key_preferred_intervals'] == 5
  # In-key thirds and fifths are not also counted as plain ones; C's
  # D->A is the only plain fifth.
  assert stats['num_thirds'] == 0
  assert stats['num_fifths'] == 1


def test_other_interval_counts():
  stats = _stats([MELODY_A, MELODY_B, MELODY_C])
  # Seconds: A t4; B t4, t8; C t2 -> 4. Fourths: C t6 -> 1.
  assert stats['num_seconds'] == 4
  assert stats['num_fourths'] == 1
  # Rests after a pitch other than C or G: A t6; B t5, t7, t9; C t9 -> 5.
  # After C: B t1, t3 -> 2.
  assert stats['num_rest_intervals'] == 5
  assert stats['num_special_rest_intervals'] == 2
  assert stats['num_sixths'] == stats['num_sevenths'] == 0
  assert stats['num_octave_jumps'] == 0
  assert stats['notes_not_in_key'] == 0
  assert stats['num_compositions'] == 3
  assert stats['total_notes'] == 30


def test_notes_in_motif_count_motif_ends():
  # A 3, B 2, C 3 (see above).
  assert _stats([MELODY_A])['notes_in_motif'] == 3
  assert _stats([MELODY_B])['notes_in_motif'] == 2
  assert _stats([MELODY_C])['notes_in_motif'] == 3
  assert _stats([MELODY_A, MELODY_B, MELODY_C])['notes_in_motif'] == 8
  # A bar of 2 pitches with rests and holds, repeated: never a motif.
  assert _stats([[14, 0, 16, 1] * 4])['notes_in_motif'] == 0
  # Seven distinct pitches in 7 steps: shorter than a bar, no motif.
  assert _stats([[14, 16, 18, 19, 21, 23, 25]])['notes_in_motif'] == 0


def test_melody_a_in_g_major():
  # G major: triad G (9, 21, 33), B (13, 25, 37), D (4, 16, 28); F4 (19) is
  # out of key.
  #   t1 C->E: 4, C is not G or B   -> third (plain)
  #   t3 G->C: 7 from the tonic G   -> in-key fifth
  #   t4 C->D: 2                    -> second
  #   t6 rest after F               -> rest interval
  #   t8 E->C: 4, E is not G or B   -> third (plain)
  # In-key preferred: 1; thirds: 2; notes not in key: F4 at t5 -> 1. Motif
  # counts do not depend on the key: 3.
  stats = _stats([MELODY_A], G_MAJOR)
  assert stats['num_in_key_preferred_intervals'] == 1
  assert stats['num_thirds'] == 2
  assert stats['num_fifths'] == 0
  assert stats['num_seconds'] == 1
  assert stats['num_rest_intervals'] == 1
  assert stats['notes_not_in_key'] == 1
  assert stats['notes_in_motif'] == 3
  # In C major the same melody has no plain thirds and every note in key.
  stats = _stats([MELODY_A])
  assert (stats['num_thirds'], stats['notes_not_in_key']) == (0, 0)
