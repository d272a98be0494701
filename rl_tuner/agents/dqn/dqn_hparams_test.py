"""Tests of the DQN hyperparameters and their presets."""

import dataclasses

import pytest

from rl_tuner.agents.dqn import dqn_hparams


def test_class_defaults_are_the_original_class_defaults():
  hp = dqn_hparams.default_dqn_hparams()
  assert hp == dqn_hparams.DQNHParams()
  assert hp.discount_rate == 0.95
  assert hp.random_action_probability == 0.1
  assert hp.store_every_nth == 1
  assert hp.train_every_nth == 5
  assert hp.minibatch_size == 32
  assert hp.max_experience == 100000
  assert hp.target_network_update_rate == 0.01
  assert hp.learning_rate == 0.001
  assert hp.clip_norm == 5.0


@pytest.mark.parametrize('preset', ['paper', 'magenta_cli'])
def test_paper_and_cli_presets_discount_by_one_half(preset):
  hp = dqn_hparams.PRESETS[preset]()
  assert hp.discount_rate == 0.5
  # Everything else is the class defaults.
  assert hp.replace(discount_rate=0.95) == dqn_hparams.DQNHParams()


def test_presets_are_the_three_sets():
  assert sorted(dqn_hparams.PRESETS) == ['class_defaults', 'magenta_cli',
                                         'paper']
  assert dqn_hparams.PRESETS['class_defaults']().discount_rate == 0.95


@pytest.mark.parametrize('changes,match', [
    ({'minibatch_size': 0}, 'minibatch_size must be >= 1'),
    ({'train_every_nth': -1}, 'train_every_nth must be >= 1'),
    ({'store_every_nth': 0}, 'store_every_nth'),
    ({'max_experience': 0}, 'max_experience'),
    ({'discount_rate': 1.5}, r'discount_rate must lie in \[0, 1\]'),
    ({'random_action_probability': -0.1}, 'random_action_probability'),
    ({'target_network_update_rate': 2.0}, 'target_network_update_rate'),
    ({'learning_rate': 0.0}, 'learning_rate'),
    ({'clip_norm': -1.0}, 'clip_norm'),
    ({'minibatch_size': 64, 'max_experience': 32},
     r'minibatch_size \(64\) exceeds max_experience \(32\)'),
])
def test_invalid_values_are_rejected(changes, match):
  with pytest.raises(ValueError, match=match):
    dqn_hparams.DQNHParams(**changes)
  with pytest.raises(ValueError, match=match):
    dqn_hparams.DQNHParams().replace(**changes)


def test_replace_unknown_name_lists_valid_names():
  with pytest.raises(ValueError) as error:
    dqn_hparams.DQNHParams().replace(gamma=0.9, discount_rate=0.9)
  message = str(error.value)
  assert "['gamma']" in message
  for field in dataclasses.fields(dqn_hparams.DQNHParams):
    assert field.name in message


def test_replace_returns_a_new_object_and_hparams_are_frozen():
  hp = dqn_hparams.DQNHParams()
  changed = hp.replace(minibatch_size=8, max_experience=64)
  assert (changed.minibatch_size, changed.max_experience) == (8, 64)
  assert hp.minibatch_size == 32
  with pytest.raises(dataclasses.FrozenInstanceError):
    hp.discount_rate = 0.5


def test_dict_round_trip():
  hp = dqn_hparams.paper_dqn_hparams().replace(minibatch_size=16)
  values = hp.to_dict()
  assert values['minibatch_size'] == 16 and values['discount_rate'] == 0.5
  assert dqn_hparams.DQNHParams.from_dict(values) == hp
  with pytest.raises(ValueError, match='unknown DQN hparam'):
    dqn_hparams.DQNHParams.from_dict({'batch': 3})


def test_the_original_hparams_idioms():
  hp = dqn_hparams.DQNHParams()
  assert hp.values()['discount_rate'] == 0.95
  parsed = hp.parse('discount_rate=0.5, minibatch_size=16')
  assert (parsed.discount_rate, parsed.minibatch_size) == (0.5, 16)
  assert isinstance(parsed.minibatch_size, int)
  assert hp.discount_rate == 0.95  # A new object; the old one is unchanged.
  with pytest.raises(ValueError, match="unknown DQN hparam 'gamma'"):
    hp.parse('gamma=0.5')
  with pytest.raises(ValueError, match='is not int'):
    hp.parse('minibatch_size=0.5')
  with pytest.raises(AttributeError, match=r'hparams.replace\(discount_rate'):
    hp.set_hparam('discount_rate', 0.5)
