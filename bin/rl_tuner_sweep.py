r"""Trains many RL Tuner runs on Ray Tune: settings x seeds, then compares them.

The paper's choice of c, on this machine (every CPU, one trial each):

  python bin/rl_tuner_sweep.py --flagfile=configs/paper_q.flags \
      --algorithms=q,psi,g --reward_scalers=0.5,1,2,4 --seeds=0,1,2 \
      --training_steps=100000 --output_dir=sweeps/c

On a Ray cluster: the same command with --ray_address=HOST:6379 (or
RAY_ADDRESS set); --output_dir must then be on a file system every node
sees.

Every flag of rl_tuner_train sets all trials (a --flagfile too). Sweep any
of them with --sweep=NAME=V1,V2,... (repeatable; '|' separates values that
hold commas); --algorithms, --reward_scalers and --seeds are short for
--sweep=algorithm=..., reward_scaler=..., seed=.... Trials are every
combination; each is a normal rl_tuner_train run directory,
<output_dir>/trials/<name>, with its log in <output_dir>/logs/<name>.log.

Running the same command again resumes: complete trials are kept, the
others continue from their checkpoints (more --training_steps extend them).
A trial that fails is reported with its error and the others go on; the
exit status is then 1 (130 after Ctrl-C with trials unfinished). A trial
that finds the disk full (the sweep then stops its other trials) or whose
worker process dies (killed, out of memory) ends the sweep with one line
naming it and its cause, and exit status 2; complete trials are kept, and
running the same command again resumes the others. Ctrl-C, `kill` and
`kill -9` of the sweep end its local Ray's processes too. Results
(see rl_tuner.sweep_results): sweep.json, sweep.md (Table 1 per setting,
mean ± sd over seeds), tradeoff.png, sweep.html (a melody of each trial to
listen to, by setting) and samples/ (MIDI and a piano roll per setting).

Needs Ray: pip install -e '.[sweep]'.
"""

import sys

import script_setup  # First: quiet start-up, repository on sys.path.

from absl import app
from absl import flags

from rl_tuner.experiments import sweep
from rl_tuner.rewards import reward_api
from rl_tuner.run import settings as settings_lib

TOOL = 'rl_tuner_sweep'
# Exit status when some trials failed (the others completed) / when the
# sweep was interrupted (Ctrl-C) before every trial ended.
EXIT_TRIALS_FAILED = 1
EXIT_INTERRUPTED = 130
FLAGS = flags.FLAGS

settings_lib.define_flags()
# --help lists them with the tool, not only under --helpfull.
flags.adopt_module_key_flags(settings_lib)
flags.DEFINE_list('algorithms', None,
                  'Algorithms to sweep (short for --sweep=algorithm=...); '
                  'default: --algorithm alone.')
flags.DEFINE_list('reward_scalers', None,
                  'Reward scalers to sweep (1/c in the paper; short for '
                  '--sweep=reward_scaler=...); default: --reward_scaler.')
flags.DEFINE_list('seeds', None,
                  'Seeds of every setting (short for --sweep=seed=...); '
                  'Table 1 gives mean ± sd over them. Default: --seed.')
flags.DEFINE_multi_string(
    'sweep', [], 'NAME=V1,V2,...: sweep the rl_tuner_train setting NAME '
    "over these values (repeatable; '|' separates values holding commas).")
flags.DEFINE_integer('cpus_per_trial', 1,
                     'CPUs (and TensorFlow threads) per trial; trials run '
                     'as many at a time as the CPUs allow.')
flags.DEFINE_integer('num_cpus', 0,
                     'CPUs of the local Ray (0: all of this machine\'s); '
                     'ignored on a cluster.')
flags.DEFINE_integer('max_concurrent_trials', 0,
                     'At most this many trials at once (0: as CPUs allow).')
flags.DEFINE_string('ray_address', '',
                    'Ray cluster to run on (e.g. HOST:6379 or auto); '
                    'default: RAY_ADDRESS, else a local Ray.')


def axes_from_flags():
  """dict setting -> values: --algorithms, --reward_scalers, --sweep, then
  --seeds (trial names and the order trials start follow it)."""
  def shorthand(flag, name):
    values = FLAGS[flag].value
    return [sweep.parse_axis(f'{name}={",".join(values)}')] if values else []
  given = (shorthand('algorithms', 'algorithm') +
           shorthand('reward_scalers', 'reward_scaler') +
           [sweep.parse_axis(spec) for spec in FLAGS.sweep] +
           shorthand('seeds', 'seed'))
  return sweep.merge_axes(given)


@script_setup.one_line_errors(
    TOOL, (settings_lib.UsageError, reward_api.RewardError),
    disk_full_where=script_setup.flag_location('output_dir'), resumable=True)
def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  for name in ('cpus_per_trial', 'num_cpus', 'max_concurrent_trials'):
    if FLAGS[name].value < (1 if name == 'cpus_per_trial' else 0):
      raise settings_lib.UsageError(f'--{name} cannot be '
                                    f'{FLAGS[name].value}')
  base = settings_lib.from_flags(FLAGS)
  from rl_tuner.experiments import sweep_ray  # pylint: disable=g-import-not-at-top
  try:
    record = sweep_ray.run_sweep(
        base, axes_from_flags(), FLAGS.output_dir,
        cpus_per_trial=FLAGS.cpus_per_trial,
        ray_address=FLAGS.ray_address or None,
        num_cpus=FLAGS.num_cpus or None,
        max_concurrent_trials=FLAGS.max_concurrent_trials,
        command_line=' '.join(sys.argv))
  except sweep_ray.SweepStoppedError as e:
    return script_setup.fail(TOOL, str(e))
  except KeyboardInterrupt:  # Ctrl-C before or after the trials ran.
    print(f'{TOOL}: interrupted; run the same command again to finish '
          '(complete trials are kept, the others resume from their '
          'checkpoints)', file=sys.stderr)
    return EXIT_INTERRUPTED
  states = record['trials_by_state']
  print(f'Done: {states[sweep.DONE]} of {record["trials_total"]} trials '
        f'complete, {states[sweep.FAILED]} failed, '
        f'{states[sweep.PENDING] + states[sweep.RUNNING]} unfinished; '
        f'results in {FLAGS.output_dir} (sweep.md, sweep.json, '
        'tradeoff.png, samples/)')
  unfinished = states[sweep.PENDING] + states[sweep.RUNNING]
  if unfinished:
    print(f'{TOOL}: interrupted with {unfinished} trial(s) unfinished; run '
          'the same command again to finish them (complete trials are kept, '
          'the others resume from their checkpoints)', file=sys.stderr)
    return EXIT_INTERRUPTED
  if states[sweep.FAILED]:
    print(f'{TOOL}: {states[sweep.FAILED]} trial(s) failed (sweep.md lists '
          'their errors); run the same command again to retry them',
          file=sys.stderr)
    return EXIT_TRIALS_FAILED
  return 0


if __name__ == '__main__':
  script_setup.run(main)
