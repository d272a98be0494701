"""Tests of note_rnn.runtime.durations."""

import math

import pytest

from note_rnn.runtime import durations


@pytest.mark.parametrize('seconds, text', [
    (0, '0:00:00'),
    (59.4, '0:00:59'),
    (59.6, '0:01:00'),
    (3725, '1:02:05'),
    (36_000 * 3 + 61, '30:01:01'),
    (-5, '0:00:00'),
])
def test_format_duration(seconds, text):
  assert durations.format_duration(seconds) == text


@pytest.mark.parametrize('seconds', [None, math.inf, math.nan])
def test_unknown_durations(seconds):
  assert durations.format_duration(seconds) == durations.UNKNOWN == '--'
