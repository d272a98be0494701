"""Magenta's RL Tuner notebook, cell by cell, against this port, offline.

`CELLS` are the code cells of magenta/models/rl_tuner/rl_tuner.ipynb as of
magenta/magenta commit 128b1067 (its last version there; it later moved to
magenta-demos), in order. Replaced, and nothing else:
  * imports: `magenta.models.rl_tuner` is `rl_tuner`; Python 2's builtin
    `reload` is `importlib.reload`;
  * SAVE_PATH (a fixed folder under the system's temp directory in the
    notebook) is this test's temporary folder (trailing slash kept);
  * `tf.contrib.training.HParams(...)` (gone from TensorFlow 2) is a
    `types.SimpleNamespace` with the same seven fields;
  * the sizes: OUTPUT_EVERY_NTH 50000 -> 100, train(num_steps=1000000,
    exploration_period=500000) -> 300 and 150, so it runs in seconds;
  * the download: the notebook's RLTuner fetched the paper's Note RNN from
    download.magenta.tensorflow.org; without a checkpoint argument the port
    tunes its embedded Note RNN. The cells run with every socket connection
    refused, so a download attempt fails the test.
The cells run in a child Python (`python -m rl_tuner.magenta_notebook_test
DIR`),
since `reload_files()` and `importlib.reload(rl_tuner)` re-execute modules
other tests share; the child writes what it saw to DIR/report.json.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

CELLS = (
    # 0
    'import tensorflow as tf\n'
    'import numpy as np\n'
    'import sys\n',
    # 1
    'from rl_tuner import rl_tuner\n'
    'from rl_tuner import rl_tuner_ops\n',
    # 2 (was a fixed folder under the system's temp directory)
    '# Place to save your model checkpoints and compositions\n'
    'SAVE_PATH = NOTEBOOK_DIR + "/"\n',
    # 3 (OUTPUT_EVERY_NTH was 50000)
    '# Model parameter settings\n'
    "ALGORITHM = 'q'\n"
    'REWARD_SCALER = 1\n'
    'OUTPUT_EVERY_NTH = 100\n'
    'NUM_NOTES_IN_COMPOSITION = 32\n'
    'PRIME_WITH_MIDI = False\n',
    # 4 (was tf.contrib.training.HParams)
    'import types\n'
    'rl_tuner_hparams = types.SimpleNamespace(random_action_probability=0.1,\n'
    '                                         store_every_nth=1,\n'
    '                                         train_every_nth=5,\n'
    '                                         minibatch_size=32,\n'
    '                                         discount_rate=0.5,\n'
    '                                         max_experience=100000,\n'
    '                                         target_network_update_rate=0.01'
    ')\n',
    # 5 (was Python 2's builtin reload)
    'from importlib import reload\n'
    'reload(rl_tuner_ops)\n'
    'reload(rl_tuner)\n'
    'rl_tuner.reload_files()\n',
    # 6
    'rl_net = rl_tuner.RLTuner(SAVE_PATH, \n'
    '                          dqn_hparams=rl_tuner_hparams, \n'
    '                          algorithm=ALGORITHM,\n'
    '                          reward_scaler=REWARD_SCALER,\n'
    '                          output_every_nth=OUTPUT_EVERY_NTH,\n'
    '                          num_notes_in_melody=NUM_NOTES_IN_COMPOSITION)\n',
    # 7
    '# Generate initial music sequence before training with RL\n'
    "rl_net.generate_music_sequence(visualize_probs=True, title='pre_rl', "
    'length=32)\n',
    # 8 (was num_steps=1000000, exploration_period=500000)
    'rl_net.train(num_steps=300, exploration_period=150)\n',
    # 9
    '# Plot the rewards received during training.\n'
    'rl_net.plot_rewards()\n',
    # 10
    '# Plot rewards received during calls to evaluation function.\n'
    'rl_net.plot_evaluation()\n',
    # 11
    "rl_net.generate_music_sequence(visualize_probs=True, title='post_rl')\n",
    # 12
    "# If you're happy with the model, save a version!\n"
    "rl_net.save_model(SAVE_PATH, 'my_cool_model')\n",
    # 13
    '# Compute statistics about how well the model adheres to the music '
    'theory rules.\n'
    'stat_dict = rl_net.evaluate_music_theory_metrics(num_compositions=100)'
    '\n',
)

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child_env():
  """The environment of a child Python that imports this repository."""
  return dict(os.environ, PYTHONPATH=os.pathsep.join(
      filter(None, [_REPO, os.environ.get('PYTHONPATH')])))


def _refuse_network():
  """Makes every connection and name lookup raise; returns the attempts."""
  attempts = []

  def refuse(*args, **unused_kwargs):
    attempts.append(repr(args[1:] or args)[:200])
    raise OSError('network access refused by magenta_notebook_test')
  socket.socket.connect = refuse
  socket.socket.connect_ex = refuse
  socket.create_connection = refuse
  socket.getaddrinfo = refuse
  return attempts


def run_cells(notebook_dir):
  """Runs CELLS in one namespace; writes notebook_dir/report.json."""
  attempts = _refuse_network()
  namespace = {'NOTEBOOK_DIR': notebook_dir}
  for index, cell in enumerate(CELLS):
    try:
      code = compile(cell, f'<notebook cell {index}>', 'exec')
      exec(code, namespace)  # pylint: disable=exec-used
    except BaseException:
      print(f'notebook cell {index} failed:\n{cell}', file=sys.stderr)
      raise
  rl_net = namespace['rl_net']
  stat_dict = namespace['stat_dict']
  report = {
      'network_attempts': attempts,
      'files': sorted(os.listdir(notebook_dir)),
      'checkpoints': sorted(os.listdir(os.path.join(notebook_dir,
                                                    'checkpoints'))),
      'dqn_hparams': rl_net.dqn_hparams.to_dict(),
      'note_rnn_source': rl_net.q_network.source,
      'q_network_class': type(rl_net.q_network).__name__,
      # Tuners built after reload_files() use the reloaded loader.
      'q_network_of_reloaded_class': isinstance(
          rl_net.q_network,
          sys.modules['rl_tuner.note_rnn_loader'].NoteRNNLoader),
      'env_steps': rl_net.env_steps,
      'rewards_batched': len(rl_net.rewards_batched),
      'eval_avg_reward': len(rl_net.eval_avg_reward),
      'stat_num_compositions': stat_dict['num_compositions'],
      'stat_autocorrelation1': len(stat_dict['autocorrelation1']),
  }
  with open(os.path.join(notebook_dir, 'report.json'), 'w') as f:
    json.dump(report, f)


def test_the_notebook_cells_run_offline_on_the_embedded_model(tmp_path):
  notebook_dir = tmp_path / 'rl_tuner'
  notebook_dir.mkdir()
  cwd = tmp_path / 'cwd'  # Where a relative path would land.
  cwd.mkdir()
  result = subprocess.run(
      [sys.executable, '-m', 'rl_tuner.magenta_notebook_test',
       str(notebook_dir)], cwd=cwd, env=_child_env(), capture_output=True,
      text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-5000:]
  with open(notebook_dir / 'report.json') as f:
    report = json.load(f)
  assert report['network_attempts'] == []
  # The embedded Note RNN, not a download.
  assert 'default_model' in report['note_rnn_source']
  assert report['q_network_class'] == 'NoteRNNLoader'
  assert report['q_network_of_reloaded_class']
  # The SimpleNamespace's seven fields; the two the original lacked take
  # the class defaults.
  assert report['dqn_hparams'] == dict(
      random_action_probability=0.1, store_every_nth=1, train_every_nth=5,
      minibatch_size=32, discount_rate=0.5, max_experience=100000,
      target_network_update_rate=0.01, learning_rate=0.001, clip_norm=5.0)
  # 300 steps in blocks of 100: 3 training sums, 1 + 3 evaluations.
  assert report['env_steps'] == 300
  assert report['rewards_batched'] == 3
  assert report['eval_avg_reward'] == 4
  assert report['stat_num_compositions'] == 100
  assert report['stat_autocorrelation1'] == 100
  # Checkpoints at the first melody ends after blocks 100 and 200 (128,
  # 224) and where train returned (300); save_model(SAVE_PATH,
  # 'my_cool_model') saved step 300 again under the algorithm's name (the
  # original's os.path.join dropped 'my_cool_model' for the absolute
  # SAVE_PATH too). Pointers where the original wrote rl_tuner.ckpt-<n>.
  assert report['checkpoints'] == ['q-128', 'q-224', 'q-300', 'replay']
  files = set(report['files'])
  assert {'rl_tuner.ckpt-100.pointer', 'rl_tuner.ckpt-200.pointer',
          'rl_tuner.ckpt-300.pointer'} <= files
  assert {'pre_rl.mid', 'pre_rl.png', 'post_rl.mid', 'post_rl.png',
          'TrainRewards.png', 'EvaluationRewards.png'} <= files
  assert os.listdir(cwd) == []


def test_network_access_is_refused_in_the_child():
  """The guard the notebook runs under works (in a child, like the cells)."""
  code = ('import urllib.request\n'
          'from rl_tuner import magenta_notebook_test as m\n'
          'attempts = m._refuse_network()\n'
          'try:\n'
          "  urllib.request.urlopen('http://download.magenta.tensorflow.org/"
          "models/rl_tuner_note_rnn.ckpt', timeout=5)\n"
          'except OSError as e:\n'
          "  print('refused', len(attempts) >= 1)\n")
  result = subprocess.run([sys.executable, '-c', code], env=_child_env(),
                          capture_output=True, text=True, timeout=120,
                          check=False)
  assert result.stdout.strip() == 'refused True', result.stderr[-3000:]


if __name__ == '__main__':
  if len(sys.argv) != 2:
    sys.exit(f'usage: {sys.argv[0]} NOTEBOOK_DIR')
  run_cells(sys.argv[1])
