"""Reads Note RNN weights from this project's saves and TF1 / Magenta files.

Every reader returns `ImportedWeights`: numpy arrays in the Keras layout and
in the order of `NoteRNN.variables` (see `keras_variable_specs`).

Supported inputs:
  * a directory written by `NoteRNN.save` (`note_rnn.json` + TF2 checkpoint);
  * TF1 checkpoints, V1 single files or V2 `.index`/`.data` prefixes, with
    the paper's names (`RNN/MultiRNNCell/Cell0/LSTMCell/W_0`, `.../B`,
    `fully_connected/weights|bias`) or the later ones
    (`rnn/multi_rnn_cell/cell_0/lstm_cell/kernel|bias` or `basic_lstm_cell`,
    `fully_connected/weights|biases`), under any scope prefix;
  * Magenta generator bundles (`.mag`), which embed one V1 checkpoint;
  * a directory holding one of the above.

TF1's LSTMCell and BasicLSTMCell compute `z = concat([x, h]) @ W + b`, split z
into gate blocks (i, j, f, o) and add a forget bias of 1.0 at run time that
is not stored. Keras orders the blocks (i, f, c=j, o), keeps the input and
recurrent rows in separate kernels and adds no forget bias at run time, so
the importer reorders the blocks, splits the rows and adds 1.0 to the stored
forget-gate bias.
"""

import contextlib
import dataclasses
import json
import logging
import os
import re
import tempfile

import numpy as np

from note_rnn import encoding

# TensorFlow and note_seq are imported by the functions that use them: --help
# of the tools that name CheckpointError need not load them.

# Forget-gate bias that TF1 LSTM cells add at run time (not stored).
TF1_FORGET_BIAS = 1.0

# This project's save format: a directory with these two entries.
SAVE_CONFIG_NAME = 'note_rnn.json'
SAVE_WEIGHTS_PREFIX = 'weights'
SAVE_FORMAT_NAME = 'note_rnn.NoteRNN'
SAVE_FORMAT_VERSION = 1
# Suffix of a value's key inside a tf.train.Checkpoint file.
_TF2_VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE'

# Directory of the embedded default model (installed by a later change).
DEFAULT_MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 'default_model')

# One LSTM layer variable of a TF1 MultiRNNCell, under any scope prefix.
_TF1_CELL_RE = re.compile(
    r'^(?P<scope>(?:.*/)?)(?:rnn|RNN)/(?:multi_rnn_cell|MultiRNNCell)/'
    r'(?:cell_|Cell)(?P<index>\d+)/'
    r'(?:basic_lstm_cell|lstm_cell|BasicLSTMCell|LSTMCell)/'
    r'(?P<role>kernel|W_0|Linear/Matrix|bias|B|Linear/Bias)$')
_TF1_KERNEL_NAMES = ('kernel', 'W_0', 'Linear/Matrix')
# Anything else under a MultiRNNCell scope (attention, peepholes, ...).
_TF1_RNN_SCOPE_RE = re.compile(
    r'^(?P<scope>(?:.*/)?)(?:rnn|RNN)/(?:multi_rnn_cell|MultiRNNCell)/')
# The output layer (tf_slim `linear` or `legacy_linear`).
_TF1_DENSE_RE = re.compile(
    r'^(?P<scope>(?:.*/)?)fully_connected/(?P<role>weights|biases|bias)$')
# Optimizer slots and training bookkeeping, ignored by the readers.
_SLOT_RE = re.compile(
    r'(^|/)(Adam|Adagrad|Momentum|RMSProp|Ftrl|Adadelta|AdagradDA|'
    r'ProximalAdagrad|ExponentialMovingAverage)(_\d+)?$')
_BOOKKEEPING_NAMES = ('global_step', 'beta1_power', 'beta2_power',
                      '_CHECKPOINTABLE_OBJECT_GRAPH')
# At most this many variable names are listed in an error message.
_MAX_LISTED = 30


class CheckpointError(ValueError):
  """A checkpoint that cannot be read or does not hold a usable Note RNN."""


@dataclasses.dataclass
class ImportedWeights:
  """Note RNN weights read from a file, in the Keras layout.

  Attributes:
    path: the file or directory read (after resolving a directory).
    format: a short description, e.g. 'TF1 V1 checkpoint (paper names)'.
    layer_sizes: units of each LSTM layer, inferred from the shapes.
    arrays: float32 arrays in `keras_variable_specs(layer_sizes)` order.
    source_variables: (name, shape) of the variables read, in file terms.
    source_shapes_for: maps layer sizes to the shapes `source_variables`
      would need, for hparams checks.
    hparams: saved hparams dict (this project's format only), else None.
    metadata: saved user metadata (this project's format only), else None.
  """
  path: str
  format: str
  layer_sizes: tuple
  arrays: list
  source_variables: list
  source_shapes_for: object
  hparams: dict = None
  metadata: dict = None


def keras_variable_specs(layer_sizes, num_classes=encoding.NUM_CLASSES):
  """Names and shapes of the Note RNN's variables, in their fixed order.

  Per LSTM layer i (input side first): `lstm_i/kernel` [in, 4u],
  `lstm_i/recurrent_kernel` [u, 4u], `lstm_i/bias` [4u] (gate blocks i, f, c,
  o; forget bias included); then `dense/kernel` [u_last, 38], `dense/bias`
  [38]. `in` is 38 for layer 0, else the previous layer's units.

  Returns:
    List of (name, shape tuple).
  """
  specs, in_size = [], num_classes
  for i, units in enumerate(layer_sizes):
    specs += [(f'lstm_{i}/kernel', (in_size, 4 * units)),
              (f'lstm_{i}/recurrent_kernel', (units, 4 * units)),
              (f'lstm_{i}/bias', (4 * units,))]
    in_size = units
  specs += [('dense/kernel', (in_size, num_classes)),
            ('dense/bias', (num_classes,))]
  return specs


def tf1_variable_shapes(layer_sizes, num_classes=encoding.NUM_CLASSES):
  """Shapes of a TF1 MultiRNNCell + linear layer: [W, b] per layer, dense."""
  shapes, in_size = [], num_classes
  for units in layer_sizes:
    shapes += [(in_size + units, 4 * units), (4 * units,)]
    in_size = units
  return shapes + [(in_size, num_classes), (num_classes,)]


def tf1_lstm_to_keras(kernel, bias, input_size):
  """Converts one TF1 LSTM layer to Keras LSTMCell weights.

  Args:
    kernel: [input_size + u, 4u]; rows [x; h], column blocks (i, j, f, o).
    bias: [4u], blocks (i, j, f, o), without the run-time forget bias.
    input_size: rows of `kernel` that multiply the layer's input.

  Returns:
    (kernel [input_size, 4u], recurrent_kernel [u, 4u], bias [4u]), float32,
    blocks (i, f, c, o), the forget bias of 1.0 added to the f block.
  """
  kernel = np.asarray(kernel, np.float32)
  bias = np.asarray(bias, np.float32)
  k_i, k_j, k_f, k_o = np.split(kernel, 4, axis=1)
  b_i, b_j, b_f, b_o = np.split(bias, 4)
  keras_kernel = np.concatenate([k_i, k_f, k_j, k_o], axis=1)
  keras_bias = np.concatenate(
      [b_i, b_f + np.float32(TF1_FORGET_BIAS), b_j, b_o])
  return (keras_kernel[:input_size], keras_kernel[input_size:], keras_bias)


def keras_lstm_to_tf1(kernel, recurrent_kernel, bias):
  """Inverse of `tf1_lstm_to_keras`: returns TF1 (kernel, bias), float32.

  Subtracting the forget bias again can change the last bit of a float32.
  """
  full = np.concatenate([kernel, recurrent_kernel], axis=0).astype(np.float32)
  k_i, k_f, k_j, k_o = np.split(full, 4, axis=1)
  b_i, b_f, b_j, b_o = np.split(np.asarray(bias, np.float32), 4)
  return (np.concatenate([k_i, k_j, k_f, k_o], axis=1),
          np.concatenate([b_i, b_j, b_f - np.float32(TF1_FORGET_BIAS), b_o]))


def read_weights(path, scope=None):
  """Reads Note RNN weights from any supported file or directory.

  Args:
    path: see the module docstring.
    scope: TF1 scope prefix to read when a checkpoint holds several Note
      RNNs (e.g. 'q_network' or 'reward_rnn' of an RL Tuner checkpoint).

  Returns:
    ImportedWeights.

  Raises:
    FileNotFoundError: `path` (or a checkpoint inside a directory) is missing.
    CheckpointError: the file is unreadable or holds no usable Note RNN.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  kind, resolved = resolve_path(path)
  try:
    if kind == 'save':
      return read_save_dir(resolved)
    with _open_reader(kind, resolved) as (reader, description):
      return _tf1_weights(reader, resolved, description, scope)
  except (IndexError, tf.errors.OpError) as e:  # A cut data file.
    raise CheckpointError(
        f'cannot read checkpoint {resolved}: {_first_line(e)}') from e


def resolve_path(path):
  """Classifies `path`: returns (kind, path), kind in save/tf/bundle/file."""
  path = os.fspath(path)
  if os.path.isdir(path):
    return _resolve_dir(path)
  if os.path.isfile(path):
    if os.path.basename(path) == SAVE_CONFIG_NAME:
      return 'save', os.path.dirname(path)
    if path.endswith('.mag'):
      return 'bundle', path
    if path.endswith('.index'):
      return 'tf', path[:-len('.index')]
    data_match = re.search(r'\.data-\d+-of-\d+$', path)
    if data_match:
      return 'tf', path[:data_match.start()]
    return 'file', path
  if os.path.isfile(path + '.index'):
    return 'tf', path
  raise FileNotFoundError(f'Note RNN checkpoint not found: {path}')


# Where a bin/note_rnn_train.py run folder keeps its models (see
# note_rnn/training_checkpoints.py, whose test checks these names).
RUN_BEST_MODEL = 'best'
RUN_LATEST_MODEL = os.path.join('checkpoint', 'model')


def _resolve_dir(path):
  """Finds the checkpoint inside a directory."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if os.path.isfile(os.path.join(path, SAVE_CONFIG_NAME)):
    return 'save', path
  # A bin/note_rnn_train.py run folder: its best model, else its latest.
  for inner, what in ((RUN_BEST_MODEL, 'best model (lowest eval loss)'),
                      (RUN_LATEST_MODEL, 'latest checkpoint')):
    candidate = os.path.join(path, inner)
    if os.path.isfile(os.path.join(candidate, SAVE_CONFIG_NAME)):
      logging.info('%s is a Note RNN training run; loading its %s: %s',
                   path, what, candidate)
      return 'save', candidate
  latest = tf.train.latest_checkpoint(path)
  if latest:
    return 'tf', latest
  entries = sorted(os.listdir(path))
  candidates = []
  for entry in entries:
    full = os.path.join(path, entry)
    if os.path.isdir(full):
      if os.path.isfile(os.path.join(full, SAVE_CONFIG_NAME)):
        candidates.append(full)
    elif (entry.endswith(('.mag', '.index')) or
          re.search(r'\.ckpt(-\d+)?$', entry)):
      candidates.append(full)
  if len(candidates) == 1:
    return resolve_path(candidates[0])
  if not candidates:
    raise FileNotFoundError(
        f'no Note RNN checkpoint found in directory {path} (it holds: '
        f'{_listing(entries)})')
  raise CheckpointError(
      f'directory {path} holds several checkpoints; pass one of: '
      f'{_listing(candidates)}')


@contextlib.contextmanager
def _open_reader(kind, path):
  """Yields (tf checkpoint reader, format description) for a TF1 source."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if kind == 'bundle':
    with _bundle_reader(path, _read_bundle(path)) as opened:
      yield opened
    return
  try:
    reader, error = tf.train.load_checkpoint(path), None
  except (tf.errors.OpError, ValueError) as e:
    reader, error = None, e
  if reader is None:
    bundle = _try_read_bundle(path) if kind == 'file' else None
    if bundle is None:
      raise CheckpointError(
          f'cannot read checkpoint {path}: {_first_line(error)}') from error
    with _bundle_reader(path, bundle) as opened:
      yield opened
    return
  version = 'V2' if os.path.isfile(path + '.index') else 'V1'
  yield reader, f'TF {version} checkpoint'


def _read_bundle(path):
  bundle = _try_read_bundle(path)
  if bundle is None:
    raise CheckpointError(
        f'cannot read Magenta generator bundle {path}: not a GeneratorBundle '
        'with a checkpoint')
  return bundle


def _try_read_bundle(path):
  """Parses a GeneratorBundle; None if the file is not one with weights."""
  # pylint: disable-next=g-import-not-at-top
  from note_seq.protobuf import generator_pb2
  bundle = generator_pb2.GeneratorBundle()
  try:
    with open(path, 'rb') as f:
      bundle.ParseFromString(f.read())
  except Exception:  # protobuf raises DecodeError and others.
    return None
  return bundle if bundle.checkpoint_file else None


@contextlib.contextmanager
def _bundle_reader(path, bundle):
  """Writes the bundle's embedded V1 checkpoint to a temp file and opens it."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if len(bundle.checkpoint_file) != 1:
    raise CheckpointError(
        f'generator bundle {path} holds {len(bundle.checkpoint_file)} '
        'checkpoint files; only single-file (V1) bundles are supported')
  with tempfile.TemporaryDirectory(prefix='note_rnn_bundle-') as tmp:
    ckpt = os.path.join(tmp, 'model.ckpt')
    with open(ckpt, 'wb') as f:
      f.write(bundle.checkpoint_file[0])
    try:
      reader = tf.train.load_checkpoint(ckpt)
    except (tf.errors.OpError, ValueError) as e:
      raise CheckpointError(
          f'cannot read the checkpoint inside generator bundle {path}: '
          f'{_first_line(e)}') from e
    generator = bundle.generator_details.id or 'unknown generator'
    yield reader, f'Magenta generator bundle {generator!r} (TF V1 checkpoint)'


def _is_bookkeeping(name):
  return (_SLOT_RE.search(name) is not None or
          name.rsplit('/', 1)[-1] in _BOOKKEEPING_NAMES)


def _tf1_weights(reader, path, description, scope):
  """Finds, checks and converts the TF1 Note RNN variables of a reader."""
  shapes = {name: tuple(shape) for name, shape
            in reader.get_variable_to_shape_map().items()}
  names = sorted(n for n in shapes if not _is_bookkeeping(n))
  groups = {}  # scope prefix -> {'cells': {index: {role: name}}, 'dense'...}
  for name in names:
    match = _TF1_CELL_RE.match(name) or _TF1_DENSE_RE.match(name)
    if match is None:
      continue
    group = groups.setdefault(match.group('scope'),
                              {'cells': {}, 'dense': {}, 'paper': False})
    role = match.group('role')
    if 'index' in match.groupdict():
      kind = 'kernel' if role in _TF1_KERNEL_NAMES else 'bias'
      group['cells'].setdefault(int(match.group('index')), {})[kind] = name
      group['paper'] |= role in ('W_0', 'B')
    else:
      group['dense']['kernel' if role == 'weights' else 'bias'] = name
  groups = {s: g for s, g in groups.items() if g['cells']}
  if not groups:
    raise CheckpointError(
        f'no Note RNN variables (LSTM cells under rnn/multi_rnn_cell or '
        f'RNN/MultiRNNCell) found in {path}; it holds: '
        f'{_listing(sorted(shapes))}')
  prefix = _choose_scope(groups, scope, path)
  group = groups[prefix]
  unknown = [n for n in names
             if _TF1_RNN_SCOPE_RE.match(n) and
             _TF1_RNN_SCOPE_RE.match(n).group('scope') == prefix and
             not _TF1_CELL_RE.match(n)]
  if unknown:
    raise CheckpointError(
        f'checkpoint {path} has RNN variables this Note RNN cannot use '
        f'(attention, peepholes, projections or residual wrappers?): '
        f'{_listing(unknown)}')

  source_variables, arrays, layer_sizes = [], [], []
  in_size = encoding.NUM_CLASSES
  indices = sorted(group['cells'])
  if indices != list(range(len(indices))):
    raise CheckpointError(
        f'checkpoint {path} has LSTM layers {indices}; expected 0..'
        f'{len(indices) - 1} without gaps')
  for index in indices:
    cell = group['cells'][index]
    for kind in ('kernel', 'bias'):
      if kind not in cell:
        present = ', '.join(sorted(cell.values()))
        raise CheckpointError(
            f'checkpoint {path}: LSTM layer {index} has no {kind} variable '
            f'(found only {present})')
    kernel_name, bias_name = cell['kernel'], cell['bias']
    kernel_shape, bias_shape = shapes[kernel_name], shapes[bias_name]
    if len(bias_shape) != 1 or bias_shape[0] % 4 or not bias_shape[0]:
      raise CheckpointError(
          f'checkpoint {path}: {bias_name} has shape {list(bias_shape)}; an '
          'LSTM bias needs [4 * units]')
    units = bias_shape[0] // 4
    _expect_shape(path, kernel_name, kernel_shape, (in_size + units, 4 * units),
                  _input_note(index, in_size, units))
    kernel = reader.get_tensor(kernel_name)
    bias = reader.get_tensor(bias_name)
    arrays += tf1_lstm_to_keras(kernel, bias, in_size)
    source_variables += [(kernel_name, kernel_shape), (bias_name, bias_shape)]
    layer_sizes.append(units)
    in_size = units

  for kind in ('kernel', 'bias'):
    if kind not in group['dense']:
      raise CheckpointError(
          f'checkpoint {path} has no output layer {prefix}fully_connected/'
          f'{"weights" if kind == "kernel" else "biases or bias"}')
  dense_kernel, dense_bias = group['dense']['kernel'], group['dense']['bias']
  _expect_shape(path, dense_kernel, shapes[dense_kernel],
                (in_size, encoding.NUM_CLASSES),
                f'(last LSTM layer has {in_size} units, '
                f'{encoding.NUM_CLASSES} classes)')
  _expect_shape(path, dense_bias, shapes[dense_bias],
                (encoding.NUM_CLASSES,), f'({encoding.NUM_CLASSES} classes)')
  arrays += [reader.get_tensor(dense_kernel).astype(np.float32),
             reader.get_tensor(dense_bias).astype(np.float32)]
  source_variables += [(dense_kernel, shapes[dense_kernel]),
                       (dense_bias, shapes[dense_bias])]
  naming = 'paper names' if group['paper'] else 'tf.nn.rnn_cell names'
  return ImportedWeights(
      path=path, format=f'{description}, {naming}',
      layer_sizes=tuple(layer_sizes), arrays=arrays,
      source_variables=source_variables, source_shapes_for=tf1_variable_shapes)


def _choose_scope(groups, scope, path):
  """Picks the scope prefix to read among those holding LSTM cells."""
  if scope is not None:
    wanted = scope.strip('/') + '/' if scope.strip('/') else ''
    if wanted not in groups:
      raise CheckpointError(
          f'checkpoint {path} has no Note RNN under scope {scope!r}; scopes '
          f'found: {_listing(_scope_names(groups))}')
    return wanted
  if len(groups) > 1:
    raise CheckpointError(
        f'checkpoint {path} holds several Note RNNs; pass scope= one of: '
        f'{_listing(_scope_names(groups))}')
  return next(iter(groups))


def _scope_names(groups):
  return [repr(s.rstrip('/')) for s in sorted(groups)]


def _input_note(index, in_size, units):
  source = ('the 38-class one-hot input' if index == 0
            else f'layer {index - 1} output of {in_size} units')
  return f'(rows = {in_size} from {source} + {units} recurrent)'


def _expect_shape(path, name, actual, expected, note=''):
  if tuple(actual) != tuple(expected):
    raise CheckpointError(
        f'checkpoint {path}: {name} has shape {list(actual)} but the Note RNN '
        f'needs {list(expected)} {note}'.rstrip())


def read_save_dir(path):
  """Reads a directory written by `NoteRNN.save`."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  config_path = os.path.join(path, SAVE_CONFIG_NAME)
  try:
    with open(config_path, encoding='utf-8') as f:
      config = json.load(f)
  except (OSError, ValueError) as e:
    raise CheckpointError(f'cannot read {config_path}: {e}') from e
  version = config.get('format_version')
  if config.get('format') != SAVE_FORMAT_NAME or not isinstance(version, int):
    raise CheckpointError(f'{config_path} is not a Note RNN save config')
  if version > SAVE_FORMAT_VERSION:
    raise CheckpointError(
        f'{config_path} has format version {version}; this code reads up to '
        f'{SAVE_FORMAT_VERSION}')
  layer_sizes = tuple(config.get('layer_sizes') or ())
  prefix = os.path.join(path, config.get('weights', SAVE_WEIGHTS_PREFIX))
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointError(
        f'cannot read the weights of {path}: {_first_line(e)}') from e
  available = reader.get_variable_to_shape_map()
  arrays, source_variables = [], []
  for name, shape in keras_variable_specs(layer_sizes):
    key = save_key(name) + _TF2_VALUE_SUFFIX
    if key not in available:
      raise CheckpointError(
          f'Note RNN save {path} lacks variable {name}; it holds: '
          f'{_listing(sorted(available))}')
    _expect_shape(path, name, available[key], shape,
                  f'(layer_sizes {list(layer_sizes)} in {SAVE_CONFIG_NAME})')
    arrays.append(reader.get_tensor(key))
    source_variables.append((name, tuple(available[key])))
  return ImportedWeights(
      path=path, format=f'Note RNN save v{version}',
      layer_sizes=layer_sizes, arrays=arrays,
      source_variables=source_variables,
      source_shapes_for=lambda sizes: [s for _, s in
                                       keras_variable_specs(sizes)],
      hparams=config.get('hparams'), metadata=config.get('metadata'))


def save_key(name):
  """Checkpoint attribute of a variable: 'lstm_0/kernel' -> 'lstm_0__kernel'."""
  return name.replace('/', '__')


def check_layer_sizes(imported, layer_sizes):
  """Raises CheckpointError if `imported` does not fit `layer_sizes`.

  The message names the first variable that differs and both shapes.
  """
  layer_sizes = tuple(layer_sizes)
  if layer_sizes == tuple(imported.layer_sizes):
    return
  if len(layer_sizes) != len(imported.layer_sizes):
    listed = ', '.join(f'{name} {list(shape)}'
                       for name, shape in imported.source_variables)
    raise CheckpointError(
        f'checkpoint {imported.path} has {len(imported.layer_sizes)} LSTM '
        f'layer(s) {list(imported.layer_sizes)} but hparams rnn_layer_sizes='
        f'{list(layer_sizes)} have {len(layer_sizes)} (variables: {listed})')
  expected = imported.source_shapes_for(layer_sizes)
  for (name, actual), wanted in zip(imported.source_variables, expected):
    if tuple(actual) != tuple(wanted):
      raise CheckpointError(
          f'checkpoint {imported.path}: {name} has shape {list(actual)} but '
          f'hparams rnn_layer_sizes={list(layer_sizes)} need {list(wanted)}')
  raise AssertionError('layer sizes differ but no shape does')


def _listing(items):
  items = [str(i) for i in items]
  if not items:
    return '(nothing)'
  shown = ', '.join(items[:_MAX_LISTED])
  more = len(items) - _MAX_LISTED
  return shown + (f' ... and {more} more' if more > 0 else '')


def _first_line(error):
  message = getattr(error, 'message', None) or str(error)
  return message.strip().splitlines()[0] if message.strip() else repr(error)
