"""The original `NoteRNNLoader`'s names on this port's Note RNN.

Magenta's RL Tuner built its three networks as `NoteRNNLoader`s (a TF1 graph
piece plus a session) and user code calls their methods:
`rlt.q_network.get_zero_state()`, `rlt.reward_rnn.state_value`,
`model.prime_model()`, `model.variables()`... `NoteRNNLoader` here is the
port's `note_rnn.model.NoteRNN` (weights, `step`, `sequence_logits`; the
LSTM itself lives there) with those names added, and `RLTuner` builds its
`q_network`, `target_q_network` and `reward_rnn` as NoteRNNLoaders
(`tuner_networks`).

There is no graph and no session: methods that took a session accept it and
ignore it; the TF1 graph pieces (placeholders, ops, `build_graph`,
`__call__`) raise `NotApplicableError` naming what to use instead. The
checkpoint layout of the networks is the NoteRNN's: adding these names adds
no checkpointed object.

State: `state_value` is float32 [batch_size, state_size], each row one
melody's flat [c, h] per layer. A tuner's Q-network and Reward RNN read and
write the tuner's running states (one row per parallel melody), so setting
`rlt.q_network.state_value` changes what the tuner plays next, as in the
original; the target Q-network and stand-alone loaders keep their own.
"""

import collections
import dataclasses
import json
import logging
import os
import typing

import numpy as np
import tensorflow as tf

from note_rnn import encoding
from note_rnn.data import melody_pipeline
from note_rnn.data import sequence_example_io
from note_rnn.model import checkpoint_import
from note_rnn.model import note_rnn_model
from rl_tuner.env import priming
from rl_tuner.magenta import not_applicable

logger = logging.getLogger(__name__)

NotApplicableError = not_applicable.NotApplicableError


# The original's TF1 graph names -> what to use instead.
GRAPH_NAMES = {
    'graph': 'there is no TF1 graph; the weights are tf.Variables of this '
             'tf.Module (`variables`)',
    'session': 'there is no TF1 session; call the methods directly',
    'melody_sequence': 'feed one-hot inputs to step(inputs [B, 38], state) '
                       'or sequence_logits(inputs [B, T, 38], state, lengths)',
    'lengths': 'pass lengths to sequence_logits(inputs, state, lengths)',
    'initial_state': 'pass the state to step / sequence_logits',
    'logits': 'step(...) and sequence_logits(...) return the logits',
    'softmax': 'tf.nn.softmax of the logits that step / sequence_logits '
               'return',
    'state_tensor': 'step / sequence_logits return the new state',
    'train_sequence': 'run_training_batch() reads training_file_list',
    'train_labels': 'run_training_batch() reads training_file_list',
    'train_lengths': 'run_training_batch() returns the lengths',
    'train_logits': 'run_training_batch() returns the softmax',
    'train_softmax': 'run_training_batch() returns the softmax',
    'train_state': 'run_training_batch() returns the states',
    'run_network_on_melody': 'sequence_logits(inputs, state, lengths)',
}

# What the original's `cell` was asked for (`model.cell.state_size`).
CellInfo = collections.namedtuple('CellInfo',
                                  ['state_size', 'output_size',
                                   'layer_sizes'])


class _CallableVariables(tuple):
  """`variables` as the NoteRNN's tuple that the original's
  `variables()` call also works on (returns a list)."""

  def __call__(self):
    return list(self)


@dataclasses.dataclass
class _LoaderFiles:
  """Where a loader's weights and primers come from (not checkpointed)."""
  checkpoint_dir: typing.Optional[str] = None
  checkpoint_file: typing.Optional[str] = None
  midi_primer: typing.Optional[str] = None
  training_file_list: typing.Optional[typing.Tuple[str, ...]] = None
  note_rnn_type: str = 'default'
  checkpoint_scope: str = 'rnn_model'


class _StateSlot:
  """An attribute of another object that holds a loader's state."""

  def __init__(self, owner, attribute):
    self.owner, self.attribute = owner, attribute

  def get(self):
    return getattr(self.owner, self.attribute)

  def set(self, value):
    setattr(self.owner, self.attribute, value)


class NoteRNNLoader(note_rnn_model.NoteRNN):
  """A NoteRNN that also answers the original NoteRNNLoader's methods.

  Attributes (the original's):
    scope: the network's name ('q_network', ...).
    batch_size: melodies whose state `state_value` holds.
    state_value: float32 [batch_size, state_size], the current state.
    hparams: NoteRNNHParams.
    cell: CellInfo(state_size, output_size, layer_sizes).
    checkpoint_dir, checkpoint_file: where `initialize_and_restore` reads.
    midi_primer, training_file_list, note_rnn_type, checkpoint_scope.
    primer_sequence: the primer's NoteSequence, once loaded.
    primer: int [T] classes of the MIDI primer, once loaded (the original's
      was a note_seq Melody).
    steps_per_bar: sixteenth steps per bar of the primer, once loaded.
    priming_note: float32 one-hot [38], after `prime_model`.
    transpose_amount: 0 (melodies are not transposed).
  """

  def __init__(self, graph=None, scope='note_rnn', checkpoint_dir=None,
               checkpoint_file=None, midi_primer=None,
               training_file_list=None, hparams=None,
               note_rnn_type='default', checkpoint_scope='rnn_model', *,
               seed=None, batch_size=1):
    """Builds a network with random weights (the original's signature).

    Args:
      graph: ignored (kept so that the original's calls work).
      scope: the network's name.
      checkpoint_dir: directory (or file) `initialize_and_restore` and
        `restore_initialize_prime` read: any path `NoteRNN.load` reads.
      checkpoint_file: read when `checkpoint_dir` holds no checkpoint.
      midi_primer: MIDI file `prime_model` primes with.
      training_file_list: TFRecord files of melodies for
        `run_training_batch`.
      hparams: NoteRNNHParams; default `hparams.default_hparams()`.
      note_rnn_type: 'default' or 'basic_rnn' (both read by NoteRNN.load).
      checkpoint_scope: kept for the original's signature.
      seed: seed of the random weights, or None.
      batch_size: rows of `state_value` (the original's 1).
    """
    del graph  # No TF1 graphs here.
    super().__init__(hparams, seed=seed, name=scope)
    if isinstance(training_file_list, str):
      training_file_list = [training_file_list]
    self._files = _LoaderFiles(
        checkpoint_dir or None, checkpoint_file or None, midi_primer or None,
        tuple(training_file_list) if training_file_list else None,
        note_rnn_type, checkpoint_scope)
    self._batch_size = int(batch_size)
    self._slot = None
    self._own_state = np.zeros((self._batch_size, self.state_size),
                               np.float32)
    self.primer_sequence = None
    self.primer = None
    self.steps_per_bar = None
    self.priming_note = None
    self.transpose_amount = 0

  @classmethod
  def from_note_rnn(cls, source, scope, state_slot=None, **files):
    """A NoteRNNLoader with a copy of `source`'s weights and hparams.

    Args:
      source: a NoteRNN.
      scope: the new network's name.
      state_slot: (object, attribute name) holding the state of this
        network's melodies (a tuner's running state), or None for its own.
      **files: the constructor's checkpoint_dir, checkpoint_file,
        midi_primer, training_file_list, note_rnn_type.
    """
    loader = cls(scope=scope, hparams=source.hparams, **files)
    loader._take_weights(source)  # pylint: disable=protected-access
    if state_slot is not None:
      loader._slot = _StateSlot(*state_slot)  # pylint: disable=protected-access
    return loader

  def _take_weights(self, source):
    """Copies `source`'s weights, and where they came from."""
    self.copy_weights_from(source)
    self._set_origin(source.source, json.dumps(source.metadata))

  @classmethod
  def load(cls, path=None, hparams=None, scope=None):
    """NoteRNN.load, giving a NoteRNNLoader (named 'note_rnn')."""
    return cls.from_note_rnn(
        note_rnn_model.NoteRNN.load(path, hparams=hparams, scope=scope),
        'note_rnn', checkpoint_file=path)

  def clone(self, name=None):
    """A NoteRNNLoader with the same weights, files and its own state."""
    return NoteRNNLoader.from_note_rnn(
        self, name or self.name, **dataclasses.asdict(self._files))

  # --- The original's attributes --------------------------------------------

  scope = property(lambda self: self.name, doc='The network name.')
  checkpoint_dir = property(lambda self: self._files.checkpoint_dir)
  checkpoint_file = property(lambda self: self._files.checkpoint_file)
  midi_primer = property(lambda self: self._files.midi_primer)
  note_rnn_type = property(lambda self: self._files.note_rnn_type)
  checkpoint_scope = property(lambda self: self._files.checkpoint_scope)

  @property
  def training_file_list(self):
    """TFRecord files of melodies (list), or None."""
    files = self._files.training_file_list
    return list(files) if files else None

  @property
  def cell(self):
    """CellInfo: state_size (int), output_size (units of the last layer),
    layer_sizes; the original's was a TF1 MultiRNNCell."""
    return CellInfo(self.state_size, self.layer_sizes[-1], self.layer_sizes)

  @property
  def variables(self):
    """The weights (see NoteRNN); `variables()` gives them as a list."""
    return _CallableVariables(super().variables)

  @property
  def trainable_variables(self):
    return self.variables

  # --- State -----------------------------------------------------------------

  @property
  def batch_size(self):
    """Melodies whose state `state_value` holds (rows)."""
    if self._slot is not None:
      return len(self._slot.get())
    return self._batch_size

  @property
  def state_value(self):
    """float32 [batch_size, state_size]: the current state, flat [c, h]."""
    if self._slot is not None:
      return self._slot.get()
    return self._own_state

  @state_value.setter
  def state_value(self, value):
    value = np.asarray(value, np.float32)
    if value.ndim == 1:
      value = value[None]
    if value.shape != (self.batch_size, self.state_size):
      raise ValueError(
          f'{self.name}.state_value must have shape [{self.batch_size}, '
          f'{self.state_size}] (batch_size, state_size); got '
          f'{list(value.shape)}')
    if self._slot is not None:
      self._slot.set(value)
    else:
      self._own_state = value

  def get_zero_state(self):
    """float32 zeros [batch_size, state_size]."""
    return np.zeros((self.batch_size, self.state_size), np.float32)

  # --- Weights ---------------------------------------------------------------

  def initialize_new(self, session=None):
    """Gives the network new random weights (`session` is ignored)."""
    del session
    self.copy_weights_from(note_rnn_model.NoteRNN(self.hparams))

  def initialize_and_restore(self, session=None):
    """Reads the weights from `checkpoint_dir` (`session` is ignored)."""
    del session
    self.restore_vars_from_checkpoint(self.checkpoint_dir)

  def restore_initialize_prime(self, session=None):
    """Reads the weights from `checkpoint_dir`, then `prime_model()`."""
    self.initialize_and_restore(session)
    self.prime_model()

  def restore_vars_from_checkpoint(self, checkpoint_dir):
    """Reads the weights from `checkpoint_dir`, else `checkpoint_file`.

    With neither set, reads the embedded default Note RNN, as RLTuner does
    (the original downloaded the paper's).

    Args:
      checkpoint_dir: any path NoteRNN.load reads (a directory's latest
        checkpoint, a TF1 checkpoint, a NoteRNN.save directory, a .mag
        bundle), or None.

    Raises:
      FileNotFoundError: neither holds a checkpoint.
      ValueError: its layer sizes are not this network's.
    """
    tried = []
    paths = [p for p in (checkpoint_dir, self.checkpoint_file) if p]
    for path in paths or [None]:
      try:
        source = note_rnn_model.NoteRNN.load(path)
      except FileNotFoundError as e:
        tried.append(str(e))
        continue
      self._take_weights(source)
      logger.info('%s: weights read from %s', self.name, source.source)
      return
    raise FileNotFoundError(
        f'{self.name}: no Note RNN checkpoint to restore from '
        f'(checkpoint_dir={checkpoint_dir!r}, checkpoint_file='
        f'{self.checkpoint_file!r}){": " + "; ".join(tried) if tried else ""}')

  def get_variable_name_dict(self):
    """dict checkpoint name -> tf.Variable, in this port's save format.

    The names are those `NoteRNN.save` writes ('lstm_0__kernel', ...):
    `tf.train.Checkpoint(**d)` reads and writes the weights of a save's
    `weights` file. (The original's TF1 names do not map one to one: TF1
    stored each layer's input and recurrent kernels as one matrix, in
    another gate order; `NoteRNN.load` converts those files.)
    """
    return {checkpoint_import.save_key(name): variable for name, variable
            in zip(self.variable_names, super().variables)}

  # --- Priming and prediction ---------------------------------------------

  def load_primer(self):
    """Reads `midi_primer` into `primer` (classes) and `steps_per_bar`.

    A missing file is logged and leaves the primer unset, as the original.
    """
    if not self.midi_primer or not os.path.exists(self.midi_primer):
      logger.warning('No such primer file exists: %s', self.midi_primer)
      return
    sequence = encoding.midi_file_to_note_sequence(self.midi_primer)
    self.primer_sequence = sequence
    self.primer = np.asarray(melody_pipeline.primer_classes(
        sequence, self.midi_primer), np.int64)
    self.steps_per_bar = _steps_per_bar(sequence)

  def prime_model(self):
    """Runs the MIDI primer through the network from `state_value`.

    Every melody's state becomes the state after the primer; `priming_note`
    becomes the one-hot [38] of the most probable note after it.

    Raises:
      ValueError: there is no readable `midi_primer`.
    """
    if self.primer is None:
      self.load_primer()
    if self.primer is None:
      raise ValueError(f'{self.name}: prime_model needs a readable '
                       f'midi_primer (got {self.midi_primer!r})')
    inputs = np.repeat(encoding.classes_to_onehot(self.primer)[None], self.batch_size, 0)
    logits, state = self.sequence_logits(inputs, self.state_value)
    self.state_value = state.numpy()
    self.priming_note = self.get_note_from_softmax(
        tf.nn.softmax(logits[-1, -1]).numpy())

  def get_note_from_softmax(self, softmax):
    """One-hot float32 [38] of the most probable class of softmax [38]."""
    return encoding.classes_to_onehot(int(np.argmax(softmax)))

  def get_next_note_from_note(self, note):
    """The most probable next note after `note`; advances `state_value`.

    Args:
      note: one-hot [38] (played in every melody) or [batch_size, 38].

    Returns:
      One-hot float32 with the shape of `note`.
    """
    note = np.asarray(note, np.float32)
    inputs = np.broadcast_to(note, (self.batch_size, self.num_classes))
    logits, self.state_value = self.step(inputs, self.state_value)
    classes = np.argmax(logits.numpy(), axis=-1)
    return encoding.classes_to_onehot(classes[0] if note.ndim == 1 else classes)

  def run_training_batch(self):
    """Runs one batch of training melodies through the network.

    The first `hparams.batch_size` melodies of `training_file_list`, cut
    and padded to priming.TRAIN_SEQUENCE_LENGTH (192) steps, from zero
    states.

    Returns:
      (softmax float32 [batch * 192, 38] (row i * 192 + t: melody i after
      step t; padding rows too), final states float32 [batch, state_size]
      (after each melody's last real step), lengths int32 [batch]); None
      (with a warning) when there is no training_file_list.
    """
    if not self.training_file_list:
      logger.warning('%s: no training_file_list, no training batch',
                     self.name)
      return None
    length = priming.TRAIN_SEQUENCE_LENGTH
    melodies = []
    for path in self.training_file_list:
      melodies += [m[:length] for m in
                   sequence_example_io.read_class_sequences(path) if m]
    melodies = melodies[:self.hparams.batch_size]
    if not melodies:
      raise ValueError(f'no melodies in {self.training_file_list}')
    lengths = np.array([len(m) for m in melodies], np.int32)
    padded = np.zeros((len(melodies), length), np.int64)
    for i, melody in enumerate(melodies):
      padded[i, :len(melody)] = melody
    logits, states = self.sequence_logits(encoding.classes_to_onehot(padded),
                                          lengths=lengths)
    softmax = tf.nn.softmax(tf.reshape(logits, [-1, self.num_classes]))
    return softmax.numpy(), states.numpy(), lengths

  # --- The original's TF1 graph: not applicable ------------------------------

  def build_graph(self):
    """Not applicable: the network is built when it is constructed."""
    raise NotApplicableError(
        'NoteRNNLoader.build_graph built the TF1 graph; the network is '
        'built when it is constructed (NoteRNNLoader(...) / NoteRNN(...))')

  def __call__(self, *unused_args, **unused_kwargs):
    """Not applicable: the original returned a TF1 logits op."""
    raise NotApplicableError(
        'calling a NoteRNNLoader returned a TF1 logits op; use '
        'step(inputs [B, 38], state) for one note or sequence_logits('
        'inputs [B, T, 38], state, lengths) for sequences')

  def __repr__(self):
    return (f'NoteRNNLoader(scope={self.name!r}, layer_sizes='
            f'{self.layer_sizes}, batch_size={self.batch_size})')


not_applicable.add_properties(NoteRNNLoader, GRAPH_NAMES)


def _steps_per_bar(sequence):
  """Sixteenth steps per bar of a NoteSequence's first time signature."""
  signatures = list(sequence.time_signatures)
  if not signatures:
    return encoding.STEPS_PER_BAR
  first = min(signatures, key=lambda s: s.time)
  return int(round(encoding.STEPS_PER_QUARTER * first.numerator * 4 /
                   first.denominator))


# Tuner attribute holding each network's running state (None: its own).
TUNER_STATES = (('q_network', '_q_state'), ('target_q_network', None),
                ('reward_rnn', '_reward_state'))


def tuner_networks(tuner, source):
  """The tuner's q_network, target_q_network and reward_rnn from `source`.

  Each is a NoteRNNLoader with a copy of the weights; the Q-network's and
  the Reward RNN's `state_value` are the tuner's running states.
  """
  files = dict(checkpoint_dir=tuner.note_rnn_checkpoint_dir,
               checkpoint_file=tuner.note_rnn_checkpoint_file,
               midi_primer=tuner.midi_primer,
               training_file_list=tuner.training_file_list,
               note_rnn_type=tuner.note_rnn_type)
  return tuple(
      NoteRNNLoader.from_note_rnn(
          source, scope, None if attribute is None else (tuner, attribute),
          **files)
      for scope, attribute in TUNER_STATES)
