"""Sample melodies as files to look at and hear: MIDI, WAV and a piano roll.

A run or a reproduction keeps a few melodies of each model in `samples/`:
`<model>_<index>.mid`, `.wav` (when audio is on) and `.png` (a one-melody
piano roll). `samples/audio.json` says how the WAV files were made (the
renderer, tempo and General MIDI program), so a page built later shows
that and knows how long each melody lasts.
"""

import json
import logging
import os

from note_rnn import audio
from note_rnn import generation
from note_rnn.runtime import outputs

SAMPLE_DIR = 'samples'
AUDIO_RECORD = 'audio.json'
# Width of a one-melody piano roll, inches (100 dots per inch).
ROLL_WIDTH_IN = 6.0


def stem(model, index):
  """File name stem of a model's index-th sample: 'q_0'."""
  return f'{model}_{index}'


def paths(directory, model, index):
  """{'midi', 'wav', 'png'}: paths of one sample inside `directory`."""
  base = os.path.join(directory, SAMPLE_DIR, stem(model, index))
  return {'midi': base + '.mid', 'wav': base + audio.WAV_SUFFIX,
          'png': base + '.png'}


def read_audio_record(directory):
  """samples/audio.json of `directory` as a dict, or None."""
  path = os.path.join(directory, SAMPLE_DIR, AUDIO_RECORD)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    return json.load(f)


def write_audio_record(directory, record):
  outputs.write_file_atomically(
      os.path.join(directory, SAMPLE_DIR, AUDIO_RECORD),
      (json.dumps(record, indent=2) + '\n').encode())


def write(directory, melodies, titles, audio_options, overwrite=True):
  """Writes each model's melodies as MIDI, WAV (if enabled) and piano roll.

  Args:
    directory: the run or reproduction folder (files go to its samples/).
    melodies: dict model -> list of class sequences (32 sixteenth steps
      each for the tuner's melodies).
    titles: dict model -> display name ('Q', 'Note RNN').
    audio_options: audio.AudioOptions (tempo of MIDI and WAV alike).
    overwrite: False: keep files that exist (a page rebuilt for committed
      results adds only what is missing).

  Returns:
    The audio record written to samples/audio.json (renderer, tempo,
    program, files), or None when audio is off.
  """
  renderer = audio_options.get_renderer() if audio_options.enabled else None
  wav_files, written = [], 0
  for model, sequences in melodies.items():
    for index, classes in enumerate(sequences):
      classes = [int(c) for c in classes]
      where = paths(directory, model, index)
      if overwrite or not os.path.exists(where['midi']):
        audio.classes_to_midi_file(classes, where['midi'],
                                   qpm=audio_options.qpm)
      if overwrite or not os.path.exists(where['png']):
        generation.plot_piano_roll(
            [classes], where['png'],
            titles=[f'{titles.get(model, model)} #{index}'],
            column_width_in=ROLL_WIDTH_IN)
      if renderer is not None:
        if overwrite or not os.path.exists(where['wav']):
          audio.write_melody_wav(classes, where['wav'], audio_options.qpm,
                                 audio_options.program, renderer)
          written += 1
        wav_files.append(os.path.basename(where['wav']))
  if renderer is None:
    return None
  record = dict(audio_options.record(renderer), files=wav_files)
  if overwrite or read_audio_record(directory) is None:
    write_audio_record(directory, record)
  else:
    record = read_audio_record(directory)
  if written:
    logging.info('Audio: %d sample melodies as WAV in %s/ (%s, %g qpm)',
                 written, SAMPLE_DIR, record['description'], record['qpm'])
  return record
