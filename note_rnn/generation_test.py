"""Tests of note_rnn.generation: sampling, temperature, piano roll, files."""

import pathlib

import numpy as np
import pytest

from note_rnn import encoding
from note_rnn import generation
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib

TESTDATA_DIR = pathlib.Path(__file__).resolve().parent.parent / 'testdata'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def tiny_model():
  hp = hparams_lib.default_hparams().replace(rnn_layer_sizes=(16,))
  model = model_lib.NoteRNN(hp, seed=0)
  # Larger output weights than the initializer's give peaked, varied
  # distributions, so greedy and sampled melodies differ.
  weights = model.get_weights()
  weights[-2] *= 8.0
  weights[-1] = np.random.default_rng(0).normal(
      0.0, 2.0, weights[-1].shape).astype(np.float32)
  model.set_weights(weights)
  return model


@pytest.fixture(scope='module')
def saved_model(tiny_model, tmp_path_factory):
  return tiny_model.save(str(tmp_path_factory.mktemp('model') / 'tiny'))


def _greedy_consistent(model, melodies):
  """Whether each class after the first is the argmax given its past."""
  onehot = np.eye(encoding.NUM_CLASSES, dtype=np.float32)[melodies[:, :-1]]
  logits, _ = model.sequence_logits(onehot)
  return np.array_equal(np.argmax(logits.numpy(), -1), melodies[:, 1:])


def test_greedy_sampling_threads_the_state(tiny_model):
  melodies = generation.sample_melodies(tiny_model, 6, 40, temperature=0,
                                        seed=3)
  assert melodies.shape == (6, 40) and melodies.dtype == np.int64
  assert set(melodies[:, 0]) <= set(generation.RANDOM_FIRST_CLASSES)
  assert _greedy_consistent(tiny_model, melodies)
  sampled = generation.sample_melodies(tiny_model, 6, 40, seed=3)
  assert not _greedy_consistent(tiny_model, sampled)


def test_seed_primer_and_temperature(tiny_model):
  a = generation.sample_melodies(tiny_model, 8, 32, seed=5)
  b = generation.sample_melodies(tiny_model, 8, 32, seed=5)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(
      a, generation.sample_melodies(tiny_model, 8, 32, seed=6))
  primer = [14, 0, 16, 0, 1]
  primed = generation.sample_melodies(tiny_model, 3, 20, primer=primer,
                                      temperature=0)
  np.testing.assert_array_equal(primed[:, :5], [primer] * 3)
  # Greedy decoding from one primer is the same for every output.
  assert (primed == primed[0]).all()

  def argmax_fraction(temperature):
    melodies = generation.sample_melodies(tiny_model, 64, 33, primer=[14],
                                          temperature=temperature, seed=0)
    onehot = np.eye(encoding.NUM_CLASSES, dtype=np.float32)[melodies[:, :-1]]
    logits, _ = tiny_model.sequence_logits(onehot)
    return np.mean(np.argmax(logits.numpy(), -1) == melodies[:, 1:])

  cold, warm = argmax_fraction(0.3), argmax_fraction(2.0)
  # Measured: 0.83 and 0.10.
  assert cold > 0.7 and warm < 0.3


def test_sample_melodies_rejects_bad_arguments(tiny_model):
  with pytest.raises(generation.GenerationError, match='must exceed'):
    generation.sample_melodies(tiny_model, 2, 3, primer=[14, 0, 0])
  with pytest.raises(generation.GenerationError, match='temperature'):
    generation.sample_melodies(tiny_model, 2, 8, temperature=-1)
  with pytest.raises(generation.GenerationError, match=r'\[0, 38\)'):
    generation.sample_melodies(tiny_model, 2, 8, primer=[40])


def test_note_spans():
  c4, e4 = encoding.pitch_to_class(60), encoding.pitch_to_class(64)
  assert generation.note_spans([0, c4, 0, 0, e4, 1, 0, c4]) == [
      (1, 4, 60), (4, 5, 64), (7, 8, 60)]
  assert generation.note_spans([1, 0, 1]) == []


def test_plot_piano_roll(tmp_path):
  c4 = encoding.pitch_to_class(60)
  path = generation.plot_piano_roll(
      [[c4, 0, 0, 1], [c4 + 2] * 20], str(tmp_path / 'roll.png'),
      titles=['one', 'two'], primer_length=1)
  assert pathlib.Path(path).read_bytes()[:8] == PNG_MAGIC
  with pytest.raises(generation.GenerationError, match='titles'):
    generation.plot_piano_roll([[c4]], str(tmp_path / 'x.png'),
                               titles=['a', 'b'])


def test_primer_is_the_first_melody_of_the_file():
  # testdata/primer.mid plays C4 E4 G4 C5 (quarters), B4 A4 (eighths), G4 E4
  # C4 (quarters): class = pitch - 46, a quarter is one onset and 3 holds.
  quarter = lambda c: [c, 0, 0, 0]
  eighth = lambda c: [c, 0]
  expected = (quarter(14) + quarter(18) + quarter(21) + quarter(26) +
              eighth(25) + eighth(23) + quarter(21) + quarter(18) +
              quarter(14))
  path = str(TESTDATA_DIR / 'primer.mid')
  assert generation.primer_classes_from_midi(path) == expected


def test_generate_writes_midi_and_png(saved_model, tmp_path):
  primer_path = str(TESTDATA_DIR / 'primer.mid')
  primer = generation.primer_classes_from_midi(primer_path)
  result = generation.generate(saved_model, str(tmp_path), 3,
                               num_steps=len(primer) + 16,
                               primer_midi=primer_path, seed=0)
  assert [pathlib.Path(p).name for p in result.midi_paths] == [
      'melody_000.mid', 'melody_001.mid', 'melody_002.mid']
  assert result.primer_length == len(primer)
  assert result.model_source.endswith('tiny')
  for path, melody in zip(result.midi_paths, result.class_sequences):
    assert list(melody[:len(primer)]) == primer
    sequence = encoding.midi_file_to_note_sequence(path)
    spans = generation.note_spans(melody)
    assert [n.pitch for n in sequence.notes] == [p for _, _, p in spans]
  assert pathlib.Path(result.piano_roll_path).read_bytes()[:8] == PNG_MAGIC
  # From Python, audio only when asked for (the CLI asks by default).
  assert result.wav_paths == [] and result.audio is None
  assert not list(tmp_path.glob('*.wav'))


def test_generate_without_a_checkpoint_uses_the_embedded_model(tmp_path):
  result = generation.generate(None, str(tmp_path), 2, num_steps=16, seed=0)
  assert len(result.midi_paths) == 2
  for path in result.midi_paths:
    assert encoding.midi_file_to_note_sequence(path).notes


def test_generate_without_any_model_says_how_to_pass_one(monkeypatch,
                                                         tmp_path):
  monkeypatch.setattr(model_lib.checkpoint_import, 'DEFAULT_MODEL_DIR',
                      str(tmp_path / 'nothing_here'))
  with pytest.raises(FileNotFoundError, match='no embedded default'):
    generation.generate(None, str(tmp_path), 1, num_steps=8)