"""Tests of the key sets and key helpers, values worked out by hand."""

import pytest

from note_rnn import encoding
from rl_tuner.music import keys


def test_c_major_helpers_give_the_original_constants():
  assert keys.NUM_CLASSES == encoding.NUM_CLASSES == 38
  assert keys.key_classes(0) == keys.C_MAJOR_KEY
  assert keys.key_classes('C', 'major') == keys.C_MAJOR_KEY
  assert keys.scale_classes('C') == keys.C_MAJOR_SCALE
  assert keys.tonic_class('C') == keys.C_MAJOR_TONIC == 14
  assert keys.tonic_class('A') == keys.A_MINOR_TONIC == 23
  # A natural minor is the relative minor of C major: same classes.
  assert keys.key_classes('A', 'minor') == keys.C_MAJOR_KEY


def test_other_keys_by_hand():
  # G major adds F# (pitch class 6: classes 8, 20, 32) and drops F (7, 19,
  # 31).
  g_major = set(keys.key_classes('G'))
  assert g_major == (set(keys.C_MAJOR_KEY) | {8, 20, 32}) - {7, 19, 31}
  # G scale from G3 (class 9): G A B C D E F# G ...
  assert keys.scale_classes('G')[:8] == (9, 11, 13, 14, 16, 18, 20, 21)
  assert len(keys.scale_classes('B')) == 15
  assert max(keys.scale_classes('B')) == 37  # B5, the top class
  assert keys.pitch_class('F#') == keys.pitch_class('Gb') == 6
  assert keys.pitch_class('bb') == 10
  assert keys.classes_of_pitch_class(0) == (2, 14, 26)
  assert keys.class_pitch_class(21) == 7
  with pytest.raises(ValueError):
    keys.pitch_class('H')
  with pytest.raises(ValueError):
    keys.key_classes('C', 'dorian')
