"""The RL Tuner's figures: training and evaluation curves, note heatmaps.

Every figure is written atomically as a PNG (matplotlib's Agg backend, no
display needed).
"""

import io

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from note_rnn import encoding


def save_line_plot(path, x, series, xlabel, ylabel, title):
  """Writes a line plot of named series against x as a PNG; returns path."""
  figure, axes = plt.subplots(figsize=(7, 4))
  for label, values in series.items():
    axes.plot(x[:len(values)], values, label=label)
  axes.set_xlabel(xlabel)
  axes.set_ylabel(ylabel)
  axes.set_title(title)
  axes.grid(alpha=0.3)
  if series:
    axes.legend(loc='best')
  figure.tight_layout()
  save_figure(figure, path)
  return path


def save_figure(figure, path):
  """Saves a matplotlib figure atomically as PNG and closes it."""
  buffer = io.BytesIO()
  figure.savefig(buffer, format='png', dpi=100)
  plt.close(figure)
  encoding.write_file_atomically(path, buffer.getvalue())


def plot_note_probabilities(probabilities, notes, path):
  """Heatmap PNG of note probabilities [L, 38] with the chosen notes."""
  figure, axes = plt.subplots(figsize=(8, 5))
  image = axes.imshow(np.asarray(probabilities).T, origin='lower',
                      aspect='auto', cmap='Reds', interpolation='none')
  axes.plot(range(len(notes)), notes, 'k.', markersize=4, label='chosen')
  axes.set_xlabel('Step (sixteenth note)')
  axes.set_ylabel('Class (0 hold, 1 rest, 2.. = MIDI 48..)')
  axes.legend(loc='upper right')
  figure.colorbar(image, ax=axes, label='probability')
  figure.tight_layout()
  save_figure(figure, path)
  return path



def _steps(every, count, offset=0):
  return [every * (i + offset) for i in range(count)]


def plot_training_rewards(history, path, every, algorithm):
  """Summed training rewards per block of `every` steps (RewardHistory)."""
  return save_line_plot(
      path, _steps(every, len(history.rewards_batched), offset=1),
      {'Total': history.rewards_batched,
       'Music theory': history.music_theory_rewards_batched,
       'Note RNN': history.note_rnn_rewards_batched},
      'Environment steps', f'Reward summed over {every} steps',
      f'Training rewards ({algorithm})')


def plot_evaluation(history, path, every, algorithm, num_compositions,
                    start=0):
  """Per-note evaluation rewards over training, from evaluation `start`."""
  return save_line_plot(
      path, _steps(every, len(history.eval_avg_reward))[start:],
      {'Total': history.eval_avg_reward[start:],
       'Music theory (scaled)': history.eval_avg_music_theory_reward[start:],
       'Note RNN log p(a|s)': history.eval_avg_note_rnn_reward[start:]},
      'Environment steps', 'Mean reward per note',
      f'Evaluation ({algorithm}, {num_compositions} compositions)')


def plot_reward_terms(history, path, every, algorithm):
  """Each reward term's per-note share of the evaluation reward."""
  return save_line_plot(
      path, _steps(every, len(history.eval_avg_reward)),
      history.eval_avg_term_rewards, 'Environment steps',
      'Mean share of the reward per note',
      f'Reward terms ({algorithm}, evaluation)')


def plot_target_values(history, path, every, algorithm):
  """Mean next-state value of sampled minibatches."""
  return save_line_plot(
      path, _steps(every, len(history.target_val_list)),
      {'Target value': history.target_val_list}, 'Environment steps',
      'Mean next-state value', f'Target values ({algorithm})')
