"""Constants and small helpers shared by the RL Tuner modules.

Class indices follow `note_rnn.encoding`: classes 0 and 1 are the two special
events and class k >= 2 is MIDI pitch 46 + k (C3 = class 2, C4 = class 14,
B5 = class 37). Key and scale sets below are sets of class indices.

Sections:
  * encoding constants re-exported for the RL Tuner code,
  * music-theory constants (keys, scales, intervals, leap outcomes),
  * key helpers that build those sets for any major or natural-minor key,
  * numeric helpers (autocorrelation, annealing, softmax, one-hot, decoding),
  * hyperparameter presets under the original names.
"""

import os

import numpy as np

from note_rnn import encoding
from note_rnn.model import hparams as note_rnn_hparams
from rl_tuner.agents.dqn import dqn_hparams
from rl_tuner.magenta import not_applicable

NotApplicableError = not_applicable.NotApplicableError

# ---------------------------------------------------------------------------
# Encoding constants.

# Number of note classes: 2 special events + 36 pitches.
NUM_CLASSES = encoding.NUM_CLASSES
# Classes below this index are special events (hold / rest), not pitches.
NUM_SPECIAL_EVENTS = encoding.NUM_SPECIAL_EVENTS
# MIDI pitch range of the pitched classes: [MIN_NOTE, MAX_NOTE).
MIN_NOTE = encoding.MIN_NOTE
MAX_NOTE = encoding.MAX_NOTE
# Semitones in an octave; a class's pitch class is (class - 2) % 12 with
# 0 = C.
SEMITONES_PER_OCTAVE = 12
# MIDI pitch of class NUM_SPECIAL_EVENTS (the original's name).
INITIAL_MIDI_VALUE = encoding.MIN_NOTE
# Key melodies were transposed to by the data pipeline (0: C).
TRANSPOSE_TO_KEY = encoding.TRANSPOSE_TO_KEY
# Tempo of written MIDI files, quarter notes per minute.
DEFAULT_QPM = encoding.DEFAULT_QPM
# Melodies per Note RNN training batch (the original's default).
BATCH_SIZE = note_rnn_hparams.NoteRNNHParams.batch_size
# The original's TF1 collection name of LSTM states (unused here).
LSTM_STATE_NAME = 'lstm'

# ---------------------------------------------------------------------------
# Music-theory constants of the original reward functions (C major).

# Two octaves of the C major scale, C3..C5, as classes (used by the 'scale'
# reward, which rewards stepping up this list).
C_MAJOR_SCALE = (2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26)
# Every class in C major over the whole range, plus both special events
# (holds and rests never count as out of key).
C_MAJOR_KEY = (0, 1, 2, 4, 6, 7, 9, 11, 13, 14, 16, 18, 19, 21, 23, 25, 26,
               28, 30, 31, 33, 35, 37)
# Class of C4 (MIDI 60), the tonic the rewards and statistics look for.
C_MAJOR_TONIC = 14
# Class of A4 (MIDI 69), tonic of the relative minor.
A_MINOR_TONIC = 23

# Interval sizes in semitones.
HALFSTEP = 1
SECOND = 2
THIRD = 4
FOURTH = 5
FIFTH = 7
SIXTH = 9
SEVENTH = 11
OCTAVE = 12
# Minor third: the tonic-to-third step of a minor key.
MINOR_THIRD = 3

# Codes that `detect_sequential_interval` returns instead of a semitone count.
# Negative so that they never collide with a real interval. The original
# names say "third or fifth", but the notes they test are the tonic and the
# fifth of the key.
REST_INTERVAL = -1
HOLD_INTERVAL = -1.5
REST_INTERVAL_AFTER_THIRD_OR_FIFTH = -2
HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH = -2.5
# A third up or down from the tonic or the third of the key.
IN_KEY_THIRD = -3
# A fifth up or down from the tonic or the fifth of the key.
IN_KEY_FIFTH = -5

# Direction of a melodic leap (and of the pending, unresolved leap).
ASCENDING = 1
DESCENDING = -1

# Outcomes of leap detection (0 = nothing happened).
LEAP_RESOLVED = 1
LEAP_DOUBLED = -1

# ---------------------------------------------------------------------------
# Key helpers.

# Semitone offsets from the tonic of the seven scale degrees.
MAJOR_SCALE_STEPS = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_SCALE_STEPS = (0, 2, 3, 5, 7, 8, 10)
SCALE_STEPS = {'major': MAJOR_SCALE_STEPS, 'minor': NATURAL_MINOR_SCALE_STEPS}

# Pitch class (0 = C) of note names; sharps and flats with '#' / 'b'.
_NOTE_LETTERS = {'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}
_ACCIDENTALS = {'': 0, '#': 1, 'b': -1}

# Class of the lowest C (C3 = MIDI 48) and of C4, the octave tonics live in.
_LOWEST_C_CLASS = NUM_SPECIAL_EVENTS
_TONIC_OCTAVE_C_CLASS = C_MAJOR_TONIC


def pitch_class(note_name):
  """Pitch class 0..11 (0 = C) of a note name such as 'G', 'F#' or 'Bb'.

  Args:
    note_name: a name (letter, optional '#' or 'b'), or an int pitch class
      that is returned modulo 12.

  Returns:
    int in [0, 12).

  Raises:
    ValueError: for an unknown name.
  """
  if isinstance(note_name, (int, np.integer)):
    return int(note_name) % SEMITONES_PER_OCTAVE
  name = str(note_name).strip()
  if (not name or name[0].upper() not in _NOTE_LETTERS or
      name[1:] not in _ACCIDENTALS):
    raise ValueError(
        f'unknown note name {note_name!r}; use a letter A-G optionally '
        f"followed by '#' or 'b'")
  return ((_NOTE_LETTERS[name[0].upper()] + _ACCIDENTALS[name[1:]]) %
          SEMITONES_PER_OCTAVE)


def class_pitch_class(cls):
  """Pitch class (0 = C) of a pitched class index (>= 2)."""
  return (int(cls) - _LOWEST_C_CLASS) % SEMITONES_PER_OCTAVE


def classes_of_pitch_class(pc):
  """All pitched classes of one pitch class, ascending.

  Example: classes_of_pitch_class(0) == (2, 14, 26), the three Cs.
  """
  first = _LOWEST_C_CLASS + pitch_class(pc)
  return tuple(range(first, NUM_CLASSES, SEMITONES_PER_OCTAVE))


def _check_mode(mode):
  if mode not in SCALE_STEPS:
    raise ValueError(f'mode must be one of {sorted(SCALE_STEPS)}; got '
                     f'{mode!r}')
  return SCALE_STEPS[mode]


def key_classes(tonic_pitch_class, mode='major'):
  """Classes in a major or natural-minor key, including both special events.

  Args:
    tonic_pitch_class: pitch class of the tonic (0 = C) or a note name.
    mode: 'major' or 'minor' (natural minor).

  Returns:
    Sorted tuple of class indices; key_classes(0) == C_MAJOR_KEY.
  """
  steps = _check_mode(mode)
  tonic = pitch_class(tonic_pitch_class)
  pcs = {(tonic + s) % SEMITONES_PER_OCTAVE for s in steps}
  pitched = [c for c in range(NUM_SPECIAL_EVENTS, NUM_CLASSES)
             if class_pitch_class(c) in pcs]
  return tuple(range(NUM_SPECIAL_EVENTS)) + tuple(pitched)


def scale_classes(tonic_pitch_class, mode='major'):
  """Two ascending octaves of a scale from its lowest tonic (15 classes).

  The tonic is taken in the lowest octave (C3..B3), so the scale always fits
  the 36-pitch range; scale_classes(0) == C_MAJOR_SCALE.
  """
  steps = _check_mode(mode)
  low_tonic = _LOWEST_C_CLASS + pitch_class(tonic_pitch_class)
  return tuple(low_tonic + octave * SEMITONES_PER_OCTAVE + s
               for octave in range(2) for s in steps) + (
                   low_tonic + 2 * SEMITONES_PER_OCTAVE,)


def tonic_class(tonic_pitch_class):
  """Class of the tonic in the octave of middle C (MIDI 60..71).

  tonic_class('C') == C_MAJOR_TONIC (14), tonic_class('A') == A_MINOR_TONIC.
  """
  return _TONIC_OCTAVE_C_CLASS + pitch_class(tonic_pitch_class)


# ---------------------------------------------------------------------------
# Numeric helpers.


def autocorrelate(signal, lag=1):
  """Correlation coefficient of a sequence with itself `lag` steps later.

  Computed like the original: sum_i x[i] * x[i - lag] / n / var, with x the
  mean-removed signal, so it is biased towards 0 for short sequences, is 0
  when lag >= n (and the signal is not constant), and NaN for a constant
  signal (zero variance).

  Args:
    signal: 1-D sequence of numbers (e.g. note classes), length n >= 1.
    lag: offset in steps, >= 1.

  Returns:
    float (numpy float64), NaN for constant signals.
  """
  return autocorrelations(signal, (lag,))[0]


def autocorrelations(signal, lags):
  """`autocorrelate` at several lags, sharing the mean and the variance.

  The floating-point operations are those of np.mean and np.var, so the
  values equal the original's bit for bit.

  Returns:
    float64 array [len(lags)].
  """
  signal = np.asarray(signal)
  n = len(signal)
  x = signal - signal.sum(dtype=np.float64) / n
  variance = (x * x).sum() / n
  values = np.empty(len(lags))
  with np.errstate(invalid='ignore', divide='ignore'):
    for i, lag in enumerate(lags):
      overlap = max(n - lag, 0)
      values[i] = (x[lag:lag + overlap] * x[:overlap]).sum() / float(n) / (
          variance)
  return values


def linear_annealing(n, total, p_initial, p_final):
  """Linearly interpolates from p_initial (step 0) to p_final (step total).

  Args:
    n: current step.
    total: number of steps over which to anneal (the exploration period).
    p_initial: value at step 0.
    p_final: value from step `total` on.

  Returns:
    float.
  """
  if n >= total:
    return p_final
  return p_initial - (n * (p_initial - p_final)) / total


def softmax(x):
  """Softmax along axis 0, shifted by the global max for stability.

  Args:
    x: array [num_classes] or [num_classes, ...] of scores.

  Returns:
    Array of the same shape whose entries along axis 0 sum to 1.
  """
  e_x = np.exp(x - np.max(x))
  return e_x / e_x.sum(axis=0)


def decoder(event_list, transpose_amount):
  """Maps classes to Magenta melody events (-2 hold, -1 rest, MIDI pitch).

  Args:
    event_list: sequence of class ints.
    transpose_amount: semitones the melody was transposed up by; subtracted
      from every pitch.

  Returns:
    list of ints.
  """
  return encoding.classes_to_events(event_list, transpose_amount)


def make_onehot(int_list, one_hot_length):
  """One-hot encodes a list of ints.

  Args:
    int_list: sequence of n ints in [0, one_hot_length).
    one_hot_length: vector length.

  Returns:
    float64 array [n, one_hot_length].
  """
  ints = np.asarray(int_list, dtype=np.int64).reshape(-1)
  onehot = np.zeros((ints.size, one_hot_length))
  onehot[np.arange(ints.size), ints] = 1.0
  return onehot


def sample_softmax(softmax_vect, rng=None):
  """Draws a class from probabilities [num_classes].

  Args:
    softmax_vect: probabilities (need not sum exactly to 1).
    rng: numpy Generator; default a fresh unseeded one.

  Returns:
    int class index.
  """
  from rl_tuner.agents import exploration as policy  # pylint: disable=g-import-not-at-top
  rng = rng if rng is not None else np.random.default_rng()
  probabilities = np.asarray(softmax_vect, np.float64).reshape(1, -1)
  return int(policy.sample_classes(probabilities, rng)[0])


def log_sum_exp(xs):
  """log(sum(exp(xs))) over the last axis, computed stably.

  Args:
    xs: array [..., n].

  Returns:
    float64 array [...] (the original's was a TF1 op).
  """
  xs = np.asarray(xs, np.float64)
  maxes = np.max(xs, axis=-1, keepdims=True)
  return maxes[..., 0] + np.log(np.sum(np.exp(xs - maxes), axis=-1))


def get_next_file_name(directory, prefix, extension):
  """`directory/prefix.extension`, or prefix1, prefix2... if it exists."""
  name = os.path.join(directory, f'{prefix}.{extension}')
  i = 0
  while os.path.exists(name):
    i += 1
    name = os.path.join(directory, f'{prefix}{i}.{extension}')
  return name


def get_inner_scope(scope_str):
  """A variable name without its outermost scope: 'a/b/c:0' -> 'b/c:0'."""
  return scope_str[scope_str.find('/') + 1:]


def trim_variable_postfixes(scope_str):
  """A TF1 variable name without its ':N' output index: 'a/b:0' -> 'a/b'.

  Like the original, the last character is dropped when there is no ':'.
  """
  return scope_str[:scope_str.find(':')]


def get_variable_names(graph=None, scope=None):
  """Not applicable: there are no TF1 graphs."""
  del graph, scope
  raise NotApplicableError(
      'rl_tuner_ops.get_variable_names read a TF1 graph; a network lists its '
      'weights as network.variable_names and network.variables')


def make_rnn_cell(rnn_layer_sizes=None, state_is_tuple=False):
  """Not applicable: the LSTM is note_rnn.model.NoteRNN."""
  del rnn_layer_sizes, state_is_tuple
  raise NotApplicableError(
      'rl_tuner_ops.make_rnn_cell built a TF1 MultiRNNCell; build the '
      'network as note_rnn.model.NoteRNN(hparams) (or '
      'rl_tuner.note_rnn_loader.NoteRNNLoader)')


# ---------------------------------------------------------------------------
# Hyperparameter presets, under the names the original module used.

# Note RNN hparams of the paper's model and of Magenta's basic_rnn.
default_hparams = note_rnn_hparams.default_hparams
basic_rnn_hparams = note_rnn_hparams.basic_rnn_hparams
# The original RLTuner class's DQN defaults (discount 0.95).
default_dqn_hparams = dqn_hparams.default_dqn_hparams

# ---------------------------------------------------------------------------
# Names of the RL Tuner's choices (checked by RLTuner and the command line).

ALGORITHM_NAMES = ('q', 'psi', 'g', 'pure_rl')
# The original also accepted 'default' for Q learning.
ALGORITHM_ALIASES = {'default': 'q'}
# Algorithms whose reward leaves log p(a|s) out (g puts it in its value).
ALGORITHMS_WITHOUT_LOG_P_REWARD = ('g', 'pure_rl')
EXPLORATION_MODES = ('egreedy', 'boltzmann')
PRIMING_MODES = ('random_note', 'random_midi', 'single_midi')
NOTE_RNN_TYPES = ('default', 'basic_rnn')
