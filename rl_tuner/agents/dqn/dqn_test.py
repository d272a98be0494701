"""Tests of the learning rules: TD targets, the train step, acting."""

import math

import numpy as np
import pytest
import tensorflow as tf

from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from rl_tuner.agents import registry
from rl_tuner.agents.dqn import dqn
from rl_tuner.agents.dqn import dqn_hparams as dqn_hparams_lib
from rl_tuner.run import settings as settings_lib

NUM_CLASSES = 38
UNITS = 4
TINY = note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(UNITS,))
BATCH = 5


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _numpy_step(weights, classes, state):
  """One Note RNN step in float64 numpy, from the model's documented equations.

  z = x @ kernel + bias + h @ recurrent_kernel, gate blocks (i, f, c, o);
  c' = sig(f) c + sig(i) tanh(c_block); h' = sig(o) tanh(c');
  logits = h' @ dense_kernel + dense_bias; state = [c, h].
  """
  kernel, recurrent, bias, dense_kernel, dense_bias = [
      np.asarray(w, np.float64) for w in weights]
  units = recurrent.shape[0]
  x = np.eye(NUM_CLASSES)[classes]
  state = np.asarray(state, np.float64)
  c, h = state[:, :units], state[:, units:]
  z = x @ kernel + bias + h @ recurrent
  i, f, g, o = np.split(z, 4, axis=-1)
  c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
  h = _sigmoid(o) * np.tanh(c)
  return h @ dense_kernel + dense_bias, np.concatenate([c, h], axis=-1)


def _numpy_logsumexp(x):
  top = x.max(axis=-1, keepdims=True)
  return (top + np.log(np.exp(x - top).sum(axis=-1, keepdims=True)))[:, 0]


def _random_weights(network, seed, scale=0.5):
  rng = np.random.default_rng(seed)
  return [rng.uniform(-scale, scale, v.shape).astype(np.float32)
          for v in network.variables]


def _networks(seed=0, scale=0.5):
  """Q, target and reward networks with distinct seeded weights."""
  nets = []
  for offset, name in enumerate(('q', 'target', 'reward')):
    net = note_rnn_model.NoteRNN(TINY, name=name)
    net.set_weights(_random_weights(net, seed + offset, scale))
    nets.append(net)
  return nets


def _learner(algorithm, seed=0, scale=0.5, **hparams):
  hparams.setdefault('minibatch_size', BATCH)
  hparams.setdefault('max_experience', 100)
  hparams.setdefault('discount_rate', 0.5)
  q, target, reward = _networks(seed, scale)
  return dqn.DQNLearner(algorithm, q, target, reward,
                        dqn_hparams_lib.DQNHParams(**hparams))


def _minibatch(seed=0, reward_scale=1.0):
  rng = np.random.default_rng(seed)
  state_size = 2 * UNITS
  return dict(
      observation=rng.integers(0, NUM_CLASSES, BATCH).astype(np.int32),
      state=rng.uniform(-0.5, 0.5, (BATCH, state_size)).astype(np.float32),
      action=rng.integers(0, NUM_CLASSES, BATCH).astype(np.int32),
      reward=(reward_scale * rng.normal(size=BATCH)).astype(np.float32),
      new_observation=rng.integers(0, NUM_CLASSES, BATCH).astype(np.int32),
      new_state=rng.uniform(-0.5, 0.5, (BATCH, state_size)).astype(
          np.float32),
      new_reward_state=rng.uniform(-0.5, 0.5, (BATCH, state_size)).astype(
          np.float32))


def _train(learner, batch):
  return learner.train_step(
      tf.constant(batch['observation']), batch['state'],
      tf.constant(batch['action']), batch['reward'],
      tf.constant(batch['new_observation']), batch['new_state'],
      batch['new_reward_state'])


# --- TD targets on small hand-computed arrays --------------------------------

REWARDS = np.array([1.0, -2.0], np.float32)
# Row 0: [1, 2, 3]; row 1: [log 6, log 3, log 2] (see the g test).
NEXT_Q = np.array([[1.0, 2.0, 3.0],
                   [math.log(6.0), math.log(3.0), math.log(2.0)]], np.float32)
# Prior logits: row 0 uniform, row 1 log([1, 2, 3]) -> p = [1/6, 2/6, 3/6].
PRIOR_LOGITS = np.array([[0.5, 0.5, 0.5],
                         [0.0, math.log(2.0), math.log(3.0)]], np.float32)
GAMMA = 0.5


def _targets(name, prior=None):
  targets, values = dqn.td_targets(dqn.ALGORITHMS[name], REWARDS, NEXT_Q,
                                   prior, GAMMA)
  return targets.numpy(), values.numpy()


@pytest.mark.parametrize('name', ['q', 'pure_rl'])
def test_td_targets_q_and_pure_rl_use_the_max(name):
  targets, values = _targets(name)
  # V = max: row 0 -> 3; row 1 -> log 6.
  np.testing.assert_allclose(values, [3.0, math.log(6.0)], rtol=1e-6)
  # y = r + 0.5 V: 1 + 1.5 = 2.5; -2 + 0.5 log 6.
  np.testing.assert_allclose(targets, [2.5, -2.0 + 0.5 * math.log(6.0)],
                             rtol=1e-6)


def test_td_targets_psi_uses_logsumexp():
  targets, values = _targets('psi')
  # Row 0: log(e + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2).
  row0 = 3.0 + math.log(1.0 + math.exp(-1.0) + math.exp(-2.0))
  # Row 1: log(6 + 3 + 2) = log 11.
  row1 = math.log(11.0)
  np.testing.assert_allclose(values, [row0, row1], rtol=1e-6)
  np.testing.assert_allclose(targets, [1.0 + 0.5 * row0, -2.0 + 0.5 * row1],
                             rtol=1e-6)


def test_td_targets_g_adds_the_prior_log_probabilities():
  log_p = tf.nn.log_softmax(PRIOR_LOGITS, axis=-1)
  targets, values = _targets('g', log_p)
  # Row 0: uniform prior, log p = -log 3 each: V = lse([1, 2, 3]) - log 3.
  row0 = 3.0 + math.log(1.0 + math.exp(-1.0) + math.exp(-2.0)) - math.log(3)
  # Row 1: exp(next_q) * p = [6/6, 3 * 2/6, 2 * 3/6] = [1, 1, 1]: V = log 3.
  row1 = math.log(3.0)
  np.testing.assert_allclose(values, [row0, row1], rtol=1e-6)
  np.testing.assert_allclose(targets, [1.0 + 0.5 * row0, -2.0 + 0.5 * row1],
                             rtol=1e-6)


def test_td_targets_carry_no_gradient():
  next_q = tf.constant(NEXT_Q)
  with tf.GradientTape() as tape:
    tape.watch(next_q)
    targets, _ = dqn.td_targets(dqn.ALGORITHMS['psi'], REWARDS, next_q,
                                None, GAMMA)
    total = tf.reduce_sum(targets)
  assert tape.gradient(total, next_q) is None


def test_unknown_algorithm_lists_the_valid_names():
  with pytest.raises(ValueError) as error:
    dqn.get_algorithm('sarsa')
  message = str(error.value)
  assert 'sarsa' in message
  for name in ('g', 'psi', 'pure_rl', 'q'):
    assert repr(name) in message
  with pytest.raises(ValueError, match='valid algorithms'):
    _learner('sarsa')


def test_default_is_an_alias_of_q():
  assert registry.get('default') is registry.get('q')
  assert registry.canonical_name('default') == 'q'


def test_every_registered_dqn_algorithm_has_a_value_rule():
  dqn_rows = {name: spec for name, spec in registry.ALGORITHMS.items()
              if spec.agent.endswith(':DQNAgent')}
  assert {spec.agent_options['rule'] for spec in dqn_rows.values()} == set(
      dqn.ALGORITHMS)


def test_only_g_acts_with_and_targets_the_prior():
  assert [n for n, a in dqn.ALGORITHMS.items() if a.acts_with_prior] == ['g']
  assert [n for n, a in dqn.ALGORITHMS.items()
          if a.needs_prior_in_target] == ['g']
  # The reward mode each algorithm uses lives with the settings.
  forced = {n: settings_lib.effective_reward_mode(n, 'music_theory_all')
            for n in dqn.ALGORITHMS}
  assert forced == {'q': 'music_theory_all', 'psi': 'music_theory_all',
                    'g': 'music_theory_only',
                    'pure_rl': 'music_theory_only'}


# --- The train step ----------------------------------------------------------


def _constant_network(name, dense_bias):
  """All weights zero except the dense bias.

  From a zero state every gate is sigmoid(0) = 0.5 and the cell input
  tanh(0) = 0, so c' = 0.5 * 0 + 0.5 * 0 = 0 and h' = 0: the logits are the
  dense bias for every input.
  """
  net = note_rnn_model.NoteRNN(TINY, name=name)
  weights = [np.zeros(v.shape, np.float32) for v in net.variables]
  weights[-1] = np.asarray(dense_bias, np.float32)
  net.set_weights(weights)
  return net


@pytest.mark.parametrize('name', sorted(dqn.ALGORITHMS))
def test_loss_on_constant_networks_worked_out_by_hand(name):
  # Q(s, a) = 0.1 a; the target network's values are 1 for every class
  # except class 3, which is 2; the Reward RNN's logits are 0 except
  # log 2 for class 3, so p(3) = 2/39 and p(a) = 1/39 otherwise.
  q_bias = 0.1 * np.arange(NUM_CLASSES)
  target_bias = np.ones(NUM_CLASSES)
  target_bias[3] = 2.0
  prior_bias = np.zeros(NUM_CLASSES)
  prior_bias[3] = math.log(2.0)
  learner = dqn.DQNLearner(
      name, _constant_network('q', q_bias),
      _constant_network('target', target_bias),
      _constant_network('reward', prior_bias),
      dqn_hparams_lib.DQNHParams(minibatch_size=4, max_experience=4,
                                 discount_rate=0.5))
  zeros = np.zeros((4, 2 * UNITS), np.float32)
  rewards = np.array([1.0, 0.0, -1.0, 2.0], np.float32)
  # Actions 0, 10, 20, 30: Q taken = [0, 1, 2, 3].
  q_taken = np.array([0.0, 1.0, 2.0, 3.0])
  if name in ('q', 'pure_rl'):
    # V = max = 2; y = r + 0.5 * 2 = [2, 1, 0, 3]; td = [-2, 0, 2, 0];
    # loss = (4 + 0 + 4 + 0) / 4 = 2.
    value, expected_loss = 2.0, 2.0
  elif name == 'psi':
    # V = log(37 e + e^2) = 1 + log(37 + e).
    value = 1.0 + math.log(37.0 + math.e)
    expected_loss = np.mean((q_taken - (rewards + 0.5 * value))**2)
  else:
    # V = log sum_a exp(target_a) p(a) = log((37 e + 2 e^2) / 39)
    #   = 1 + log(37 + 2 e) - log 39.
    value = 1.0 + math.log(37.0 + 2.0 * math.e) - math.log(39.0)
    expected_loss = np.mean((q_taken - (rewards + 0.5 * value))**2)
  output = learner.train_step(
      tf.constant([5, 6, 7, 8]), zeros, tf.constant([0, 10, 20, 30]),
      rewards, tf.constant([1, 2, 3, 4]), zeros, zeros)
  assert float(output.loss) == pytest.approx(expected_loss, rel=1e-6)
  assert float(output.mean_target_value) == pytest.approx(value, rel=1e-6)
  np.testing.assert_allclose(output.td_errors.numpy(),
                             q_taken - (rewards + 0.5 * value), rtol=1e-6,
                             atol=1e-6)


@pytest.mark.parametrize('name', sorted(dqn.ALGORITHMS))
def test_loss_is_the_numpy_mean_squared_td_error(name):
  learner = _learner(name)
  batch = _minibatch()
  q_weights = learner.q_network.get_weights()
  target_weights = learner.target_q_network.get_weights()
  reward_weights = learner.reward_rnn.get_weights()

  q_values, _ = _numpy_step(q_weights, batch['observation'], batch['state'])
  q_taken = q_values[np.arange(BATCH), batch['action']]
  next_q, _ = _numpy_step(target_weights, batch['new_observation'],
                          batch['new_state'])
  if name in ('q', 'pure_rl'):
    values = next_q.max(axis=-1)
  elif name == 'psi':
    values = _numpy_logsumexp(next_q)
  else:
    prior, _ = _numpy_step(reward_weights, batch['new_observation'],
                           batch['new_reward_state'])
    log_p = prior - _numpy_logsumexp(prior)[:, None]
    values = _numpy_logsumexp(next_q + log_p)
  targets = batch['reward'] + 0.5 * values
  td_errors = q_taken - targets

  output = _train(learner, batch)
  np.testing.assert_allclose(output.td_errors.numpy(), td_errors, rtol=1e-4,
                             atol=1e-5)
  np.testing.assert_allclose(float(output.loss), np.mean(td_errors**2),
                             rtol=1e-4)
  np.testing.assert_allclose(float(output.mean_target_value), values.mean(),
                             rtol=1e-4, atol=1e-6)
  # The step changed the Q-network.
  assert any(not np.array_equal(a, b) for a, b in
             zip(q_weights, learner.q_network.get_weights()))


def test_gradients_are_clipped_per_variable():
  """Adam's first moment after one step from zero is (1 - beta1) * gradient.

  So the gradient that was applied can be read back and compared with the
  true gradient of the loss clipped to norm 5 variable by variable. Large
  weights and rewards make some variables' gradients exceed the clip norm
  while others stay below it, which a global-norm clip would also scale.
  """
  learner = _learner('q', scale=2.0)
  batch = _minibatch(reward_scale=20.0)
  q_net = learner.q_network
  targets, _ = dqn.td_targets(
      learner.algorithm, batch['reward'],
      learner.target_q_network.step(
          tf.one_hot(batch['new_observation'], NUM_CLASSES),
          batch['new_state'])[0], None, 0.5)
  with tf.GradientTape() as tape:
    q_values, _ = q_net.step(tf.one_hot(batch['observation'], NUM_CLASSES),
                             batch['state'])
    taken = tf.reduce_sum(
        q_values * tf.one_hot(batch['action'], NUM_CLASSES), axis=-1)
    loss = tf.reduce_mean(tf.square(taken - targets))
  true_gradients = [g.numpy() for g in tape.gradient(loss,
                                                     q_net.variables)]
  norms = [np.linalg.norm(g) for g in true_gradients]
  clip = learner.hparams.clip_norm
  assert max(norms) > clip and min(norms) < clip, norms

  _train(learner, batch)
  optimizer = learner.optimizer
  for variable, gradient, norm in zip(q_net.variables, true_gradients, norms):
    momentum = optimizer._momentums[optimizer._get_variable_index(variable)]
    applied = momentum.numpy() / (1.0 - optimizer.beta_1)
    expected = gradient * min(1.0, clip / norm)
    np.testing.assert_allclose(applied, expected, rtol=1e-3,
                               atol=1e-4 * max(1.0, norm))


@pytest.mark.parametrize('rate', [0.01, 0.25])
def test_soft_target_update_moves_by_eta_times_the_difference(rate):
  learner = _learner('psi', target_network_update_rate=rate)
  target_before = learner.target_q_network.get_weights()
  _train(learner, _minibatch())
  online_after = learner.q_network.get_weights()
  target_after = learner.target_q_network.get_weights()
  for before, online, after in zip(target_before, online_after, target_after):
    # target <- target + eta * (online - target), online after the step.
    expected = (before.astype(np.float64) +
                rate * (online.astype(np.float64) - before))
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(after, before)


@pytest.mark.parametrize('name', sorted(dqn.ALGORITHMS))
def test_reward_rnn_never_changes(name):
  """Defect 7: the original's g mode trained its 'frozen' Reward RNN."""
  learner = _learner(name, learning_rate=0.05)
  reward_before = learner.reward_rnn.get_weights()
  q_before = learner.q_network.get_weights()
  for seed in range(3):
    _train(learner, _minibatch(seed))
  for before, after in zip(reward_before, learner.reward_rnn.get_weights()):
    np.testing.assert_array_equal(before, after)
  assert all(not np.array_equal(b, a) for b, a in
             zip(q_before, learner.q_network.get_weights()))
  optimized = {id(v) for v in learner.optimizer._trainable_variables}
  assert not optimized & {id(v) for v in learner.reward_rnn.variables}


# --- Acting ------------------------------------------------------------------


@pytest.mark.parametrize('name', sorted(dqn.ALGORITHMS))
def test_act_scores_are_q_or_g_plus_prior_logits(name):
  learner = _learner(name)
  rng = np.random.default_rng(4)
  observations = rng.integers(0, NUM_CLASSES, 3).astype(np.int32)
  q_state = rng.uniform(-0.5, 0.5, (3, 2 * UNITS)).astype(np.float32)
  r_state = rng.uniform(-0.5, 0.5, (3, 2 * UNITS)).astype(np.float32)
  scores, reward_logits, new_q, new_r = learner.act(
      tf.constant(observations), q_state, r_state)
  q_values, q_next = _numpy_step(learner.q_network.get_weights(),
                                 observations, q_state)
  prior, r_next = _numpy_step(learner.reward_rnn.get_weights(),
                              observations, r_state)
  expected = q_values + prior if name == 'g' else q_values
  np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(reward_logits.numpy(), prior, rtol=1e-4,
                             atol=1e-5)
  np.testing.assert_allclose(new_q.numpy(), q_next, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(new_r.numpy(), r_next, rtol=1e-4, atol=1e-5)


def test_train_step_and_act_are_not_retraced():
  learner = _learner('g')
  for seed in range(4):
    _train(learner, _minibatch(seed))
  assert learner.train_step.experimental_get_tracing_count() == 1
  state = np.zeros((3, 2 * UNITS), np.float32)
  for seed in range(4):
    observations = np.random.default_rng(seed).integers(0, NUM_CLASSES, 3)
    learner.act(tf.constant(observations, tf.int32), state, state)
  assert learner.act.experimental_get_tracing_count() == 1


def _assert_numpy_act_equals_tf(learner, observations, q_state, r_state):
  fast = learner.act_numpy(observations, q_state, r_state)
  oracle = learner.act(tf.constant(observations, tf.int32), q_state, r_state)
  for got, want in zip(fast, oracle):
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name', sorted(dqn.ALGORITHMS))
@pytest.mark.parametrize('batch', [1, 16, dqn.NUMPY_ACTING_MAX_BATCH + 1])
def test_numpy_acting_path_equals_the_tensorflow_act(name, batch):
  learner = _learner(name)
  rng = np.random.default_rng(batch)
  observations = rng.integers(0, NUM_CLASSES, batch)
  q_state = rng.uniform(-0.5, 0.5, (batch, 2 * UNITS)).astype(np.float32)
  r_state = rng.uniform(-0.5, 0.5, (batch, 2 * UNITS)).astype(np.float32)
  _assert_numpy_act_equals_tf(learner, observations, q_state, r_state)
  # Gradient steps through the learner move the acting path with them.
  learner.train_steps_numpy({key: value[None] for key, value in
                             _minibatch(1).items()})
  _assert_numpy_act_equals_tf(learner, observations, q_state, r_state)


def test_numpy_acting_path_two_layers_and_weight_changes():
  hparams = note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(6, 5))
  nets = [note_rnn_model.NoteRNN(hparams, seed=s, name=n)
          for s, n in ((0, 'q'), (10, 'target'), (20, 'reward'))]
  learner = dqn.DQNLearner('g', *nets, dqn_hparams_lib.DQNHParams(
      minibatch_size=BATCH))
  rng = np.random.default_rng(7)
  observations = rng.integers(0, NUM_CLASSES, 4)
  q_state = rng.uniform(-0.5, 0.5, (4, 22)).astype(np.float32)
  r_state = rng.uniform(-0.5, 0.5, (4, 22)).astype(np.float32)
  _assert_numpy_act_equals_tf(learner, observations, q_state, r_state)
  # Weights assigned from outside are read at the next sync, not before.
  before = learner.act_numpy(observations, q_state, r_state)[0]
  nets[0].set_weights(_random_weights(nets[0], seed=3))
  np.testing.assert_array_equal(
      learner.act_numpy(observations, q_state, r_state)[0], before)
  learner.sync_acting_weights()
  _assert_numpy_act_equals_tf(learner, observations, q_state, r_state)


def test_xla_compiled_updates_equal_the_plain_graph():
  plain = _learner('g')
  compiled = dqn.DQNLearner(
      'g', *[net.clone(name=net.name) for net in
             (plain.q_network, plain.target_q_network, plain.reward_rnn)],
      plain.hparams, jit_compile=True)
  minibatches = [_minibatch(seed) for seed in range(3)]
  stacked = {key: np.stack([m[key] for m in minibatches])
             for key in minibatches[0]}
  for _ in range(2):  # The second call reuses the compiled program.
    losses, values = plain.train_steps_numpy(stacked)
    xla_losses, xla_values = compiled.train_steps_numpy(stacked)
    np.testing.assert_allclose(xla_losses, losses, rtol=1e-5)
    np.testing.assert_allclose(xla_values, values, rtol=1e-5, atol=1e-6)
  assert compiled.train_steps.experimental_get_tracing_count() == 1
  for a, b in zip(compiled.q_network.get_weights(),
                  plain.q_network.get_weights()):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _acting_weights(numpy_net):
  """The arrays a NumpyNoteRNN acts with, in the network's variable order."""
  # pylint: disable=protected-access
  return ([w for layer in numpy_net._layers for w in layer] +
          list(numpy_net._dense))


def test_steps_return_the_weights_the_acting_path_then_uses():
  learner = _learner('q')
  minibatches = [_minibatch(seed) for seed in range(2)]
  stacked = {key: np.stack([m[key] for m in minibatches])
             for key in minibatches[0]}
  before = learner.q_network.get_weights()
  losses, values = learner.train_steps_numpy(stacked)
  assert losses.shape == values.shape == (2,)
  after = learner.q_network.get_weights()
  assert all(not np.array_equal(b, a) for b, a in zip(before, after))
  # The weights that came back with the losses are the variables, exactly.
  numpy_net = learner._q_numpy  # pylint: disable=protected-access
  for got, want in zip(_acting_weights(numpy_net), after):
    np.testing.assert_array_equal(got, want)
  with pytest.raises(ValueError, match='flat weights have 3 values'):
    numpy_net.set_flat_weights(np.zeros(3, np.float32))


def test_pack_minibatches_lays_the_fields_out_in_order():
  minibatch = {key: value[None] for key, value in _minibatch(4).items()}
  ints, floats = dqn.pack_minibatches(minibatch)
  sq = minibatch['state'].shape[-1]
  assert ints.dtype == np.int32 and floats.dtype == np.float32
  np.testing.assert_array_equal(ints[..., 0], minibatch['observation'])
  np.testing.assert_array_equal(ints[..., 1], minibatch['action'])
  np.testing.assert_array_equal(ints[..., 2], minibatch['new_observation'])
  np.testing.assert_array_equal(floats[..., 0], minibatch['reward'])
  np.testing.assert_array_equal(floats[..., 1:1 + sq], minibatch['state'])
  np.testing.assert_array_equal(floats[..., 1 + sq:1 + 2 * sq],
                                minibatch['new_state'])
  np.testing.assert_array_equal(floats[..., 1 + 2 * sq:],
                                minibatch['new_reward_state'])


# --- The original's G update (reward_rnn_trainable, defect 7) ---------------


def _numpy_g_loss(learner_weights, reward_weights, batch, gamma):
  """The original's G loss in float64 numpy, as a function of the Reward
  RNN's weights: mean (Q(s, a) - r - gamma * logsumexp(G-(s', .) +
  log_softmax(reward logits(s'))))^2."""
  q_weights, target_weights = learner_weights
  q_values, _ = _numpy_step(q_weights, batch['observation'], batch['state'])
  taken = q_values[np.arange(BATCH), batch['action']]
  next_q, _ = _numpy_step(target_weights, batch['new_observation'],
                          batch['new_state'])
  logits, _ = _numpy_step(reward_weights, batch['new_observation'],
                          batch['new_reward_state'])
  log_probs = logits - _numpy_logsumexp(logits)[:, None]
  targets = batch['reward'] + gamma * _numpy_logsumexp(next_q + log_probs)
  return np.mean(np.square(taken - targets))


def _finite_difference_gradients(loss, weights, step=1e-6):
  """d loss / d weights by central differences, float64."""
  weights = [np.asarray(w, np.float64) for w in weights]
  gradients = []
  for index, w in enumerate(weights):
    gradient = np.zeros_like(w)
    for position in np.ndindex(w.shape):
      values = []
      for sign in (1.0, -1.0):
        shifted = [x.copy() for x in weights]
        shifted[index][position] += sign * step
        values.append(loss(shifted))
      gradient[position] = (values[0] - values[1]) / (2 * step)
    gradients.append(gradient)
  return gradients


def test_original_g_update_trains_the_reward_rnn_by_its_gradient():
  """One G step with reward_rnn_trainable: Adam's first moment of every
  Reward RNN variable is (1 - beta1) times the loss's gradient (clipped to
  norm 5 per variable), taken here by finite differences of a float64 numpy
  loss, and the weights moved by Adam's first step from that moment."""
  q, target, reward = _networks(seed=3)
  hparams = dqn_hparams_lib.DQNHParams(minibatch_size=BATCH, max_experience=100,
                                       discount_rate=0.5, learning_rate=0.01)
  learner = dqn.DQNLearner('g', q, target, reward, hparams,
                           reward_rnn_trainable=True)
  batch = _minibatch(seed=5, reward_scale=3.0)
  fixed = (q.get_weights(), target.get_weights())
  reward_before = reward.get_weights()
  gradients = _finite_difference_gradients(
      lambda w: _numpy_g_loss(fixed, w, batch, 0.5), reward_before)
  assert max(np.abs(g).max() for g in gradients) > 1e-3

  _train(learner, batch)
  optimizer = learner.optimizer
  clip = hparams.clip_norm
  for variable, before, gradient in zip(reward.variables, reward_before,
                                        gradients):
    expected = gradient * min(1.0, clip / np.linalg.norm(gradient))
    index = optimizer._get_variable_index(variable)  # pylint: disable=protected-access
    momentum = optimizer._momentums[index].numpy()  # pylint: disable=protected-access
    velocity = optimizer._velocities[index].numpy()  # pylint: disable=protected-access
    np.testing.assert_allclose(momentum / (1.0 - optimizer.beta_1), expected,
                               rtol=2e-3, atol=1e-6)
    # Adam's first step: lr * sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps).
    alpha = 0.01 * math.sqrt(1.0 - optimizer.beta_2) / (1.0 - optimizer.beta_1)
    step = alpha * momentum / (np.sqrt(velocity) + optimizer.epsilon)
    np.testing.assert_allclose(variable.numpy(), before - step, rtol=1e-5,
                               atol=1e-7)
    # The input kernel's rows of classes no transition moved to get no
    # gradient: unchanged.
    if len(variable.shape) == 2 and variable.shape[0] == NUM_CLASSES:
      unused = np.setdiff1d(np.arange(NUM_CLASSES), batch['new_observation'])
      np.testing.assert_array_equal(variable.numpy()[unused], before[unused])
  assert any(not np.array_equal(b, a)
             for b, a in zip(reward_before, reward.get_weights()))


def test_original_g_update_keeps_the_acting_copy_of_the_reward_rnn_current():
  q, target, reward = _networks(seed=1)
  learner = dqn.DQNLearner('g', q, target, reward, dqn_hparams_lib.DQNHParams(
      minibatch_size=BATCH, max_experience=100, learning_rate=0.01),
                           reward_rnn_trainable=True)
  stacked = {key: value[None] for key, value in _minibatch(2).items()}
  before = reward.get_weights()
  learner.train_steps_numpy(stacked)
  after = reward.get_weights()
  assert any(not np.array_equal(b, a) for b, a in zip(before, after))
  numpy_net = learner._reward_numpy  # pylint: disable=protected-access
  for got, want in zip(_acting_weights(numpy_net), after):
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('name', ['q', 'psi', 'pure_rl'])
def test_original_g_update_is_refused_for_other_algorithms(name):
  with pytest.raises(ValueError, match='g algorithm only'):
    dqn.DQNLearner(name, *_networks(), dqn_hparams_lib.DQNHParams(),
                   reward_rnn_trainable=True)
  with pytest.raises(settings_lib.UsageError,
                     match='--reward_rnn_trainable applies to --algorithm=g'):
    settings_lib.resolve(settings_lib.TrainSettings(
        output_dir='unused', algorithm=name, reward_rnn_trainable=True),
                         check_output_dir=False)
