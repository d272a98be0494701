"""The end-of-run judgement of train_run: did tuning help the rules?"""

import types

from absl import logging as absl_logging
import pytest

from rl_tuner.experiments import train_run


def _tuner(history):
  return types.SimpleNamespace(eval_avg_music_theory_reward=history,
                               algorithm='q')


def test_music_theory_change_is_first_and_last_evaluation():
  assert train_run.music_theory_change(_tuner([2.54, 1.0, -2.43])) == (
      2.54, -2.43)
  assert train_run.music_theory_change(_tuner([1.0])) is None
  assert train_run.music_theory_change(_tuner([])) is None


@pytest.mark.parametrize('history, warned', [
    ([2.54, 0.3, -2.43], True),  # the user's 200-step model
    ([-0.5, 3.0, 3.4], False),
    ([1.0, 1.0], False),
])
def test_warns_only_when_the_rules_reward_fell(history, warned, caplog):
  absl_logging.set_verbosity(absl_logging.INFO)
  with caplog.at_level('WARNING'):
    train_run._warn_if_music_theory_worse(_tuner(history))
  text = caplog.text
  assert ('Tuning made the music-theory reward worse' in text) == warned
  if warned:
    assert '+2.54 per note before, -2.43 after' in text


def test_the_untuned_column_acts_on_the_note_rnn_alone(tmp_path, monkeypatch):
  """A g run's untuned Note RNN is built as q: g's policy adds the Reward
  RNN's logits to the Q-network's, which before tuning double the Note
  RNN's logits (sampling at temperature 1/2), not the Note RNN."""
  # pylint: disable=g-import-not-at-top
  from note_rnn.model import hparams as hparams_lib
  from note_rnn.model import note_rnn_model as model_lib
  from rl_tuner.run import settings as settings_lib

  # pylint: enable=g-import-not-at-top
  checkpoint = tmp_path / 'tiny'
  model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                    seed=3).save(str(checkpoint))
  built = []
  make_tuner = train_run.make_tuner

  def recording(settings, *args, **kwargs):
    built.append((settings.algorithm, settings.reward_rnn_trainable))
    return make_tuner(settings, *args, **kwargs)
  monkeypatch.setattr(train_run, 'make_tuner', recording)
  train_run.run(settings_lib.TrainSettings(
      output_dir=str(tmp_path / 'run'), note_rnn_checkpoint_file=str(
          checkpoint), algorithm='g', reward_rnn_trainable=True,
      training_steps=64, exploration_steps=32, output_every_nth=32,
      max_experience=64, minibatch_size=8, num_eval_compositions=4,
      num_stat_compositions=20, audio=False))
  assert built == [('g', True), ('q', False)]
