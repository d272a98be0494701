"""The example rewards load from their files, and tuning with each moves its
own statistic the right way (the embedded Note RNN, 6,000 steps of Q
learning with 16 melodies, the reward plus log p)."""

import pathlib

import numpy as np
import pytest
import tune_examples  # pylint: disable=g-bad-import-order

from rl_tuner.testing import reference_rewards as rewards

HERE = pathlib.Path(__file__).resolve().parent
STEPS = 6000
NUM_COMPOSITIONS = 2000


def _module(name):
  return tune_examples.load_module(name)


def _tune(tmp_path, spec, options=None, weight=1.0):
  """(melodies before, after) of a short run with the reward."""
  return tune_examples.tune(str(tmp_path), spec, options, STEPS,
                            NUM_COMPOSITIONS, seed=0, weight=weight)


@pytest.mark.slow
def test_rhythm_reward_moves_onsets_to_eighths(tmp_path):
  rhythm = _module('rhythm')
  before, after = _tune(tmp_path,
                        f'{HERE}/rhythm.py:eighth_note_onsets')
  assert rhythm.statistic(after) > rhythm.statistic(before) + 0.05


@pytest.mark.slow
def test_modulation_reward_brings_the_raised_fourth(tmp_path):
  modulate = _module('modulate')
  before, after = _tune(tmp_path,
                        f'{HERE}/modulate.py:modulate_to_dominant')
  assert modulate.statistic(after) > 2 * modulate.statistic(before) + 0.01


@pytest.mark.slow
def test_chord_tone_reward_puts_chord_tones_on_strong_beats(tmp_path):
  chords = _module('chord_tones').ChordTones(progression='C F G C')
  before, after = _tune(tmp_path, f'{HERE}/chord_tones.py:ChordTones',
                        options={'progression': 'C F G C'},
                        weight=tune_examples.examples()['chord_tones'][3])
  assert chords.statistic(after) > chords.statistic(before) + 0.03


def test_rhythm_reward_values():
  rhythm = _module('rhythm')

  class State:
    beat = 2
  actions = np.array([0, 1, 14, 30])
  np.testing.assert_array_equal(
      rhythm.eighth_note_onsets(State, actions), [0, 0, 1, 1])
  State.beat = 3
  np.testing.assert_array_equal(
      rhythm.eighth_note_onsets(State, actions), [0, 0, -1, -1])


def test_modulation_reward_values():
  modulate = _module('modulate')

  class State:
    beat = 16
    num_notes_in_melody = 32
    config = rewards.DEFAULT_CONFIG
  # Classes: C4 14 (in G major), F4 19 (not), F#4 20 (raised fourth), hold.
  actions = np.array([14, 19, 20, 0])
  np.testing.assert_array_equal(modulate.modulate_to_dominant(State, actions),
                                [1, -1, 3, 0])
  State.beat = 15
  np.testing.assert_array_equal(modulate.modulate_to_dominant(State, actions),
                                [0, 0, 0, 0])


def test_chord_progressions():
  chord_tones = _module('chord_tones')
  assert chord_tones.chord_pitch_classes('C') == {0, 4, 7}
  assert chord_tones.chord_pitch_classes('Am') == {9, 0, 4}
  assert chord_tones.chord_pitch_classes('F#') == {6, 10, 1}
  assert chord_tones.chord_pitch_classes('Bb') == {10, 2, 5}
  assert chord_tones.chord_pitch_classes('G7') == {7, 11, 2, 5}
  with pytest.raises(ValueError, match='H7'):
    chord_tones.chord_pitch_classes('H7')
  reward = chord_tones.ChordTones(progression='C, G', steps_per_chord='16')

  class State:
    beat = 16
  # Beat 16 sounds G: B (class 2 + 59 - 48 = 13) is a chord tone, C4 not.
  np.testing.assert_array_equal(reward(State, np.array([13, 14, 1])),
                                [1, -1, 0])
  State.beat = 17  # Not a strong beat.
  np.testing.assert_array_equal(reward(State, np.array([13, 14, 1])),
                                [0, 0, 0])
