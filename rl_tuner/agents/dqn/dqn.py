"""The learning rules of the RL Tuner: Q, Psi, G learning and pure RL.

The four algorithms differ in exactly two places, kept here as one table:
  * the value of the next state used in the TD target, and
  * the scores the policy acts on.

With s' the next state, theta- the target network and log p(a'|s') the frozen
Reward RNN's log-probabilities, the TD target is y = r + gamma * V(s') with

  q, pure_rl:  V(s') = max_a' Q(s', a'; theta-)
  psi:         V(s') = logsumexp_a' Psi(s', a'; theta-)
  g:           V(s') = logsumexp_a' (G(s', a'; theta-) + log p(a'|s'))

and the policy acts on Q(s, .) except in g, which acts on
G(s, .) + Reward RNN logits (argmax and softmax equal those of G + log p).
"""

import collections

import numpy as np
import tensorflow as tf

from note_rnn.model import lstm_cell


def _max_value(next_q, unused_reward_log_probs):
  return tf.reduce_max(next_q, axis=-1)


def _logsumexp_value(next_q, unused_reward_log_probs):
  return tf.reduce_logsumexp(next_q, axis=-1)


def _g_value(next_q, reward_log_probs):
  return tf.reduce_logsumexp(next_q + reward_log_probs, axis=-1)


Algorithm = collections.namedtuple(
    'Algorithm',
    ['next_state_value',   # fn(next_q [B, A], log p(.|s') [B, A]) -> [B]
     'acts_with_prior',    # policy scores add the Reward RNN's logits
     'needs_prior_in_target'])  # the target needs log p(.|s')

ALGORITHMS = {
    'q': Algorithm(_max_value, False, False),
    'psi': Algorithm(_logsumexp_value, False, False),
    'g': Algorithm(_g_value, True, True),
    'pure_rl': Algorithm(_max_value, False, False),
}


def get_algorithm(name):
  """Looks up a value rule by its algorithm's name (aliases are resolved by
  `registry.canonical_name` before); unknown names raise a ValueError."""
  if name not in ALGORITHMS:
    raise ValueError(f'unknown algorithm {name!r}; valid algorithms: '
                     f'{sorted(ALGORITHMS)}')
  return name, ALGORITHMS[name]


def td_targets(algorithm, rewards, next_q, reward_log_probs, discount):
  """Pure TD targets y = r + gamma * V(s'), without gradient.

  Args:
    algorithm: an `Algorithm` from `ALGORITHMS`.
    rewards: float32 [B], reward of each transition.
    next_q: float32 [B, A], target network's values at s'.
    reward_log_probs: float32 [B, A] log p(.|s') of the Reward RNN, or None
      for algorithms that do not need it.
    discount: gamma, a float.

  Returns:
    (targets [B], next-state values V(s') [B]).
  """
  values = algorithm.next_state_value(next_q, reward_log_probs)
  targets = rewards + discount * values
  return tf.stop_gradient(targets), tf.stop_gradient(values)


# Most melodies `act_numpy` steps with numpy; more go through TensorFlow.
NUMPY_ACTING_MAX_BATCH = 64

def pack_minibatches(minibatches):
  """Packs replay fields [K, M, ...] into the two arrays `train_steps` takes.

  Args:
    minibatches: dict of replay field -> array [K, M, ...].

  Returns:
    (int32 [K, M, 3] of observation, action, new_observation; float32
    [K, M, 1 + 2 Sq + Sr] of reward, state, new_state, new_reward_state).
  """
  ints = np.stack([minibatches['observation'], minibatches['action'],
                   minibatches['new_observation']], axis=-1).astype(np.int32)
  floats = np.concatenate(
      [np.asarray(minibatches['reward'], np.float32)[..., None],
       minibatches['state'], minibatches['new_state'],
       minibatches['new_reward_state']], axis=-1, dtype=np.float32)
  return ints, floats


TrainStepOutput = collections.namedtuple(
    'TrainStepOutput', ['loss', 'td_errors', 'mean_target_value'])


class DQNLearner:
  """Acting (numpy) and compiled training steps over three Note RNNs.

  Attributes:
    q_network, target_q_network, reward_rnn: `note_rnn.NoteRNN`s.
    optimizer: Keras Adam over the Q-network's variables.
  """

  def __init__(self, algorithm_name, q_network, target_q_network, reward_rnn,
               hparams, jit_compile=False, reward_rnn_trainable=False):
    """Args:
      jit_compile: compile the gradient steps with XLA (a third less time
        per update on a 2-core CPU, for seconds of compiling per process;
        bench/bench_rl_tuner.py measures both).
      reward_rnn_trainable: g only: the original code's G update (its defect
        7). The TD target's log p(.|s') is not held constant, so the loss's
        gradient also reaches the Reward RNN, which the same Adam optimizer
        (gradients clipped per variable) then trains along with the
        Q-network; its changed log p then also feeds the rewards. The
        paper's method, and the default, keeps the Reward RNN frozen.

    Raises:
      ValueError: reward_rnn_trainable with an algorithm other than g.
    """
    self.algorithm_name, self.algorithm = get_algorithm(algorithm_name)
    if reward_rnn_trainable and self.algorithm_name != 'g':
      raise ValueError('reward_rnn_trainable applies to the g algorithm '
                       f'only (its target uses the Reward RNN), not '
                       f'{self.algorithm_name!r}')
    self.reward_rnn_trainable = bool(reward_rnn_trainable)
    self.q_network = q_network
    self.target_q_network = target_q_network
    self.reward_rnn = reward_rnn
    self.hparams = hparams
    self.num_actions = q_network.num_classes
    self.optimizer = tf.keras.optimizers.Adam(
        learning_rate=hparams.learning_rate, epsilon=1e-8)
    # Builds the optimizer's slots now so that checkpoints can hold them.
    self.optimizer.build(self._trained_variables())
    # Fixed signatures (any batch size): traced once, never retraced.
    notes = tf.TensorSpec([None], tf.int32)
    q_states = tf.TensorSpec([None, q_network.state_size], tf.float32)
    r_states = tf.TensorSpec([None, reward_rnn.state_size], tf.float32)
    floats = tf.TensorSpec([None], tf.float32)
    transition = [notes, q_states, notes, floats, notes, q_states, r_states]
    self.act = tf.function(self._act,
                           input_signature=[notes, q_states, r_states])
    self.train_step = tf.function(self._train_step,
                                  input_signature=transition,
                                  jit_compile=jit_compile)
    # K minibatches of M transitions packed into two tensors (see
    # `pack_minibatches`): each tensor crossing a call costs tens of
    # microseconds on a CPU, so the steps take two and return one.
    float_width = 1 + 2 * q_network.state_size + reward_rnn.state_size
    self.train_steps = tf.function(
        self._train_steps,
        input_signature=[tf.TensorSpec([None, None, 3], tf.int32),
                         tf.TensorSpec([None, None, float_width],
                                       tf.float32)],
        jit_compile=jit_compile)
    # Calling the concrete function skips the argument dispatch of
    # tf.function, about half of a small call's overhead on a CPU.
    self._train_steps_call = self.train_steps.get_concrete_function()
    self._act_call = self.act.get_concrete_function()
    # The acting path: numpy copies of the two networks' weights, stepped by
    # the same cell equations (note_rnn.lstm_cell).
    self._q_numpy = lstm_cell.NumpyNoteRNN(q_network)
    self._reward_numpy = lstm_cell.NumpyNoteRNN(reward_rnn)

  def _trained_variables(self):
    """The variables the gradient steps change (the Q-network's, and the
    Reward RNN's with reward_rnn_trainable)."""
    variables = list(self.q_network.trainable_variables)
    if self.reward_rnn_trainable:
      variables += self.reward_rnn.trainable_variables
    return variables

  def sync_acting_weights(self):
    """Reads both networks' weights into the acting path again.

    The learner does this itself after its gradient steps; callers do it
    after changing weights any other way (restoring a checkpoint, assigning
    variables) and at the start of every public operation.
    """
    self._q_numpy.read_weights()
    self._reward_numpy.read_weights()

  def act_numpy(self, observations, q_state, reward_state):
    """`act` on numpy arrays, for B melodies.

    Same arguments and outputs as `act`, as float32 numpy arrays. Up to
    NUMPY_ACTING_MAX_BATCH melodies are stepped with numpy from the weights
    last read (`sync_acting_weights`), which costs a few tens of
    microseconds instead of TensorFlow's per-call floor; more melodies go
    through the compiled `act`, whose fused multi-threaded kernels win
    there (measured on 2 cores: numpy faster at B = 64, slower from 128).
    """
    observations = np.asarray(observations)
    if len(observations) > NUMPY_ACTING_MAX_BATCH:
      outputs = self._act_call(tf.constant(observations, tf.int32),
                               tf.constant(q_state, tf.float32),
                               tf.constant(reward_state, tf.float32))
      return tuple(t.numpy() for t in outputs)
    q_values, new_q_state = self._q_numpy.step(observations, q_state)
    reward_logits, new_reward_state = self._reward_numpy.step(observations,
                                                              reward_state)
    policy_scores = q_values
    if self.algorithm.acts_with_prior:
      policy_scores = q_values + reward_logits
    return policy_scores, reward_logits, new_q_state, new_reward_state

  def train_steps_numpy(self, minibatches):
    """Runs K gradient steps in one call.

    Args:
      minibatches: dict of replay field -> array [K, M, ...] (K minibatches
        of M transitions, taken in order).

    Returns:
      (losses [K], mean target values [K]) as numpy arrays.
    """
    ints, floats = pack_minibatches(minibatches)
    packed = self._train_steps_call(tf.constant(ints), tf.constant(floats))
    packed = packed.numpy()
    count = len(ints)
    # The trained weights after the steps come back in the same tensor.
    weights = packed[2 * count:]
    q_size = self._q_numpy.num_weights
    self._q_numpy.set_flat_weights(weights[:q_size])
    if self.reward_rnn_trainable:
      self._reward_numpy.set_flat_weights(weights[q_size:])
    return packed[:count], packed[count:2 * count]

  def _act(self, observations, q_state, reward_state):
    """One environment step of the networks for B melodies.

    Args:
      observations: int32 [B] class of the last note of each melody.
      q_state: float32 [B, Sq] Q-network state before the observation.
      reward_state: float32 [B, Sr] Reward RNN state before it.

    Returns:
      policy_scores [B, A] (what the policy maximises or samples from),
      reward_logits [B, A] (Reward RNN logits; the environment takes log
      p(a|s) from them in float64), new_q_state [B, Sq], new_reward_state
      [B, Sr].
    """
    inputs = tf.one_hot(observations, self.num_actions, dtype=tf.float32)
    q_values, new_q_state = self.q_network.step_ops(inputs, q_state)
    reward_logits, new_reward_state = self.reward_rnn.step_ops(
        inputs, reward_state)
    policy_scores = q_values
    if self.algorithm.acts_with_prior:
      policy_scores = q_values + reward_logits
    return policy_scores, reward_logits, new_q_state, new_reward_state

  def _train_step(self, observation, state, action, reward, new_observation,
                  new_state, new_reward_state):
    """One Adam step on the mean squared TD error of a minibatch.

    Args mirror the replay fields: observation/action/new_observation int32
    [B], reward float32 [B], states float32 [B, S].

    Returns:
      TrainStepOutput(loss [], td_errors [B], mean_target_value []).
    """
    hp = self.hparams
    next_inputs = tf.one_hot(new_observation, self.num_actions)
    next_q, _ = self.target_q_network.step_ops(next_inputs, new_state)
    variables = self._trained_variables()
    inputs = tf.one_hot(observation, self.num_actions)
    action_mask = tf.one_hot(action, self.num_actions)
    with tf.GradientTape() as tape:
      reward_log_probs = None
      if self.algorithm.needs_prior_in_target:
        prior_logits, _ = self.reward_rnn.step_ops(next_inputs,
                                                   new_reward_state)
        reward_log_probs = tf.nn.log_softmax(prior_logits, axis=-1)
      if self.reward_rnn_trainable:
        # The original's target: only the target network is held constant.
        values = self.algorithm.next_state_value(tf.stop_gradient(next_q),
                                                 reward_log_probs)
        targets = reward + hp.discount_rate * values
      else:
        # The Reward RNN is frozen: the whole target is a constant.
        targets, values = td_targets(self.algorithm, reward, next_q,
                                     reward_log_probs, hp.discount_rate)
      q_values, _ = self.q_network.step_ops(inputs, state)
      q_taken = tf.reduce_sum(q_values * action_mask, axis=-1)
      td_errors = q_taken - targets
      loss = tf.reduce_mean(tf.square(td_errors))
    gradients = tape.gradient(loss, variables)
    gradients = [tf.clip_by_norm(g, hp.clip_norm) for g in gradients]
    self.optimizer.apply_gradients(zip(gradients, variables))
    self._soft_update_target(hp.target_network_update_rate)
    return TrainStepOutput(loss, td_errors, tf.reduce_mean(values))

  def _train_steps(self, ints, floats):
    """K `_train_step`s in a row, on minibatches packed by
    `pack_minibatches`.

    Args:
      ints: int32 [K, M, 3]: observation, action, new_observation.
      floats: float32 [K, M, 1 + 2 Sq + Sr]: reward, state, new_state,
        new_reward_state.

    Returns:
      float32 [2K + W]: the K losses, the K mean target values, then the
      Q-network's weights after the steps (its variables flattened in
      order; then the Reward RNN's with reward_rnn_trainable), so that one
      tensor carries everything back.
    """
    sq = self.q_network.state_size
    # Split before the loop: slicing inside it (ints[i, :, 0]) computed
    # different losses under XLA (TF 2.21; the XLA equality test caught it).
    observation, action, new_observation = tf.unstack(ints, axis=-1)
    reward, state, new_state, new_reward_state = tf.split(
        floats, [1, sq, sq, self.reward_rnn.state_size], axis=-1)
    reward = reward[..., 0]
    count = tf.shape(ints)[0]
    losses = tf.TensorArray(tf.float32, size=count)
    values = tf.TensorArray(tf.float32, size=count)
    for i in tf.range(count):
      output = self._train_step(observation[i], state[i], action[i],
                                reward[i], new_observation[i], new_state[i],
                                new_reward_state[i])
      losses = losses.write(i, output.loss)
      values = values.write(i, output.mean_target_value)
    networks = [self.q_network] + (
        [self.reward_rnn] if self.reward_rnn_trainable else [])
    weights = [tf.reshape(v, [-1]) for net in networks for v in net.variables]
    return tf.concat([losses.stack(), values.stack()] + weights, axis=0)

  def _soft_update_target(self, rate):
    """target <- (1 - rate) * target + rate * online, variable by variable."""
    for target, source in zip(self.target_q_network.variables,
                              self.q_network.variables):
      target.assign_sub(rate * (target - source))
