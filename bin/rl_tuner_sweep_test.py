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
          '--max_experience=200', '--cpus_per_trial=1',
          # A finished trial is made to look interrupted and resumed below.
          '--keep_replay']


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
      # Value lists get the flags' checks: no OverflowError traceback for
      # inf, no silent negative scaler.
      (['--reward_scalers=1,inf'], '--reward_scaler must be > 0 (a finite '
       'number), got inf'),
      (['--reward_scalers=-1'], '--reward_scaler must be > 0 (a finite '
       'number), got -1.0'),
      (['--sweep=learning_rate=0.001|nan'], '--learning_rate must be > 0 '
       '(a finite number), got nan'),
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


# --- A full disk, a dead worker, a killed driver (issue 28) ----------------


def _faulty_trials(faults):
  """sweep_ray.train_trial, but the trials named in `faults` fail: 'enospc'
  raises the C library's disk-full error, 'kill' kills the worker process.

  A function local to this one: Ray pickles it by value for its workers.
  """
  # pylint: disable=g-import-not-at-top
  from rl_tuner.experiments import sweep_ray

  # pylint: enable=g-import-not-at-top
  real = sweep_ray.train_trial

  def faulty(config):
    # pylint: disable=g-import-not-at-top,redefined-outer-name,reimported
    import errno
    import os
    import signal

    # pylint: enable=g-import-not-at-top,redefined-outer-name,reimported
    fault = faults.get(config['trial']['name'])
    if fault == 'enospc':
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if fault == 'kill':
      os.kill(os.getpid(), signal.SIGKILL)
    return real(config)
  return faulty


def _small_sweep_argv(workdir, out, seeds):
  return [f'--output_dir={out}', f'--note_rnn_checkpoint_file='
          f'{workdir / "tiny"}', f'--seeds={seeds}',
          f'--training_steps={STEPS}',
          '--exploration_steps=100', '--exploration_mode=egreedy',
          f'--output_every_nth={EVERY}', '--num_eval_compositions=4',
          '--num_stat_compositions=20', '--minibatch_size=8',
          '--max_experience=200', '--max_concurrent_trials=1']


def _error_lines(err):
  return [line for line in err.splitlines()
          if line.startswith('rl_tuner_sweep: error:')]


def test_a_trial_on_a_full_disk_stops_the_sweep_with_one_line_and_exit_2(
    tool, local_ray, workdir, capsys, monkeypatch):
  del local_ray
  # pylint: disable=g-import-not-at-top
  from ray.tune.experiment import trial as tune_trial

  from rl_tuner.experiments import sweep_ray

  # pylint: enable=g-import-not-at-top
  out = workdir / 'full_disk'
  argv = _small_sweep_argv(workdir, out, '0,1,2')
  monkeypatch.setattr(sweep_ray, 'train_trial',
                      _faulty_trials({'seed=1': 'enospc'}))

  # What the issue met: Tune's pickled error, written to the full disk, is
  # empty, and Tune's results end in EOFError.
  def empty_pickle(self):
    del self
    raise EOFError('Ran out of input')
  monkeypatch.setattr(tune_trial.Trial, 'get_pickled_error', empty_pickle)
  rc, _, err = _run_main(tool, argv, capsys)
  assert rc == 2, err
  assert 'Traceback' not in err and 'EOFError' not in err
  assert _error_lines(err) == [
      f'rl_tuner_sweep: error: trial seed=1: disk full while writing '
      f'{out / "trials" / "seed=1"} (OSError: No space left on device); free '
      'space and run the same command again: complete trials are kept, the '
      'others resume from their last checkpoint']
  assert err.strip().splitlines()[-1] == _error_lines(err)[0]
  # The trial before it finished and is kept; the one after never started.
  done = out / 'trials' / 'seed=0' / 'summary.json'
  assert json.loads(done.read_text())['env_steps'] == STEPS
  assert 'trial seed=2 started' not in err
  assert not (out / 'trials' / 'seed=2' / 'summary.json').exists()
  # Space is back: the same command keeps seed=0 and runs the others.
  monkeypatch.undo()
  kept_mtime = done.stat().st_mtime_ns
  rc, out_text, err = _run_main(tool, argv, capsys)
  assert rc == 0, err
  assert 'Done: 3 of 3 trials complete' in out_text
  assert 'trial seed=0 started' not in err
  assert done.stat().st_mtime_ns == kept_mtime
  assert json.loads((out / 'sweep.json').read_text())[
      'trials_kept_from_before'] == ['seed=0']


def test_a_trial_whose_worker_dies_ends_the_sweep_with_one_line_and_exit_2(
    tool, local_ray, workdir, capsys, monkeypatch):
  del local_ray
  # pylint: disable=g-import-not-at-top
  from rl_tuner.experiments import sweep_ray

  # pylint: enable=g-import-not-at-top
  out = workdir / 'crash'
  monkeypatch.setattr(sweep_ray, 'train_trial',
                      _faulty_trials({'seed=3': 'kill'}))
  rc, _, err = _run_main(tool, _small_sweep_argv(workdir, out, '3'), capsys)
  assert rc == 2, err
  assert 'Traceback' not in err
  assert _error_lines(err) == [
      'rl_tuner_sweep: error: trial seed=3 crashed: ActorDiedError: its '
      'worker process died (killed, out of memory, or a fault in native '
      'code) (its log: logs/seed=3.log); run the same command again to '
      'resume it from its last checkpoint (complete trials are kept)']
  record = json.loads((out / 'sweep.json').read_text())
  assert record['trials'][0]['state'] == 'failed'


def _alive(pid):
  # pylint: disable=g-import-not-at-top
  from note_rnn.runtime import reaper

  # pylint: enable=g-import-not-at-top
  stat = reaper._stat(pid)  # pylint: disable=protected-access
  return stat is not None and stat[0] not in ('Z', 'X')


@pytest.mark.skipif(not os.path.isdir('/proc'), reason='Linux: reads /proc')
def test_kill_9_of_the_sweep_ends_its_ray_workers_at_once(workdir, tmp_path):
  # pylint: disable=g-import-not-at-top
  import time

  from note_rnn.runtime import reaper

  # pylint: enable=g-import-not-at-top
  out = tmp_path / 'killed'
  argv = _small_sweep_argv(workdir, out, '0')
  argv[argv.index(f'--training_steps={STEPS}')] = '--training_steps=1000000'
  driver = subprocess.Popen(
      [sys.executable, str(SCRIPT), '--num_cpus=1'] + argv,
      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  log = out / 'logs' / 'seed=0.log'
  deadline = time.monotonic() + 120
  try:
    while not (log.exists() and 'in process' in log.read_text()):
      assert driver.poll() is None, driver.stderr.read()
      assert time.monotonic() < deadline, 'the trial did not start'
      time.sleep(0.2)
    worker = int(log.read_text().split('in process ')[1].split(';')[0])
    time.sleep(3 * reaper.INTERVAL_S)
    ray_processes = reaper.descendants(driver.pid)
    assert worker in ray_processes
    driver.kill()
    driver.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < 5 and any(
        _alive(p) for p in ray_processes):
      time.sleep(0.05)
    # Before the reaper: the worker lived on for 2-4 s, Ray's agents ~60 s.
    assert [p for p in ray_processes if _alive(p)] == []
    assert time.monotonic() - killed < 2
  finally:
    if driver.poll() is None:
      driver.kill()
    driver.stderr.close()
