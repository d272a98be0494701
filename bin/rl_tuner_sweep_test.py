"""bin/rl_tuner_sweep.py on a local Ray of 2 CPUs, started once.

A tiny Note RNN (one LSTM layer of 8 units) is tuned for 200 steps per
trial. One sweep of 4 trials (2 seeds x a good and a damaged checkpoint)
runs; 2 trials fail and the other 2 complete. Then one run is put back in
the state an interruption leaves (no summary, an older checkpoint) and the
same command is run again: the complete trial is kept untouched, the other
resumes from its checkpoint.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import pytest
import script_testing

from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from rl_tuner.experiments import sweep
from rl_tuner.run import checkpointer

ray = pytest.importorskip('ray', reason="Ray is an extra: pip install -e "
                          "'.[sweep]'")

FLAGS = flags.FLAGS
SCRIPT = pathlib.Path(__file__).resolve().parent / 'rl_tuner_sweep.py'
STEPS = 200
EVERY = 64


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT, 'rl_tuner_sweep') as module:
    yield module


@pytest.fixture(scope='module')
def local_ray():
  ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
           configure_logging=False)
  yield
  ray.shutdown()


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  path = tmp_path_factory.mktemp('sweep')
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
      seed=1).save(str(path / 'tiny'))
  (path / 'damaged.ckpt').write_text('not a checkpoint')
  return path


def _argv(workdir):
  return [f'--output_dir={workdir / "sweep"}',
          f'--sweep=note_rnn_checkpoint_file={workdir / "tiny"},'
          f'{workdir / "damaged.ckpt"}',
          '--seeds=0,1', '--reward_scalers=2', f'--training_steps={STEPS}',
          '--exploration_steps=100', '--exploration_mode=egreedy',
          f'--output_every_nth={EVERY}', '--num_eval_compositions=4',
          '--num_stat_compositions=20', '--minibatch_size=8',
          '--max_experience=200', '--cpus_per_trial=1']


def _run_main(tool, argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(FLAGS(['rl_tuner_sweep.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


GOOD = ('reward_scaler=2__note_rnn_checkpoint_file=tiny__seed=0',
        'reward_scaler=2__note_rnn_checkpoint_file=tiny__seed=1')
BAD = ('reward_scaler=2__note_rnn_checkpoint_file=damaged.ckpt__seed=0',
       'reward_scaler=2__note_rnn_checkpoint_file=damaged.ckpt__seed=1')


@pytest.fixture(scope='module')
def first_sweep(tool, local_ray, workdir):
  del local_ray
  with flagsaver.flagsaver():
    rc = tool.main(FLAGS(['rl_tuner_sweep.py'] + _argv(workdir)))
  out = workdir / 'sweep'
  return rc, out, json.loads((out / 'sweep.json').read_text())


def test_trials_are_runs_and_a_failing_trial_does_not_stop_the_others(
    first_sweep):
  rc, out, record = first_sweep
  assert rc == 1  # Some trials failed.
  assert sorted(os.listdir(out / 'trials')) == sorted(GOOD)
  for name in GOOD:
    run_dir = out / 'trials' / name
    summary = json.loads((run_dir / 'summary.json').read_text())
    # A normal rl_tuner_train run directory.
    assert summary['env_steps'] == STEPS
    assert summary['settings']['reward_scaler'] == 2.0
    for output in ('table1.md', 'table1.json', 'music_theory_stats.txt',
                   'q.mid', 'tuned_note_rnn', 'tensorboard', 'checkpoints'):
      assert (run_dir / output).exists(), (name, output)
    # One CPU per trial and TensorFlow's pools sized to it.
    log = (out / 'logs' / f'{name}.log').read_text()
    assert 'TensorFlow threads inter 1, intra 1' in log
  seeds = [json.loads((out / 'trials' / n / 'summary.json').read_text())[
      'settings']['seed'] for n in GOOD]
  assert seeds == [0, 1]
  states = {t['name']: t['state'] for t in record['trials']}
  assert states == {GOOD[0]: 'done', GOOD[1]: 'done', BAD[0]: 'failed',
                    BAD[1]: 'failed'}
  errors = [t['error'] for t in record['trials'] if t['error']]
  assert len(errors) == 2
  assert all(e.startswith('UsageError: cannot read checkpoint') for e in
             errors)


def test_results_hold_table1_per_setting_the_tradeoff_and_samples(
    first_sweep):
  _, out, record = first_sweep
  good, bad = record['settings']
  assert (good['done'], good['failed'], bad['done'], bad['failed']) == (
      2, 0, 0, 2)
  summaries = [json.loads((out / 'trials' / n / 'summary.json').read_text())
               for n in GOOD]
  log_p = [s['final_eval']['note_rnn_log_p_per_note'] for s in summaries]
  assert good['note_rnn_log_p_per_note']['n'] == 2
  assert good['note_rnn_log_p_per_note']['mean'] == pytest.approx(
      sum(log_p) / 2)
  assert good['music_theory_per_note']['mean'] == pytest.approx(sum(
      s['final_eval']['music_theory_per_note'] for s in summaries) / 2 / 2.0)
  repeated = [s['table1']['notes_not_in_key'] for s in summaries]
  assert good['table1']['notes_not_in_key']['mean'] == pytest.approx(
      sum(repeated) / 2)
  markdown = (out / 'sweep.md').read_text()
  assert 'Q, scaler 2, note_rnn_checkpoint_file=tiny' in markdown
  assert '| seeds done / failed | 2 / 0 | 0 / 2 |' in markdown
  assert (out / 'tradeoff.png').stat().st_size > 1000
  assert good['samples']['midi'] == [f'samples/{n}.mid' for n in GOOD]
  assert (out / good['samples']['piano_roll']).is_file()
  # The page to listen: a tuned melody of each finished trial, its WAV the
  # trial's own.
  page = (out / 'sweep.html').read_text()
  wavs = [f'trials/{n}/samples/q_0.wav' for n in GOOD]
  assert page.count('<audio') == 2
  assert all(f'src="{w}"' in page and (out / w).is_file() for w in wavs)


def test_a_rerun_keeps_complete_trials_and_resumes_unfinished_ones(
    tool, first_sweep, workdir, capsys):
  _, out, _ = first_sweep
  kept, resumed = (out / 'trials' / n for n in GOOD)
  kept_summary = (kept / 'summary.json').read_bytes()
  kept_mtime = (kept / 'summary.json').stat().st_mtime_ns
  # What an interruption leaves: checkpoints, the newest not the last step,
  # and no summary.
  checkpoints = checkpointer.list_checkpoints(resumed / 'checkpoints')
  for path in checkpoints[1:]:
    shutil.rmtree(path)
  (resumed / 'summary.json').unlink()
  resume_step = int(checkpoints[0].rpartition('-')[2])
  assert 0 < resume_step < STEPS
  rc, out_text, err = _run_main(tool, _argv(workdir), capsys)
  assert rc == 1, err  # The damaged checkpoint fails again.
  assert 'Done: 2 of 4 trials complete, 2 failed' in out_text
  assert (kept / 'summary.json').read_bytes() == kept_summary
  assert (kept / 'summary.json').stat().st_mtime_ns == kept_mtime
  assert f'trial {GOOD[1]} started (resuming at step {resume_step:,})' in err
  assert f'trial {GOOD[0]} started' not in err
  assert 'FAILED: UsageError: cannot read checkpoint' in err
  assert 'sweep: 2/4 done, 0 running, 0 pending, 2 failed' in err
  summary = json.loads((resumed / 'summary.json').read_text())
  assert summary['env_steps'] == STEPS
  assert summary['gradient_steps'] > 0
  record = json.loads((out / 'sweep.json').read_text())
  assert record['trials_kept_from_before'] == [GOOD[0]]


def test_bad_settings_exit_2_with_one_line_and_write_nothing(
    tool, local_ray, workdir, capsys):
  del local_ray
  out = workdir / 'refused'
  cases = [
      (['--sweep=reward_scaler=1,x'], 'reward_scaler takes float values'),
      (['--algorithms=q,sarsa'], "trial algorithm=sarsa: unknown "
       "--algorithm 'sarsa'"),
      (['--sweep=nosuch=1'], "unknown setting 'nosuch'"),
      (['--seeds=0', '--sweep=seed=1'], 'seed is swept twice'),
      (['--cpus_per_trial=3'], '--cpus_per_trial=3 but Ray has 2 CPUs'),
  ]
  for extra, message in cases:
    rc, _, err = _run_main(
        tool, [f'--output_dir={out}', f'--note_rnn_checkpoint_file='
               f'{workdir / "tiny"}', '--training_steps=10'] + extra, capsys)
    assert rc == 2, (extra, err)
    lines = err.strip().splitlines()
    assert lines[-1].startswith('rl_tuner_sweep: error: '), err
    assert message in lines[-1], (message, err)
    assert 'Traceback' not in err
  assert not out.exists()


def test_without_ray_the_tool_exits_2_with_the_install_command(tmp_path):
  # A `ray` package that cannot be imported stands in for a missing one.
  fake = tmp_path / 'no_ray' / 'ray'
  fake.mkdir(parents=True)
  (fake / '__init__.py').write_text('raise ImportError("no ray here")\n')
  env = dict(os.environ, PYTHONPATH=str(tmp_path / 'no_ray'),
             TF_CPP_MIN_LOG_LEVEL='3')
  run = subprocess.run(
      [sys.executable, str(SCRIPT), f'--output_dir={tmp_path / "out"}',
       '--seeds=0,1', '--training_steps=10'],
      capture_output=True, text=True, env=env, timeout=120, check=False)
  assert run.returncode == 2, run.stderr
  assert run.stderr.strip().splitlines() == [
      "rl_tuner_sweep: error: Ray is not installed (it is an optional "
      f"extra): {sweep.INSTALL_COMMAND}"]
  assert not (tmp_path / 'out').exists()


def test_reproduction_runs_train_on_ray_and_are_then_complete(
    local_ray, workdir):
  del local_ray
  # pylint: disable=g-import-not-at-top
  from rl_tuner.experiments import reproduction
  from rl_tuner.experiments import sweep_ray

  # pylint: enable=g-import-not-at-top
  configs = SCRIPT.parent.parent / 'configs'
  out = workdir / 'paper'
  overrides = {'note_rnn_checkpoint_file': str(workdir / 'tiny'),
               'training_steps': 64, 'exploration_steps': 32,
               'output_every_nth': 32, 'max_experience': 64,
               'minibatch_size': 8, 'seed': 0}
  trained = sweep_ray.train_reproduction_runs(('g',), str(out),
                                              str(configs), overrides)
  assert trained == ['g']
  records = reproduction.train_all(('g',), str(out), str(configs),
                                   overrides)
  # The reproduction finds the run complete: nothing is trained again.
  assert not records['g']['trained_now']
  assert records['g']['settings']['algorithm'] == 'g'
  assert sweep_ray.train_reproduction_runs(('g',), str(out), str(configs),
                                           overrides) == []
