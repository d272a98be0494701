"""Tests of note_rnn.audio: lengths, loudness, pitch and timing of the WAVs."""

import logging
import os
import sys

import numpy as np
import pytest

from note_rnn import audio
from note_rnn import encoding

RATE = audio.SAMPLE_RATE
A4 = encoding.pitch_to_class(69)  # 440 Hz.
HOLD, REST = encoding.HOLD_CLASS, encoding.REST_CLASS


def _fluidsynth_or_skip():
  try:
    return audio.FluidSynthRenderer()
  except (ImportError, OSError, FileNotFoundError) as e:
    pytest.skip(f'FluidSynth not available ({e}); {audio.INSTALL_HINT}')


def _peak_hz(samples, rate=RATE):
  """Frequency of the largest FFT magnitude (Hann window)."""
  windowed = samples * np.hanning(len(samples))
  spectrum = np.abs(np.fft.rfft(windowed))
  return np.fft.rfftfreq(len(samples), 1.0 / rate)[np.argmax(spectrum)]


def _held(cls, steps=16):
  return [cls] + [HOLD] * (steps - 1)


def test_durations_are_steps_times_tempo():
  # A sixteenth note at 80 qpm is 60 / 80 / 4 = 0.1875 s.
  assert audio.step_seconds(80) == pytest.approx(0.1875)
  assert audio.melody_seconds(32, 80) == pytest.approx(6.0)
  assert audio.melody_seconds(16, 120) == pytest.approx(2.0)
  assert audio.num_samples(32, 80, 16000) == 96000
  assert audio.num_samples(7, 100, 22050) == round(7 * 0.15 * 22050)


def test_pitch_hz_is_equal_temperament():
  assert audio.pitch_hz(69) == pytest.approx(440.0)
  assert audio.pitch_hz(57) == pytest.approx(220.0)
  assert audio.pitch_hz(60) == pytest.approx(261.6256, abs=1e-3)


@pytest.mark.parametrize('qpm,steps', [(80, 32), (120, 16), (60, 7),
                                       (137.5, 33)])
def test_builtin_length_is_exact_for_any_melody(qpm, steps):
  rng = np.random.default_rng(steps)
  classes = rng.integers(0, encoding.NUM_CLASSES, steps).tolist()
  samples = audio.BuiltinRenderer().render(classes, qpm)
  assert samples.dtype == np.float32
  assert len(samples) == audio.num_samples(steps, qpm)
  assert np.max(np.abs(samples)) <= audio.PEAK + 1e-6


@pytest.mark.parametrize('pitch', [48, 57, 60, 69, 76, 83])
def test_builtin_held_note_peaks_at_its_pitch(pitch):
  samples = audio.BuiltinRenderer().render(
      _held(encoding.pitch_to_class(pitch)), 80)
  # 16 steps at 80 qpm: 3 s, so FFT bins are 1/3 Hz apart.
  assert len(samples) == 3 * RATE
  assert _peak_hz(samples) == pytest.approx(audio.pitch_hz(pitch), abs=0.5)
  # Not silent: the note sounds at a clear level most of its length.
  assert np.sqrt(np.mean(samples ** 2)) > 0.1


def test_builtin_plays_notes_at_their_steps_without_clicks():
  # Rest 4 steps, A4 for 4 steps, rest 4, C5 (class 26) for 4 steps.
  c5 = encoding.pitch_to_class(72)
  classes = [REST] * 4 + _held(A4, 4) + [REST] * 4 + _held(c5, 4)
  samples = audio.BuiltinRenderer().render(classes, 80)
  step = int(audio.step_seconds(80) * RATE)  # 3000 samples.
  assert step == 3000
  silent = np.concatenate([samples[:4 * step], samples[8 * step:12 * step]])
  np.testing.assert_array_equal(silent, 0.0)
  first, second = samples[4 * step:8 * step], samples[12 * step:16 * step]
  assert _peak_hz(first) == pytest.approx(440.0, abs=4.0)
  assert _peak_hz(second) == pytest.approx(audio.pitch_hz(72), abs=4.0)
  # Attack and release: each note starts and ends at (near) zero and rises
  # over ATTACK_S, not in one sample.
  for note in (first, second):
    assert abs(note[0]) < 1e-3 and abs(note[-1]) < 0.02
    attack = int(audio.ATTACK_S * RATE)
    assert np.max(np.abs(note[:attack // 4])) < 0.5 * np.max(np.abs(note))


def test_rests_only_give_silence_of_the_full_length():
  samples = audio.BuiltinRenderer().render([REST] * 8, 80)
  assert len(samples) == audio.num_samples(8, 80)
  np.testing.assert_array_equal(samples, 0.0)


def test_wav_file_round_trip(tmp_path):
  classes = [A4, HOLD, REST, encoding.pitch_to_class(64)] * 8
  renderer = audio.BuiltinRenderer()
  path = audio.write_melody_wav(classes, str(tmp_path / 'm.wav'), 100,
                                renderer=renderer)
  with open(path, 'rb') as f:
    assert f.read(4) == b'RIFF'
  samples, rate = audio.read_wav(path)
  assert rate == RATE
  assert len(samples) == audio.num_samples(32, 100)
  np.testing.assert_allclose(samples, renderer.render(classes, 100),
                             atol=1.0 / 32767)
  assert not [n for n in os.listdir(tmp_path) if n != 'm.wav']
  assert audio.wav_path_for('x/melody_000.mid') == 'x/melody_000.wav'


def test_fluidsynth_length_pitch_and_program():
  renderer = _fluidsynth_or_skip()
  assert renderer.name == 'fluidsynth'
  assert audio.SOUNDFONT_NAME in renderer.description
  piano = renderer.render(_held(A4), 80, program=0)
  assert len(piano) == 3 * RATE
  assert np.sqrt(np.mean(piano ** 2)) > 0.02
  assert _peak_hz(piano) == pytest.approx(440.0, abs=2.0)
  # Another General MIDI program (string ensemble) sounds different.
  strings = renderer.render(_held(A4), 80, program=48)
  assert _peak_hz(strings) == pytest.approx(440.0, abs=2.0)
  assert not np.allclose(piano, strings, atol=0.05)
  # The length holds whatever the notes (FluidSynth adds a tail: cut).
  melody = [encoding.pitch_to_class(60), HOLD, REST, A4] * 5
  assert len(renderer.render(melody, 120)) == audio.num_samples(20, 120)
  np.testing.assert_array_equal(renderer.render([REST] * 4, 80), 0.0)


def test_auto_falls_back_to_builtin_with_one_log_line(monkeypatch, caplog):
  audio.get_renderer.cache_clear()
  monkeypatch.setitem(sys.modules, 'fluidsynth', None)  # Import fails.
  try:
    with caplog.at_level(logging.INFO, logger=audio.__name__):
      renderer = audio.get_renderer('auto')
      again = audio.get_renderer('auto')
    assert renderer.name == 'builtin' and again is renderer
    lines = [r.getMessage() for r in caplog.records
             if r.name == audio.__name__]
    assert len(lines) == 1, lines
    assert 'FluidSynth is not available' in lines[0]
    assert 'built-in renderer' in lines[0] and 'libfluidsynth3' in lines[0]
    samples = renderer.render(_held(A4), 80)
    assert len(samples) == 3 * RATE
  finally:
    audio.get_renderer.cache_clear()


def test_builtin_is_chosen_without_trying_fluidsynth(monkeypatch, caplog):
  audio.get_renderer.cache_clear()
  monkeypatch.setitem(sys.modules, 'fluidsynth', None)
  try:
    with caplog.at_level(logging.INFO, logger=audio.__name__):
      assert audio.get_renderer('builtin').name == 'builtin'
    assert not caplog.records
  finally:
    audio.get_renderer.cache_clear()


@pytest.mark.parametrize('kwargs,message', [
    (dict(qpm=0), '--qpm must be > 0; got 0'),
    (dict(qpm=float('nan')), '--qpm must be > 0'),
    (dict(program=128), '--audio_program must be a General MIDI program in '
                        '[0, 127]; got 128'),
    (dict(program=-1), '--audio_program must be'),
    (dict(renderer='timidity'), "unknown --audio_renderer 'timidity'; valid "
                                'values: auto, builtin'),
])
def test_bad_options_name_the_flag(kwargs, message):
  with pytest.raises(audio.AudioError, match=None) as error:
    audio.AudioOptions(**kwargs).check()
  assert message in str(error.value)


def test_tensorboard_audio_summary(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  writer = tf.summary.create_file_writer(str(tmp_path))
  melodies = [_held(A4, 32), [REST] * 8 + _held(A4, 8)]
  audio.write_tensorboard_audio(writer, 'eval_melodies', melodies, 64, 80,
                                renderer=audio.BuiltinRenderer())
  writer.flush()
  clips = []
  for name in os.listdir(tmp_path):
    for event in tf.compat.v1.train.summary_iterator(str(tmp_path / name)):
      for value in event.summary.value:
        if value.tag == 'eval_melodies':
          assert event.step == 64
          clips = tf.make_ndarray(value.tensor)
  assert clips.shape == (2, 2)  # Two clips: (encoded WAV, label).
  first, rate = tf.audio.decode_wav(clips[0][0])
  second, _ = tf.audio.decode_wav(clips[1][0])
  assert int(rate) == RATE
  # Padded to the longest: 32 steps at 80 qpm.
  assert first.shape == second.shape == (audio.num_samples(32, 80), 1)
  second = second.numpy()[:, 0]
  np.testing.assert_allclose(second[:8 * 3000], 0.0, atol=1e-4)
  assert _peak_hz(second[8 * 3000:16 * 3000]) == pytest.approx(440, abs=1)
  np.testing.assert_allclose(second[16 * 3000:], 0.0, atol=1e-4)
