"""The end-of-run judgement of train_run: did tuning help the rules?"""

import types

from absl import logging as absl_logging
import pytest

from rl_tuner import train_run


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
