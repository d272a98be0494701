"""The Note RNN's cell equations, written once for TensorFlow and for numpy.

`lstm_update` and `logits` take an `ArrayOps` (which library computes) and
are the only statement of the network's arithmetic: `model.NoteRNN` runs them
with TensorFlow ops inside its compiled functions (training, sequences), and
`NumpyNoteRNN` runs them with numpy for the acting path, where one small step
costs a few tens of microseconds instead of TensorFlow's per-call floor of a
few hundred.

  z = projected + h @ recurrent_kernel        (projected = x @ kernel + bias)
  i, f, g, o = split(z, 4)
  c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
  h' = sigmoid(o) * tanh(c')
  logits = h'_last_layer @ dense_kernel + dense_bias

State layout: one float32 vector per melody, each layer's [c, h] in layer
order (see model.py).
"""

import collections

import numpy as np
import scipy.special
import threadpoolctl

# The array functions the equations use.
ArrayOps = collections.namedtuple(
    'ArrayOps', ['matmul', 'sigmoid', 'tanh', 'split4'])



def _split4_numpy(z):
  """The four gate blocks of z [B, 4u] as views (np.split is ~10x slower)."""
  u = z.shape[-1] // 4
  return z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]


NUMPY = ArrayOps(
    matmul=np.matmul,
    sigmoid=scipy.special.expit,
    tanh=np.tanh,
    split4=_split4_numpy)


_BLAS_CONTROLLER = []


def single_threaded_blas():
  """A context in which numpy's BLAS runs on one thread.

  The acting path's matrix products are small ([B, 100] @ [100, 400]);
  OpenBLAS's threads cost more than they save there: measured on 2 cores,
  one step of B = 16 melodies took 2 ms with threads and 0.1 ms without.
  Entering costs about 30 microseconds, so wrap whole loops, not steps.
  """
  if not _BLAS_CONTROLLER:
    _BLAS_CONTROLLER.append(threadpoolctl.ThreadpoolController())
  return _BLAS_CONTROLLER[0].limit(limits=1, user_api='blas')


def lstm_update(ops, projected, c, h, recurrent_kernel):
  """One LSTM step of one layer.

  Args:
    ops: ArrayOps of the library computing.
    projected: [B, 4u] input projection x @ kernel + bias.
    c, h: [B, u] cell and output state before the step.
    recurrent_kernel: [u, 4u].

  Returns:
    (c', h'), each [B, u].
  """
  z = projected + ops.matmul(h, recurrent_kernel)
  i, f, g, o = ops.split4(z)
  c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
  h = ops.sigmoid(o) * ops.tanh(c)
  return c, h


def logits(ops, h, dense_kernel, dense_bias):
  """Logits [B, 38] of the last layer's output h [B, u]."""
  return ops.matmul(h, dense_kernel) + dense_bias


class NumpyNoteRNN:
  """A numpy copy of a NoteRNN's weights that steps melodies.

  The copy is taken by `read_weights` (and at construction); it does not
  follow later changes of the network's variables by itself. The owner
  (dqn.DQNLearner) reads the weights again after every change it makes and
  at every public entry point, so acting always uses the current weights.
  """

  def __init__(self, network):
    """Args: network: a model.NoteRNN."""
    self._network = network
    self._layers = []
    self._dense = None
    self._shapes = [tuple(v.shape) for v in network.variables]
    self._flat_bounds = np.cumsum(
        [0] + [int(np.prod(shape)) for shape in self._shapes]).tolist()
    self.read_weights()

  def read_weights(self):
    """Copies the network's current weights (float32 numpy arrays)."""
    self._set_arrays([np.asarray(v.numpy(), np.float32)
                      for v in self._network.variables])

  @property
  def num_weights(self):
    """Number of weights of the network (the length `set_flat_weights`
    takes)."""
    return self._flat_bounds[-1]

  def set_flat_weights(self, flat):
    """Takes the weights from one vector: the network's variables flattened
    in order and concatenated (float32 [W]); the arrays are views of it."""
    if len(flat) != self._flat_bounds[-1]:
      raise ValueError(f'flat weights have {len(flat)} values; the network '
                       f'has {self._flat_bounds[-1]}')
    self._set_arrays([flat[start:end].reshape(shape) for start, end, shape
                      in zip(self._flat_bounds, self._flat_bounds[1:],
                             self._shapes)])

  def _set_arrays(self, arrays):
    self._layers = [tuple(arrays[3 * i:3 * i + 3])
                    for i in range(len(self._network.layer_sizes))]
    self._dense = tuple(arrays[-2:])

  def step(self, classes, state):
    """Advances B melodies by one note each.

    Args:
      classes: int [B], the note just played (the one-hot input's index).
      state: float32 [B, state_size] state before it.

    Returns:
      (logits float32 [B, 38] for the next note, new state float32
      [B, state_size]).
    """
    state = np.asarray(state, np.float32)
    new_state = np.empty_like(state)
    offset = 0
    x = None
    for index, (kernel, recurrent_kernel, bias) in enumerate(self._layers):
      units = recurrent_kernel.shape[0]
      c = state[:, offset:offset + units]
      h = state[:, offset + units:offset + 2 * units]
      # One-hot input @ kernel is the kernel's row of the class, exactly.
      projected = (kernel[classes] if index == 0 else x @ kernel) + bias
      c, h = lstm_update(NUMPY, projected, c, h, recurrent_kernel)
      new_state[:, offset:offset + units] = c
      new_state[:, offset + units:offset + 2 * units] = h
      offset += 2 * units
      x = h
    return logits(NUMPY, x, *self._dense), new_state
