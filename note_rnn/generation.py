"""Sampling melodies from a Note RNN, and drawing them as piano rolls.

All melodies of a call advance together, one `NoteRNN.step` per sixteenth
note for the whole batch. A melody starts from a primer (class sequence, the
same for every output) or from one random pitch; each following class is drawn
from softmax(logits / temperature) (`sampling.sample_logits`), or is the
argmax at temperature 0.
"""

import dataclasses
import io
import os

import numpy as np

from note_rnn import audio
from note_rnn import encoding
from note_rnn.data import melody_pipeline
from note_rnn.model import sampling
from note_rnn.runtime import outputs

# Matplotlib and the model (with TensorFlow) are imported by the functions
# that use them: --help of the tools that read the defaults here loads
# neither.

# Default length of a generated melody in sixteenth-note steps (8 bars).
DEFAULT_NUM_STEPS = 128
DEFAULT_TEMPERATURE = 1.0
# File names written by `generate` into its output folder.
MIDI_NAME_FORMAT = 'melody_{index:0{width}d}.mid'
MIN_MIDI_INDEX_WIDTH = 3
PIANO_ROLL_NAME = 'piano_roll.png'
# Piano-roll layout: melodies per column, inches per melody row, dots/inch.
PIANO_ROLL_ROWS_PER_COLUMN = 16
PIANO_ROLL_ROW_HEIGHT_IN = 1.6
PIANO_ROLL_COLUMN_WIDTH_IN = 10.0
PIANO_ROLL_DPI = 100
# Classes a random first note is drawn from: every pitch, no hold or rest.
RANDOM_FIRST_CLASSES = np.arange(encoding.NUM_SPECIAL_EVENTS,
                                 encoding.NUM_CLASSES)


class GenerationError(ValueError):
  """Unusable generation input (bad primer, lengths or temperature)."""


def sample_melodies(model, num_outputs, num_steps, primer=None,
                    temperature=DEFAULT_TEMPERATURE, seed=None):
  """Samples a batch of melodies from `model`.

  Args:
    model: NoteRNN.
    num_outputs: melodies to sample (one batch).
    num_steps: length of each melody in sixteenth-note steps, primer
      included.
    primer: optional sequence of class ints every melody starts with
      (shorter than num_steps). None: each melody starts with one pitch drawn
      uniformly from RANDOM_FIRST_CLASSES.
    temperature: >= 0; logits are divided by it before the softmax (< 1
      sharpens, > 1 flattens); 0 picks the most likely class (greedy).
    seed: int seed of the random first notes and of sampling; None: fresh.

  Returns:
    int64 array [num_outputs, num_steps] of classes in [0, 38).
  """
  if num_outputs < 1:
    raise GenerationError(f'num_outputs must be >= 1; got {num_outputs}')
  if temperature < 0 or not np.isfinite(temperature):
    raise GenerationError(f'temperature must be >= 0; got {temperature}')
  rng = np.random.default_rng(seed)
  if primer is None:
    start = rng.choice(RANDOM_FIRST_CLASSES, size=(num_outputs, 1))
  else:
    primer = np.asarray(list(primer), np.int64)
    if primer.ndim != 1 or not primer.size:
      raise GenerationError('the primer must be a non-empty class sequence')
    if primer.min() < 0 or primer.max() >= encoding.NUM_CLASSES:
      raise GenerationError(
          f'primer classes must lie in [0, {encoding.NUM_CLASSES})')
    start = np.tile(primer, (num_outputs, 1))
  if num_steps <= start.shape[1]:
    raise GenerationError(
        f'num_steps ({num_steps}) must exceed the primer length '
        f'({start.shape[1]})')

  classes = np.zeros((num_outputs, num_steps), np.int64)
  classes[:, :start.shape[1]] = start
  state = model.zero_state(num_outputs)
  # Feed the primer; the logits after its last class predict the next one.
  for t in range(start.shape[1]):
    logits, state = model.step(encoding.classes_to_onehot(classes[:, t]),
                               state)
  for t in range(start.shape[1], num_steps):
    classes[:, t] = sampling.sample_logits(logits.numpy(), temperature, rng)
    if t + 1 < num_steps:
      logits, state = model.step(encoding.classes_to_onehot(classes[:, t]),
                                 state)
  return classes


def primer_classes_from_midi(path):
  """Encodes the first melody of a MIDI file as a primer.

  See `melody_pipeline.primer_classes`: the melody keeps its key and pitches
  outside [48, 84) move by octaves.

  Raises:
    encoding.MidiReadError: missing or unreadable file.
    GenerationError: the file holds no melody.
  """
  sequence = encoding.midi_file_to_note_sequence(path)
  try:
    return melody_pipeline.primer_classes(sequence, f'primer {path}')
  except melody_pipeline.NoMelodyError as e:
    raise GenerationError(str(e)) from e


# --- Piano roll --------------------------------------------------------------


# The notes of a class sequence, (start_step, end_step, pitch) tuples.
note_spans = audio.note_spans


def plot_piano_roll(class_sequences, path, titles=None, primer_length=0,
                    column_width_in=PIANO_ROLL_COLUMN_WIDTH_IN):
  """Draws melodies as piano rolls into a PNG file (written atomically).

  One panel per melody (16 per column, further columns beside), notes as
  horizontal bars at their MIDI pitch over time in sixteenth-note steps,
  bar lines every 16 steps.

  Args:
    class_sequences: sequence of melodies, each a sequence of class ints.
    path: PNG path to write.
    titles: optional title per melody (default 'melody i').
    primer_length: leading steps drawn shaded as the primer (0: none).
    column_width_in: width of a column of panels, inches.

  Returns:
    `path`.
  """
  # Imported here: matplotlib is slow to import (see the imports above).
  # pylint: disable=g-import-not-at-top
  import matplotlib
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt

  # pylint: enable=g-import-not-at-top
  sequences = [list(s) for s in class_sequences]
  if not sequences:
    raise GenerationError('no melody to plot')
  if titles is not None and len(titles) != len(sequences):
    raise GenerationError(f'{len(titles)} titles for {len(sequences)} '
                          'melodies')
  count = len(sequences)
  columns = -(-count // PIANO_ROLL_ROWS_PER_COLUMN)
  rows = -(-count // columns)
  figure, axes = plt.subplots(
      rows, columns, squeeze=False,
      figsize=(column_width_in * columns,
               PIANO_ROLL_ROW_HEIGHT_IN * rows + 0.5))
  length = max(len(s) for s in sequences)
  try:
    for index, axis in enumerate(axes.T.flat):
      if index >= count:
        axis.axis('off')
        continue
      _draw_roll(axis, sequences[index], length, primer_length)
      axis.set_title(titles[index] if titles else f'melody {index}',
                     fontsize=8, loc='left')
    for axis in axes[-1]:
      axis.set_xlabel('sixteenth-note step')
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png', dpi=PIANO_ROLL_DPI)
  finally:
    plt.close(figure)
  outputs.write_file_atomically(path, buffer.getvalue())
  return path


def _draw_roll(axis, classes, length, primer_length):
  if primer_length:
    axis.axvspan(0, primer_length, color='0.9', zorder=0)
  for bar in range(0, length + 1, encoding.STEPS_PER_BAR):
    axis.axvline(bar, color='0.75', linewidth=0.5, zorder=1)
  for start, end, pitch in note_spans(classes):
    axis.broken_barh([(start, end - start)], (pitch - 0.4, 0.8),
                     facecolor='tab:blue', edgecolor='black', linewidth=0.3,
                     zorder=2)
  axis.set_xlim(0, length)
  axis.set_ylim(encoding.MIN_NOTE - 1, encoding.MAX_NOTE)
  axis.set_yticks(range(encoding.MIN_NOTE, encoding.MAX_NOTE, 12))
  axis.set_yticklabels([f'C{p // 12 - 1}' for p in
                        range(encoding.MIN_NOTE, encoding.MAX_NOTE, 12)],
                       fontsize=7)
  axis.tick_params(axis='x', labelsize=7)


# --- End to end --------------------------------------------------------------


@dataclasses.dataclass
class GenerationResult:
  """What `generate` wrote.

  Attributes:
    class_sequences: int64 [N, num_steps] sampled melodies (primer included).
    midi_paths: list of N MIDI file paths.
    piano_roll_path: PNG path, or None.
    primer_length: leading steps that were not sampled: the primer's length,
      or 1 for the random first note.
    model_source: where the weights came from (`NoteRNN.source`).
    wav_paths: list of N WAV file paths beside the MIDI files (empty
      without audio).
    audio: how the WAV files were made (`AudioOptions.record`), or None.
  """

  class_sequences: np.ndarray
  midi_paths: list
  piano_roll_path: str | None
  primer_length: int
  model_source: str | None
  wav_paths: list = dataclasses.field(default_factory=list)
  audio: dict | None = None


def generate(checkpoint, output_dir, num_outputs, num_steps=DEFAULT_NUM_STEPS,
             primer_midi=None, temperature=DEFAULT_TEMPERATURE, seed=None,
             qpm=encoding.DEFAULT_QPM, plot=True, audio_options=None):
  """Loads a Note RNN, samples melodies and writes them as MIDI (and a PNG).

  Args:
    checkpoint: anything `NoteRNN.load` reads; None or '' for the embedded
      default model.
    output_dir: folder for melody_000.mid, ... and piano_roll.png (created;
      files of the same names are replaced).
    num_outputs: number of melodies.
    num_steps: steps per melody, primer included.
    primer_midi: optional MIDI file whose first melody starts every output.
    temperature: sampling temperature (0: greedy).
    seed: sampling seed (None: fresh).
    qpm: tempo of the MIDI files, quarter notes per minute.
    plot: also write the piano roll.
    audio_options: audio.AudioOptions; when enabled, each melody is also
      written as melody_000.wav, ... at `qpm` (its own qpm is not used).
      None: no audio.

  Returns:
    GenerationResult.

  Raises:
    FileNotFoundError: missing checkpoint, or no embedded model.
    note_rnn.CheckpointError: unreadable checkpoint.
    encoding.MidiReadError, GenerationError: bad primer or arguments.
  """
  # Imported here: it imports TensorFlow (see the imports above).
  from note_rnn.model import note_rnn_model as model_lib  # pylint: disable=g-import-not-at-top
  model = model_lib.NoteRNN.load(checkpoint or None)
  primer = primer_classes_from_midi(primer_midi) if primer_midi else None
  classes = sample_melodies(model, num_outputs, num_steps, primer=primer,
                            temperature=temperature, seed=seed)
  os.makedirs(output_dir, exist_ok=True)
  width = max(MIN_MIDI_INDEX_WIDTH, len(str(num_outputs - 1)))
  midi_paths = []
  for index, melody in enumerate(classes):
    path = os.path.join(output_dir,
                        MIDI_NAME_FORMAT.format(index=index, width=width))
    audio.classes_to_midi_file(melody.tolist(), path, qpm=qpm)
    midi_paths.append(path)
  wav_paths, audio_record = [], None
  if audio_options is not None and audio_options.enabled:
    renderer = audio_options.get_renderer()
    for path, melody in zip(midi_paths, classes):
      wav_paths.append(audio.write_melody_wav(
          melody.tolist(), audio.wav_path_for(path), qpm,
          audio_options.program, renderer))
    audio_record = dict(audio_options.record(renderer), qpm=qpm)
  primer_length = len(primer) if primer is not None else 1
  roll = None
  if plot:
    roll = plot_piano_roll(
        classes, os.path.join(output_dir, PIANO_ROLL_NAME),
        titles=[os.path.basename(p) for p in midi_paths],
        primer_length=primer_length)
  return GenerationResult(classes, midi_paths, roll, primer_length,
                          model.source, wav_paths, audio_record)
