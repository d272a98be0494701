"""The original rl_tuner_ops' helpers that only Magenta-era code calls.

Decoding classes to Magenta melody events, log-sum-exp, the next free file
name, the TF1 variable-name helpers, and the names that have no counterpart
here (they raise NotApplicableError). `rl_tuner.rl_tuner_ops` re-exports
them under the original names.
"""

import os

import numpy as np

from note_rnn import encoding
from note_rnn.model import hparams as note_rnn_hparams
from rl_tuner.magenta import not_applicable

NotApplicableError = not_applicable.NotApplicableError

# Melodies per Note RNN training batch (the original's default).
BATCH_SIZE = note_rnn_hparams.NoteRNNHParams.batch_size
# The original's TF1 collection name of LSTM states (unused here).
LSTM_STATE_NAME = 'lstm'


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
