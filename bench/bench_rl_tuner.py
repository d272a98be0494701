r"""Measures the RL Tuner's speed on this machine, in one run; prints figures.

  python bench/bench_rl_tuner.py [--checkpoint=rl_tuner_note_rnn.ckpt]

Measured in this run, side by side:
  * one action (both networks' step for one melody): the numpy acting path
    (production) and the TensorFlow `act` it replaced (the old path);
  * one gradient update of a minibatch of 32;
  * environment steps/s while training at the paper's replay ratio (32
    samples every 5 environment steps) for each --parallel B, with the numpy
    acting path and with the old TensorFlow one; the replay buffer is filled
    to its capacity first, so the figures are a steady state, not an empty
    buffer;
  * compositions/s of generation plus statistics (Table 1's work);
  * where the time of one environment step goes at B = 1 (acting, choosing,
    rewards and appending, storing, sampling, the update, the rest), with
    plain and XLA-compiled updates, each reward rule's share, and the
    floors under it: one numpy operation on one melody's arrays, an empty
    `tf.function` call, plain and compiled;
  * the update's arithmetic part by part (each part in a compiled loop, so
    no call floor is counted) beside a numpy product of the same shape, the
    ceilings it sets at the paper's replay ratio, and the speed targets
    beside the rates measured.
The original code's figures are printed once, labelled as recorded on a
machine like this (../shared/ORIGINAL.md), never as a ratio measured here.
A machine-speed probe (a pure-Python loop) is printed first: this machine's
speed varies several-fold from day to day, so figures from different days
compare only through it.
"""

import os
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorflow as tf

from note_rnn.model import lstm_cell
from rl_tuner import rl_tuner
from rl_tuner import rl_tuner_eval_metrics
from rl_tuner.agents.dqn import dqn
from rl_tuner.agents.dqn import dqn_hparams

# pylint: enable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string('checkpoint', '', 'Note RNN checkpoint (default: a '
                    'random-init 1x100 LSTM, the paper\'s size).')
flags.DEFINE_list('parallel', ['1', '16', '64'],
                  'Numbers of parallel melodies to time.')
flags.DEFINE_integer('train_steps', 10000,
                     'Environment steps timed per setting (after warm-up).')
flags.DEFINE_integer('num_compositions', 20000,
                     'Compositions for the generation + statistics timing.')
flags.DEFINE_bool('old_path', True, 'Also time the old TensorFlow acting '
                  'path.')
flags.DEFINE_bool('xla', True, 'Also time training with XLA-compiled '
                  'updates (--xla_updates).')
flags.DEFINE_integer('seed', 0, 'Seed.')
FLAGS = flags.FLAGS

# The original code on a 2-vCPU CPU, recorded in ../shared/ORIGINAL.md
# ("Speed of the original"); not measured by this script.
RECORDED_ORIGINAL = {
    'env_steps_per_s': 1250.0,  # short runs, start-up evaluation excluded
    'act_ms': 0.34,
    'update_ms': 1.23,
    'compositions_per_s': 85.0,
}


def machine_probe_ms():
  """Milliseconds of sum(range(10**6)), best of 5: the day's CPU speed."""
  best = float('inf')
  for _ in range(5):
    start = time.perf_counter()
    sum(range(10**6))
    best = min(best, time.perf_counter() - start)
  return 1000.0 * best


def make_tuner(output_dir, batch, xla=False):
  kwargs = dict(dqn_hparams=dqn_hparams.paper_dqn_hparams(),
                reward_scaler=2.0, exploration_mode='egreedy',
                output_every_nth=10**9, num_parallel_melodies=batch,
                seed=FLAGS.seed, xla_updates=xla)
  if FLAGS.checkpoint:
    return rl_tuner.RLTuner(output_dir,
                            note_rnn_checkpoint_file=FLAGS.checkpoint,
                            **kwargs)
  tuner = rl_tuner.RLTuner(output_dir, initialize_immediately=False, **kwargs)
  tuner.initialize_internal_models_graph_session(
      restore_from_checkpoint=False)
  return tuner


def use_tensorflow_acting(tuner):
  """Makes `tuner` act through the old TensorFlow path (`learner.act`)."""
  learner = tuner.learner
  call = learner.act.get_concrete_function()

  def act(observations, q_state, reward_state):
    outputs = call(tf.constant(observations, tf.int32),
                   tf.constant(q_state, tf.float32),
                   tf.constant(reward_state, tf.float32))
    return tuple(t.numpy() for t in outputs)
  learner.act_numpy = act


def fill_replay(tuner):
  """Fills the replay buffer to capacity with transitions of real shape."""
  buffer = tuner.experience
  rng = np.random.default_rng(FLAGS.seed)
  chunk = 10000
  q_size = tuner.q_network.state_size
  r_size = tuner.reward_rnn.state_size
  while buffer.add_count < buffer.capacity:
    n = min(chunk, buffer.capacity - buffer.add_count)
    buffer.add_batch(
        observation=rng.integers(0, 38, n), action=rng.integers(0, 38, n),
        new_observation=rng.integers(0, 38, n),
        reward=rng.normal(size=n).astype(np.float32),
        state=rng.normal(size=(n, q_size)).astype(np.float32),
        new_state=rng.normal(size=(n, q_size)).astype(np.float32),
        new_reward_state=rng.normal(size=(n, r_size)).astype(np.float32))


def warm_tuner(batch, output_dir, old_path=False, xla=False):
  """A tuner with its replay full, after a warm-up (traced and compiled)."""
  tuner = make_tuner(output_dir, batch, xla)
  if old_path:
    use_tensorflow_acting(tuner)
  tuner.evaluate_model()  # Counts as done; train() will not evaluate again.
  fill_replay(tuner)
  tuner.train(num_steps=max(1000, 8 * batch * 32), exploration_period=10**6)
  return tuner


def time_training(batch, steps, output_dir, old_path=False, xla=False):
  """Environment steps/s at the paper's ratio, replay full."""
  tuner = warm_tuner(batch, output_dir, old_path, xla)
  start = time.perf_counter()
  start_steps = tuner.env_steps
  tuner.train(num_steps=steps, exploration_period=10**6)
  elapsed = time.perf_counter() - start
  return (tuner.env_steps - start_steps) / elapsed, tuner


# Parts of one environment step: (label, object attribute path, method).
STEP_PARTS = (
    ('act (both networks, numpy)', 'learner', 'act_numpy'),
    ('choose actions (e-greedy)', 'agent', 'choose'),
    ('rewards + append (env.step)', 'env', 'step'),
    ('store transitions (replay)', 'agent', 'store_transitions'),
    ('update (TensorFlow call)', 'learner', 'train_steps_numpy'),
    ('sample + gather minibatch', 'experience', 'gather'),
)


def step_profile(tuner, steps):
  """Milliseconds per environment step of each part of `train`.

  Each part's method is wrapped with a timer (about a microsecond per
  call); 'update' excludes sampling, which is timed apart; 'the rest' is
  the loop's own bookkeeping (counters, history, checks).

  Returns:
    (total ms per step, [(label, ms per step)]).
  """
  totals = {}
  originals = []
  for label, path, name in STEP_PARTS:
    owner = getattr(tuner, path) if path else tuner
    method = getattr(owner, name)
    originals.append((owner, name))

    def timed(*args, _method=method, _label=label, **kwargs):
      start = time.perf_counter()
      try:
        return _method(*args, **kwargs)
      finally:
        totals[_label] = totals.get(_label, 0.0) + (
            time.perf_counter() - start)
    setattr(owner, name, timed)
  sampled = tuner.experience.sample_indices
  def timed_sample(*args, **kwargs):
    start = time.perf_counter()
    try:
      return sampled(*args, **kwargs)
    finally:
      key = 'sample + gather minibatch'
      totals[key] = totals.get(key, 0.0) + time.perf_counter() - start
  tuner.experience.sample_indices = timed_sample
  start_steps = tuner.env_steps
  start = time.perf_counter()
  tuner.train(num_steps=steps, exploration_period=10**6)
  elapsed = time.perf_counter() - start
  for owner, name in originals + [(tuner.experience, 'sample_indices')]:
    delattr(owner, name)  # The instance attribute goes; the method stays.
  done = tuner.env_steps - start_steps
  parts = [(label, 1000.0 * totals.get(label, 0.0) / done)
           for label, _, _ in STEP_PARTS]
  total = 1000.0 * elapsed / done
  parts.append(('the rest (loop bookkeeping)',
                total - sum(ms for _, ms in parts)))
  return total, parts


def rule_profile(tuner, steps):
  """Microseconds per environment step of each reward rule, of the rest of
  the reward evaluation (log p, sums) and of appending the notes, at the
  tuner's B, while it trains (each part wrapped with a timer)."""
  env = tuner.env
  bound = env.rewards
  totals = {}
  terms = bound._terms  # pylint: disable=protected-access
  saved = list(terms)
  for i, (index, name, weight, fn, checked) in enumerate(saved):
    def timed(state, actions, _fn=fn, _name=name):
      start = time.perf_counter()
      try:
        return _fn(state, actions)
      finally:
        totals[_name] = totals.get(_name, 0.0) + time.perf_counter() - start
    terms[i] = (index, name, weight, timed, checked)
  for owner, name, label in ((bound, 'evaluate', 'evaluate'),
                             (env, 'append', 'append the notes')):
    method = getattr(owner, name)
    def timed_method(*args, _method=method, _label=label):
      start = time.perf_counter()
      try:
        return _method(*args)
      finally:
        totals[_label] = totals.get(_label, 0.0) + (
            time.perf_counter() - start)
    setattr(owner, name, timed_method)
  start_steps = tuner.env_steps
  try:
    tuner.train(num_steps=steps, exploration_period=10**6)
  finally:
    terms[:] = saved
    del bound.evaluate, env.append
  done = tuner.env_steps - start_steps
  rules = [(name, 1e6 * totals.get(name, 0.0) / done)
           for _, name, _, _, _ in saved]
  rest = 1e6 * totals.get('evaluate', 0.0) / done - sum(us for _, us in rules)
  return rules + [('the rest of the evaluation', rest),
                  ('append the notes', 1e6 * totals.get('append the notes',
                                                        0.0) / done)]


def update_part_floors(learner, minibatch, loops=50):
  """Milliseconds of each part of one gradient update of 32, each part run
  `loops` times inside one XLA-compiled call so that the call's own floor
  is amortised: what the update's arithmetic costs on this CPU.

  The loop index is added to the states so that XLA cannot hoist the work
  out of the loop. `learner`'s weights are changed (Adam steps): pass a
  copy.
  """
  q_net, target_net = learner.q_network, learner.target_q_network
  num_actions = learner.num_actions
  first = {k: np.asarray(v[0]) for k, v in minibatch.items()}
  inputs = tf.one_hot(first['observation'], num_actions)
  next_inputs = tf.one_hot(first['new_observation'], num_actions)
  state = tf.constant(first['state'], tf.float32)
  new_state = tf.constant(first['new_state'], tf.float32)
  variables = q_net.trainable_variables
  gradients = [tf.fill(v.shape, 1e-3) for v in variables]

  def target_forward(i):
    next_q, _ = target_net.step_ops(next_inputs,
                                    new_state + tf.cast(i, tf.float32))
    return tf.reduce_sum(next_q)

  def forward_backward(i):
    with tf.GradientTape() as tape:
      q_values, _ = q_net.step_ops(inputs, state + tf.cast(i, tf.float32))
      loss = tf.reduce_mean(tf.square(q_values))
    return tf.add_n([tf.reduce_sum(g) for g in tape.gradient(loss,
                                                             variables)])

  def adam(unused_i):
    learner.optimizer.apply_gradients(zip(gradients, variables))
    return 0.0

  def soft_update(unused_i):
    learner._soft_update_target(  # pylint: disable=protected-access
        learner.hparams.target_network_update_rate)
    return 0.0

  parts = []
  for label, body in (('target network forward', target_forward),
                      ('Q-network forward + backward', forward_backward),
                      ('Adam step on the weights', adam),
                      ('soft target update', soft_update)):
    def looped(_body=body):
      total = tf.constant(0.0)
      for i in tf.range(loops):
        total += _body(i)
      return total
    call = tf.function(looped, jit_compile=True).get_concrete_function()
    call()
    best = float('inf')
    for _ in range(3):
      start = time.perf_counter()
      for _ in range(20):
        call().numpy()
      best = min(best, (time.perf_counter() - start) / 20 / loops)
    parts.append((label, 1000.0 * best))
  return parts


def numpy_op_floor_us(repeats=20000):
  """Microseconds of one numpy operation on one melody's arrays (int64
  [1]), best of 3, for three kinds the rewards use: arithmetic,
  np.where, a fancy-index gather. Below a few hundred elements this is the
  cost of any operation, whatever its size."""
  x = np.array([5], np.int64)
  y = np.array([7], np.int64)
  table = np.arange(38, dtype=np.int64)
  condition = x > y
  kinds = (('a + b', lambda: x + y),
           ('np.where', lambda: np.where(condition, x, y)),
           ('table[a]', lambda: table[x]))
  result = []
  for label, op in kinds:
    best = float('inf')
    for _ in range(3):
      start = time.perf_counter()
      for _ in range(repeats):
        op()
      best = min(best, (time.perf_counter() - start) / repeats)
    result.append((label, 1e6 * best))
  return result


def time_matmul_ms(batch, rows, columns, repeats=3000):
  """Milliseconds of one float32 [batch, rows] @ [rows, columns] in numpy
  on one BLAS thread (best of 3): this CPU's speed at the update's matrix
  products."""
  rng = np.random.default_rng(0)
  a = rng.random((batch, rows), np.float32)
  b = rng.random((rows, columns), np.float32)
  best = float('inf')
  with lstm_cell.single_threaded_blas():
    for _ in range(3):
      start = time.perf_counter()
      for _ in range(repeats):
        np.matmul(a, b)
      best = min(best, (time.perf_counter() - start) / repeats)
  return 1000.0 * best


def time_empty_call(jit_compile, repeats=3000):
  """Milliseconds of one call of a tf.function that adds two scalars: the
  floor under every TensorFlow call on this machine."""
  function = tf.function(lambda x: x + 1.0, jit_compile=jit_compile)
  call = function.get_concrete_function(tf.TensorSpec([], tf.float32))
  value = tf.constant(1.0)
  call(value)
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    for _ in range(repeats):
      call(value).numpy()
    best = min(best, (time.perf_counter() - start) / repeats)
  return 1000.0 * best


def time_act(tuner, repeats=3000):
  """Milliseconds per act of one melody (both networks), best of 3."""
  learner = tuner.learner
  observations = np.array([14])
  q_state = np.zeros((1, tuner.q_network.state_size), np.float32)
  r_state = np.zeros((1, tuner.reward_rnn.state_size), np.float32)
  best = float('inf')
  for _ in range(3):
    start = time.perf_counter()
    for _ in range(repeats):
      learner.act_numpy(observations, q_state, r_state)
    best = min(best, (time.perf_counter() - start) / repeats)
  return 1000.0 * best


def time_update(tuner, learner, per_call, repeats=300):
  """Milliseconds per gradient update of a minibatch of 32 (replay full),
  with `per_call` updates in one call (B = 16 takes ~3 per beat)."""
  hp = tuner.dqn_hparams
  indices = np.stack([tuner.experience.sample_indices(hp.minibatch_size,
                                                      tuner.rng)
                      for _ in range(per_call)])
  minibatch = tuner.experience.gather(indices)
  learner.train_steps_numpy(minibatch)  # Traced (and compiled) here.
  start = time.perf_counter()
  for _ in range(repeats // per_call):
    learner.train_steps_numpy(minibatch)
  return 1000.0 * (time.perf_counter() - start) / (
      repeats // per_call * per_call)


def xla_learner(tuner):
  """A learner like the tuner's (copied networks) compiled with XLA."""
  learner = tuner.learner
  return dqn.DQNLearner(
      learner.algorithm_name,
      *[net.clone(name=net.name) for net in
        (learner.q_network, learner.target_q_network, learner.reward_rnn)],
      learner.hparams, jit_compile=True)


def time_generation(tuner, num_compositions):
  start = time.perf_counter()
  compositions = tuner.generate_compositions(num_compositions)
  generated = time.perf_counter()
  rl_tuner_eval_metrics.compute_composition_stats_for_compositions(
      compositions)
  return generated - start, time.perf_counter() - generated


def print_step_profile(tmp):
  """Where one step's time goes at B = 1, plain and XLA updates; floors.

  Returns:
    The update's milliseconds per environment step in the training loop,
    with XLA updates if timed (else plain).
  """
  steps = max(FLAGS.train_steps, 5000)
  columns = []
  for xla in (False, True) if FLAGS.xla else (False,):
    tuner = warm_tuner(1, os.path.join(tmp, f'profile{xla}'), xla=xla)
    with lstm_cell.single_threaded_blas():
      columns.append(step_profile(tuner, steps))
  names = ['plain updates', 'XLA updates'][:len(columns)]
  print(f'one environment step at B = 1, ms ({steps} steps timed; share of '
        'the step):')
  print(f'  {"":32s}' + ''.join(f'{n:>22s}' for n in names))
  for row, (label, _) in enumerate(columns[0][1]):
    cells = ''.join(f'{parts[row][1]:12.4f} ({100 * parts[row][1] / total:4.1f}%)'
                    for total, parts in columns)
    print(f'  {label:32s}{cells}')
  print(f'  {"total":32s}' + ''.join(
      f'{total:12.4f} = {1000 / total:5.0f}/s' for total, _ in columns))
  with lstm_cell.single_threaded_blas():
    rules = rule_profile(tuner, steps)
  total = columns[-1][0]
  print(f'  the rewards + append row by part, microseconds per step '
        f'({names[-1]}; share of the step):')
  for label, us in rules:
    print(f'    {label:30s}{us:8.1f} ({100 * us / 1000 / total:4.1f}%)')
  floors = numpy_op_floor_us()
  print('  floor of one numpy operation on arrays of one melody, '
        'microseconds: ' + ', '.join(f'{label} {us:.2f}'
                                     for label, us in floors))
  print(f'floor of any TensorFlow call (empty tf.function): '
        f'{time_empty_call(False):.3f} ms; compiled with XLA: '
        f'{time_empty_call(True):.3f} ms')
  update = next(label for label, _, method in STEP_PARTS
                if method == 'train_steps_numpy')
  return dict(columns[-1][1])[update]


def print_floors(tuner, compiled, rates, one, loop_update_ms):
  """The update's arithmetic, the ceilings it sets, and the targets.

  Args:
    tuner: a B = 1 tuner with a full replay buffer.
    compiled: an XLA-compiled learner (a copy; its weights change).
    rates: {B: best env steps/s measured in this run}.
    one: ms of one XLA update alone in a call (measured above).
    loop_update_ms: the update's ms per environment step at B = 1 in the
      training loop (step profile).
  """
  hp = tuner.dqn_hparams
  every = hp.train_every_nth
  indices = tuner.experience.sample_indices(hp.minibatch_size, tuner.rng)
  minibatch = tuner.experience.gather(indices[None])
  many = time_update(tuner, compiled, per_call=32, repeats=320)
  parts = update_part_floors(compiled, minibatch)
  units = tuner.q_network.layer_sizes[0]
  width = tuner.q_network.num_classes + units
  matmul = time_matmul_ms(hp.minibatch_size, width, 4 * units)
  print(f'one update of {hp.minibatch_size} compiled with XLA, ms: '
        f'{one:.3f} alone in a call, {many:.3f} each of 32 in one call, '
        f'{loop_update_ms * every:.3f} in the training loop at B = 1 (one '
        f'call every {every} steps, between other work)')
  print(f'  its arithmetic, each part timed in a compiled loop of 50 (no '
        f'call floor):')
  for label, ms in parts:
    print(f'    {label:30s}{ms:8.3f}')
  arithmetic = sum(ms for _, ms in parts)
  print(f'    {"sum":30s}{arithmetic:8.3f}')
  print(f'  numpy [{hp.minibatch_size}, {width}] @ [{width}, {4 * units}] on '
        f'one thread: {matmul:.3f} ms; the update has three such products '
        f'(two forward, one backward): it runs at BLAS speed')
  print(f'ceilings at the paper\'s ratio ({hp.minibatch_size} samples every '
        f'{every} environment steps), if everything but the update took no '
        f'time:')
  print(f'  any B, the arithmetic alone: {every / arithmetic * 1000:8.0f} env '
        f'steps/s; with 32 updates per call: '
        f'{every / many * 1000:8.0f}')
  print(f'  B = 1, the update as called in the training loop: '
        f'{1000 / loop_update_ms:8.0f} env steps/s')
  best_parallel = max((rate for batch, rate in rates.items() if batch > 1),
                      default=None)
  print(f'targets: B = 1 at least 4,000 env steps/s: measured '
        f'{rates.get(1, float("nan")):.0f}; best of B = 16 and 64 at least '
        f'25,000: measured '
        f'{best_parallel if best_parallel is not None else float("nan"):.0f}')


def main(argv):
  del argv
  print(f'RL Tuner benchmark; {os.cpu_count()} CPUs; checkpoint: '
        f'{FLAGS.checkpoint or "random-init 1x100 LSTM"}; machine probe '
        f'(sum(range(10**6))): {machine_probe_ms():.1f} ms')
  with tempfile.TemporaryDirectory() as tmp:
    tuners = {}
    rates = {}
    for value in FLAGS.parallel:
      batch = int(value)
      rate, tuners[batch] = time_training(
          batch, FLAGS.train_steps, os.path.join(tmp, f'b{batch}'))
      line = f'train B={batch:3d}: {rate:8.0f} env steps/s'
      rates[batch] = rate
      if FLAGS.xla:
        xla, _ = time_training(batch, FLAGS.train_steps,
                               os.path.join(tmp, f'xla{batch}'), xla=True)
        line += f'   XLA updates: {xla:8.0f}/s {xla / rate:5.2f}x'
        rates[batch] = max(rate, xla)
      if FLAGS.old_path:
        old, _ = time_training(batch, FLAGS.train_steps,
                               os.path.join(tmp, f'old{batch}'), True)
        line += (f'   old TensorFlow acting: {old:8.0f}/s   '
                 f'{rate / old:5.2f}x')
      print(line, flush=True)
    tuner = tuners.get(1) or make_tuner(os.path.join(tmp, 'act'), 1)
    with lstm_cell.single_threaded_blas():  # As train() and compose() do.
      act_ms = time_act(tuner)
    line = f'act, one melody: {act_ms:.3f} ms'
    if FLAGS.old_path:
      old_tuner = make_tuner(os.path.join(tmp, 'old_act'), 1)
      use_tensorflow_acting(old_tuner)
      old_act_ms = time_act(old_tuner)
      line += (f'   old TensorFlow acting: {old_act_ms:.3f} ms   '
               f'{old_act_ms / act_ms:5.2f}x')
    print(line)
    fill_replay(tuner)
    compiled = xla_learner(tuner)
    xla_update_ms = {}
    for per_call in (1, 4):
      plain_ms = time_update(tuner, tuner.learner, per_call)
      xla_ms = xla_update_ms[per_call] = time_update(tuner, compiled,
                                                     per_call)
      print(f'gradient update of 32, {per_call} per call: {plain_ms:.3f} ms; '
            f'compiled with XLA: {xla_ms:.3f} ms   '
            f'{plain_ms / xla_ms:5.2f}x')
    generate_s, stats_s = time_generation(tuner, FLAGS.num_compositions)
    per_s = FLAGS.num_compositions / (generate_s + stats_s)
    print(f'generation + statistics of {FLAGS.num_compositions} '
          f'compositions: {generate_s:.2f} s + {stats_s:.2f} s = '
          f'{per_s:.0f} compositions/s; 100,000 would take '
          f'{100000 / per_s:.1f} s')
    loop_update_ms = print_step_profile(tmp)
    print_floors(tuner, compiled, rates, xla_update_ms[1], loop_update_ms)
  r = RECORDED_ORIGINAL
  print(f'The original code, recorded on a machine like this '
        f'(../shared/ORIGINAL.md), not measured in this run: '
        f'{r["env_steps_per_s"]:.0f} env steps/s (short runs), act '
        f'{r["act_ms"]} ms, update {r["update_ms"]} ms, '
        f'{r["compositions_per_s"]:.0f} compositions/s.')


if __name__ == '__main__':
  app.run(main)
