"""End-to-end tests of bin/rl_tuner_train.py, run as a separate process.

A tiny random Note RNN (one LSTM layer of 8 units) is tuned for 64 steps,
so that a run takes seconds; most of each run is importing TensorFlow. The
flag-validation runs and the resumed run go two at a time.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from note_rnn import audio
from note_rnn import encoding
from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from rl_tuner import rl_tuner as rl_tuner_lib

SCRIPT = pathlib.Path(__file__).resolve().parent / 'rl_tuner_train.py'
RHYTHM = (pathlib.Path(__file__).resolve().parent.parent / 'examples' /
          'rewards' / 'rhythm.py')
# Seconds a run may take before the test fails.
TIMEOUT_S = 240
UNITS = 8
STEPS = 64
EVERY = 32
NUM_STATS = 20
# CLI processes run side by side (the test machine has 2 cores).
PARALLEL_RUNS = 2


def _env():
  env = dict(os.environ)
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  return env


class _Run:
  """A CLI process whose output goes to files (no pipe can fill up)."""

  def __init__(self, args, log_dir, name):
    self.stdout_path = log_dir / f'{name}.out'
    self.stderr_path = log_dir / f'{name}.err'
    with open(self.stdout_path, 'w') as out, open(self.stderr_path,
                                                   'w') as err:
      self.process = subprocess.Popen(
          [sys.executable, str(SCRIPT)] + args, stdout=out, stderr=err,
          cwd=log_dir, env=_env())

  def wait(self):
    self.returncode = self.process.wait(timeout=TIMEOUT_S)
    self.stdout = self.stdout_path.read_text()
    self.stderr = self.stderr_path.read_text()
    return self


def run_all(cases, log_dir, max_parallel=PARALLEL_RUNS):
  """Runs {name: args} with at most `max_parallel` processes at a time."""
  pending = list(cases.items())
  running, done = {}, {}
  while pending or running:
    while pending and len(running) < max_parallel:
      name, args = pending.pop(0)
      running[name] = _Run(args, log_dir, name)
    name = next(iter(running))
    done[name] = running.pop(name).wait()
  return done


def _train_args(output_dir, checkpoint, **overrides):
  flags = dict(
      output_dir=output_dir, note_rnn_checkpoint_file=checkpoint,
      algorithm='q', training_steps=STEPS, exploration_steps=32,
      exploration_mode='egreedy', output_every_nth=EVERY,
      num_eval_compositions=4, num_stat_compositions=NUM_STATS,
      minibatch_size=8, max_experience=200, seed=0)
  flags.update(overrides)
  return [f'--{name}={value}' for name, value in flags.items()
          if value is not None]


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  return tmp_path_factory.mktemp('rl_tuner_train')


@pytest.fixture(scope='module')
def tiny_checkpoint(workdir):
  path = workdir / 'tiny_note_rnn'
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(UNITS,)),
      seed=1).save(str(path))
  return str(path)


@pytest.fixture(scope='module')
def trained(workdir, tiny_checkpoint):
  """One complete run; returns (finished _Run, output dir)."""
  output_dir = workdir / 'run'
  # The replay is kept: the run is resumed for more steps (concurrent_runs).
  run = _Run(_train_args(str(output_dir), tiny_checkpoint,
                         keep_replay='true'), workdir, 'train').wait()
  assert run.returncode == 0, run.stderr[-3000:]
  return run, output_dir


def _error_line(run):
  """The single 'rl_tuner_train: error:' line, checked to be the only one
  and the last thing written."""
  lines = run.stderr.strip().splitlines()
  errors = [line for line in lines if 'rl_tuner_train: error:' in line]
  assert len(errors) == 1, run.stderr[-3000:]
  assert lines[-1] == errors[0]
  assert 'Traceback' not in run.stderr
  return errors[0]


@pytest.fixture(scope='module')
def concurrent_runs(workdir, tiny_checkpoint, trained):
  """The bad-flag runs and a resumed run (on a copy of the run)."""
  _, run_dir = trained
  resumed_dir = workdir / 'resumed'
  shutil.copytree(run_dir, resumed_dir)
  # A run folder that a refused resume must leave exactly as it was.
  existing = workdir / 'existing'
  shutil.copytree(run_dir, existing)
  existing_before = _snapshot(existing)
  bad = str(workdir / 'bad')
  wrong = workdir / 'wrong_reward.py'
  wrong.write_text('def wrong(state, actions):\n  return [1.0, 2.0]\n')
  cases = {
      'user_reward': _train_args(
          str(workdir / 'user_reward'), tiny_checkpoint,
          reward=f'{RHYTHM}:eighth_note_onsets',
          reward_weights='eighth_note_onsets=2,key=0.5', audio='false'),
      'wrong_reward': _train_args(bad, tiny_checkpoint,
                                  reward=f'{wrong}:wrong'),
      'unknown_reward': _train_args(bad, tiny_checkpoint,
                                    reward='chord_tonez'),
      'unknown_weight': _train_args(bad, tiny_checkpoint,
                                    reward_weights='nosuch=1'),
      'algorithm': _train_args(bad, tiny_checkpoint, algorithm='sarsa'),
      'audio_program': _train_args(bad, tiny_checkpoint, audio_program=128),
      'reward_mode': _train_args(bad, tiny_checkpoint, reward_mode='loud'),
      'primer': _train_args(bad, tiny_checkpoint, priming_mode='single_midi'),
      'checkpoint': _train_args(bad, str(workdir / 'missing.ckpt')),
      'no_resume': _train_args(str(run_dir), tiny_checkpoint),
      'reward_scaler_nan': _train_args(bad, tiny_checkpoint,
                                       reward_scaler='nan'),
      'learning_rate_nan': _train_args(bad, tiny_checkpoint,
                                       learning_rate='nan'),
      'repeated_weight': _train_args(bad, tiny_checkpoint,
                                     reward_weights='key=1,key=5'),
      'negative_weight': _train_args(bad, tiny_checkpoint,
                                     reward_weights='key=-1'),
      'nan_on_existing': _train_args(str(existing), tiny_checkpoint,
                                     reward_scaler='nan') + ['--resume'],
      'resume': _train_args(str(resumed_dir), tiny_checkpoint,
                            training_steps=2 * STEPS) + ['--resume'],
      'straight': _train_args(str(workdir / 'straight'), tiny_checkpoint,
                              training_steps=2 * STEPS),
  }
  runs = run_all(cases, workdir)
  runs['straight'].output_dir = workdir / 'straight'
  runs['nan_on_existing'].unchanged = _snapshot(existing) == existing_before
  return runs, resumed_dir


def _snapshot(folder):
  """Every path under `folder` with its size, modification time and bytes."""
  found = {}
  for root, dirs, names in os.walk(folder):
    for name in dirs + names:
      path = pathlib.Path(root) / name
      found[str(path.relative_to(folder))] = (
          path.stat().st_size, path.stat().st_mtime_ns,
          path.read_bytes() if path.is_file() else None)
  return found


def _comparable(summary):
  """A summary without what may differ between runs: timings, flags."""
  return {k: v for k, v in summary.items()
          if k not in ('train_seconds_this_run', 'wall_seconds_this_run',
                       'settings')}


def test_a_killed_process_resumes_exactly(workdir, tiny_checkpoint):
  """SIGKILL once the first checkpoint exists, resume: same as unbroken."""
  steps = 20 * STEPS  # Long enough to be killed mid-way.
  runs = {}
  for name in ('unbroken', 'killed'):
    args = _train_args(str(workdir / name), tiny_checkpoint,
                       training_steps=steps, output_every_nth=4 * EVERY,
                       num_stat_compositions=0)
    runs[name] = _Run(args, workdir, name)
  first = workdir / 'killed' / rl_tuner_lib.CHECKPOINT_SUBDIR / 'q-128'
  deadline = time.time() + TIMEOUT_S
  while not first.exists() and time.time() < deadline:
    time.sleep(0.01)
  killed = runs['killed'].process
  assert killed.poll() is None, 'the run ended before it could be killed'
  killed.send_signal(signal.SIGKILL)
  killed.wait()
  assert not (workdir / 'killed' / 'summary.json').exists()
  assert runs['unbroken'].wait().returncode == 0
  resumed = _Run(args + ['--resume'], workdir, 'resumed').wait()
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  summaries = [json.loads((workdir / name / 'summary.json').read_text())
               for name in ('unbroken', 'killed')]
  assert summaries[0]['env_steps'] == steps
  assert _comparable(summaries[1]) == _comparable(summaries[0])
  for name in ('q.mid', 'q.npz'):
    assert ((workdir / 'killed' / name).read_bytes() ==
            (workdir / 'unbroken' / name).read_bytes()), name


def test_run_writes_every_output(trained, tiny_checkpoint):
  run, out = trained
  assert 'Done: 64 environment steps' in run.stdout
  for name in ('q.mid', 'q.png', 'TrainRewards-q.png',
               'EvaluationRewards-q.png', 'TargetVals-q.png'):
    with open(out / name, 'rb') as f:
      header = f.read(8)
    assert header == (b'MThd\x00\x00\x00\x06' if name.endswith('.mid') else
                      b'\x89PNG\r\n\x1a\n'), name

  summary = json.loads((out / 'summary.json').read_text())
  assert summary['env_steps'] == STEPS
  assert summary['note_rnn_layer_sizes'] == [UNITS]
  assert summary['note_rnn_checkpoint'] == tiny_checkpoint
  assert summary['settings']['algorithm'] == 'q'
  assert summary['dqn_hparams']['minibatch_size'] == 8
  assert summary['dqn_hparams']['discount_rate'] == 0.5  # magenta_cli
  # Gradient steps at environment steps t = 0, 5, 10, ... with t + 1 >= 8.
  assert summary['gradient_steps'] == len(range(10, STEPS, 5))
  # The sample melody is the MIDI file's.
  classes = summary['sample_melody']['classes']
  assert summary['sample_melody']['midi'] == 'q.mid'
  sequence = encoding.midi_file_to_note_sequence(str(out / 'q.mid'))
  played = [n.pitch for n in sorted(sequence.notes,
                                    key=lambda n: n.start_time)]
  assert played == [encoding.class_to_pitch(c) for c in classes if c >= 2]

  # Reward histories in the original's .npz names: 2 blocks, 3 evaluations.
  with np.load(out / 'q.npz') as npz:
    assert npz['train_rewards'].shape == (STEPS // EVERY,)
    assert npz['eval_rewards'].shape == (STEPS // EVERY + 1,)
    assert npz['eval_note_rnn_rewards'].shape == (STEPS // EVERY + 1,)
    np.testing.assert_allclose(
        npz['eval_rewards'][-1],
        summary['final_eval']['note_rnn_log_p_per_note'] +
        summary['final_eval']['music_theory_per_note'])

    # The warning at the end of a run that made the rules' reward worse.
    before, after = npz['eval_music_theory_rewards'][[0, -1]]
  assert summary['final_eval']['music_theory_per_note_before_tuning'] == (
      pytest.approx(before))
  assert ('Tuning made the music-theory reward worse' in run.stderr) == (
      after < before)

  stats = (out / 'music_theory_stats.txt').read_text()
  assert f'Total compositions: {NUM_STATS}' in stats
  table = json.loads((out / 'table1.json').read_text())
  assert table == summary['table1']
  assert 0.0 <= table['notes_not_in_key'] <= 1.0
  # A fraction of 20 compositions.
  share = table['compositions_with_unique_max_note'] * NUM_STATS
  assert share == pytest.approx(round(share))
  assert '| metric | q |' in (out / 'table1.md').read_text()
  # Rhythm beyond the paper's rows: the share of steps that start a note.
  assert 0.0 <= table['note_onsets'] <= 1.0
  assert table['note_onsets'] * NUM_STATS * 32 == pytest.approx(
      round(table['note_onsets'] * NUM_STATS * 32))
  assert 'Steps that start a note (not in the paper)' in (
      out / 'table1.md').read_text()

  checkpoints = out / rl_tuner_lib.CHECKPOINT_SUBDIR
  assert sorted(os.listdir(checkpoints)) == ['q-32', 'q-64', 'replay']

  # Table 1 beside the untuned Note RNN, on as many melodies.
  untuned = summary['table1_untuned_note_rnn']
  assert untuned['compositions_with_unique_max_note'] * NUM_STATS == (
      pytest.approx(round(untuned['compositions_with_unique_max_note'] *
                          NUM_STATS)))
  assert '| metric | q | Note RNN (untuned) |' in (
      out / 'table1.md').read_text()


def test_run_writes_audio_and_its_page(trained):
  run, out = trained
  summary = json.loads((out / 'summary.json').read_text())
  # The run says which renderer made its audio, in summary.json and log.
  record = summary['audio']
  assert record['renderer'] in ('fluidsynth', 'builtin')
  assert record['qpm'] == 80 and record['program'] == 0
  assert f'({record["description"]}, 80 qpm)' in run.stderr
  # 3 untuned and 3 tuned sample melodies, each as MIDI, WAV, piano roll,
  # and the melody of q.mid as q.wav: 32 steps at 80 qpm = 6 s each.
  assert sorted(summary['samples']) == ['note_rnn', 'q']
  wavs = [out / 'q.wav'] + [out / 'samples' / f'{model}_{i}.wav'
                            for model in ('note_rnn', 'q') for i in range(3)]
  for path in wavs:
    samples, rate = audio.read_wav(path)
    assert rate == record['sample_rate']
    assert len(samples) == 6 * rate, path
    assert np.abs(samples).max() > 0.1, path
  played = encoding.midi_file_to_note_sequence(str(out / 'samples' /
                                                   'note_rnn_1.mid'))
  assert [n.pitch for n in sorted(played.notes, key=lambda n: n.start_time)
          ] == [encoding.class_to_pitch(c)
                for c in summary['samples']['note_rnn'][1] if c >= 2]
  # The page, and where to find it.
  page = (out / 'report.html').read_text()
  assert 'src="samples/q_2.wav"' in page
  assert 'Results page: ' in run.stderr
  # TensorBoard: the evaluation melodies as audio at each evaluation.
  steps = _tensorboard_steps(out, 'eval_melodies')
  assert steps == [EVERY, 2 * EVERY]


def _tensorboard_steps(out, tag):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  steps = []
  for event_file in sorted((out / 'tensorboard').iterdir()):
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
      steps += [event.step for value in event.summary.value
                if value.tag == tag]
  return steps


def test_tuned_note_rnn_is_the_final_q_network(trained, tmp_path):
  _, out = trained
  tuned = note_rnn_model.NoteRNN.load(str(out / 'tuned_note_rnn'))
  assert tuned.metadata == {'tuned_by': 'rl_tuner', 'algorithm': 'q',
                            'env_steps': STEPS}
  rlt = rl_tuner_lib.RLTuner(str(tmp_path),
                             note_rnn_checkpoint_file=str(out /
                                                          'tuned_note_rnn'),
                             dqn_hparams={'minibatch_size': 8,
                                          'discount_rate': 0.5})
  rlt.restore_from_directory(str(out))
  assert rlt.env_steps == STEPS
  for a, b in zip(tuned.get_weights(), rlt.q_network.get_weights()):
    np.testing.assert_array_equal(a, b)
  # Tuning moved the Q-network away from the Reward RNN (the start).
  original = note_rnn_model.NoteRNN.load(
      json.loads((out / 'summary.json').read_text())['note_rnn_checkpoint'])
  for a, b in zip(original.get_weights(), rlt.reward_rnn.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert any(not np.array_equal(a, b) for a, b in
             zip(original.get_weights(), tuned.get_weights()))


@pytest.mark.parametrize('case,message', [
    ('algorithm', "unknown --algorithm 'sarsa'; valid values: q, psi, g, "
                  'pure_rl'),
    ('reward_mode', "unknown --reward_mode 'loud'; valid values: scale, "),
    ('primer', '--priming_mode=single_midi needs --midi_primer'),
    ('audio_program', '--audio_program must be a General MIDI program in '
                      '[0, 127]; got 128'),
    ('checkpoint', 'Note RNN checkpoint not found: '),
    ('no_resume', 'already holds a run; pass --resume'),
    ('wrong_reward', "reward 'wrong' returned shape (2,); expected (1,)"),
    ('unknown_reward', "unknown reward 'chord_tonez'; registered rewards: "),
    ('unknown_weight', "--reward_weights names ['nosuch'], not rewards of "
                       'this run'),
    ('reward_scaler_nan', '--reward_scaler must be > 0 (a finite number), '
                          'got nan'),
    ('learning_rate_nan', '--learning_rate must be > 0 (a finite number), '
                          'got nan'),
    ('repeated_weight', "--reward_weights gives 'key' twice (1 and 5)"),
    ('negative_weight', "--reward_weights: 'key=-1' is negative"),
])
def test_bad_flags_exit_2_with_one_line(concurrent_runs, workdir, case,
                                        message):
  run = concurrent_runs[0][case]
  assert run.returncode == 2, run.stderr[-3000:]
  assert message in _error_line(run)
  if case != 'no_resume':
    assert not (workdir / 'bad').exists()


def test_a_bad_number_leaves_an_existing_run_exactly_as_it_was(
    concurrent_runs):
  run = concurrent_runs[0]['nan_on_existing']
  assert run.returncode == 2, run.stderr[-3000:]
  assert _error_line(run).endswith(
      'rl_tuner_train: error: --reward_scaler must be > 0 (a finite '
      'number), got nan; it multiplies every music-theory term: to weaken '
      'the rules give a smaller positive value')
  assert run.unchanged, 'the output folder changed'


def test_a_finished_run_drops_its_replay_unless_kept(concurrent_runs,
                                                     trained):
  straight = concurrent_runs[0]['straight']
  assert straight.returncode == 0, straight.stderr[-3000:]
  assert sorted(os.listdir(straight.output_dir /
                           rl_tuner_lib.CHECKPOINT_SUBDIR)) == [
                               'q-128', 'q-64', 'q-96', 'replay_dropped.json']
  # The last log line: what was dropped, its size, how to keep it.
  last = straight.stderr.strip().splitlines()[-1]
  assert 'Dropped the replay memory, checkpoints/replay/ (' in last
  assert ' MB, 128 transitions): ' in last and '--keep_replay keeps it' in last
  kept = trained[0].stderr.strip().splitlines()[-1]
  assert 'Kept the replay memory, checkpoints/replay/ (' in kept


def test_refused_run_leaves_the_run_alone(concurrent_runs, trained):
  _, out = trained
  summary = json.loads((out / 'summary.json').read_text())
  assert summary['env_steps'] == STEPS
  assert sorted(os.listdir(out / rl_tuner_lib.CHECKPOINT_SUBDIR)) == [
      'q-32', 'q-64', 'replay']


def test_resume_continues_the_run(concurrent_runs, trained):
  runs, resumed_dir = concurrent_runs
  run = runs['resume']
  assert run.returncode == 0, run.stderr[-3000:]
  assert f'Done: {2 * STEPS} environment steps' in run.stdout
  summary = json.loads((resumed_dir / 'summary.json').read_text())
  assert summary['env_steps'] == 2 * STEPS
  # Replay, schedule and random streams carry on: gradient steps at
  # t = 10, 15, ..., 125 as in one run of 128 steps.
  assert summary['gradient_steps'] == len(range(10, 2 * STEPS, 5))
  straight = json.loads((runs['straight'].output_dir /
                         'summary.json').read_text())
  assert _comparable(summary) == _comparable(straight)
  with np.load(trained[1] / 'q.npz') as before, np.load(
      resumed_dir / 'q.npz') as after:
    assert after['train_rewards'].shape == (2 * STEPS // EVERY,)
    assert after['eval_rewards'].shape == (2 * STEPS // EVERY + 1,)
    # The history so far is kept and extended.
    np.testing.assert_array_equal(
        after['train_rewards'][:STEPS // EVERY], before['train_rewards'])
    np.testing.assert_array_equal(
        after['eval_rewards'][:STEPS // EVERY + 1], before['eval_rewards'])
  # Resumed without --keep_replay (not a changed setting): dropped at the end.
  assert sorted(os.listdir(resumed_dir / rl_tuner_lib.CHECKPOINT_SUBDIR)) == [
      'q-128', 'q-64', 'q-96', 'replay_dropped.json']


def test_a_user_reward_from_a_file_is_recorded_by_name(concurrent_runs,
                                                      workdir):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  run = concurrent_runs[0]['user_reward']
  assert run.returncode == 0, run.stderr[-3000:]
  out = workdir / 'user_reward'
  summary = json.loads((out / 'summary.json').read_text())
  terms = {t['name']: t['weight'] for t in summary['reward_terms']}
  assert terms['eighth_note_onsets'] == 2.0 and terms['key'] == 0.5
  assert terms['note_rnn'] == 1.0 and len(terms) == 11
  assert set(summary['train_reward_terms']) == set(terms)
  assert set(summary['final_eval']['terms_per_note']) == set(terms)
  with open(out / 'RewardTerms-q.png', 'rb') as f:
    assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  with np.load(out / 'q.npz') as npz:
    assert npz['train_term_eighth_note_onsets'].shape == (STEPS // EVERY,)
    assert npz['eval_term_eighth_note_onsets'].shape == (STEPS // EVERY + 1,)
  tags = set()
  for event_file in (out / 'tensorboard').iterdir():
    for event in tf.compat.v1.train.summary_iterator(str(event_file)):
      tags.update(value.tag for value in event.summary.value)
  assert 'reward_terms/eighth_note_onsets' in tags
  assert 'eval_reward_terms/eighth_note_onsets' in tags
  # This run had --audio=false: MIDI and a page, no audio anywhere.
  assert summary['audio'] is None and 'eval_melodies' not in tags
  assert not list(out.glob('**/*.wav'))
  assert (out / 'samples' / 'q_0.mid').is_file()
  assert 'No audio was written' in (out / 'report.html').read_text()
