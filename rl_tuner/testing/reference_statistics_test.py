"""The one-note-at-a-time statistics oracle against the original's outputs."""

import pytest

from rl_tuner.evaluation import statistics
from rl_tuner.testing import reference_statistics

# The count the original got wrong (defect 3).
IN_KEY_KEY = 'num_in_key_preferred_intervals'


@pytest.fixture
def golden(golden_metrics):
  return golden_metrics


def _count_in_key_thirds(compositions):
  """Major thirds from C or E (C major tonic triad), holds and rests
  skipped."""
  c_notes, e_notes = {2, 14, 26}, {6, 18, 30}
  thirds = 0
  for notes in compositions:
    prev = None
    for note in notes:
      if note >= 2:
        if prev is not None:
          thirds += abs(note - prev) == 4 and prev in c_notes | e_notes
        prev = note
  return thirds


def test_reference_path_matches_the_original(golden):
  stats = reference_statistics.compute_composition_stats_reference(
      golden['compositions'])
  fast = statistics.compute_composition_stats_for_compositions(
      golden['compositions'])
  reference_statistics.assert_same_stats(stats, fast)
  assert stats[IN_KEY_KEY] == 93 + _count_in_key_thirds(golden['compositions'])
