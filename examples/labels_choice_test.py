"""The rhythm figure of examples/labels_choice.py, worked by hand."""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labels_choice  # pylint: disable=g-import-not-at-top,wrong-import-position


def test_mean_note_length_follows_the_encoding():
  # 0 = hold (the note goes on), 1 = rest (it ends), >= 2 a new note.
  melodies = [
      [14, 0, 0, 16, 1, 18, 0, 1],  # lengths 3, 1, 2
      [1, 0, 20, 21, 0, 0, 0, 0],  # a hold after a rest holds nothing; 1, 5
  ]
  assert labels_choice.mean_note_length(melodies) == (3 + 1 + 2 + 1 + 5) / 5
  assert math.isnan(labels_choice.mean_note_length([[1, 0, 0, 1]]))
