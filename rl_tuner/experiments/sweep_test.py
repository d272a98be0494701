"""Tests of a sweep's plan, progress line and results (no Ray needed)."""

import json
import math
import os

import pytest

from rl_tuner.experiments import sweep
from rl_tuner.experiments import sweep_failures
from rl_tuner.experiments import sweep_results
from rl_tuner.run import settings as settings_lib

BASE = settings_lib.TrainSettings()


def test_parse_axis_gives_values_in_the_settings_types():
  assert sweep.parse_axis('reward_scaler=0.5,1,2') == (
      'reward_scaler', [0.5, 1.0, 2.0])
  assert sweep.parse_axis('seed=0, 1') == ('seed', [0, 1])
  assert sweep.parse_axis('stochastic_observations=true,0') == (
      'stochastic_observations', [True, False])
  assert sweep.parse_axis('learning_rate=none,1e-3') == (
      'learning_rate', [None, 0.001])
  # '|' separates values that hold commas.
  assert sweep.parse_axis('reward_weights=key=1,chord_tones=2|key=2') == (
      'reward_weights', ['key=1,chord_tones=2', 'key=2'])


@pytest.mark.parametrize('spec, message', [
    ('seed', 'expected NAME=VALUE'),
    ('seed=', 'no value'),
    ('seed=0,zero', "seed takes int values, got 'zero'"),
    ('reward_scaler=1,1.0', 'given twice'),
    ('nosuch=1', "unknown setting 'nosuch'"),
    ('output_dir=a,b', 'set by the sweep itself'),
    ('reward=a,b', 'repeatable flag'),
])
def test_parse_axis_refuses_bad_specs_naming_them(spec, message):
  with pytest.raises(sweep.UsageError, match=message):
    sweep.parse_axis(spec)


def test_merge_axes_refuses_a_setting_swept_twice():
  with pytest.raises(sweep.UsageError, match='seed is swept twice'):
    sweep.merge_axes([('seed', [0]), ('seed', [1])])


def test_trial_names_are_readable_safe_and_bounded():
  assert sweep.trial_name({'algorithm': 'q', 'reward_scaler': 2.0,
                           'seed': 0}) == (
                               'algorithm=q__reward_scaler=2__seed=0')
  assert sweep.trial_name({'note_rnn_checkpoint_file': '/a/b/my model'}) == (
      'note_rnn_checkpoint_file=my_model')
  long_a = sweep.trial_name({'reward_weights': 'x' * 200 + 'a'})
  long_b = sweep.trial_name({'reward_weights': 'x' * 200 + 'b'})
  assert len(long_a) == sweep.MAX_NAME_LENGTH and long_a != long_b
  assert sweep.trial_name({}) == 'run'


def test_plan_is_the_product_of_the_axes_first_axis_slowest(tmp_path):
  axes = {'algorithm': ['q', 'g'], 'seed': [0, 1]}
  trials = sweep.plan(BASE.replace(training_steps=10), axes, str(tmp_path))
  assert [t.name for t in trials] == [
      'algorithm=q__seed=0', 'algorithm=q__seed=1', 'algorithm=g__seed=0',
      'algorithm=g__seed=1']
  second = trials[1].settings
  assert (second.algorithm, second.seed, second.training_steps,
          second.resume) == ('q', 1, 10, True)
  assert second.output_dir == os.path.join(str(tmp_path), 'trials',
                                           'algorithm=q__seed=1')
  # Seeds of one setting form one group.
  assert trials[0].group == trials[1].group == (('algorithm', 'q'),)


def test_plan_checks_every_trial_and_names_the_one_that_cannot_work(
    tmp_path):
  with pytest.raises(sweep.UsageError,
                     match=r'trial reward_scaler=1__training_steps=0: '
                     '--training_steps must be >= 1'):
    sweep.plan(BASE, {'reward_scaler': [1.0], 'training_steps': [5, 0]},
               str(tmp_path))
  with pytest.raises(sweep.UsageError, match='would share the folder'):
    sweep.plan(BASE, {'note_rnn_checkpoint_file': ['a/m', 'b/m']},
               str(tmp_path), check=False)


def test_check_against_plan_refuses_another_sweep_but_allows_longer_runs(
    tmp_path):
  axes = {'seed': [0, 1]}
  trials = sweep.plan(BASE, axes, str(tmp_path))
  sweep.write_plan(str(tmp_path), trials, axes)
  longer = sweep.plan(BASE.replace(training_steps=2000000), axes,
                      str(tmp_path))
  sweep.check_against_plan(str(tmp_path), longer)
  more_seeds = sweep.plan(BASE, {'seed': [0, 1, 2]}, str(tmp_path))
  sweep.check_against_plan(str(tmp_path), more_seeds)
  other = sweep.plan(BASE.replace(discount_rate=0.9), axes, str(tmp_path))
  with pytest.raises(sweep.UsageError,
                     match=r'trial seed=0 ran with discount_rate=None, this '
                     'command gives 0.9'):
    sweep.check_against_plan(str(tmp_path), other)
  # A setting newer than the plan (not in it) is not compared.
  record = json.loads((tmp_path / sweep.PLAN_NAME).read_text())
  for entry in record['trials'].values():
    del entry['settings']['discount_rate']
  (tmp_path / sweep.PLAN_NAME).write_text(json.dumps(record))
  sweep.check_against_plan(str(tmp_path), other)
  # Written plans keep earlier trials listed.
  sweep.write_plan(str(tmp_path), more_seeds[2:], {'seed': [2]})
  record = json.loads((tmp_path / sweep.PLAN_NAME).read_text())
  assert sorted(record['trials']) == ['seed=0', 'seed=1', 'seed=2']


def test_completion_and_steps_come_from_the_run_directory(tmp_path):
  trial, = sweep.plan(BASE.replace(training_steps=100), {'seed': [0]},
                      str(tmp_path))
  assert not sweep.is_complete(trial) and sweep.steps_done(trial) == 0
  root = os.path.join(trial.run_dir, 'checkpoints')
  for step in (32, 64):
    os.makedirs(os.path.join(root, f'q-{step}'))
    with open(os.path.join(root, f'q-{step}', 'training_state.json'),
              'w') as f:
      f.write('{}')
  assert sweep.steps_done(trial) == 64 and not sweep.is_complete(trial)
  with open(os.path.join(trial.run_dir, 'summary.json'), 'w') as f:
    json.dump({'env_steps': 96}, f)
  assert not sweep.is_complete(trial)
  with open(os.path.join(trial.run_dir, 'summary.json'), 'w') as f:
    json.dump({'env_steps': 100}, f)
  assert sweep.is_complete(trial) and sweep.steps_done(trial) == 100


class _Clock:

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def test_progress_counts_states_and_estimates_the_time_left(tmp_path):
  trials = sweep.plan(BASE.replace(training_steps=1000), {'seed': [0, 1, 2,
                                                                   3]},
                      str(tmp_path))
  clock = _Clock()
  progress = sweep.Progress(trials, slots=2, clock=clock)
  names = [t.name for t in trials]
  progress.mark(names[0], sweep.RUNNING)
  progress.mark(names[1], sweep.RUNNING, steps=500)  # Resumed at 500.
  assert progress.eta() is None
  assert progress.line() == ('sweep: 0/4 done, 2 running, 2 pending, '
                             '0 failed; ETA --')
  clock.now = 10.0
  progress.set_steps(names[0], 100)
  progress.set_steps(names[1], 600)
  # 200 steps in 20 trial-seconds: 10 steps/s per trial; 900 + 400 + 2000
  # steps left, 2 trials at a time.
  assert progress.rate() == pytest.approx(10.0)
  assert progress.eta() == pytest.approx(3300 / 10 / 2)
  clock.now = 50.0
  progress.mark(names[1], sweep.DONE)
  progress.mark(names[2], sweep.FAILED, error='ValueError: bad')
  # Finished trials set the rate: 500 steps in 50 s.
  assert progress.rate() == pytest.approx(10.0)
  assert progress.eta() == pytest.approx((900 + 1000) / 10 / 2)
  assert progress.counts() == {'done': 1, 'running': 1, 'pending': 1,
                               'failed': 1}
  assert progress.errors == {names[2]: 'ValueError: bad'}
  assert progress.line().endswith('1 failed; ETA 0:01:35')


def test_error_line_gives_the_exception_of_a_trace_or_an_error():
  trace = ('Traceback (most recent call last):\n  File "x.py"\n'
           'rl_tuner.run.settings.UsageError: cannot read checkpoint a: b\n')
  assert sweep_failures.error_line(trace) == (
      'UsageError: cannot read checkpoint a: b')
  assert sweep_failures.error_line(ValueError('bad value\nmore')) == (
      'ValueError: bad value')
  assert sweep_failures.error_line(None) is None


def _fake_run(trial, log_p, music_theory, repeated):
  os.makedirs(trial.run_dir)
  table = {'notes_excessively_repeated': repeated,
           'mean_autocorrelation_lag1': 0.1, 'note_onsets': 0.5}
  summary = {'env_steps': trial.settings.training_steps,
             'final_eval': {'note_rnn_log_p_per_note': log_p,
                            'music_theory_per_note': music_theory},
             'table1': table,
             'sample_melody': {'classes': [2, 0, 5, 1] * 8}}
  with open(os.path.join(trial.run_dir, 'summary.json'), 'w') as f:
    json.dump(summary, f)


def test_results_give_mean_and_sd_per_setting_over_seeds(tmp_path):
  base = BASE.replace(training_steps=10)
  trials = sweep.plan(base, {'reward_scaler': [2.0, 4.0], 'seed': [0, 1]},
                      str(tmp_path))
  # reward_scaler 2: two seeds; 4: one seed done, one failed.
  _fake_run(trials[0], -2.0, 2.0, 0.1)
  _fake_run(trials[1], -3.0, 4.0, 0.3)
  _fake_run(trials[2], -4.0, 8.0, 0.0)
  outcome = {trials[3].name: {'state': sweep.FAILED,
                              'error': 'UsageError: bad checkpoint'}}
  record = sweep_results.write_results(str(tmp_path), trials, outcome)
  assert record['trials_by_state'] == {'done': 3, 'running': 0,
                                       'pending': 0, 'failed': 1}
  first, second = record['settings']
  assert first['label'] == 'Q, scaler 2' and first['done'] == 2
  assert first['note_rnn_log_p_per_note']['mean'] == pytest.approx(-2.5)
  assert first['note_rnn_log_p_per_note']['sd'] == pytest.approx(
      math.sqrt(0.5))
  # Music theory without the scaler: 2/2 and 4/2.
  assert first['music_theory_per_note']['mean'] == pytest.approx(1.5)
  assert first['table1']['notes_excessively_repeated']['mean'] == (
      pytest.approx(0.2))
  assert (second['label'], second['done'], second['failed']) == (
      'Q, scaler 4', 1, 1)
  assert second['music_theory_per_note'] == {'mean': 2.0, 'sd': None,
                                             'n': 1}
  markdown = (tmp_path / sweep_results.RESULTS_MD).read_text()
  assert '| metric | Q, scaler 2 | Q, scaler 4 |' in markdown
  assert '| seeds done / failed | 2 / 0 | 1 / 1 |' in markdown
  assert '| Notes excessively repeated | 20% ± 14% | 0% |' in markdown
  assert '| Q, scaler 2 | -2.5 ± 0.71 | 1.5 ± 0.71 |' in markdown
  assert ('- reward_scaler=4__seed=1: UsageError: bad checkpoint'
          in markdown)
  assert json.loads((tmp_path / sweep_results.RESULTS_JSON).read_text())[
      'settings'][0]['samples']['piano_roll'] == os.path.join(
          'samples', 'reward_scaler=2.png')
  assert (tmp_path / sweep_results.TRADEOFF_PNG).stat().st_size > 1000
  page = (tmp_path / sweep_results.RESULTS_HTML).read_text()
  assert 'Q, scaler 4' in page and '20% ± 14%' in page
  assert 'reward_scaler=4__seed=1</code>: UsageError: bad checkpoint' in page
  assert sorted(os.listdir(tmp_path / 'samples')) == [
      'reward_scaler=2.png', 'reward_scaler=2__seed=0.mid',
      'reward_scaler=2__seed=1.mid', 'reward_scaler=4.png',
      'reward_scaler=4__seed=0.mid']


@pytest.mark.parametrize('spec,message', [
    # Was an OverflowError traceback from the trial's folder name.
    ('reward_scaler=1,inf', r'--reward_scaler must be > 0 \(a finite '
     r'number\), got inf'),
    ('reward_scaler=0.5,-1', r'--reward_scaler must be > 0 .*got -1\.0'),
    ('discount_rate=0.5,nan', r'--discount_rate must be in \[0, 1\] .*got '
     'nan'),
    ('seed=0,-3', r'--seed must be >= 0 \(a whole number\), got -3'),
    ('qpm=80,inf', "qpm takes finite numbers, got 'inf'"),
])
def test_swept_values_get_the_flags_checks(spec, message):
  with pytest.raises(sweep.UsageError, match=message):
    sweep.parse_axis(spec)


def test_a_plan_refuses_a_bad_value_given_directly(tmp_path):
  with pytest.raises(sweep.UsageError,
                     match=r'trial reward_scaler=inf: --reward_scaler must '
                     r'be > 0 \(a finite number\), got inf'):
    sweep.plan(BASE, {'reward_scaler': [float('inf')]}, str(tmp_path))


def test_error_line_says_disk_full_and_dead_worker_in_few_words():
  tensorflow_text = ('ResourceExhaustedError: {{function_node __wrapped__Sa'
                     'veV2}} /a/ckpt_temp/part.tempstate1; No space left on '
                     'device [Op:SaveV2]')
  assert sweep_failures.error_line(tensorflow_text) == (
      'ResourceExhaustedError: No space left on device')
  assert sweep_failures.error_line(OSError(28, 'No space left on device')) == (
      'OSError: No space left on device')
  ray_text = ('Failure # 1\nThe actor died unexpectedly before finishing '
              'this task.\n\tpid: 1\nThe actor is dead because its worker '
              'process has died. Worker exit type: SYSTEM_ERROR ...')
  dead = sweep_failures.error_line(ray_text)
  assert dead == ('ActorDiedError: its worker process died (killed, out of '
                  'memory, or a fault in native code)')
  assert sweep_failures.failure_cause(dead) == sweep_failures.CRASHED
  assert sweep_failures.failure_cause('OSError: No space left on device') == (
      sweep_failures.DISK_FULL)
  assert sweep_failures.failure_cause('UsageError: cannot read checkpoint') is None
  assert sweep_failures.failure_cause(None) is None


def test_stop_line_names_the_first_stopping_trial_and_counts_the_others():
  outcome = {
      'seed=0': {'state': sweep.DONE, 'error': None},
      'seed=1': {'state': sweep.FAILED, 'error': 'UsageError: bad'},
      'seed=2': {'state': sweep.FAILED,
                 'error': 'OSError: No space left on device'},
      'seed=3': {'state': sweep.PENDING, 'error': None},
  }
  assert sweep_failures.stop_line(outcome, '/s') == (
      'trial seed=2: disk full while writing /s/trials/seed=2 (OSError: No '
      'space left on device); free space and run the same command again: '
      'complete trials are kept, the others resume from their last '
      'checkpoint; 1 other trial(s) failed too')
  del outcome['seed=2']
  assert sweep_failures.stop_line(outcome, '/s') is None
