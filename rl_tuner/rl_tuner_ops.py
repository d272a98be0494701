"""Magenta's `rl_tuner_ops` names, re-exported from where they live now.

Code written against Magenta's RL Tuner imports this module; the package
itself imports the homes instead:

  * encoding constants, keys and key helpers: `rl_tuner.music.keys`,
  * interval sizes, interval codes and leap outcomes:
    `rl_tuner.music.intervals`,
  * autocorrelation of one melody: `rl_tuner.music.one_melody`,
  * epsilon annealing: `rl_tuner.agents.exploration`,
  * the Magenta-only helpers (decoding, log-sum-exp, file and TF1 variable
    names, the not-applicable TF1 helpers): `rl_tuner.magenta.original_ops`,
  * hyperparameter presets under the original names, and the names of the
    RL Tuner's choices (below).
"""

import numpy as np

from note_rnn import encoding
from note_rnn.model import hparams as note_rnn_hparams
from note_rnn.model import sampling
from rl_tuner.agents import exploration as policy
from rl_tuner.agents import registry
from rl_tuner.agents.dqn import dqn_hparams
from rl_tuner.env import priming
from rl_tuner.magenta import original_ops
from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import one_melody

NotApplicableError = original_ops.NotApplicableError

# ---------------------------------------------------------------------------
# Encoding constants (rl_tuner.music.keys, rl_tuner.magenta.original_ops).

NUM_CLASSES = keys.NUM_CLASSES
NUM_SPECIAL_EVENTS = keys.NUM_SPECIAL_EVENTS
MIN_NOTE = keys.MIN_NOTE
MAX_NOTE = keys.MAX_NOTE
SEMITONES_PER_OCTAVE = keys.SEMITONES_PER_OCTAVE
INITIAL_MIDI_VALUE = keys.INITIAL_MIDI_VALUE
TRANSPOSE_TO_KEY = keys.TRANSPOSE_TO_KEY
DEFAULT_QPM = keys.DEFAULT_QPM
BATCH_SIZE = original_ops.BATCH_SIZE
LSTM_STATE_NAME = original_ops.LSTM_STATE_NAME

# ---------------------------------------------------------------------------
# Music-theory constants (rl_tuner.music.keys, rl_tuner.music.intervals).

C_MAJOR_SCALE = keys.C_MAJOR_SCALE
C_MAJOR_KEY = keys.C_MAJOR_KEY
C_MAJOR_TONIC = keys.C_MAJOR_TONIC
A_MINOR_TONIC = keys.A_MINOR_TONIC

HALFSTEP = intervals.HALFSTEP
SECOND = intervals.SECOND
THIRD = intervals.THIRD
FOURTH = intervals.FOURTH
FIFTH = intervals.FIFTH
SIXTH = intervals.SIXTH
SEVENTH = intervals.SEVENTH
OCTAVE = intervals.OCTAVE
MINOR_THIRD = intervals.MINOR_THIRD

REST_INTERVAL = intervals.REST_INTERVAL
HOLD_INTERVAL = intervals.HOLD_INTERVAL
REST_INTERVAL_AFTER_THIRD_OR_FIFTH = (
    intervals.REST_INTERVAL_AFTER_THIRD_OR_FIFTH)
HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH = (
    intervals.HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH)
IN_KEY_THIRD = intervals.IN_KEY_THIRD
IN_KEY_FIFTH = intervals.IN_KEY_FIFTH

ASCENDING = intervals.ASCENDING
DESCENDING = intervals.DESCENDING

LEAP_RESOLVED = intervals.LEAP_RESOLVED
LEAP_DOUBLED = intervals.LEAP_DOUBLED

# ---------------------------------------------------------------------------
# Key helpers (rl_tuner.music.keys).

MAJOR_SCALE_STEPS = keys.MAJOR_SCALE_STEPS
NATURAL_MINOR_SCALE_STEPS = keys.NATURAL_MINOR_SCALE_STEPS
SCALE_STEPS = keys.SCALE_STEPS
pitch_class = keys.pitch_class
class_pitch_class = keys.class_pitch_class
classes_of_pitch_class = keys.classes_of_pitch_class
key_classes = keys.key_classes
scale_classes = keys.scale_classes
tonic_class = keys.tonic_class


# ---------------------------------------------------------------------------
# Numeric helpers (rl_tuner.music.one_melody, rl_tuner.agents.exploration,
# rl_tuner.magenta.original_ops; softmax, one-hot and sampling below).

autocorrelate = one_melody.autocorrelate
autocorrelations = one_melody.autocorrelations
linear_annealing = policy.linear_annealing
decoder = original_ops.decoder
log_sum_exp = original_ops.log_sum_exp
get_next_file_name = original_ops.get_next_file_name
get_inner_scope = original_ops.get_inner_scope
trim_variable_postfixes = original_ops.trim_variable_postfixes
get_variable_names = original_ops.get_variable_names
make_rnn_cell = original_ops.make_rnn_cell


def softmax(x):
  """Softmax along axis 0 (`note_rnn.model.sampling.softmax`).

  Args:
    x: array [num_classes] or [num_classes, ...] of scores.

  Returns:
    float64 array of the same shape whose entries along axis 0 sum to 1.
  """
  return sampling.softmax(x, axis=0)


def make_onehot(int_list, one_hot_length):
  """One-hot encodes a list of ints.

  Args:
    int_list: sequence of n ints in [0, one_hot_length).
    one_hot_length: vector length.

  Returns:
    float64 array [n, one_hot_length].
  """
  return encoding.classes_to_onehot(np.ravel(int_list), one_hot_length,
                                    dtype=np.float64)


def sample_softmax(softmax_vect, rng=None):
  """Draws a class from probabilities [num_classes].

  Args:
    softmax_vect: probabilities (need not sum exactly to 1).
    rng: numpy Generator; default a fresh unseeded one.

  Returns:
    int class index.
  """
  rng = rng if rng is not None else np.random.default_rng()
  probabilities = np.asarray(softmax_vect, np.float64).reshape(1, -1)
  return int(sampling.sample_classes(probabilities, rng)[0])


# ---------------------------------------------------------------------------
# Hyperparameter presets, under the names the original module used.

# Note RNN hparams of the paper's model and of Magenta's basic_rnn.
default_hparams = note_rnn_hparams.default_hparams
basic_rnn_hparams = note_rnn_hparams.basic_rnn_hparams
# The original RLTuner class's DQN defaults (discount 0.95).
default_dqn_hparams = dqn_hparams.default_dqn_hparams

# ---------------------------------------------------------------------------
# Names of the RL Tuner's choices, from their homes (the algorithm
# registry, exploration, priming and the Note RNN's hparams).
ALGORITHM_NAMES = registry.NAMES
# The original also accepted 'default' for Q learning.
ALGORITHM_ALIASES = dict(registry.ALIASES)
# Algorithms whose reward leaves log p(a|s) out (g puts it in its value).
ALGORITHMS_WITHOUT_LOG_P_REWARD = tuple(
    name for name, spec in registry.ALGORITHMS.items() if spec.drops_log_p)
EXPLORATION_MODES = policy.EXPLORATION_MODES
PRIMING_MODES = priming.PRIMING_MODES
NOTE_RNN_TYPES = note_rnn_hparams.NOTE_RNN_TYPES
