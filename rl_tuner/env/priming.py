"""How each melody starts: the first observation and the networks' states.

Modes (the original's):
  random_note  a class drawn uniformly from all 38, zero LSTM states;
  random_midi  the state after one of up to `batch_size` training melodies
               and the most probable note after it;
  single_midi  the state after a MIDI primer and the most probable note
               after it, for every melody.
All three networks start from the same state (they share their sizes).
"""

import logging

import numpy as np

from note_rnn import encoding
from note_rnn.data import melody_pipeline

# Training melodies longer than this are cut when computing priming states
# (the original's TRAIN_SEQUENCE_LENGTH).
TRAIN_SEQUENCE_LENGTH = 192
# How each melody starts: a random note, a random training melody's
# opening, or one MIDI file (the original's names).
PRIMING_MODES = ('random_note', 'random_midi', 'single_midi')

logger = logging.getLogger(__name__)


class PrimingError(ValueError):
  """A primer or training file that gives no melody."""


class Primer:
  """Primes batches of melodies for one priming mode.

  Attributes:
    priming_states: float32 [M, state_size] ('random_midi'), else None.
    priming_notes: int [M] ('random_midi'), else None.
  """

  def __init__(self, priming_mode, network, num_actions=encoding.NUM_CLASSES,
               training_files=None, midi_primer=None, rng=None):
    """Runs the priming melodies through `network` (a NoteRNN) if needed."""
    self.priming_mode = priming_mode
    self.num_actions = num_actions
    self.state_size = network.state_size
    self.priming_states = None
    self.priming_notes = None
    self._primer = None
    if priming_mode == 'random_midi':
      self._prime_from_training_files(network, training_files, rng)
    elif priming_mode == 'single_midi':
      self._prime_from_midi(network, midi_primer)

  def _prime_from_training_files(self, network, training_files, rng):
    # Imported here: it loads TensorFlow, and the settings (which read
    # PRIMING_MODES) must not.
    from note_rnn.data import sequence_example_io  # pylint: disable=g-import-not-at-top
    melodies = []
    for path in training_files:
      try:
        melodies.extend(sequence_example_io.read_class_sequences(path))
      except (FileNotFoundError,
              sequence_example_io.SequenceExampleFileError) as e:
        raise PrimingError(f'--training_data_path: {e}') from e
    melodies = [m[:TRAIN_SEQUENCE_LENGTH] for m in melodies if m]
    if not melodies:
      raise PrimingError(f'no melodies in training files {training_files}')
    count = min(len(melodies), network.hparams.batch_size)
    chosen = rng.choice(len(melodies), size=count, replace=False)
    melodies = [melodies[i] for i in sorted(chosen)]
    lengths = np.array([len(m) for m in melodies], np.int32)
    padded = np.zeros((count, lengths.max()), np.int64)
    for i, melody in enumerate(melodies):
      padded[i, :len(melody)] = melody
    logits, states = network.sequence_logits(encoding.classes_to_onehot(padded),
                                             lengths=lengths)
    last_logits = logits.numpy()[np.arange(count), lengths - 1]
    self.priming_states = states.numpy()
    self.priming_notes = np.argmax(last_logits, axis=-1)
    logger.info('Stored %d priming melodies', count)

  def _prime_from_midi(self, network, midi_primer):
    try:
      sequence = encoding.midi_file_to_note_sequence(midi_primer)
    except encoding.MidiReadError as e:
      raise PrimingError(f'--midi_primer: {e}') from e
    try:
      classes = melody_pipeline.primer_classes(sequence, midi_primer)
    except melody_pipeline.NoMelodyError as e:
      raise PrimingError(str(e)) from e
    logits, state = network.sequence_logits(encoding.classes_to_onehot([classes]))
    self._primer = (state.numpy()[0], int(np.argmax(logits.numpy()[0, -1])))

  def prime(self, batch_size, rng):
    """First observations and states of `batch_size` new melodies.

    Returns:
      (observations int [B], q_state float32 [B, S], reward_state [B, S]).
    """
    q_state = np.zeros((batch_size, self.state_size), np.float32)
    reward_state = np.zeros_like(q_state)
    if self.priming_mode == 'random_note':
      observations = rng.integers(0, self.num_actions, size=batch_size)
    elif self.priming_mode == 'random_midi':
      index = rng.integers(0, len(self.priming_states), size=batch_size)
      q_state[:] = self.priming_states[index]
      reward_state[:] = self.priming_states[index]
      observations = self.priming_notes[index]
    else:
      state, note = self._primer
      q_state[:] = state
      reward_state[:] = state
      observations = np.full(batch_size, note)
    return observations.astype(np.int64), q_state, reward_state
