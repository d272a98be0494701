"""Melodies as files: MIDI, WAV and TensorBoard audio from class sequences.

`classes_to_midi_file` writes a melody as a one-track MIDI file (atomically,
like every file here).

A melody of N sixteenth-note steps at a tempo of Q quarter notes per minute
lasts exactly N * 60 / (4 Q) seconds; its audio is that long, sample for
sample (`num_samples`), whichever renderer made it.

Two renderers turn a class sequence into mono samples in [-1, 1]:
  * `BuiltinRenderer` needs nothing beyond numpy: each note is a sine at its
    pitch with two weaker harmonics (as note_seq's `midi_synth.synthesize`
    plays a sine per note), shaped by a 5 ms attack, a gentle decay and a
    30 ms release inside the note, so notes start and end without clicks.
  * `FluidSynthRenderer` plays General MIDI through FluidSynth (the `audio`
    extra, pyfluidsynth, plus the system's libfluidsynth) with the small GM
    soundfont that pretty_midi ships (TimGM6mb.sf2), so every machine sounds
    the same; `program` picks the GM instrument.
`get_renderer('auto')` takes FluidSynth when it loads and otherwise the
built-in renderer, saying so in one log line.

Nothing here imports TensorFlow or note_seq at module level.
"""

import dataclasses
import functools
import io
import logging
import os
import wave

import numpy as np

from note_rnn import encoding
from note_rnn.runtime import outputs

# pretty_midi, TensorFlow and absl's flags are imported by the functions
# that use them: the tools' --help, which import this module, need not load
# them.

logger = logging.getLogger(__name__)

# Samples per second of every WAV file and TensorBoard clip. The melodies'
# highest pitch (B5, 988 Hz) and its first harmonics lie far below 8 kHz.
SAMPLE_RATE = 16000
# General MIDI program (0-based) of the FluidSynth renderer: acoustic grand.
DEFAULT_PROGRAM = 0
# MIDI velocity of every note (as the MIDI files write them).
VELOCITY = 100
# Renderer choices of the tools' --audio_renderer flag.
RENDERERS = ('auto', 'builtin')
# The General MIDI soundfont inside the pretty_midi package.
SOUNDFONT_NAME = 'TimGM6mb.sf2'
# Built-in renderer envelope, seconds: linear attack and release; the decay
# time constant of the note's level after the attack.
ATTACK_S = 0.005
RELEASE_S = 0.03
DECAY_S = 1.5
# Relative amplitudes of the fundamental and its 2nd and 3rd harmonics.
HARMONICS = (1.0, 0.4, 0.2)
# Peak level of every rendered melody, as a fraction of full scale.
PEAK = 0.8
# Fade at the very end of a clip (a FluidSynth tail is cut there), seconds.
END_FADE_S = 0.02
# File name suffix of the audio beside each MIDI file.
WAV_SUFFIX = '.wav'


# Help of the audio flags, shared by every tool that writes melodies.
AUDIO_HELP = ('Also write each melody as a WAV file beside its MIDI file '
              '(--noaudio: MIDI only).')
QPM_HELP = ('Tempo of the melodies written (MIDI and WAV), quarter notes per '
            'minute.')
PROGRAM_HELP = ('General MIDI program (0-127, 0 = acoustic grand piano) the '
                'FluidSynth renderer plays the melodies with; the built-in '
                'renderer has one timbre.')
RENDERER_HELP = ("'auto': FluidSynth with pretty_midi's TimGM6mb.sf2 when "
                 "pyfluidsynth and libfluidsynth are installed (the 'audio' "
                 "extra), otherwise the built-in renderer (one log line "
                 "says so); 'builtin': always the built-in renderer.")


class AudioError(ValueError):
  """Unusable audio settings (tempo, program, renderer)."""


@dataclasses.dataclass(frozen=True)
class AudioOptions:
  """How a tool writes audio: on or off, tempo, GM program, renderer."""
  enabled: bool = True
  qpm: float = encoding.DEFAULT_QPM
  program: int = 0
  renderer: str = 'auto'

  def check(self, flag_prefix='--'):
    """Raises AudioError naming the flag of an unusable setting."""
    check_settings(self.qpm, self.program, self.renderer, flag_prefix)
    return self

  def get_renderer(self):
    return get_renderer(self.renderer)

  def record(self, renderer):
    """JSON-ready description of audio written with `renderer`."""
    return {'renderer': renderer.name, 'description': renderer.description,
            'sample_rate': renderer.sample_rate, 'qpm': self.qpm,
            'program': self.program}


def define_flags(flag_values=None, qpm=True):
  """Defines --audio, --audio_program, --audio_renderer (and --qpm)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  flag_values = flag_values or flags.FLAGS
  flags.DEFINE_boolean('audio', True, AUDIO_HELP, flag_values=flag_values)
  if qpm:
    flags.DEFINE_float('qpm', encoding.DEFAULT_QPM, QPM_HELP,
                       flag_values=flag_values)
  flags.DEFINE_integer('audio_program', 0, PROGRAM_HELP,
                       flag_values=flag_values)
  flags.DEFINE_enum('audio_renderer', 'auto', list(RENDERERS), RENDERER_HELP,
                    flag_values=flag_values)


def options_from_flags(flag_values=None):
  """AudioOptions from the flags define_flags made; checked."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  values = flag_values or flags.FLAGS
  return AudioOptions(values.audio, values.qpm, values.audio_program,
                      values.audio_renderer).check()


def check_settings(qpm, program, renderer='auto', flag_prefix='--'):
  """Raises AudioError naming the flag when a setting cannot be used."""
  if not (isinstance(qpm, (int, float)) and np.isfinite(qpm) and qpm > 0):
    raise AudioError(f'{flag_prefix}qpm must be > 0; got {qpm}')
  if not 0 <= int(program) <= 127 or int(program) != program:
    raise AudioError(f'{flag_prefix}audio_program must be a General MIDI '
                     f'program in [0, 127]; got {program}')
  if renderer not in RENDERERS:
    raise AudioError(f'unknown {flag_prefix}audio_renderer {renderer!r}; '
                     f'valid values: {", ".join(RENDERERS)}')


def step_seconds(qpm):
  """Seconds of one sixteenth-note step at `qpm` quarter notes a minute."""
  return 60.0 / (qpm * encoding.STEPS_PER_QUARTER)


def melody_seconds(num_steps, qpm):
  """Duration of a melody of `num_steps` steps, seconds."""
  return num_steps * step_seconds(qpm)


def num_samples(num_steps, qpm, sample_rate=SAMPLE_RATE):
  """Samples of a melody of `num_steps` steps at `sample_rate`."""
  return int(round(melody_seconds(num_steps, qpm) * sample_rate))


def pitch_hz(pitch):
  """Frequency of a MIDI pitch in equal temperament (A4 = 69 = 440 Hz)."""
  return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def note_spans(classes):
  """The notes of a class sequence: (start_step, end_step, pitch) tuples.

  A pitch class starts a note; hold (0) extends it; rest (1) or the next
  onset ends it; holds with no sounding note are silence (as the MIDI
  files play them). end_step is exclusive.
  """
  spans, start, pitch = [], None, None
  for t, cls in enumerate(int(c) for c in classes):
    if cls == encoding.HOLD_CLASS:
      continue
    if pitch is not None:
      spans.append((start, t, pitch))
      pitch = None
    if cls != encoding.REST_CLASS:
      start, pitch = t, encoding.class_to_pitch(cls)
  if pitch is not None:
    spans.append((start, len(classes), pitch))
  return spans


def _finish(samples, length, sample_rate):
  """Cut or pad to `length`, fade the last END_FADE_S, scale to PEAK."""
  clip = np.zeros(length, np.float32)
  count = min(length, len(samples))
  clip[:count] = samples[:count]
  fade = min(length, int(END_FADE_S * sample_rate))
  if fade:
    clip[length - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
  peak = float(np.max(np.abs(clip))) if length else 0.0
  if peak > 0:
    clip *= PEAK / peak
  return clip


class BuiltinRenderer:
  """Sine tones with harmonics and a click-free envelope; numpy only."""

  name = 'builtin'

  def __init__(self, sample_rate=SAMPLE_RATE):
    self.sample_rate = sample_rate
    self.description = (
        f'built-in renderer (sine tones with harmonics, {ATTACK_S * 1e3:g} ms '
        f'attack, {RELEASE_S * 1e3:g} ms release, {sample_rate} Hz)')

  def render(self, classes, qpm=encoding.DEFAULT_QPM, program=DEFAULT_PROGRAM):
    """float32 [num_samples(len(classes), qpm)] in [-PEAK, PEAK].

    `program` is accepted for a common interface; every program sounds the
    same here.
    """
    del program  # One timbre.
    rate = self.sample_rate
    length = num_samples(len(classes), qpm, rate)
    mix = np.zeros(length, np.float64)
    step = step_seconds(qpm)
    for start, end, pitch in note_spans(classes):
      first = int(round(start * step * rate))
      last = min(length, int(round(end * step * rate)))
      count = last - first
      if count <= 0:
        continue
      t = np.arange(count) / rate
      phase = 2.0 * np.pi * pitch_hz(pitch) * t
      tone = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(HARMONICS))
      envelope = np.exp(-t / DECAY_S)
      attack = max(1, min(int(ATTACK_S * rate), count // 2))
      release = max(1, min(int(RELEASE_S * rate), count // 2))
      envelope[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
      envelope[count - release:] *= np.linspace(1.0, 0.0, release)
      mix[first:last] += tone * envelope
    return _finish(mix, length, rate)


def soundfont_path():
  """Path of the General MIDI soundfont pretty_midi ships."""
  import pretty_midi  # pylint: disable=g-import-not-at-top
  return os.path.join(os.path.dirname(pretty_midi.__file__), SOUNDFONT_NAME)


class FluidSynthRenderer:
  """General MIDI through FluidSynth and pretty_midi's TimGM6mb.sf2.

  Raises (from the constructor) ImportError or OSError when pyfluidsynth or
  the FluidSynth library cannot be loaded, FileNotFoundError without the
  soundfont.
  """

  name = 'fluidsynth'

  def __init__(self, sample_rate=SAMPLE_RATE):
    # pyfluidsynth loads the C library when imported.
    import fluidsynth  # pylint: disable=g-import-not-at-top,unused-import
    self.soundfont = soundfont_path()
    if not os.path.isfile(self.soundfont):
      raise FileNotFoundError(f'soundfont not found: {self.soundfont}')
    self.sample_rate = sample_rate
    self.description = (f'FluidSynth with {SOUNDFONT_NAME}, {sample_rate} Hz')

  def render(self, classes, qpm=encoding.DEFAULT_QPM, program=DEFAULT_PROGRAM):
    """float32 [num_samples(len(classes), qpm)] in [-PEAK, PEAK]."""
    import pretty_midi  # pylint: disable=g-import-not-at-top
    length = num_samples(len(classes), qpm, self.sample_rate)
    step = step_seconds(qpm)
    instrument = pretty_midi.Instrument(program=int(program))
    for start, end, pitch in note_spans(classes):
      instrument.notes.append(pretty_midi.Note(
          velocity=VELOCITY, pitch=pitch, start=start * step, end=end * step))
    if not instrument.notes:
      return np.zeros(length, np.float32)
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    midi.instruments.append(instrument)
    try:
      samples = midi.fluidsynth(fs=self.sample_rate,
                                synthesizer=self.soundfont)
    except TypeError:  # pretty_midi before 0.2.11 names it sf2_path.
      samples = midi.fluidsynth(fs=self.sample_rate, sf2_path=self.soundfont)
    return _finish(np.asarray(samples, np.float64), length, self.sample_rate)


INSTALL_HINT = ("pip install -e '.[audio]' and apt-get install libfluidsynth3 "
                'for General MIDI sound')


@functools.lru_cache(maxsize=None)
def get_renderer(name='auto', sample_rate=SAMPLE_RATE):
  """The renderer `name` asks for (one per process and sample rate).

  Args:
    name: 'builtin', or 'auto': FluidSynth when it loads, otherwise the
      built-in renderer, with one log line saying why.
    sample_rate: samples per second.

  Returns:
    BuiltinRenderer or FluidSynthRenderer (`.name`, `.description`,
    `.render(classes, qpm, program)`).
  """
  check_settings(encoding.DEFAULT_QPM, DEFAULT_PROGRAM, name)
  if name == 'builtin':
    return BuiltinRenderer(sample_rate)
  try:
    return FluidSynthRenderer(sample_rate)
  except (ImportError, OSError) as e:
    logger.info('Audio: FluidSynth is not available (%s); using the built-in '
                'renderer (%s).', str(e).splitlines()[0] if str(e) else
                type(e).__name__, INSTALL_HINT)
    return BuiltinRenderer(sample_rate)


def wav_bytes(samples, sample_rate=SAMPLE_RATE):
  """A mono 16-bit PCM WAV file of float samples in [-1, 1], as bytes."""
  pcm = np.clip(np.asarray(samples, np.float64), -1.0, 1.0)
  pcm = np.round(pcm * 32767).astype('<i2')
  buffer = io.BytesIO()
  with wave.open(buffer, 'wb') as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(sample_rate)
    out.writeframes(pcm.tobytes())
  return buffer.getvalue()


def read_wav(path):
  """(float32 samples [n] in [-1, 1], sample rate) of a mono 16-bit WAV."""
  with wave.open(str(path), 'rb') as wav:
    if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
      raise AudioError(f'{path}: not a mono 16-bit WAV file')
    rate = wav.getframerate()
    data = wav.readframes(wav.getnframes())
  return np.frombuffer(data, '<i2').astype(np.float32) / 32767.0, rate


def note_sequence_to_midi_file(sequence, path):
  """Writes a NoteSequence as a standard MIDI file, atomically; returns path."""
  outputs.write_file_atomically(
      path, encoding.note_sequence_to_midi_bytes(sequence))
  return path


def classes_to_midi_file(classes, path, qpm=encoding.DEFAULT_QPM,
                         transpose_amount=0):
  """Writes a class sequence as a one-track MIDI file; returns `path`.

  Args:
    classes: sequence of class ints (one per sixteenth-note step).
    path: .mid path (written atomically).
    qpm: tempo, quarter notes per minute.
    transpose_amount: semitones the melody was transposed up by when it was
      encoded (subtracted from its pitches).
  """
  return note_sequence_to_midi_file(
      encoding.classes_to_note_sequence(classes, qpm, transpose_amount), path)


def wav_path_for(midi_path):
  """The WAV file beside a MIDI file: melody_000.mid -> melody_000.wav."""
  return os.path.splitext(midi_path)[0] + WAV_SUFFIX


def write_melody_wav(classes, path, qpm=encoding.DEFAULT_QPM,
                     program=DEFAULT_PROGRAM, renderer=None):
  """Renders a class sequence and writes it as a WAV file, atomically.

  Args:
    classes: sequence of class ints (one per sixteenth-note step).
    path: .wav path.
    qpm: tempo, quarter notes per minute.
    program: General MIDI program (FluidSynth only).
    renderer: a renderer; default get_renderer('auto').

  Returns:
    `path`.
  """
  renderer = renderer or get_renderer()
  samples = renderer.render(list(classes), qpm, program)
  outputs.write_file_atomically(path, wav_bytes(samples,
                                                renderer.sample_rate))
  return path


def write_tensorboard_audio(writer, tag, melodies, step,
                            qpm=encoding.DEFAULT_QPM, program=DEFAULT_PROGRAM,
                            renderer=None):
  """Logs melodies as one TensorBoard audio summary (a clip per melody).

  Args:
    writer: a tf.summary writer.
    tag: summary name.
    melodies: sequence of class sequences (padded with silence to the
      longest).
    step: the summary's step (environment steps).
    qpm, program, renderer: as for write_melody_wav.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  renderer = renderer or get_renderer()
  clips = [renderer.render(list(m), qpm, program) for m in melodies]
  if not clips:
    return
  longest = max(len(c) for c in clips)
  data = np.zeros((len(clips), longest, 1), np.float32)
  for index, clip in enumerate(clips):
    data[index, :len(clip), 0] = clip
  with writer.as_default():
    tf.summary.audio(tag, data, renderer.sample_rate, step=step,
                     max_outputs=len(clips),
                     description=f'{len(clips)} melodies at {qpm:g} qpm, '
                     f'{renderer.description}')
