"""The Note RNN: a stack of LSTM layers and a linear layer to 38 logits.

The weights live in Keras layers (`keras.layers.LSTMCell` per layer and a
`keras.layers.Dense` output), created at construction. The forward pass is
written with plain TF ops on those weights so that one step and a whole
sequence share the same cell equations and run inside `tf.function`:

  z = x @ kernel + bias + h @ recurrent_kernel      gate blocks (i, f, c, o)
  c' = sigmoid(f) * c + sigmoid(i) * tanh(c_block)
  h' = sigmoid(o) * tanh(c')
  logits = h'_last_layer @ dense_kernel + dense_bias

This is Keras' LSTMCell (sigmoid recurrent activation, tanh activation) and,
with the forget bias folded into `bias`, the original TF1 LSTMCell. The
equations are stated once, in `lstm_cell`, which also runs them with numpy
for the RL Tuner's acting path.

State: one float32 vector per melody, [batch, state_size], holding each
layer's [c, h] in layer order (the original `state_is_tuple=False` layout;
for one layer of 100 units c is entries 0..99, h entries 100..199).
"""

import itertools
import json
import os

import keras
import tensorflow as tf

from note_rnn import encoding
from note_rnn.model import checkpoint_import
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import lstm_cell
from note_rnn.runtime import folders
from note_rnn.runtime import outputs

CheckpointError = checkpoint_import.CheckpointError


class NoteRNN(tf.Module):
  """LSTM melody model over the 38-class encoding.

  `variables` and `trainable_variables` (the same list) are, in this order,
  per LSTM layer i: `lstm_i/kernel` [in, 4u], `lstm_i/recurrent_kernel`
  [u, 4u], `lstm_i/bias` [4u]; then `dense/kernel` [u_last, 38] and
  `dense/bias` [38] (see `variable_names`). Two NoteRNNs with equal layer
  sizes list matching variables at equal positions.
  """

  def __init__(self, hparams=None, seed=None, name='note_rnn'):
    """Builds the network with freshly initialized weights.

    Args:
      hparams: NoteRNNHParams; default: `hparams.default_hparams()`.
      seed: int seed of the weight initializers, or None for random ones.
      name: module name.
    """
    super().__init__(name=name)
    hparams = hparams or hparams_lib.default_hparams()
    if hparams.one_hot_length != encoding.NUM_CLASSES:
      raise ValueError(
          f'hparams.one_hot_length is {hparams.one_hot_length}; the Note RNN '
          f'uses the {encoding.NUM_CLASSES}-class encoding')
    self._hparams = hparams
    self._source = None
    self._metadata_json = 'null'
    # Each initializer gets its own seed: seed, seed + 1, ... (or None).
    seeds = itertools.count(seed) if seed is not None else itertools.repeat(
        None)
    cells, in_size = [], encoding.NUM_CLASSES
    for index, units in enumerate(hparams.rnn_layer_sizes):
      cell = keras.layers.LSTMCell(
          units, name=f'lstm_{index}',
          kernel_initializer=keras.initializers.GlorotUniform(next(seeds)),
          recurrent_initializer=keras.initializers.Orthogonal(
              seed=next(seeds)),
          unit_forget_bias=True)
      cell.build((None, in_size))
      cells.append(cell)
      in_size = units
    self._cells = cells
    self._dense = keras.layers.Dense(
        encoding.NUM_CLASSES, name='dense',
        kernel_initializer=keras.initializers.GlorotUniform(next(seeds)))
    self._dense.build((None, in_size))
    specs = checkpoint_import.keras_variable_specs(self.layer_sizes)
    for (name_, shape), variable in zip(specs, self.variables):
      assert tuple(variable.shape) == shape, (name_, variable.shape, shape)

    state_spec = tf.TensorSpec([None, self.state_size], tf.float32)
    inputs_spec = tf.TensorSpec([None, encoding.NUM_CLASSES], tf.float32)
    sequence_spec = tf.TensorSpec([None, None, encoding.NUM_CLASSES],
                                  tf.float32)
    self._step_fn = tf.function(
        self._step, input_signature=[inputs_spec, state_spec])
    self._sequence_fn = tf.function(
        lambda inputs, state: self._sequence(inputs, state, None),
        input_signature=[sequence_spec, state_spec])
    self._masked_sequence_fn = tf.function(
        self._sequence,
        input_signature=[sequence_spec, state_spec,
                         tf.TensorSpec([None], tf.int32)])
    self._dropout_sequence_fn = tf.function(
        self._sequence,
        input_signature=[sequence_spec, state_spec,
                         tf.TensorSpec([None], tf.int32),
                         tf.TensorSpec([2], tf.int64)])

  # --- Shape and variables -------------------------------------------------

  @property
  def hparams(self):
    """The NoteRNNHParams this network was built with."""
    return self._hparams

  @property
  def layer_sizes(self):
    """Units of each LSTM layer, input side first (tuple of ints)."""
    return tuple(self._hparams.rnn_layer_sizes)

  @property
  def num_classes(self):
    """Classes of the input one-hot vectors and of the logits (38)."""
    return encoding.NUM_CLASSES

  @property
  def state_size(self):
    """Length of the flat state vector: sum over layers of 2 * units."""
    return 2 * sum(self.layer_sizes)

  @property
  def variables(self):
    """All weights, in the fixed order documented on the class (tuple)."""
    result = []
    for cell in self._cells:
      result += [cell.kernel, cell.recurrent_kernel, cell.bias]
    return tuple(result + [self._dense.kernel, self._dense.bias])

  @property
  def trainable_variables(self):
    """Same as `variables`: every weight is trained."""
    return self.variables

  @property
  def variable_names(self):
    """Names of `variables`, e.g. 'lstm_0/kernel' (list of str)."""
    return [name for name, _ in
            checkpoint_import.keras_variable_specs(self.layer_sizes)]

  @property
  def source(self):
    """Where the weights were loaded from ('format: path'), or None."""
    return self._source

  @property
  def metadata(self):
    """User metadata stored by `save` and read by `load` (dict or None)."""
    return json.loads(self._metadata_json)

  def _set_origin(self, source, metadata_json):
    self._source = source
    self._metadata_json = metadata_json

  def __repr__(self):
    return (f'NoteRNN(layer_sizes={self.layer_sizes}, '
            f'state_size={self.state_size})')

  # --- Forward pass --------------------------------------------------------

  def zero_state(self, batch_size):
    """All-zero state: float32 [batch_size, state_size]."""
    return tf.zeros([batch_size, self.state_size], tf.float32)

  def split_state(self, state):
    """Splits a flat state [B, state_size] into [(c, h)] per layer."""
    parts = tf.split(state, [u for u in self.layer_sizes for _ in (0, 1)],
                     axis=-1)
    return list(zip(parts[0::2], parts[1::2]))

  def step(self, inputs, state):
    """Advances every melody of a batch by one note.

    Args:
      inputs: float32 [B, 38] one-hot of the note just played.
      state: float32 [B, state_size] state before it.

    Returns:
      (logits [B, 38] for the next note, new state [B, state_size]).
    """
    return self._step_fn(_float32(inputs), _float32(state))

  def step_ops(self, inputs, state):
    """`step` as plain TensorFlow ops, for use inside another tf.function.

    Calling the compiled `step` from a function compiled with XLA made XLA
    treat the minibatch and the target network's weights as compile-time
    constants and compile again on every call (seconds each); these ops are
    inlined instead. Same arguments and results as `step` (float32).
    """
    return self._step(inputs, state)

  def sequence_logits(self, inputs, state=None, lengths=None,
                      dropout_seed=None):
    """Runs the network over whole sequences.

    Args:
      inputs: float32 [B, T, 38] one-hot notes.
      state: float32 [B, state_size] initial state; None means zeros.
      lengths: optional int [B] real lengths of padded sequences. Steps at
        t >= length leave the state unchanged and output h = 0 (so their
        logits equal the dense bias), like TF1's `dynamic_rnn`.
      dropout_seed: only for supervised training: int [2] seed of the
        dropout masks. With it and `hparams.dropout_keep_prob` < 1, the
        output of every LSTM layer (what goes to the next layer or to the
        dense layer, not the layer's own recurrent state) keeps each unit
        with probability `dropout_keep_prob` and scales it by its inverse,
        a fresh mask per step, melody, unit and layer: Magenta basic_rnn's
        `DropoutWrapper(cell, output_keep_prob=dropout_keep_prob)`. The
        masks are a function of the seed (stateless), so training stays
        deterministic and exactly resumable. None (evaluation, generation,
        the RL Tuner): no dropout.

    Returns:
      (logits [B, T, 38], final state [B, state_size]); logits[:, t] is the
      prediction after reading inputs[:, :t + 1]; the final state is the state
      after each sequence's last real step.
    """
    inputs = _float32(inputs)
    if state is None:
      state = self.zero_state(tf.shape(inputs)[0])
    state = _float32(state)
    if dropout_seed is not None and self._hparams.dropout_keep_prob < 1.0:
      if lengths is None:
        lengths = tf.fill([tf.shape(inputs)[0]], tf.shape(inputs)[1])
      return self._dropout_sequence_fn(inputs, state,
                                       tf.cast(lengths, tf.int32),
                                       tf.cast(dropout_seed, tf.int64))
    if lengths is None:
      return self._sequence_fn(inputs, state)
    return self._masked_sequence_fn(inputs, state,
                                    tf.cast(lengths, tf.int32))

  def _step(self, inputs, state):
    x, new_state = inputs, []
    for cell, (c, h) in zip(self._cells, self.split_state(state)):
      projected = tf.matmul(x, cell.kernel) + cell.bias
      c, h = _lstm_update(projected, c, h, cell.recurrent_kernel)
      new_state += [c, h]
      x = h
    return self._logits(x), tf.concat(new_state, axis=-1)

  def _sequence(self, inputs, state, lengths, dropout_seed=None):
    batch, time = tf.shape(inputs)[0], tf.shape(inputs)[1]
    mask = None
    if lengths is not None:
      # [T, B, 1]: whether step t is a real step of melody b.
      mask = tf.transpose(tf.sequence_mask(lengths, time))[:, :, None]
    x, final_state = inputs, []
    for index, (cell, (c, h)) in enumerate(
        zip(self._cells, self.split_state(state))):
      units = cell.units
      # Input projections of all steps in one matmul: [T, B, 4u].
      flat = tf.reshape(x, [-1, x.shape[-1]])
      projected = tf.matmul(flat, cell.kernel) + cell.bias
      projected = tf.transpose(
          tf.reshape(projected, [batch, time, 4 * units]), [1, 0, 2])
      outputs, c, h = _run_layer(projected, c, h, cell.recurrent_kernel,
                                 mask)
      final_state += [c, h]
      x = tf.transpose(outputs, [1, 0, 2])
      if dropout_seed is not None:
        # Output dropout only: the recurrence above used the undropped h.
        x = tf.nn.experimental.stateless_dropout(
            x, rate=1.0 - self._hparams.dropout_keep_prob,
            seed=tf.random.experimental.stateless_fold_in(dropout_seed,
                                                          index))
    logits = self._logits(tf.reshape(x, [-1, x.shape[-1]]))
    logits = tf.reshape(logits, [batch, time, encoding.NUM_CLASSES])
    return logits, tf.concat(final_state, axis=-1)

  def _logits(self, h):
    return lstm_cell.logits(_TF_OPS, h, self._dense.kernel, self._dense.bias)

  # --- Copies --------------------------------------------------------------

  def get_weights(self):
    """Current weights as numpy arrays, in `variables` order."""
    return [v.numpy() for v in self.variables]

  def set_weights(self, arrays):
    """Assigns numpy arrays (in `variables` order, exact shapes)."""
    arrays = list(arrays)
    if len(arrays) != len(self.variables):
      raise ValueError(f'expected {len(self.variables)} arrays, got '
                       f'{len(arrays)}')
    for name, variable, array in zip(self.variable_names, self.variables,
                                     arrays):
      if tuple(array.shape) != tuple(variable.shape):
        raise ValueError(f'{name} has shape {list(variable.shape)}; got an '
                         f'array of shape {list(array.shape)}')
    for variable, array in zip(self.variables, arrays):
      variable.assign(array)

  def copy_weights_from(self, other):
    """Assigns every variable from `other`, a NoteRNN of equal layer sizes."""
    if other.layer_sizes != self.layer_sizes:
      raise ValueError(
          f'cannot copy weights of a NoteRNN with layer sizes '
          f'{other.layer_sizes} into one with {self.layer_sizes}')
    for mine, theirs in zip(self.variables, other.variables):
      mine.assign(theirs)

  def clone(self, name=None):
    """A new NoteRNN with the same hparams and a copy of the weights."""
    copy = NoteRNN(self._hparams, name=name or self.name)
    copy.copy_weights_from(self)
    copy._set_origin(self._source, self._metadata_json)
    return copy

  # --- Files ---------------------------------------------------------------

  @classmethod
  def load(cls, path=None, hparams=None, scope=None):
    """Builds a NoteRNN from a save or checkpoint.

    Args:
      path: a directory written by `save`; a TF1 Note RNN checkpoint (the
        paper's V1 file, or V1/V2 with the later `rnn/multi_rnn_cell` names);
        a Magenta `basic_rnn` checkpoint or `.mag` bundle; or a directory
        holding one of these. None: the embedded default model.
      hparams: optional NoteRNNHParams the checkpoint must match; its
        training fields are kept. Default: the save's hparams, or
        `default_hparams()` with the layer sizes read from the checkpoint.
      scope: TF1 scope to read when a checkpoint holds several networks.

    Returns:
      A NoteRNN whose `source` says what was read.

    Raises:
      FileNotFoundError: no file at `path`, or no embedded model for None.
      CheckpointError (a ValueError): unreadable file, no Note RNN variables,
        or shapes that do not fit each other or `hparams`.
    """
    if path is None:
      path = checkpoint_import.DEFAULT_MODEL_DIR
      config = os.path.join(path, checkpoint_import.SAVE_CONFIG_NAME)
      if not os.path.isfile(config):
        raise FileNotFoundError(
            'no embedded default Note RNN is installed yet (expected '
            f'{config}); pass a checkpoint instead, e.g. '
            "NoteRNN.load('rl_tuner_note_rnn.ckpt') or a directory written "
            'by NoteRNN.save')
    imported = checkpoint_import.read_weights(path, scope=scope)
    if hparams is not None:
      checkpoint_import.check_layer_sizes(imported, hparams.rnn_layer_sizes)
    elif imported.hparams is not None:
      try:
        hparams = hparams_lib.NoteRNNHParams.from_dict(imported.hparams)
      except (TypeError, ValueError) as e:
        raise CheckpointError(
            f'bad hparams in {imported.path}: {e}') from e
      checkpoint_import.check_layer_sizes(imported, hparams.rnn_layer_sizes)
    else:
      hparams = hparams_lib.default_hparams().replace(
          rnn_layer_sizes=imported.layer_sizes)
    model = cls(hparams)
    model.set_weights(imported.arrays)
    model._set_origin(f'{imported.format}: {imported.path}',
                      json.dumps(imported.metadata))
    return model

  def save(self, path, metadata=None):
    """Writes the weights and hparams to directory `path`, atomically.

    The directory holds `note_rnn.json` (format version, class count, layer
    sizes, hparams, variable names and shapes, `metadata`) and a TF2
    checkpoint `weights.*`. It is assembled in a temporary sibling directory
    (`.<name>.tmp-*`), synced to disk and renamed into place
    (`folders.staged_folder`); an existing save at `path` is replaced, any
    other existing file or non-empty directory is left alone (error).

    Args:
      path: directory to write.
      metadata: optional JSON-serializable dict stored with the weights.

    Returns:
      `path`.
    """
    path = os.fspath(path)
    config_name = checkpoint_import.SAVE_CONFIG_NAME
    if os.path.exists(path):
      if not os.path.isdir(path):
        raise FileExistsError(f'cannot save a Note RNN to {path}: it is a '
                              'file')
      if (os.listdir(path) and
          not os.path.isfile(os.path.join(path, config_name))):
        raise FileExistsError(
            f'refusing to replace {path}: it is a non-empty directory without '
            f'{config_name}, so not a Note RNN save')
    config = {
        'format': checkpoint_import.SAVE_FORMAT_NAME,
        'format_version': checkpoint_import.SAVE_FORMAT_VERSION,
        'num_classes': self.num_classes,
        'layer_sizes': list(self.layer_sizes),
        'state_size': self.state_size,
        'state_layout': '[c, h] per LSTM layer, in layer order',
        'gate_order': 'Keras LSTMCell (i, f, c, o), forget bias in bias',
        'weights': checkpoint_import.SAVE_WEIGHTS_PREFIX,
        'variables': [{'name': n, 'shape': list(v.shape)}
                      for n, v in zip(self.variable_names, self.variables)],
        'hparams': self._hparams.to_dict(),
        'tensorflow_version': tf.__version__,
        'metadata': metadata,
    }
    try:
      config_bytes = json.dumps(config, indent=2).encode('utf-8')
    except TypeError as e:
      raise ValueError(f'metadata must be JSON-serializable: {e}') from e

    base = os.path.basename(os.path.abspath(path))
    with folders.staged_folder(path, prefix=f'.{base}.tmp-') as staging:
      checkpoint = tf.train.Checkpoint(**{
          checkpoint_import.save_key(n): v
          for n, v in zip(self.variable_names, self.variables)})
      checkpoint.write(
          os.path.join(staging, checkpoint_import.SAVE_WEIGHTS_PREFIX))
      outputs.write_file_atomically(os.path.join(staging, config_name),
                                    config_bytes)
    return path


def _float32(value):
  value = tf.convert_to_tensor(value)
  return value if value.dtype == tf.float32 else tf.cast(value, tf.float32)


# The cell equations (lstm_cell) computed with TensorFlow ops.
_TF_OPS = lstm_cell.ArrayOps(
    matmul=tf.matmul, sigmoid=tf.sigmoid, tanh=tf.tanh,
    split4=lambda z: tf.split(z, 4, axis=-1))


def _lstm_update(projected, c, h, recurrent_kernel):
  """One LSTM step; projected = x @ kernel + bias, [B, 4u]. Returns (c, h)."""
  return lstm_cell.lstm_update(_TF_OPS, projected, c, h, recurrent_kernel)


def _run_layer(projected, c, h, recurrent_kernel, mask):
  """Runs one LSTM layer over time.

  Args:
    projected: [T, B, 4u] input projections (x @ kernel + bias).
    c, h: [B, u] initial state.
    recurrent_kernel: [u, 4u].
    mask: None or bool [T, B, 1]; False steps keep the state, output 0.

  Returns:
    (outputs h [T, B, u], final c [B, u], final h [B, u]).
  """
  time = tf.shape(projected)[0]
  steps = tf.TensorArray(tf.float32, size=time).unstack(projected)
  masks = (tf.TensorArray(tf.bool, size=time).unstack(mask)
           if mask is not None else None)
  outputs = tf.TensorArray(tf.float32, size=time,
                           element_shape=tf.TensorShape([None, h.shape[-1]]))

  def body(t, c, h, outputs):
    new_c, new_h = _lstm_update(steps.read(t), c, h, recurrent_kernel)
    out = new_h
    if masks is not None:
      real = masks.read(t)
      new_c = tf.where(real, new_c, c)
      new_h = tf.where(real, new_h, h)
      out = tf.where(real, out, tf.zeros_like(out))
    return t + 1, new_c, new_h, outputs.write(t, out)

  _, c, h, outputs = tf.while_loop(
      lambda t, *_: t < time, body, (tf.constant(0), c, h, outputs))
  # An empty TensorArray cannot stack with an unknown batch size.
  stacked = tf.cond(time > 0, outputs.stack,
                    lambda: tf.zeros([0, tf.shape(h)[0], h.shape[-1]]))
  return stacked, c, h
