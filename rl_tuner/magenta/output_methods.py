"""The original RLTuner's saving, restoring and plotting methods.

`OriginalOutputMethods` keeps the Magenta names (`save_model`,
`save_stored_rewards`, `restore_from_directory`, `save_model_and_figs`,
`plot_rewards`, `plot_evaluation`, `plot_target_vals`) on `RLTuner`, over
`checkpointer` (atomic checkpoint directories), `reward_history` (the
histories and their .npz file) and `plots` (PNG figures).
"""

import io
import logging
import os
import time

import numpy as np

from note_rnn.runtime import outputs
from rl_tuner.replay import replay_store
from rl_tuner.reports import plots
from rl_tuner.run import checkpointer
from rl_tuner.run import resume_settings
from rl_tuner.run import settings as settings_lib

logger = logging.getLogger(__name__)


class OriginalOutputMethods:
  """Checkpoints, histories and figures of an RLTuner.

  Expects the tuner's networks (`_checkpoint`), counters, `history`, `rng`,
  `reward_set`, `algorithm`, `output_dir` and `output_every_nth`; for
  `run_identity`, also `settings`, `dqn_hparams`, `training_file_list` and
  `note_rnn_identity` (the Note RNN it started from).
  """

  # --- Saving and restoring -------------------------------------------------

  def run_identity(self):
    """The settings that change what this run computes, as checkpoints
    record them (`resume_settings.identity`); a resumed run must match."""
    return resume_settings.identity(
        self.settings, self.reward_set, self.dqn_hparams,
        self.note_rnn_identity, self.training_file_list)

  def _training_state(self):
    replay = self.agent.experience
    state = {
        'format_version': 2,
        'algorithm': self.algorithm,
        'reward_mode': self.reward_mode,
        'reward_terms': list(self.reward_set.term_names),
        'num_parallel_melodies': self.num_parallel_melodies,
        'counters': {'env_steps': self.runner.env_steps,
                     'actions_executed_so_far': self.runner.beats,
                     **self.agent.counters()},
        'rng_state': self.rng.bit_generator.state,
        resume_settings.SETTINGS_KEY: self.run_identity(),
    }
    if replay is not None:
      # Transitions added to replay; their segments rebuild the buffer.
      state['replay_add_count'] = replay.add_count
    return {
        **state,
        # When the checkpoint was taken (time.time()): TensorBoard points
        # logged later are dropped on resume.
        'saved_wall_time': time.time(),
        # The step the original named this checkpoint by (its pointer's).
        checkpointer.ORIGINAL_STEP_KEY:
            len(self.rewards_batched) * self.output_every_nth,
        **self.history.to_state(),
    }

  def save_model(self, name, directory=None):
    """Checkpoints the networks, Adam, the replay and the training state.

    Writes the replay transitions added since the last checkpoint
    (`replay_store`), then `<directory>/checkpoints/<name>-<env_steps>/`
    atomically; keeps the newest CHECKPOINTS_TO_KEEP (and the replay they
    need); the reward histories are in its training state. Next to
    `<directory>/<save_name>` (save_path by default), a pointer file
    `<save_name>-<step>.pointer` per kept checkpoint names it where the
    original wrote its files (see `checkpointer`).

    Args:
      name: checkpoint name stem. As in the original, the checkpoint goes to
        `os.path.join(directory, name)`: a name with a folder in it moves
        it there, and a name ending in a separator (the original notebook's
        `save_model(SAVE_PATH, name)`) names that folder and takes the
        algorithm as its stem.
      directory: default output_dir.

    Returns:
      The checkpoint directory.
    """
    directory, name = os.path.split(
        os.path.join(directory or self.output_dir, name))
    name = name or self.algorithm
    if self.summary_writer is not None:
      self.summary_writer.flush()  # What is logged so far precedes the save.
    root = checkpointer.checkpoint_root(directory)
    replay = self.agent.experience
    if replay is not None:
      replay_store.save(replay, root)
    final = checkpointer.save(self._checkpoint, root, name, self.env_steps,
                              self._training_state())
    oldest = checkpointer.list_checkpoints(root)[0]
    if replay is not None:
      replay_store.prune(
          root, checkpointer.read_state(oldest).get('replay_add_count', 0),
          replay.capacity)
    checkpointer.sync_pointers(root, os.path.join(directory, self.save_name))
    return final

  def save_stored_rewards(self, file_name, directory=None):
    """Writes the reward histories to `<file_name>-<env_steps>.npz`."""
    return self._save_history(os.path.join(
        directory or self.output_dir, f'{file_name}-{self.env_steps}.npz'))

  def _save_history(self, path):
    """Writes the reward histories (the original's .npz keys) to path."""
    buffer = io.BytesIO()
    np.savez(buffer, **self.history.npz_arrays())
    outputs.write_file_atomically(path, buffer.getvalue())
    return path

  def restore_from_directory(self, directory=None, checkpoint_name=None,
                             reward_file_name=None, restore_replay=True):
    """Restores networks, Adam, replay, counters and histories.

    After a restore, `train` continues exactly as the run that wrote the
    checkpoint did (same seed, same settings): the checkpoint holds every
    random stream and the replay memory, and is taken where a `train` call
    starts its melodies afresh.

    Args:
      directory: the output directory of a run (default output_dir), a
        checkpoint directory itself, or a pointer file.
      checkpoint_name: a checkpoint directory name inside
        `<directory>/checkpoints` ('q-32'), or the original's name next to
        save_path ('rl_tuner.ckpt-30', read through its pointer file);
        default: the newest.
      reward_file_name: optional .npz history file (the original's format)
        to load instead of the checkpoint's own histories.
      restore_replay: also refill the replay buffer (not needed to compose).

    Returns:
      The checkpoint directory restored from.

    Raises:
      FileNotFoundError: no checkpoint there.
      RLTunerError: the checkpoint is of another algorithm or reward set.
      checkpointer.CheckpointError, replay_store.ReplayStoreError: it is
        damaged (both ValueErrors naming the file).
    """
    directory = directory or self.output_dir
    path = checkpointer.find(directory, checkpoint_name)
    state = checkpointer.read_state(path)
    # Q, Psi and G values mean different things: never continue one as
    # another; nor a run with other reward terms.
    if state.get('algorithm', self.algorithm) != self.algorithm:
      raise settings_lib.UsageError(
          f'checkpoint {path} was trained with algorithm '
          f"{state['algorithm']!r}; this tuner uses {self.algorithm!r}")
    terms = state.get('reward_terms', list(self.reward_set.term_names))
    if terms != list(self.reward_set.term_names):
      raise settings_lib.UsageError(
          f'checkpoint {path} was trained with reward terms {terms}; this '
          f'tuner has {list(self.reward_set.term_names)}')
    checkpointer.read(self._checkpoint, path)
    if restore_replay and 'replay_add_count' in state:
      replay_store.restore(self.agent.experience, os.path.dirname(path),
                           int(state['replay_add_count']))
    counters = {key: int(value) for key, value in state['counters'].items()}
    self.runner.env_steps = counters.pop('env_steps')
    self.runner.beats = counters.pop('actions_executed_so_far')
    self.agent.load_counters(counters)
    self.history.load_state(state)
    self.rng.bit_generator.state = state['rng_state']
    if reward_file_name is not None:
      with np.load(os.path.join(directory, reward_file_name)) as npz:
        self.history.load_npz(npz)
    logger.info('Restored RL Tuner from %s (env step %d)', path,
                self.env_steps)
    return path

  # --- Figures ---------------------------------------------------------------

  def _figure_path(self, image_name, directory, default):
    return os.path.join(directory or self.output_dir, image_name or default)

  def save_model_and_figs(self, name, directory=None, save_checkpoint=True):
    """Checkpoint, the reward histories as `<name>.npz`, the PNG plots.

    Args:
      save_checkpoint: False: the histories and plots only (a run restored
        without its replay, and not trained, keeps its checkpoint as is).
    """
    if save_checkpoint:
      self.save_model(name, directory=directory)
    self._save_history(os.path.join(directory or self.output_dir,
                                    f'{name}.npz'))
    self.plot_rewards(f'TrainRewards-{name}.png', directory)
    self.plot_evaluation(f'EvaluationRewards-{name}.png', directory)
    self.plot_target_vals(f'TargetVals-{name}.png', directory)
    self.plot_reward_terms(f'RewardTerms-{name}.png', directory)

  def plot_rewards(self, image_name=None, directory=None):
    """PNG of the summed training rewards per block of output_every_nth."""
    return plots.plot_training_rewards(
        self.history, self._figure_path(image_name, directory,
                                        'TrainRewards.png'),
        self.output_every_nth, self.algorithm)

  def plot_evaluation(self, image_name=None, directory=None,
                      start_at_epoch=0):
    """PNG of the per-note evaluation rewards over training."""
    return plots.plot_evaluation(
        self.history, self._figure_path(image_name, directory,
                                        'EvaluationRewards.png'),
        self.output_every_nth, self.algorithm, self.num_eval_compositions,
        start=int(start_at_epoch // self.output_every_nth))

  def plot_reward_terms(self, image_name=None, directory=None):
    """PNG of each reward term's per-note evaluation share over training."""
    return plots.plot_reward_terms(
        self.history, self._figure_path(image_name, directory,
                                        'RewardTerms.png'),
        self.output_every_nth, self.algorithm)

  def plot_target_vals(self, image_name=None, directory=None):
    """PNG of the mean next-state value of sampled minibatches."""
    return plots.plot_target_values(
        self.history, self._figure_path(image_name, directory,
                                        'TargetVals.png'),
        self.output_every_nth, self.algorithm)
