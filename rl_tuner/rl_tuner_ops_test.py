"""Magenta's entry module `rl_tuner_ops` answers every name.

The constants and helpers are tested beside their homes (music/keys_test.py,
music/one_melody_test.py, agents/exploration_test.py, magenta_compat_test.py
for the Magenta-only helpers); here, that the entry module hands out those
very objects, and the helpers it still defines.
"""

import math

import numpy as np
import pytest

from rl_tuner import rl_tuner_ops as ops
from rl_tuner.agents import exploration
from rl_tuner.magenta import original_ops
from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import one_melody

# Home -> the names the entry module re-exports from it.
HOMES = {
    keys: ('NUM_CLASSES', 'NUM_SPECIAL_EVENTS', 'MIN_NOTE', 'MAX_NOTE',
           'SEMITONES_PER_OCTAVE', 'INITIAL_MIDI_VALUE', 'TRANSPOSE_TO_KEY',
           'DEFAULT_QPM', 'C_MAJOR_SCALE', 'C_MAJOR_KEY', 'C_MAJOR_TONIC',
           'A_MINOR_TONIC', 'MAJOR_SCALE_STEPS', 'NATURAL_MINOR_SCALE_STEPS',
           'SCALE_STEPS', 'pitch_class', 'class_pitch_class',
           'classes_of_pitch_class', 'key_classes', 'scale_classes',
           'tonic_class'),
    intervals: ('HALFSTEP', 'SECOND', 'THIRD', 'FOURTH', 'FIFTH', 'SIXTH',
                'SEVENTH', 'OCTAVE', 'MINOR_THIRD', 'REST_INTERVAL',
                'HOLD_INTERVAL', 'REST_INTERVAL_AFTER_THIRD_OR_FIFTH',
                'HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH', 'IN_KEY_THIRD',
                'IN_KEY_FIFTH', 'ASCENDING', 'DESCENDING', 'LEAP_RESOLVED',
                'LEAP_DOUBLED'),
    one_melody: ('autocorrelate', 'autocorrelations'),
    exploration: ('linear_annealing',),
    original_ops: ('NotApplicableError', 'BATCH_SIZE', 'LSTM_STATE_NAME',
                   'decoder', 'log_sum_exp', 'get_next_file_name',
                   'get_inner_scope', 'trim_variable_postfixes',
                   'get_variable_names', 'make_rnn_cell'),
}


@pytest.mark.parametrize('home, name', [(home, name)
                                        for home, names in HOMES.items()
                                        for name in names])
def test_each_name_is_its_home_s_object(home, name):
  assert getattr(ops, name) is getattr(home, name)


def test_the_original_constants_through_the_entry_module():
  assert ops.key_classes('C') == ops.C_MAJOR_KEY
  assert ops.tonic_class('C') == ops.C_MAJOR_TONIC == 14
  assert ops.autocorrelate([1, 2, 3, 4], 2) == pytest.approx(-0.3)
  assert ops.linear_annealing(50, 100, 1.0, 0.1) == pytest.approx(0.55)


def test_softmax_decoder_onehot():
  probs = ops.softmax(np.array([0.0, math.log(3.0)]))
  np.testing.assert_allclose(probs, [0.25, 0.75])
  assert ops.decoder([0, 1, 2, 14, 37], 0) == [-2, -1, 48, 60, 83]
  assert ops.decoder([14], 2) == [58]
  onehot = ops.make_onehot([3, 0], 5)
  np.testing.assert_array_equal(onehot, [[0, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
  assert onehot.dtype == np.float64
