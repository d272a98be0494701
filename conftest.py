"""Shared pytest fixtures: where the reference material in ../shared lives.

The reference material (golden outputs of the original code, the paper's
checkpoint) sits beside the repository in CI and on developers' machines, but
not in a user's clone. Tests that need it skip with a reason that says so.
Set RL_TUNER_SHARED_DIR to point elsewhere.
"""

import json
import os
import pathlib

import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

REPO_ROOT = pathlib.Path(__file__).resolve().parent


def _shared_dir():
  env = os.environ.get('RL_TUNER_SHARED_DIR')
  path = pathlib.Path(env) if env else REPO_ROOT.parent / 'shared'
  return path if path.is_dir() else None


def _require(relative):
  shared = _shared_dir()
  if shared is None:
    pytest.skip('reference material ../shared is absent (it is not part of '
                'a user clone; set RL_TUNER_SHARED_DIR to use a copy)')
  path = shared / relative
  if not path.exists():
    pytest.skip(f'{relative} not found in the reference material at {shared}')
  return path


@pytest.fixture
def golden_dir():
  """../shared/golden: outputs of the original Magenta code."""
  return _require('golden')


@pytest.fixture
def golden_metrics(golden_dir):
  """The original code's statistics of fixed compositions (metrics.json)."""
  with open(golden_dir / 'metrics.json', encoding='utf-8') as f:
    return json.load(f)


@pytest.fixture
def paper_checkpoint():
  """../shared/fixtures/rl_tuner_note_rnn.ckpt: the paper's Note RNN."""
  return _require('fixtures/rl_tuner_note_rnn.ckpt')


@pytest.fixture
def basic_rnn_bundle():
  """../shared/fixtures/basic_rnn_32x2.mag: a real Magenta basic_rnn bundle."""
  return _require('fixtures/basic_rnn_32x2.mag')


@pytest.fixture
def testdata_dir():
  """The repository's own small test files."""
  return REPO_ROOT / 'testdata'
