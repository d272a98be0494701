"""Tests of the composition state."""

from rl_tuner.testing.composition import Composition


def test_append_reset_copy():
  comp = Composition()
  comp.append(14)
  comp.append(16)
  assert comp.notes == [14, 16] and comp.beat == 2 and len(comp) == 2
  comp.direction, comp.leapt_from, comp.steps_since_last_leap = 1, 14, 3
  twin = comp.copy()
  twin.append(0)
  twin.direction = 0
  assert comp.notes == [14, 16] and comp.leap_state == (1, 14, 3)
  assert twin.notes == [14, 16, 0] and twin.beat == 3
  comp.reset()
  assert comp == Composition()
  assert comp.leap_state == (0, None, 0)


def test_beat_is_independent_of_the_notes():
  comp = Composition(notes=[14, 16])
  assert comp.beat == 0  # set by the caller, as the original's self.beat
  comp.beat = 5
  comp.append(18)
  assert comp.beat == 6 and len(comp) == 3
