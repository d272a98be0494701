"""The RL Tuner's figures: training and evaluation curves, note heatmaps.

Every figure is written atomically as a PNG (matplotlib's Agg backend, no
display needed).
"""

import io

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from note_rnn.runtime import outputs


def save_line_plot(path, x, series, xlabel, ylabel, title, symlog=False):
  """Writes a line plot of named series against x as a PNG; returns path.

  symlog: a y axis linear within +-1 and logarithmic beyond, so one far-off
    point (an untuned start) does not flatten the rest.
  """
  figure, axes = plt.subplots(figsize=(7, 4))
  for label, values in series.items():
    axes.plot(x[:len(values)], values, label=label)
  if symlog:
    axes.set_yscale('symlog', linthresh=1.0)
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
  outputs.write_file_atomically(path, buffer.getvalue())


_PITCH_NAMES = ('C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#',
                'B')
# Names of the 38 classes: hold, rest, then C3 (MIDI 48) to B5 (MIDI 83).
CLASS_NAMES = ('hold', 'rest') + tuple(
    f'{_PITCH_NAMES[p % 12]}{p // 12 - 1}' for p in range(48, 84))


def plot_note_probabilities(probabilities, notes, path):
  """Heatmap PNG of note probabilities [L, 38] with the chosen notes."""
  figure, axes = plt.subplots(figsize=(8, 5))
  image = axes.imshow(np.asarray(probabilities).T, origin='lower',
                      aspect='auto', cmap='Reds', interpolation='none')
  axes.plot(range(len(notes)), notes, 'k.', markersize=4, label='chosen')
  axes.set_xlabel('Step (sixteenth note)')
  axes.set_ylabel('Note')
  axes.set_yticks(range(len(CLASS_NAMES)))
  axes.set_yticklabels(CLASS_NAMES, fontsize=6)
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
      'Environment steps', 'Mean reward per note (symmetric log scale)',
      f'Evaluation ({algorithm}, {num_compositions} compositions)',
      symlog=True)


def plot_reward_terms(history, path, every, algorithm):
  """Each reward term's per-note share of the evaluation reward."""
  return save_line_plot(
      path, _steps(every, len(history.eval_avg_reward)),
      history.eval_avg_term_rewards, 'Environment steps',
      'Mean share of the reward per note',
      f'Reward terms ({algorithm}, evaluation)')


def plot_target_values(history, path, every, algorithm):
  """Mean next-state value of the minibatches of each block."""
  return save_line_plot(
      path, _steps(every, len(history.target_val_list), offset=1),
      {'Target value': history.target_val_list}, 'Environment steps',
      f'Mean next-state value (over each {every} steps)',
      f'Target values ({algorithm})')
