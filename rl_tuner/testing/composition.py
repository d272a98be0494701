"""The state of one melody being composed, as the reward functions see it.

The original RLTuner kept this state in five attributes of the model
(`composition`, `beat`, `composition_direction`, `leapt_from`,
`steps_since_last_leap`); here it is one small object so that several
melodies can be composed side by side.
"""

import dataclasses
from typing import List, Optional


@dataclasses.dataclass
class Composition:
  """One melody in progress.

  Attributes:
    notes: class ints played so far (the action being judged is not in it).
    beat: index of the step being played, in sixteenth notes from the start.
      Normally len(notes), but kept separately because the original reads its
      `beat` and its `composition` independently (the tonic reward uses the
      beat, everything else the notes).
    direction: direction of a leap that has not been resolved yet:
      0 (none), +1 (ascending) or -1 (descending) (the original's
      `composition_direction`).
    leapt_from: class of the note the pending leap started from, or None.
    steps_since_last_leap: steps since the last leap (or since the start).
  """
  notes: List[int] = dataclasses.field(default_factory=list)
  beat: int = 0
  direction: int = 0
  leapt_from: Optional[int] = None
  steps_since_last_leap: int = 0

  def reset(self):
    """Starts over at beat 0 with no notes and no pending leap."""
    self.notes = []
    self.beat = 0
    self.reset_leap_state()

  def reset_leap_state(self):
    """Forgets any pending leap."""
    self.direction = 0
    self.leapt_from = None
    self.steps_since_last_leap = 0

  def append(self, note):
    """Adds a played note (class int) and advances the beat by one."""
    self.notes.append(int(note))
    self.beat += 1

  def copy(self):
    """An independent copy (the note list is copied too)."""
    return dataclasses.replace(self, notes=list(self.notes))

  @property
  def leap_state(self):
    """(direction, leapt_from, steps_since_last_leap)."""
    return self.direction, self.leapt_from, self.steps_since_last_leap

  def __len__(self):
    return len(self.notes)
