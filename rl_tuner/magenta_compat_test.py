"""The port answers Magenta's RL Tuner names (BUILD.md, "API compatibility").

* The API table: every public name of the original's `RLTuner`,
  `NoteRNNLoader`, `rl_tuner_ops` and `rl_tuner_eval_metrics` (listed below,
  read from magenta/magenta at commit 526d3eb1) is in BUILD.md's table, and
  the code agrees with its status: supported and changed names exist, not
  applicable ones raise NotApplicableError.
* Checkpoint pointers where the original put its checkpoints.
* `dqn_hparams` as a dict, an HParams or any object with the field names.
* The original command line's flags and defaults against TrainSettings.
"""

import dataclasses
import hashlib
import inspect
import json
import os
import re
import types

import numpy as np
import pytest

from note_rnn.model import hparams as note_rnn_hparams_lib
from rl_tuner import note_rnn_loader
from rl_tuner import rl_tuner as rl_tuner_lib
from rl_tuner import rl_tuner_eval_metrics
from rl_tuner import rl_tuner_ops
from rl_tuner.agents.dqn import dqn_hparams as dqn_hparams_lib
from rl_tuner.run import checkpointer
from rl_tuner.run import settings as settings_lib

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,))

# --- The original's public names ------------------------------------------

ORIGINAL_RL_TUNER_MODULE = ('RLTuner', 'reload_files', 'NOTE_OFF', 'NO_EVENT',
                            'TRAIN_SEQUENCE_LENGTH')
# RLTuner.__init__ arguments, in order, with their defaults.
ORIGINAL_RL_TUNER_ARGUMENTS = (
    ('output_dir', inspect.Parameter.empty), ('dqn_hparams', None),
    ('reward_mode', 'music_theory_all'), ('reward_scaler', 1.0),
    ('exploration_mode', 'egreedy'), ('priming_mode', 'random_note'),
    ('stochastic_observations', False), ('algorithm', 'q'),
    ('note_rnn_checkpoint_dir', None), ('note_rnn_checkpoint_file', None),
    ('note_rnn_type', 'default'), ('note_rnn_hparams', None),
    ('num_notes_in_melody', 32), ('input_size', 38), ('num_actions', 38),
    ('midi_primer', None), ('save_name', 'rl_tuner.ckpt'),
    ('output_every_nth', 1000), ('training_file_list', None),
    ('summary_writer', None), ('initialize_immediately', True))
ORIGINAL_RL_TUNER_METHODS = (
    'initialize_internal_models_graph_session', 'get_priming_melodies',
    'prime_internal_model', 'get_random_note', 'reset_composition',
    'build_graph', 'train', 'action', 'store', 'training_step',
    'evaluate_model', 'collect_reward', 'reward_from_reward_rnn_scores',
    'get_reward_rnn_scores', 'reward_music_theory',
    'random_reward_shift_to_mean', 'reward_scale',
    'reward_key_distribute_prob', 'reward_key', 'reward_tonic',
    'reward_non_repeating', 'detect_repeating_notes',
    'reward_penalize_repeating', 'reward_penalize_autocorrelation',
    'detect_last_motif', 'reward_motif', 'detect_repeated_motif',
    'reward_repeated_motif', 'detect_sequential_interval',
    'reward_preferred_intervals', 'detect_high_unique', 'detect_low_unique',
    'reward_high_low_unique', 'detect_leap_up_back', 'reward_leap_up_back',
    'reward_interval_diversity', 'generate_music_sequence',
    'evaluate_music_theory_metrics', 'save_model', 'save_stored_rewards',
    'save_model_and_figs', 'plot_rewards', 'plot_evaluation',
    'plot_target_vals', 'prime_internal_models', 'restore_from_directory')
ORIGINAL_RL_TUNER_ATTRIBUTES = (
    'action_mask', 'action_scores', 'action_softmax',
    'actions_executed_so_far', 'algorithm', 'beat', 'composition',
    'composition_direction', 'discount_rate', 'dqn_hparams',
    'eval_avg_music_theory_reward', 'eval_avg_note_rnn_reward',
    'eval_avg_reward', 'experience', 'exploration_mode', 'future_rewards',
    'g_action_scores', 'g_normalizer', 'gradients', 'graph', 'input_size',
    'iteration', 'leapt_from', 'masked_action_scores', 'midi_primer',
    'music_theory_reward_last_n', 'music_theory_rewards_batched',
    'next_action_scores', 'no_op1', 'note_rnn_checkpoint_dir',
    'note_rnn_checkpoint_file', 'note_rnn_hparams', 'note_rnn_reward_last_n',
    'note_rnn_rewards_batched', 'note_rnn_type', 'num_actions',
    'num_notes_in_melody', 'num_times_store_called',
    'num_times_train_called', 'optimizer', 'output_dir', 'output_every_nth',
    'params', 'predicted_actions', 'prediction_error', 'priming_mode',
    'priming_notes', 'priming_states', 'q_network', 'reward_last_n',
    'reward_mode', 'reward_rnn', 'reward_scaler', 'reward_scores', 'rewards',
    'rewards_batched', 'save_path', 'saver', 'session',
    'steps_since_last_leap', 'stochastic_observations', 'summarize',
    'summary_writer', 'target_network_update', 'target_network_update_rate',
    'target_q_network', 'target_val_list', 'target_vals', 'train_op',
    'training_file_list')
ORIGINAL_LOADER = (
    'NoteRNNLoader', 'get_zero_state', 'restore_initialize_prime',
    'initialize_and_restore', 'initialize_new', 'get_variable_name_dict',
    'build_graph', 'restore_vars_from_checkpoint', 'load_primer',
    'prime_model', 'get_note_from_softmax', '__call__', 'run_training_batch',
    'get_next_note_from_note', 'variables', 'graph', 'session', 'scope',
    'batch_size', 'midi_primer', 'checkpoint_scope', 'note_rnn_type',
    'training_file_list', 'checkpoint_dir', 'checkpoint_file', 'hparams',
    'state_value', 'variable_names', 'transpose_amount', 'cell',
    'melody_sequence', 'lengths', 'initial_state', 'train_sequence',
    'train_labels', 'train_lengths', 'logits', 'state_tensor', 'softmax',
    'run_network_on_melody', 'train_logits', 'train_state', 'train_softmax',
    'primer_sequence', 'primer', 'steps_per_bar', 'priming_note')
ORIGINAL_OPS = (
    'LSTM_STATE_NAME', 'NUM_CLASSES', 'BATCH_SIZE', 'INITIAL_MIDI_VALUE',
    'NUM_SPECIAL_EVENTS', 'MIN_NOTE', 'MAX_NOTE', 'TRANSPOSE_TO_KEY',
    'DEFAULT_QPM', 'C_MAJOR_SCALE', 'C_MAJOR_KEY', 'C_MAJOR_TONIC',
    'A_MINOR_TONIC', 'OCTAVE', 'FIFTH', 'THIRD', 'SIXTH', 'SECOND', 'FOURTH',
    'SEVENTH', 'HALFSTEP', 'REST_INTERVAL', 'HOLD_INTERVAL',
    'REST_INTERVAL_AFTER_THIRD_OR_FIFTH',
    'HOLD_INTERVAL_AFTER_THIRD_OR_FIFTH', 'IN_KEY_THIRD', 'IN_KEY_FIFTH',
    'ASCENDING', 'DESCENDING', 'LEAP_RESOLVED', 'LEAP_DOUBLED',
    'default_hparams', 'basic_rnn_hparams', 'default_dqn_hparams',
    'autocorrelate', 'linear_annealing', 'softmax', 'sample_softmax',
    'decoder', 'make_onehot', 'get_inner_scope', 'trim_variable_postfixes',
    'get_variable_names', 'get_next_file_name', 'make_rnn_cell',
    'log_sum_exp')
ORIGINAL_EVAL_METRICS = (
    'compute_composition_stats', 'get_stat_dict_string',
    'compose_and_evaluate_piece', 'initialize_stat_dict', 'add_interval_stat',
    'add_in_key_stat', 'add_tonic_start_stat', 'add_repeating_note_stat',
    'add_motif_stat', 'add_repeated_motif_stat', 'add_leap_stats',
    'add_high_low_unique_stats')
# Names that are methods: "not applicable" means calling them raises.
_RAISE_WHEN_CALLED = {'build_graph', '__call__', 'get_variable_names',
                      'make_rnn_cell'}
STATUSES = ('supported', 'changed', 'not applicable')


def _api_tables():
  """{BUILD.md "API compatibility" ###/#### heading: {name: status}}."""
  with open(os.path.join(_REPO, 'BUILD.md'), encoding='utf-8') as f:
    text = f.read()
  section = text.split('\n## API compatibility\n', 1)[1].split('\n## ', 1)[0]
  tables = {}
  heading = None
  for line in section.splitlines():
    if line.startswith(('### ', '#### ')):
      heading = line.split(' ', 1)[1].strip()
      tables[heading] = {}
    cells = [c.strip() for c in line.strip().strip('|').split('|')]
    if line.startswith('| `') and len(cells) >= 3:
      for name in re.findall(r'`([^`]+)`', cells[0]):
        assert name not in tables[heading], f'{name} twice in {heading}'
        tables[heading][name] = cells[1]
  return tables


@pytest.fixture(scope='module')
def tuner(tmp_path_factory):
  rlt = rl_tuner_lib.RLTuner(
      str(tmp_path_factory.mktemp('api')), note_rnn_hparams=TINY, seed=0,
      initialize_immediately=False)
  rlt.initialize_internal_models_graph_session(restore_from_checkpoint=False)
  return rlt


def _check_status(obj, name, status):
  """Asserts that `obj.name` behaves as `status` says."""
  assert status in STATUSES, (name, status)
  if status == 'not applicable':
    with pytest.raises(rl_tuner_ops.NotApplicableError) as caught:
      value = getattr(obj, name)
      if name in _RAISE_WHEN_CALLED:
        value()
    # The message says what to use instead.
    assert len(str(caught.value)) > 40, caught.value
  else:
    getattr(obj, name)  # Exists (raises nothing).


def test_every_original_name_is_in_the_table_with_a_true_status(tuner):
  tables = _api_tables()
  module_table = tables['`rl_tuner.py`']
  argument_table = tables['`RLTuner` constructor arguments']
  method_table = tables['`RLTuner` methods']
  attribute_table = tables['`RLTuner` attributes']
  loader_table = tables['`note_rnn_loader.py` (`NoteRNNLoader`)']
  groups = [
      (module_table, ORIGINAL_RL_TUNER_MODULE, rl_tuner_lib),
      (method_table, ORIGINAL_RL_TUNER_METHODS, tuner),
      (attribute_table, ORIGINAL_RL_TUNER_ATTRIBUTES, tuner),
      (loader_table, ORIGINAL_LOADER, tuner.q_network),
      (tables['`rl_tuner_ops.py`'], ORIGINAL_OPS, rl_tuner_ops),
      (tables['`rl_tuner_eval_metrics.py`'], ORIGINAL_EVAL_METRICS,
       rl_tuner_eval_metrics),
  ]
  for table, names, obj in groups:
    for name in names:
      assert name in table, f'{name} is missing from BUILD.md'
      target = note_rnn_loader if name == 'NoteRNNLoader' else obj
      _check_status(target, name, table[name])
  assert set(argument_table) == {n for n, _ in ORIGINAL_RL_TUNER_ARGUMENTS}
  assert set(argument_table.values()) <= set(STATUSES)
  # Exactly the original's names, no row for one it did not have.
  for table, names, _ in groups:
    assert set(table) == set(names), set(table) ^ set(names)


def test_the_constructors_take_the_original_arguments():
  parameters = list(inspect.signature(
      rl_tuner_lib.RLTuner.__init__).parameters.values())[1:]
  assert [(p.name, p.default) for p in parameters[:21]] == list(
      ORIGINAL_RL_TUNER_ARGUMENTS)
  loader = list(inspect.signature(
      note_rnn_loader.NoteRNNLoader.__init__).parameters.values())[1:10]
  assert [(p.name, p.default) for p in loader[3:]] == [
      ('checkpoint_file', None), ('midi_primer', None),
      ('training_file_list', None), ('hparams', None),
      ('note_rnn_type', 'default'), ('checkpoint_scope', 'rnn_model')]
  assert [p.name for p in loader[:3]] == ['graph', 'scope', 'checkpoint_dir']


def test_graph_era_attributes_of_the_tuner(tuner):
  assert tuner.discount_rate == tuner.dqn_hparams.discount_rate == 0.95
  assert tuner.target_network_update_rate == 0.01
  assert tuner.optimizer is tuner.learner.optimizer
  with pytest.raises(NotImplementedError, match='train_steps_numpy'):
    tuner.train_op  # pylint: disable=pointless-statement
  assert not hasattr(tuner, 'session')
  assert rl_tuner_lib.NOTE_OFF == 0 and rl_tuner_lib.NO_EVENT == 1
  assert tuner.reward_interval_diversity() is None


def test_random_reward_shift_to_mean(tuner):
  tuner.rng = np.random.default_rng(4)
  above = {round(tuner.random_reward_shift_to_mean(0.7), 9)
           for _ in range(50)}
  below = {round(tuner.random_reward_shift_to_mean(0.2), 9)
           for _ in range(50)}
  assert above == {0.7, 0.6} and below == {0.2, 0.3}


def test_ops_helpers_by_hand():
  ops = rl_tuner_ops
  assert (ops.BATCH_SIZE, ops.INITIAL_MIDI_VALUE, ops.TRANSPOSE_TO_KEY,
          ops.DEFAULT_QPM, ops.LSTM_STATE_NAME) == (128, 48, 0, 80.0, 'lstm')
  assert ops.get_inner_scope('q_network/rnn/kernel:0') == 'rnn/kernel:0'
  assert ops.trim_variable_postfixes('q_network/rnn/kernel:0') == (
      'q_network/rnn/kernel')
  # log(1 + 3) = log 4; log(e^1000 + e^1000) = 1000 + log 2, no overflow.
  np.testing.assert_allclose(ops.log_sum_exp([[0.0, np.log(3.0)],
                                              [1000.0, 1000.0]]),
                             [np.log(4.0), 1000.0 + np.log(2.0)])
  assert ops.sample_softmax([0.0, 0.0, 1.0, 0.0]) == 2
  draws = [ops.sample_softmax([0.25, 0.75], np.random.default_rng(5))
           for _ in range(1)]
  assert draws[0] in (0, 1)
  rng = np.random.default_rng(6)
  counts = np.bincount([ops.sample_softmax([0.25, 0.75], rng)
                        for _ in range(4000)], minlength=2)
  assert abs(counts[1] / 4000 - 0.75) < 0.03
  with pytest.raises(NotImplementedError, match='variable_names'):
    ops.get_variable_names(None, 'q_network')
  with pytest.raises(NotImplementedError, match='NoteRNN'):
    ops.make_rnn_cell([100])


def test_eval_metrics_helpers_name_the_replacement():
  with pytest.raises(NotImplementedError,
                     match='compute_composition_stats_for_compositions'):
    rl_tuner_eval_metrics.add_leap_stats  # pylint: disable=pointless-statement
  with pytest.raises(AttributeError, match='no attribute'):
    rl_tuner_eval_metrics.not_a_name  # pylint: disable=pointless-statement


# SHA-256 of the test methods of magenta/models/rl_tuner/rl_tuner_test.py
# (from `  def testInitializationAndPriming` up to `if __name__`), commit
# 526d3eb1.
ORIGINAL_TEST_BODIES_SHA256 = (
    '0fe0dcde1d8e5d4523cb07f1dd400312e1581fd4649544f71536f40413ca57d0')


def test_the_ported_magenta_tests_keep_their_bodies():
  with open(os.path.join(_REPO, 'rl_tuner', 'magenta_rl_tuner_test.py'),
            encoding='utf-8') as f:
    text = f.read()
  bodies = text[text.index('  def testInitializationAndPriming'):
                text.index("if __name__ == '__main__':")]
  assert hashlib.sha256(bodies.encode()).hexdigest() == (
      ORIGINAL_TEST_BODIES_SHA256)


# --- dqn_hparams -----------------------------------------------------------

SEVEN = dict(random_action_probability=0.1, store_every_nth=1,
             train_every_nth=5, minibatch_size=32, discount_rate=0.5,
             max_experience=100000, target_network_update_rate=0.01)


class _HParams:
  """Stands in for tf_lib.HParams: attributes plus values()."""

  def __init__(self, **values):
    self.__dict__.update(values)

  def values(self):
    return dict(self.__dict__)


@pytest.mark.parametrize('given', [
    SEVEN, types.SimpleNamespace(**SEVEN), _HParams(**SEVEN),
    dqn_hparams_lib.DQNHParams(**SEVEN)])
def test_dqn_hparams_from_what_magenta_code_passes(given):
  assert dqn_hparams_lib.coerce(given) == dqn_hparams_lib.DQNHParams(
      **SEVEN, learning_rate=0.001, clip_norm=5.0)


def test_dqn_hparams_missing_fields_take_the_class_defaults(tmp_path):
  partial = types.SimpleNamespace(minibatch_size=16, unrelated_flag='x')
  rlt = rl_tuner_lib.RLTuner(str(tmp_path), dqn_hparams=partial,
                             initialize_immediately=False)
  assert rlt.dqn_hparams == dqn_hparams_lib.default_dqn_hparams().replace(
      minibatch_size=16)
  assert rlt.dqn_hparams.discount_rate == 0.95
  # None: the original class's defaults too (not the command line's 0.5).
  default = rl_tuner_lib.RLTuner(str(tmp_path), initialize_immediately=False)
  assert default.dqn_hparams == dqn_hparams_lib.default_dqn_hparams()


def test_bad_dqn_hparams_are_refused():
  with pytest.raises(ValueError, match='unknown DQN hparam'):
    dqn_hparams_lib.coerce(_HParams(**SEVEN, gamma=0.9))
  with pytest.raises(ValueError, match=r'discount_rate must lie in \[0, 1\]'):
    dqn_hparams_lib.coerce(types.SimpleNamespace(discount_rate=2.0))
  with pytest.raises(TypeError, match='dqn_hparams must be'):
    dqn_hparams_lib.coerce('discount_rate=0.5')


# --- Checkpoints where the original put them ---------------------------------


def _tiny(output_dir, **kwargs):
  rlt = rl_tuner_lib.RLTuner(
      str(output_dir), note_rnn_hparams=TINY, seed=0, output_every_nth=30,
      num_eval_compositions=2, initialize_immediately=False,
      dqn_hparams=dict(minibatch_size=4, max_experience=500), **kwargs)
  rlt.initialize_internal_models_graph_session(restore_from_checkpoint=False)
  return rlt


def _pointers(directory):
  return sorted(n for n in os.listdir(directory) if n.endswith('.pointer'))


def test_pointers_name_the_kept_checkpoints(tmp_path):
  rlt = _tiny(tmp_path)
  rlt.train(num_steps=31, exploration_period=3)
  # The original's testTraining looks for rl_tuner.ckpt-30 next to
  # save_path: the block ending at 30, checkpointed where train returned.
  assert _pointers(tmp_path) == ['rl_tuner.ckpt-30.pointer']
  with open(tmp_path / 'rl_tuner.ckpt-30.pointer') as f:
    assert json.load(f) == {'format': 'rl_tuner checkpoint pointer',
                            'checkpoint': 'checkpoints/q-31',
                            'env_steps': 31, 'original_step': 30}
  # A save with no block ended since: two checkpoints of block 30, the
  # pointer names the newer.
  rlt.train(num_steps=10, exploration_period=3)
  rlt.save_model('q')
  assert _pointers(tmp_path) == ['rl_tuner.ckpt-30.pointer']
  assert checkpointer.read_pointer(
      str(tmp_path / 'rl_tuner.ckpt-30.pointer')) == str(
          tmp_path / 'checkpoints' / 'q-41')
  # Melodies start afresh at 41; blocks end at 60, 90, 120, 150, each
  # checkpointed where the melodies in progress end (73, 105, 137, 169);
  # the newest 3 and exactly their pointers are kept.
  rlt.train(num_steps=130, exploration_period=3)
  assert sorted(os.listdir(tmp_path / 'checkpoints')) == [
      'q-105', 'q-137', 'q-169', 'replay']
  assert _pointers(tmp_path) == ['rl_tuner.ckpt-120.pointer',
                                 'rl_tuner.ckpt-150.pointer',
                                 'rl_tuner.ckpt-90.pointer']


def test_restore_reads_both_layouts(tmp_path):
  rlt = _tiny(tmp_path)
  rlt.train(num_steps=100, exploration_period=3)
  # Checkpoints at 32 (block 30), 64 (60), 96 (90); none due at 100.
  assert _pointers(tmp_path) == ['rl_tuner.ckpt-30.pointer',
                                 'rl_tuner.ckpt-60.pointer',
                                 'rl_tuner.ckpt-90.pointer']
  # Newest first: restoring a checkpoint drops the replay segments written
  # after it (replay_store.restore), which the newer ones need.
  for name, directory, steps in (
      (None, None, 96),
      ('q-96', None, 96),
      (None, str(tmp_path / 'rl_tuner.ckpt-60.pointer'), 64),
      ('rl_tuner.ckpt-60', None, 64),
      ('rl_tuner.ckpt-30.pointer', None, 32)):
    restored = _tiny(tmp_path)
    path = restored.restore_from_directory(directory=directory,
                                           checkpoint_name=name)
    assert restored.env_steps == steps, name
    assert os.path.basename(path) == f'q-{steps}'
  with pytest.raises(FileNotFoundError):
    _tiny(tmp_path).restore_from_directory(
        checkpoint_name='rl_tuner.ckpt-45')


def test_pointers_follow_save_name_and_directory(tmp_path):
  rlt = _tiny(tmp_path / 'out', save_name='ckpts/model.ckpt')
  rlt.train(num_steps=40, exploration_period=3)  # Checkpoint at 32.
  assert _pointers(tmp_path / 'out' / 'ckpts') == ['model.ckpt-30.pointer']
  # A directory holding only pointers restores through them.
  restored = _tiny(tmp_path / 'out')
  restored.restore_from_directory(str(tmp_path / 'out' / 'ckpts'))
  assert restored.env_steps == 32
  # save_model(name, directory) elsewhere: checkpoint and pointer there.
  other = tmp_path / 'other'
  rlt.save_model('mine', directory=str(other))
  assert sorted(os.listdir(other / 'checkpoints')) == ['mine-40', 'replay']
  assert _pointers(other / 'ckpts') == ['model.ckpt-30.pointer']
  # The notebook's swapped call, save_model(SAVE_PATH, name): the name is an
  # absolute folder (os.path.join drops `directory`, as in the original).
  rlt.save_model(str(tmp_path / 'nb') + os.sep, 'my_cool_model')
  assert 'q-40' in os.listdir(tmp_path / 'nb' / 'checkpoints')
  assert not os.path.exists('my_cool_model')


def test_stale_and_damaged_pointers(tmp_path):
  rlt = _tiny(tmp_path)
  rlt.train(num_steps=64, exploration_period=3)
  assert _pointers(tmp_path) == ['rl_tuner.ckpt-30.pointer',
                                 'rl_tuner.ckpt-60.pointer']
  # A checkpoint removed by hand: its pointer goes at the next save.
  checkpoints = tmp_path / 'checkpoints'
  for entry in os.listdir(checkpoints / 'q-32'):
    os.remove(checkpoints / 'q-32' / entry)
  os.rmdir(checkpoints / 'q-32')
  with pytest.raises(FileNotFoundError, match='holds no RL Tuner'):
    checkpointer.read_pointer(str(tmp_path / 'rl_tuner.ckpt-30.pointer'))
  rlt.save_model('q')
  assert _pointers(tmp_path) == ['rl_tuner.ckpt-60.pointer']
  (tmp_path / 'rl_tuner.ckpt-60.pointer').write_text('not json')
  with pytest.raises(checkpointer.CheckpointError, match='cannot read'):
    _tiny(tmp_path).restore_from_directory(checkpoint_name='rl_tuner.ckpt-60')


# --- The original command line's flags ---------------------------------------

# rl_tuner_train.py's flags and defaults.
ORIGINAL_FLAGS = {
    'output_dir': '', 'note_rnn_checkpoint_dir': '',
    'note_rnn_checkpoint_name': 'note_rnn.ckpt', 'note_rnn_type': 'default',
    'midi_primer': './testdata/primer.mid', 'training_steps': 1000000,
    'exploration_steps': 500000, 'exploration_mode': 'boltzmann',
    'output_every_nth': 50000, 'num_notes_in_melody': 32,
    'reward_scaler': 0.1, 'training_data_path': '', 'algorithm': 'q'}
# Flags whose default or meaning differs (each has a BUILD.md bullet).
DIFFERENT_FLAGS = ('output_dir', 'note_rnn_checkpoint_dir',
                   'note_rnn_checkpoint_name', 'note_rnn_type', 'midi_primer',
                   'training_data_path', 'algorithm', 'exploration_mode')


def _flag_section():
  with open(os.path.join(_REPO, 'BUILD.md'), encoding='utf-8') as f:
    text = f.read()
  heading = '### Flag differences from the original `rl_tuner_train.py`'
  return text.split(heading, 1)[1].split('\n## ', 1)[0]


def test_the_original_flags_and_defaults():
  defaults = settings_lib.TrainSettings()
  differing = {name for name, default in ORIGINAL_FLAGS.items()
               if getattr(defaults, name) != default}
  assert differing == {'midi_primer'}
  assert defaults.midi_primer == ''
  # The DQN values the original hard-coded are the default preset.
  assert defaults.dqn_preset == 'magenta_cli'
  assert dqn_hparams_lib.PRESETS['magenta_cli']() == dqn_hparams_lib.coerce(
      SEVEN)
  assert defaults.num_stat_compositions == 1000
  section = _flag_section()
  for name in DIFFERENT_FLAGS:
    assert f'`--{name}`' in section, name
  # Every flag the original lacked is named there too.
  for field in dataclasses.fields(settings_lib.TrainSettings):
    if field.name not in ORIGINAL_FLAGS:
      assert f'`--{field.name}`' in section, field.name
