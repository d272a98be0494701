"""train_run: the end-of-run judgement (did tuning help the rules?) and
what a finished run keeps of its replay."""

import os
import re
import types

from absl import logging as absl_logging
import pytest

from rl_tuner.experiments import train_run
from rl_tuner.replay import replay_store


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


@pytest.fixture(scope='module')
def tiny_note_rnn(tmp_path_factory):
  # pylint: disable=g-import-not-at-top
  from note_rnn.model import hparams as hparams_lib
  from note_rnn.model import note_rnn_model as model_lib

  # pylint: enable=g-import-not-at-top
  path = tmp_path_factory.mktemp('note_rnn') / 'tiny'
  model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                    seed=3).save(str(path))
  return str(path)


def _tiny(output_dir, note_rnn, **changes):
  return train_run.TrainSettings(
      output_dir=str(output_dir), note_rnn_checkpoint_file=note_rnn,
      training_steps=64, exploration_steps=32, output_every_nth=32,
      max_experience=64, minibatch_size=8, num_eval_compositions=2,
      num_stat_compositions=4, audio=False, seed=0).replace(**changes)


def _snapshot(folder):
  """Every path under `folder` with its size, time and bytes."""
  found = {}
  for root, dirs, names in os.walk(folder):
    for name in dirs + names:
      path = os.path.join(root, name)
      info = os.stat(path)
      content = None
      if os.path.isfile(path):
        with open(path, 'rb') as f:
          content = f.read()
      found[os.path.relpath(path, folder)] = (info.st_size, info.st_mtime_ns,
                                              content)
  return found


def _last_message(caplog):
  return caplog.records[-1].getMessage()


def test_a_finished_run_drops_its_replay_and_is_not_trained_further(
    tmp_path, tiny_note_rnn, caplog):
  run_dir = tmp_path / 'run'
  root = run_dir / 'checkpoints'
  with caplog.at_level('INFO'):
    train_run.run(_tiny(run_dir, tiny_note_rnn))
  assert sorted(os.listdir(root)) == ['q-32', 'q-64',
                                      replay_store.DROPPED_NAME]
  assert re.fullmatch(
      r'Dropped the replay memory, checkpoints/replay/ \(\d+\.\d MB, 64 '
      r'transitions\): a finished run needs it only to be trained further; '
      r'--keep_replay keeps it\.', _last_message(caplog))
  record = replay_store.dropped(str(root))
  assert record['transitions'] == 64 and record['bytes'] > 0
  # More steps would train on an empty replay: refused, nothing written.
  before = _snapshot(run_dir)
  with pytest.raises(train_run.UsageError,
                     match=r'cannot resume .* for more steps \(--training_'
                     r'steps=96, 64 done\): it dropped its replay memory .*'
                     '--keep_replay'):
    train_run.run(_tiny(run_dir, tiny_note_rnn, training_steps=96,
                        resume=True))
  assert _snapshot(run_dir) == before
  # No more steps: the outputs are written again (here with more
  # statistics); the checkpoint stays as it was.
  train_run.run(_tiny(run_dir, tiny_note_rnn, resume=True,
                      num_stat_compositions=6))
  assert 'Total compositions: 6' in (run_dir /
                                     'music_theory_stats.txt').read_text()
  after = _snapshot(run_dir)
  for name, value in before.items():
    if name.startswith(os.path.join('checkpoints', 'q-')):
      assert after[name] == value, name


def test_keep_replay_keeps_it_so_the_run_can_be_extended(
    tmp_path, tiny_note_rnn, caplog):
  run_dir = tmp_path / 'run'
  with caplog.at_level('INFO'):
    train_run.run(_tiny(run_dir, tiny_note_rnn, keep_replay=True))
  assert sorted(os.listdir(run_dir / 'checkpoints')) == ['q-32', 'q-64',
                                                         'replay']
  assert _last_message(caplog).startswith(
      'Kept the replay memory, checkpoints/replay/ (')
  # --keep_replay changes only what is kept: not a changed setting.
  caplog.clear()
  with caplog.at_level('INFO'):
    summary = train_run.run(_tiny(run_dir, tiny_note_rnn, training_steps=96,
                                  resume=True))
  assert summary['env_steps'] == 96
  assert _last_message(caplog).startswith('Dropped the replay memory')
  assert 'replay' not in os.listdir(run_dir / 'checkpoints')


class _Kill(BaseException):
  """Stands for SIGKILL: nothing catches it."""


def test_a_run_killed_while_dropping_its_replay_resumes_safely(
    tmp_path, tiny_note_rnn, monkeypatch):
  run_dir = tmp_path / 'run'
  root = run_dir / 'checkpoints'

  def killed(*args, **kwargs):
    del args, kwargs
    raise _Kill()
  # Killed after the record and the rename, before the folder is gone.
  monkeypatch.setattr(replay_store, 'shutil',
                      types.SimpleNamespace(rmtree=killed))
  with pytest.raises(_Kill):
    train_run.run(_tiny(run_dir, tiny_note_rnn))
  monkeypatch.undo()
  (trash,) = [n for n in os.listdir(root) if n.startswith('.tmp-')]
  assert replay_store.dropped(str(root)) is not None
  assert 'replay' not in os.listdir(root)
  with pytest.raises(train_run.UsageError, match='--keep_replay'):
    train_run.run(_tiny(run_dir, tiny_note_rnn, training_steps=96,
                        resume=True))
  train_run.run(_tiny(run_dir, tiny_note_rnn, resume=True))
  assert trash not in os.listdir(root)
  assert sorted(os.listdir(root)) == ['q-32', 'q-64',
                                      replay_store.DROPPED_NAME]
