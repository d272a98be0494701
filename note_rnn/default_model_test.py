"""Tests of the embedded default Note RNN (note_rnn/default_model)."""

import numpy as np

from note_rnn import generation
from note_rnn import model as model_lib
from rl_tuner import rl_tuner


def test_loads_with_no_path_and_describes_itself():
  model = model_lib.NoteRNN.load()
  assert model.layer_sizes == (100,)
  card = model.metadata['model_card']
  # Trained on the folk corpus: at least 4,000 training melodies.
  assert card['corpus']['training_melodies'] >= 4000
  assert card['training']['steps'] > 0
  evaluation = card['eval']['as_in_training']
  assert 0.0 < evaluation['accuracy'] < 1.0
  np.testing.assert_allclose(evaluation['log_perplexity'],
                             -evaluation['mean_log_likelihood_per_step'])


def test_samples_look_like_melodies():
  model = model_lib.NoteRNN.load()
  melodies = generation.sample_melodies(model, 64, 32, seed=0)
  notes = melodies[melodies >= 2]
  # A trained model holds notes (class 0) and plays mostly in C major, as
  # its training melodies were transposed to C major.
  assert (melodies == 0).mean() > 0.2
  c_major_pitch_classes = {0, 2, 4, 5, 7, 9, 11}
  in_key = np.isin((notes + 46) % 12, list(c_major_pitch_classes))
  assert in_key.mean() > 0.9


def test_rl_tuner_without_a_checkpoint_tunes_the_embedded_model(tmp_path):
  rlt = rl_tuner.RLTuner(str(tmp_path), seed=0)
  embedded = model_lib.NoteRNN.load()
  for network in (rlt.q_network, rlt.target_q_network, rlt.reward_rnn):
    for a, b in zip(network.get_weights(), embedded.get_weights()):
      np.testing.assert_array_equal(a, b)
