"""The README's Python code runs as written (with smaller numbers).

Each ```python block of README.md is executed in a fresh namespace inside a
temporary folder. Step and composition counts are scaled down so the test
takes seconds; paths and everything else are as a reader would paste them.
"""

import os
import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parent.parent / 'README.md'
# What makes the README's runs long, and the test's values.
SMALLER = {r'num_steps=\d+': 'num_steps=64',
           r'exploration_period=\d+': 'exploration_period=32',
           r'num_compositions=\d+': 'num_compositions=8'}


def _python_blocks():
  text = README.read_text()
  return re.findall(r'```python\n(.*?)```', text, flags=re.S)


def test_the_readme_has_python_blocks():
  assert len(_python_blocks()) >= 2


@pytest.mark.parametrize('index', range(len(_python_blocks())))
def test_a_readme_python_block_runs(index, tmp_path, monkeypatch):
  code = _python_blocks()[index]
  for pattern, value in SMALLER.items():
    code = re.sub(pattern, value, code)
  monkeypatch.chdir(tmp_path)
  namespace = {}
  exec(compile(code, f'README.md block {index}', 'exec'), namespace)  # pylint: disable=exec-used
  if 'rlt' in namespace:  # The "Using it from Python" block.
    assert namespace['rlt'].env_steps == 64
    assert os.path.isfile(tmp_path / 'runs' / 'q' / 'rltuner_sample.mid')
    assert namespace['stats']['num_compositions'] == 8
  if 'eighth_note_onsets' in namespace:  # The reward example.
    class State:
      beat = 2
    rewards = namespace['eighth_note_onsets'](State(), np.array([0, 1, 5]))
    np.testing.assert_array_equal(rewards, [0.0, 0.0, 1.0])
