"""Tests of the Note RNN hyperparameters."""

import json

import pytest

from note_rnn.model import hparams as hparams_lib


def test_defaults_are_the_original_default_hparams():
  hp = hparams_lib.default_hparams()
  assert hp.rnn_layer_sizes == (100,)
  assert hp.one_hot_length == 38
  assert hp.batch_size == 128
  assert hp.learning_rate == 0.0002
  assert hp.initial_learning_rate == 0.5
  assert (hp.decay_steps, hp.decay_rate) == (1000, 0.85)
  assert hp.exponentially_decay_learning_rate is True
  assert (hp.clip_norm, hp.l2_reg) == (5.0, 2.5e-5)
  assert hp.skip_first_n_losses == 32
  assert hp.max_sequence_length == 192
  # Not in the original: no dropout, as the paper's Note RNN.
  assert hp.dropout_keep_prob == 1.0
  assert hp.parse('dropout_keep_prob=0.5').dropout_keep_prob == 0.5


def test_basic_rnn_hparams():
  hp = hparams_lib.basic_rnn_hparams()
  assert hp.rnn_layer_sizes == (512, 512)
  assert hp.batch_size == 128


def test_parse_applies_overrides_and_keeps_the_original():
  hp = hparams_lib.default_hparams()
  parsed = hp.parse(
      'rnn_layer_sizes=[64,64], batch_size=32,l2_reg=0,'
      'exponentially_decay_learning_rate=false,learning_rate=1e-3')
  assert parsed.rnn_layer_sizes == (64, 64)
  assert parsed.batch_size == 32
  assert parsed.l2_reg == 0.0
  assert parsed.exponentially_decay_learning_rate is False
  assert parsed.learning_rate == 0.001
  assert parsed.clip_norm == hp.clip_norm
  assert hp.rnn_layer_sizes == (100,) and hp.batch_size == 128
  assert hp.parse('') == hp
  assert hp.parse('rnn_layer_sizes=(7)').rnn_layer_sizes == (7,)


def test_parse_unknown_name_lists_valid_names():
  with pytest.raises(ValueError) as info:
    hparams_lib.default_hparams().parse('batch_sise=3')
  message = str(info.value)
  assert "'batch_sise'" in message
  for name in ('batch_size', 'rnn_layer_sizes', 'skip_first_n_losses'):
    assert name in message


@pytest.mark.parametrize('override, field', [
    ('batch_size=abc', 'batch_size'),
    ('batch_size=1.5', 'batch_size'),
    ('batch_size=0', 'batch_size'),
    ('rnn_layer_sizes=[64,x]', 'rnn_layer_sizes'),
    ('rnn_layer_sizes=[64,-1]', 'rnn_layer_sizes'),
    ('decay_rate=1.5', 'decay_rate'),
    ('exponentially_decay_learning_rate=maybe',
     'exponentially_decay_learning_rate'),
    ('skip_first_n_losses=500', 'skip_first_n_losses'),
    ('dropout_keep_prob=0', 'dropout_keep_prob'),
    ('dropout_keep_prob=1.5', 'dropout_keep_prob'),
])
def test_parse_bad_value_names_the_field(override, field):
  with pytest.raises(ValueError, match=field):
    hparams_lib.default_hparams().parse(override)


def test_parse_rejects_item_without_equals():
  with pytest.raises(ValueError, match='name=value'):
    hparams_lib.default_hparams().parse('batch_size')


def test_validation_and_list_coercion():
  assert hparams_lib.NoteRNNHParams(
      rnn_layer_sizes=[3, 4]).rnn_layer_sizes == (3, 4)
  with pytest.raises(ValueError, match='rnn_layer_sizes'):
    hparams_lib.NoteRNNHParams(rnn_layer_sizes=())
  with pytest.raises(ValueError, match='l2_reg'):
    hparams_lib.NoteRNNHParams(l2_reg=-1.0)
  with pytest.raises(ValueError, match='batch_size'):
    hparams_lib.NoteRNNHParams(batch_size=True)


def test_dict_round_trip_through_json():
  hp = hparams_lib.default_hparams().parse('rnn_layer_sizes=[8,9]')
  restored = hparams_lib.NoteRNNHParams.from_dict(
      json.loads(json.dumps(hp.to_dict())))
  assert restored == hp
  with pytest.raises(ValueError, match='nonsense'):
    hparams_lib.NoteRNNHParams.from_dict({'nonsense': 1})
