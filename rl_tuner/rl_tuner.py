"""The RL Tuner: a recurrent DQN that tunes a Note RNN with music theory.

Three copies of one Note RNN play three roles:
  * `q_network`: the online value network, trained by Q, Psi or G learning;
  * `target_q_network`: a slowly following copy that supplies the TD targets;
  * `reward_rnn`: a frozen copy whose log p(a|s) keeps the tuned model close
    to what the Note RNN learned from data.

The environment is melody composition: each environment step one note is
played by each of `num_parallel_melodies` melodies; a melody ends (and is
re-primed) every `num_notes_in_melody` steps. The reward of a note is
`reward_scaler * r_MT + log p(note | melody so far)` for the default reward
mode (see `rewards.collect_reward` for all modes).

The public method and attribute names are the original Magenta class's, so
code written against `magenta.models.rl_tuner.rl_tuner.RLTuner` ports by
changing the import. Deliberate differences are listed in BUILD.md.
"""

import dataclasses
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np
import scipy.special
import tensorflow as tf

from note_rnn import encoding
from note_rnn import hparams as note_rnn_hparams_lib
from note_rnn import melody_pipeline
from note_rnn import model as note_rnn_model
from note_rnn import sequence_example_io
from rl_tuner import composition as composition_lib
from rl_tuner import dqn
from rl_tuner import dqn_hparams as dqn_hparams_lib
from rl_tuner import replay_buffer
from rl_tuner import rewards
from rl_tuner import rewards_batch
from rl_tuner import rl_tuner_eval_metrics
from rl_tuner import rl_tuner_ops

logger = logging.getLogger(__name__)

EXPLORATION_MODES = rl_tuner_ops.EXPLORATION_MODES
PRIMING_MODES = rl_tuner_ops.PRIMING_MODES
NOTE_RNN_TYPES = rl_tuner_ops.NOTE_RNN_TYPES
# Reward modes whose music-theory part is computed for all melodies at once.
_BATCHED_MODES = ('music_theory_all', 'music_theory_only')
# Training melodies longer than this are cut when computing priming states
# (the original's TRAIN_SEQUENCE_LENGTH).
TRAIN_SEQUENCE_LENGTH = 192
# Melodies generated per batched network call when composing many.
GENERATION_CHUNK = 2048
# Where checkpoints go inside the output directory, and how many are kept.
CHECKPOINT_SUBDIR = 'checkpoints'
CHECKPOINTS_TO_KEEP = 3
_CHECKPOINT_RE = re.compile(r'^(?P<name>.+)-(?P<step>\d+)$')
HISTORY_KEYS = (
    'rewards_batched', 'music_theory_rewards_batched',
    'note_rnn_rewards_batched', 'eval_avg_reward',
    'eval_avg_music_theory_reward', 'eval_avg_note_rnn_reward',
    'target_val_list')
# Names in the original's .npz history files.
_NPZ_NAMES = {
    'rewards_batched': 'train_rewards',
    'music_theory_rewards_batched': 'train_music_theory_rewards',
    'note_rnn_rewards_batched': 'train_note_rnn_rewards',
    'eval_avg_reward': 'eval_rewards',
    'eval_avg_music_theory_reward': 'eval_music_theory_rewards',
    'eval_avg_note_rnn_reward': 'eval_note_rnn_rewards',
    'target_val_list': 'target_val_list',
}


# Encodes a priming melody (re-exported from the data pipeline).
primer_classes = melody_pipeline.primer_classes


class RLTunerError(ValueError):
  """A setting or input the RL Tuner cannot work with."""


def _pick(values, classes):
  """values[b, classes[b]] for values [B, A] -> float64 [B]."""
  return np.asarray(values[np.arange(len(classes)), classes], np.float64)


def _softmax(scores):
  """Row-wise softmax in float64: [B, A] -> [B, A]."""
  scores = np.asarray(scores, dtype=np.float64)
  return scipy.special.softmax(scores, axis=-1)


def sample_classes(probabilities, rng):
  """Draws one class per row of `probabilities` [B, A] (inverse CDF)."""
  cumulative = np.cumsum(probabilities, axis=-1)
  draws = rng.random(len(probabilities)) * cumulative[:, -1]
  picked = (cumulative < draws[:, None]).sum(axis=-1)
  return np.minimum(picked, probabilities.shape[-1] - 1)


def _one_hot(classes, num_classes=encoding.NUM_CLASSES):
  return np.eye(num_classes, dtype=np.float32)[np.asarray(classes)]


class RLTuner:
  """Tunes a Note RNN by reinforcement learning (Q, Psi, G or pure RL).

  Attributes (the original's names):
    q_network, target_q_network, reward_rnn: `note_rnn.NoteRNN`s.
    experience: the replay buffer (`replay_buffer.ReplayBuffer`).
    composition: notes (class ints) of the first melody in progress.
    beat: step of the first melody in progress.
    rewards_batched, music_theory_rewards_batched, note_rnn_rewards_batched:
      summed training rewards of each block of `output_every_nth` steps.
    eval_avg_reward, eval_avg_music_theory_reward, eval_avg_note_rnn_reward:
      per-note means over the evaluation compositions, one per evaluation.
    target_val_list: mean next-state value of a training minibatch, sampled
      every `output_every_nth` steps.
    dqn_hparams: `DQNHParams`.
    output_dir: where checkpoints, plots, histories and MIDI go.
  """

  def __init__(self, output_dir,
               # Hyperparameters.
               dqn_hparams=None,
               reward_mode='music_theory_all',
               reward_scaler=1.0,
               exploration_mode='egreedy',
               priming_mode='random_note',
               stochastic_observations=False,
               algorithm='q',
               # The Note RNN to load and tune.
               note_rnn_checkpoint_dir=None,
               note_rnn_checkpoint_file=None,
               note_rnn_type='default',
               note_rnn_hparams=None,
               # Music.
               num_notes_in_melody=32,
               input_size=rl_tuner_ops.NUM_CLASSES,
               num_actions=rl_tuner_ops.NUM_CLASSES,
               midi_primer=None,
               # Logistics.
               save_name='rl_tuner.ckpt',
               output_every_nth=1000,
               training_file_list=None,
               summary_writer=None,
               initialize_immediately=True,
               *,
               num_parallel_melodies=1,
               seed=None,
               music_theory_config=None,
               num_eval_compositions=100):
    """Sets up the tuner; see the class docstring and BUILD.md.

    Args (beyond the original's, which keep their meaning):
      num_parallel_melodies: B melodies composed side by side; each beat is B
        environment steps, and step counts (`train`, `output_every_nth`)
        count environment steps, so settings mean the same for any B.
      seed: seed of every random choice (weights of a random init,
        exploration, priming, replay sampling, evaluation).
      music_theory_config: `rewards.MusicTheoryConfig` (key, tonic, label
        convention); default C major with the original's labels.
      num_eval_compositions: compositions per `evaluate_model` call.

    Raises:
      RLTunerError / ValueError: an unknown algorithm, reward, exploration or
        priming mode, a missing primer or training file, bad sizes.
    """
    self.algorithm, self._algorithm = dqn.get_algorithm(algorithm)
    self.reward_mode = self._algorithm.forced_reward_mode or reward_mode
    rewards.check_reward_mode(self.reward_mode)
    if exploration_mode not in EXPLORATION_MODES:
      raise RLTunerError(f'unknown exploration_mode {exploration_mode!r}; '
                         f'valid modes: {", ".join(EXPLORATION_MODES)}')
    if priming_mode not in PRIMING_MODES:
      raise RLTunerError(f'unknown priming_mode {priming_mode!r}; valid '
                         f'modes: {", ".join(PRIMING_MODES)}')
    if note_rnn_type not in NOTE_RNN_TYPES:
      raise RLTunerError(f'unknown note_rnn_type {note_rnn_type!r}; valid '
                         f'types: {", ".join(NOTE_RNN_TYPES)}')
    if priming_mode == 'single_midi':
      if not midi_primer:
        raise RLTunerError("priming_mode 'single_midi' needs midi_primer, "
                           'a MIDI file to prime the melodies with')
      if not os.path.isfile(midi_primer):
        raise RLTunerError(f'midi_primer not found: {midi_primer}')
    if priming_mode == 'random_midi':
      if not training_file_list:
        raise RLTunerError("priming_mode 'random_midi' needs "
                           'training_file_list, TFRecord file(s) of melodies')
      if isinstance(training_file_list, str):
        training_file_list = [training_file_list]
      missing = [f for f in training_file_list if not os.path.isfile(f)]
      if missing:
        raise RLTunerError(f'training file(s) not found: {missing}')
    if input_size != rl_tuner_ops.NUM_CLASSES or (
        num_actions != rl_tuner_ops.NUM_CLASSES):
      raise RLTunerError(
          f'input_size and num_actions must be {rl_tuner_ops.NUM_CLASSES} '
          f'(the melody encoding); got {input_size} and {num_actions}')
    if num_notes_in_melody < 1 or output_every_nth < 1:
      raise RLTunerError('num_notes_in_melody and output_every_nth must be '
                         '>= 1')
    if num_parallel_melodies < 1:
      raise RLTunerError(f'num_parallel_melodies must be >= 1, got '
                         f'{num_parallel_melodies}')

    self.output_dir = output_dir
    self.save_name = save_name
    self.save_path = os.path.join(output_dir, save_name)
    self.dqn_hparams = dqn_hparams or dqn_hparams_lib.default_dqn_hparams()
    if isinstance(self.dqn_hparams, dict):
      self.dqn_hparams = dqn_hparams_lib.DQNHParams.from_dict(
          self.dqn_hparams)
    self.reward_scaler = float(reward_scaler)
    self.exploration_mode = exploration_mode
    self.priming_mode = priming_mode
    self.stochastic_observations = stochastic_observations
    self.note_rnn_checkpoint_dir = note_rnn_checkpoint_dir
    self.note_rnn_checkpoint_file = note_rnn_checkpoint_file
    self.note_rnn_type = note_rnn_type
    self.note_rnn_hparams = note_rnn_hparams
    self.num_notes_in_melody = int(num_notes_in_melody)
    self.input_size = input_size
    self.num_actions = num_actions
    self.midi_primer = midi_primer
    self.output_every_nth = int(output_every_nth)
    self.training_file_list = training_file_list
    self.summary_writer = summary_writer
    self.num_parallel_melodies = int(num_parallel_melodies)
    self.num_eval_compositions = int(num_eval_compositions)
    self.seed = seed
    self.music_theory_config = dataclasses.replace(
        music_theory_config or rewards.MusicTheoryConfig(),
        num_notes_in_melody=self.num_notes_in_melody)
    self.rng = np.random.default_rng(seed)

    # Training counters (environment steps are transitions of one melody).
    self.env_steps = 0
    self.actions_executed_so_far = 0
    self.num_times_store_called = 0
    self.num_times_train_called = 0
    self.iteration = 0
    self._exploration_period = 0

    # Reward accumulators and histories.
    self.reward_last_n = 0.0
    self.music_theory_reward_last_n = 0.0
    self.note_rnn_reward_last_n = 0.0
    for key in HISTORY_KEYS:
      setattr(self, key, [])

    # Melodies in progress, one Composition per parallel melody.
    self._compositions = [composition_lib.Composition()
                          for _ in range(self.num_parallel_melodies)]
    self.priming_states = None
    self.priming_notes = None
    self._primer = None

    os.makedirs(self.output_dir, exist_ok=True)
    self.q_network = None
    if initialize_immediately:
      self.initialize_internal_models_graph_session()

  # --- Set-up ----------------------------------------------------------------

  def _note_rnn_path(self):
    """The checkpoint to load: the file, the latest in the dir, or None."""
    if self.note_rnn_checkpoint_file:
      return self.note_rnn_checkpoint_file
    if self.note_rnn_checkpoint_dir:
      return self.note_rnn_checkpoint_dir
    return None

  def initialize_internal_models_graph_session(self,
                                               restore_from_checkpoint=True):
    """Builds the three networks, the learner and the priming data.

    Args:
      restore_from_checkpoint: True: load the Note RNN checkpoint (the
        configured file or directory, else the embedded default model) into
        all three networks. False: random weights (one draw copied to all
        three), e.g. for pure RL from scratch.
    """
    hparams = self.note_rnn_hparams
    if hparams is None and self.note_rnn_type == 'basic_rnn':
      hparams = note_rnn_hparams_lib.basic_rnn_hparams()
    if restore_from_checkpoint:
      path = self._note_rnn_path()
      try:
        source = note_rnn_model.NoteRNN.load(
            path, hparams=self.note_rnn_hparams)
      except FileNotFoundError as e:
        raise FileNotFoundError(
            f'{e}. Pass note_rnn_checkpoint_file (or '
            '--note_rnn_checkpoint_file) pointing at a Note RNN checkpoint: '
            "this project's NoteRNN.save directory, a Magenta TF1 Note RNN "
            'checkpoint such as rl_tuner_note_rnn.ckpt, or a basic_rnn .mag '
            'bundle.') from e
    else:
      seed = None if self.seed is None else int(self.seed)
      source = note_rnn_model.NoteRNN(
          hparams or note_rnn_hparams_lib.default_hparams(), seed=seed)
    self.note_rnn_hparams = source.hparams
    self.q_network = source.clone(name='q_network')
    self.target_q_network = source.clone(name='target_q_network')
    self.reward_rnn = source.clone(name='reward_rnn')
    self.learner = dqn.DQNLearner(self.algorithm, self.q_network,
                                  self.target_q_network, self.reward_rnn,
                                  self.dqn_hparams)
    self.experience = replay_buffer.ReplayBuffer(
        self.dqn_hparams.max_experience, self.q_network.state_size,
        self.reward_rnn.state_size)
    self._checkpoint = tf.train.Checkpoint(
        q_network=self.q_network, target_q_network=self.target_q_network,
        reward_rnn=self.reward_rnn, optimizer=self.learner.optimizer)
    if self.priming_mode == 'random_midi':
      self.get_priming_melodies()
    elif self.priming_mode == 'single_midi':
      self._load_primer()
    self._q_state = self._zero_states(self.q_network)
    self._reward_state = self._zero_states(self.reward_rnn)
    self._last_obs = np.zeros(self.num_parallel_melodies, np.int64)

  def _zero_states(self, network, batch_size=None):
    batch_size = batch_size or self.num_parallel_melodies
    return np.zeros((batch_size, network.state_size), np.float32)

  def get_priming_melodies(self):
    """Runs training melodies through the Q-network for 'random_midi'.

    Stores `priming_states` [M, state_size] (the state after each melody,
    cut to TRAIN_SEQUENCE_LENGTH steps) and `priming_notes` [M] (the most
    probable next note after it), for up to the Note RNN's batch size of
    melodies, as the original did.
    """
    melodies = []
    for path in self.training_file_list:
      melodies.extend(sequence_example_io.read_class_sequences(path))
    melodies = [m[:TRAIN_SEQUENCE_LENGTH] for m in melodies if m]
    if not melodies:
      raise RLTunerError(
          f'no melodies in training_file_list {self.training_file_list}')
    count = min(len(melodies), self.note_rnn_hparams.batch_size)
    chosen = self.rng.choice(len(melodies), size=count, replace=False)
    melodies = [melodies[i] for i in sorted(chosen)]
    lengths = np.array([len(m) for m in melodies], np.int32)
    padded = np.zeros((count, lengths.max()), np.int64)
    for i, melody in enumerate(melodies):
      padded[i, :len(melody)] = melody
    logits, states = self.q_network.sequence_logits(
        _one_hot(padded), lengths=lengths)
    last_logits = logits.numpy()[np.arange(count), lengths - 1]
    self.priming_states = states.numpy()
    self.priming_notes = np.argmax(last_logits, axis=-1)
    logger.info('Stored %d priming melodies', count)

  def _load_primer(self):
    """Encodes `midi_primer` and runs it through the network."""
    sequence = encoding.midi_file_to_note_sequence(self.midi_primer)
    try:
      classes = primer_classes(sequence, self.midi_primer)
    except melody_pipeline.NoMelodyError as e:
      raise RLTunerError(str(e)) from e
    logits, state = self.q_network.sequence_logits(
        _one_hot([classes]))
    self._primer = (state.numpy()[0], int(np.argmax(logits.numpy()[0, -1])))

  def _prime_batch(self, batch_size, rng):
    """First observations and states of `batch_size` new melodies.

    Returns:
      (observations int [B], q_state [B, Sq], reward_state [B, Sr]); all
      three networks get the same priming state (they share their sizes).
    """
    q_state = self._zero_states(self.q_network, batch_size)
    reward_state = self._zero_states(self.reward_rnn, batch_size)
    if self.priming_mode == 'random_note':
      observations = rng.integers(0, self.num_actions, size=batch_size)
    elif self.priming_mode == 'random_midi':
      index = rng.integers(0, len(self.priming_states), size=batch_size)
      q_state[:] = self.priming_states[index]
      reward_state[:] = self.priming_states[index]
      observations = self.priming_notes[index]
    else:
      state, note = self._primer
      q_state[:] = state
      reward_state[:] = state
      observations = np.full(batch_size, note)
    return observations.astype(np.int64), q_state, reward_state

  def prime_internal_models(self):
    """Primes every melody in progress; returns melody 0's first observation.

    Returns:
      One-hot [38] of the note the first melody starts from.
    """
    (self._last_obs, self._q_state,
     self._reward_state) = self._prime_batch(self.num_parallel_melodies,
                                             self.rng)
    return _one_hot(self._last_obs[0])

  def prime_internal_model(self, model):
    """Primes one network's state (all melodies); returns the observation.

    Args:
      model: self.q_network, self.target_q_network or self.reward_rnn.
    """
    observations, q_state, reward_state = self._prime_batch(
        self.num_parallel_melodies, self.rng)
    if model is self.reward_rnn:
      self._reward_state = reward_state
    else:
      self._q_state = q_state
    self._last_obs = observations
    return _one_hot(observations[0])

  def get_random_note(self):
    """One-hot [38] of a class drawn uniformly from all 38 classes."""
    return _one_hot(self.rng.integers(0, self.num_actions))

  def reset_composition(self):
    """Starts every melody over at beat 0 with no notes and no leap."""
    for composition in self._compositions:
      composition.reset()

  # --- Composition state, as the original's attributes ----------------------

  @property
  def compositions(self):
    """The `Composition` of every melody in progress."""
    return self._compositions

  def _first(self):
    return self._compositions[0]

  composition = property(
      lambda self: self._first().notes,
      lambda self, notes: setattr(self._first(), 'notes',
                                  [int(n) for n in notes]),
      doc='Notes (class ints) of the first melody in progress.')
  beat = property(lambda self: self._first().beat,
                  lambda self, beat: setattr(self._first(), 'beat', int(beat)),
                  doc='Beat of the first melody in progress.')
  composition_direction = property(
      lambda self: self._first().direction,
      lambda self, v: setattr(self._first(), 'direction', v))
  leapt_from = property(lambda self: self._first().leapt_from,
                        lambda self, v: setattr(self._first(), 'leapt_from', v))
  steps_since_last_leap = property(
      lambda self: self._first().steps_since_last_leap,
      lambda self, v: setattr(self._first(), 'steps_since_last_leap', v))

  # --- Acting -----------------------------------------------------------------

  def _exploration_probability(self, exploration_period):
    return rl_tuner_ops.linear_annealing(
        self.actions_executed_so_far, exploration_period, 1.0,
        self.dqn_hparams.random_action_probability)

  def _choose_actions(self, policy_scores, exploration_period, enable_random,
                      sample_next_obs, rng):
    """Picks the action and the next observation of each melody.

    Returns:
      (actions int [B], next observations int [B]).
    """
    batch = len(policy_scores)
    greedy = np.argmax(policy_scores, axis=-1)
    if self.exploration_mode == 'boltzmann':
      # The note is sampled from the policy; it is the action taken.
      sampled = sample_classes(_softmax(policy_scores), rng)
      return sampled, sampled
    actions = greedy
    next_obs = greedy
    if sample_next_obs or self.stochastic_observations:
      next_obs = sample_classes(_softmax(policy_scores), rng)
    if enable_random:
      explore = rng.random(batch) < self._exploration_probability(
          exploration_period)
      if explore.any():
        random_notes = rng.integers(0, self.num_actions, size=batch)
        actions = np.where(explore, random_notes, actions)
        next_obs = np.where(explore, random_notes, next_obs)
    return actions, next_obs

  def _network_step(self, observations, q_state, reward_state):
    """One batched network call: see `dqn.DQNLearner.act` (numpy out)."""
    return self.learner.act_numpy(observations, q_state, reward_state)

  def action(self, observation, exploration_period=0, enable_random=True,
             sample_next_obs=False):
    """Runs the Q-network on the observation(s) and chooses the action(s).

    Advances the networks' states and the exploration schedule.

    Args:
      observation: one-hot [38] (first melody) or [B, 38] (all melodies).
      exploration_period: steps over which epsilon anneals from 1.0 to
        `random_action_probability` (e-greedy).
      enable_random: False disables e-greedy exploration.
      sample_next_obs: True: the next observation is sampled from the
        policy's softmax (the action stays the argmax).

    Returns:
      (action, next observation, reward_scores) with the observation's
      leading shape: one-hot [38] / [B, 38], and Reward RNN logits [38] /
      [B, 38].
    """
    observation = np.asarray(observation)
    single = observation.ndim == 1
    observations = encoding.onehot_to_classes(np.atleast_2d(observation))
    batch = len(observations)
    if batch != self.num_parallel_melodies and not single:
      raise RLTunerError(f'action got {batch} observations; the tuner has '
                         f'{self.num_parallel_melodies} melodies')
    q_state, reward_state = self._q_state, self._reward_state
    if single:
      observations = np.repeat(observations, self.num_parallel_melodies)
    self.actions_executed_so_far += 1
    scores, reward_logits, _, self._q_state, self._reward_state = (
        self._network_step(observations, q_state, reward_state))
    actions, next_obs = self._choose_actions(
        scores, exploration_period, enable_random, sample_next_obs, self.rng)
    if single:
      return (_one_hot(actions[0]), _one_hot(next_obs[0]),
              reward_logits[0])
    return _one_hot(actions), _one_hot(next_obs), reward_logits

  def get_reward_rnn_scores(self, observation, state):
    """Reward RNN logits for one observation (one-hot [38]) and state."""
    inputs = np.atleast_2d(np.asarray(observation, np.float32))
    state = np.atleast_2d(np.asarray(state, np.float32))
    logits, _ = self.reward_rnn.step(inputs, state)
    return logits.numpy()[0]

  # --- Rewards ------------------------------------------------------------

  def _config(self, **changes):
    """The music-theory config with the given fields replaced (if set)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
      return self.music_theory_config
    return dataclasses.replace(self.music_theory_config, **changes)

  def collect_reward(self, obs, action, reward_scores):
    """Reward of the first melody playing `action` after `obs`.

    Adds to the reward accumulators like the original.

    Args:
      obs: one-hot [38] previous note; action: one-hot [38] note played;
      reward_scores: Reward RNN logits [38].

    Returns:
      The float reward.
    """
    parts = rewards.collect_reward(
        self._first(), obs, action, reward_scores, self.reward_mode,
        self.reward_scaler, self.music_theory_config)
    self.note_rnn_reward_last_n += parts.note_rnn
    self.music_theory_reward_last_n += parts.music_theory
    return parts.total

  def _collect_rewards(self, observations, actions, reward_logits,
                       reward_log_probs):
    """Rewards of every melody in progress (state updated, nothing added).

    One melody (the original's schedule) uses the reference reward code,
    exactly the original's computation. Several melodies use the batched
    numpy code for the music-theory modes (equal values, tested) and the
    reference code per melody for the others.

    Args:
      observations, actions: int [B] previous and played notes.
      reward_logits, reward_log_probs: float [B, 38] Reward RNN logits and
        their log softmax.

    Returns:
      (total [B], note_rnn [B], music_theory [B]) float64 arrays.
    """
    if len(actions) > 1 and self.reward_mode in _BATCHED_MODES:
      note_rnn = _pick(reward_log_probs, actions)
      notes = np.array([c.notes for c in self._compositions], np.int64)
      notes = notes.reshape(len(self._compositions), -1)
      leap_state = rewards_batch.LeapState.from_compositions(
          self._compositions)
      music_theory, new_leap = rewards_batch.music_theory_reward_batch(
          notes, actions, leap_state, self.music_theory_config,
          beat=self._first().beat)
      for composition, (direction, leapt_from, steps) in zip(
          self._compositions, new_leap.to_tuples()):
        composition.direction = direction
        composition.leapt_from = leapt_from
        composition.steps_since_last_leap = steps
      music_theory = music_theory * self.reward_scaler
      total = music_theory + (note_rnn if self.reward_mode ==
                              'music_theory_all' else 0.0)
      return total, note_rnn, music_theory
    parts = [rewards.collect_reward(c, int(o), int(a), s, self.reward_mode,
                                    self.reward_scaler,
                                    self.music_theory_config)
             for c, o, a, s in zip(self._compositions, observations, actions,
                                   reward_logits)]
    return tuple(np.array(p, np.float64) for p in zip(*parts))

  def reward_from_reward_rnn_scores(self, action, reward_scores):
    """log p(action) under the Reward RNN's logits [38]."""
    return rewards.reward_from_reward_rnn_scores(action, reward_scores)

  def reward_music_theory(self, action):
    """Sum of all music-theory rewards; updates the leap state."""
    return rewards.music_theory_reward(self._first(), action,
                                       self.music_theory_config)

  def reward_scale(self, obs, action, scale=None):
    return rewards.reward_scale(obs, action, self._config(scale=scale))

  def reward_key_distribute_prob(self, action, key=None):
    return rewards.reward_key_distribute_prob(self._first(), action,
                                              self._config(key=key))

  def reward_key(self, action, penalty_amount=-1.0, key=None):
    return rewards.reward_key(self._first(), action, self._config(key=key),
                              penalty_amount=penalty_amount)

  def reward_tonic(self, action, tonic_note=None, reward_amount=3.0):
    return rewards.reward_tonic(self._first(), action,
                                self._config(tonic=tonic_note),
                                reward_amount=reward_amount)

  def reward_non_repeating(self, action):
    return rewards.reward_non_repeating(self._first(), action,
                                        self.music_theory_config)

  def detect_repeating_notes(self, action_note):
    return rewards.detect_repeating_notes(self._first(), action_note,
                                          self.music_theory_config)

  def reward_penalize_repeating(self, action, penalty_amount=-100.0):
    return rewards.reward_penalize_repeating(
        self._first(), action, self.music_theory_config,
        penalty_amount=penalty_amount)

  def reward_penalize_autocorrelation(self, action, penalty_weight=3.0):
    return rewards.reward_penalize_autocorrelation(
        self._first(), action, self.music_theory_config,
        penalty_weight=penalty_weight)

  def detect_last_motif(self, composition=None, bar_length=8):
    if composition is None:
      composition = self.composition
    return rewards.detect_last_motif(composition, bar_length=bar_length)

  def reward_motif(self, action, reward_amount=3.0):
    return rewards.reward_motif(self._first(), action,
                                self.music_theory_config,
                                reward_amount=reward_amount)

  def detect_repeated_motif(self, action, bar_length=8):
    return rewards.detect_repeated_motif(self._first(), action,
                                         bar_length=bar_length)

  def reward_repeated_motif(self, action, bar_length=8, reward_amount=4.0):
    return rewards.reward_repeated_motif(
        self._first(), action, self.music_theory_config,
        bar_length=bar_length, reward_amount=reward_amount)

  def detect_sequential_interval(self, action, key=None):
    return rewards.detect_sequential_interval(self._first(), action,
                                              self._config(key=key))

  def reward_preferred_intervals(self, action, scaler=5.0, key=None):
    return rewards.reward_preferred_intervals(
        self._first(), action, self._config(key=key), scaler=scaler)

  def detect_high_unique(self, composition):
    return rewards.detect_high_unique(composition)

  def detect_low_unique(self, composition):
    return rewards.detect_low_unique(composition)

  def reward_high_low_unique(self, action, reward_amount=3.0):
    return rewards.reward_high_low_unique(
        self._first(), action, self.music_theory_config,
        reward_amount=reward_amount)

  def detect_leap_up_back(self, action, steps_between_leaps=6):
    return rewards.detect_leap_up_back(
        self._first(), action, self.music_theory_config,
        steps_between_leaps=steps_between_leaps)

  def reward_leap_up_back(self, action, resolving_leap_bonus=5.0,
                          leaping_twice_punishment=-5.0):
    return rewards.reward_leap_up_back(
        self._first(), action, self.music_theory_config,
        resolving_leap_bonus=resolving_leap_bonus,
        leaping_twice_punishment=leaping_twice_punishment)

  # --- Replay and learning -------------------------------------------------

  def store(self, observation, state, action, reward, newobservation,
            newstate, new_reward_state):
    """Stores one transition (one-hot notes, flat states), every nth call."""
    if self.num_times_store_called % self.dqn_hparams.store_every_nth == 0:
      self.experience.add_batch(
          observation=[np.argmax(observation)],
          state=np.reshape(state, (1, -1)),
          action=[np.argmax(action)],
          reward=[reward],
          new_observation=[np.argmax(newobservation)],
          new_state=np.reshape(newstate, (1, -1)),
          new_reward_state=np.reshape(new_reward_state, (1, -1)))
    self.num_times_store_called += 1

  def _store_batch(self, transitions):
    """Stores B transitions, honouring store_every_nth per transition."""
    batch = len(transitions['action'])
    calls = self.num_times_store_called + np.arange(batch)
    keep = calls % self.dqn_hparams.store_every_nth == 0
    if keep.any():
      self.experience.add_batch(
          **{name: np.asarray(value)[keep]
             for name, value in transitions.items()})
    self.num_times_store_called += batch

  def training_step(self):
    """One call of the original's training step.

    Every `train_every_nth` call, once the replay holds a minibatch, samples
    `minibatch_size` transitions and takes one gradient step (then the soft
    target update).

    Returns:
      The step's loss, or None when this call took no step.
    """
    losses = self._train_for_calls(1)
    return float(losses[0]) if len(losses) else None

  def _train_for_calls(self, num_calls):
    """`num_calls` consecutive training-step calls, batched into one.

    The calls that fall on a multiple of `train_every_nth` each take one
    gradient step on their own minibatch (the replay does not change
    between them); all those steps run in one compiled call.

    Returns:
      Losses [K] of the K gradient steps taken.
    """
    hp = self.dqn_hparams
    calls = self.num_times_train_called + np.arange(num_calls)
    self.num_times_train_called += num_calls
    count = int(np.count_nonzero(calls % hp.train_every_nth == 0))
    if count == 0 or len(self.experience) < hp.minibatch_size:
      return np.zeros(0, np.float32)
    indices = np.stack([
        self.experience.sample_indices(hp.minibatch_size, self.rng)
        for _ in range(count)])
    minibatches = self.experience.gather(indices)
    losses, values = self.learner.train_steps_numpy(minibatches)
    for loss, value in zip(losses, values):
      if (self.iteration * hp.train_every_nth) % self.output_every_nth == 0:
        self.target_val_list.append(float(value))
      if self.summary_writer is not None and self.iteration % 100 == 0:
        with self.summary_writer.as_default():
          tf.summary.scalar('prediction_error', loss, step=self.iteration)
          tf.summary.scalar('mean_target_value', value, step=self.iteration)
      self.iteration += 1
    return losses

  def _environment_beat(self, exploration_period, enable_random):
    """Plays one note in every melody, stores the transitions.

    Returns:
      Rewards [B] of the notes played.
    """
    observations = self._last_obs
    q_state = self._q_state
    (scores, reward_logits, reward_log_probs, new_q_state,
     new_reward_state) = self._network_step(observations, q_state,
                                            self._reward_state)
    self.actions_executed_so_far += 1
    actions, next_obs = self._choose_actions(
        scores, exploration_period, enable_random,
        sample_next_obs=False, rng=self.rng)
    total, note_rnn, music_theory = self._collect_rewards(
        observations, next_obs, reward_logits, reward_log_probs)
    self._store_batch(dict(
        observation=observations, state=q_state, action=actions,
        reward=total.astype(np.float32), new_observation=next_obs,
        new_state=new_q_state, new_reward_state=new_reward_state))
    for composition, note in zip(self._compositions, next_obs):
      composition.append(note)
    self._last_obs = next_obs
    self._q_state = new_q_state
    self._reward_state = new_reward_state
    self.reward_last_n += float(total.sum())
    self.note_rnn_reward_last_n += float(note_rnn.sum())
    self.music_theory_reward_last_n += float(music_theory.sum())
    return total

  def train(self, num_steps=10000, exploration_period=5000,
            enable_random=True):
    """Acts, collects rewards, stores transitions and learns.

    Args:
      num_steps: environment steps to take (notes summed over the parallel
        melodies), rounded up to whole beats.
      exploration_period: environment steps over which epsilon anneals from
        1.0 to `random_action_probability`; counted over the tuner's life,
        so a resumed or repeated `train` continues the schedule.
      enable_random: False disables e-greedy exploration.
    """
    batch = self.num_parallel_melodies
    if self.env_steps == 0 and not self.eval_avg_reward:
      self.evaluate_model()
    # Exploration is annealed per environment step; actions are counted per
    # beat, so convert the period to beats.
    period_beats = exploration_period / batch
    self._exploration_period = period_beats
    start_steps = self.env_steps
    start_time = time.time()
    self.reset_composition()
    self.prime_internal_models()
    last_report = start_time
    while self.env_steps - start_steps < num_steps:
      self._environment_beat(period_beats, enable_random)
      before = self.env_steps
      self.env_steps += batch
      self._train_for_calls(batch)
      if self.env_steps // self.output_every_nth > (
          before // self.output_every_nth):
        self._end_of_block()
      if self._first().beat % self.num_notes_in_melody == 0:
        self.reset_composition()
        self.prime_internal_models()
      now = time.time()
      if now - last_report > 10.0:
        last_report = now
        self._report_progress(self.env_steps - start_steps, num_steps,
                              now - start_time)
    self._report_progress(self.env_steps - start_steps, num_steps,
                          time.time() - start_time)

  def _report_progress(self, done, total, elapsed):
    rate = done / elapsed if elapsed > 0 else float('nan')
    eta = (total - done) / rate if rate > 0 else float('nan')
    logger.info('step %d/%d  %.0f steps/s  ETA %.0f s  (env step %d)',
                done, total, rate, max(eta, 0.0), self.env_steps)

  def _end_of_block(self):
    """Every output_every_nth steps: evaluate, record, checkpoint."""
    self.evaluate_model()
    if self.algorithm == 'g':
      self.rewards_batched.append(
          self.music_theory_reward_last_n + self.note_rnn_reward_last_n)
    else:
      self.rewards_batched.append(self.reward_last_n)
    self.music_theory_rewards_batched.append(self.music_theory_reward_last_n)
    self.note_rnn_rewards_batched.append(self.note_rnn_reward_last_n)
    logger.info('Env step %d: reward for last %d steps %.2f (music theory '
                '%.2f, note rnn %.2f); eval per-note: log p %.3f, music '
                'theory %.3f; epsilon %.3f', self.env_steps,
                self.output_every_nth, self.rewards_batched[-1],
                self.music_theory_reward_last_n, self.note_rnn_reward_last_n,
                self.eval_avg_note_rnn_reward[-1],
                self.eval_avg_music_theory_reward[-1],
                self._exploration_probability(self._exploration_period))
    if self.summary_writer is not None:
      with self.summary_writer.as_default():
        for key in ('rewards_batched', 'music_theory_rewards_batched',
                    'note_rnn_rewards_batched', 'eval_avg_reward',
                    'eval_avg_music_theory_reward',
                    'eval_avg_note_rnn_reward'):
          tf.summary.scalar(key, getattr(self, key)[-1], step=self.env_steps)
    self.reward_last_n = 0.0
    self.music_theory_reward_last_n = 0.0
    self.note_rnn_reward_last_n = 0.0
    self.save_model(self.algorithm)

  # --- Composing without learning ----------------------------------------------

  def _rollout(self, num_compositions, length, rng, sample=True,
               with_rewards=False, record_probabilities=False):
    """Composes melodies from fresh primings, without exploration.

    Args:
      num_compositions: N melodies, composed together in one batch.
      length: steps per melody.
      rng: numpy Generator for priming and sampling.
      sample: True: sample each note from the policy's softmax; False: argmax.
      with_rewards: also return each melody's summed log p(a|s) under the
        Reward RNN and summed (unscaled) music-theory reward, float64 [N].
      record_probabilities: also return the policy's softmax, [N, L, 38].

    Returns:
      dict with 'notes' int [N, L] and the optional entries 'note_rnn',
      'music_theory', 'probabilities'.
    """
    observations, q_state, reward_state = self._prime_batch(
        num_compositions, rng)
    notes = np.zeros((num_compositions, length), np.int64)
    result = {'notes': notes}
    if with_rewards:
      leap_state = rewards_batch.LeapState.initial(num_compositions)
      result['note_rnn'] = np.zeros(num_compositions)
      result['music_theory'] = np.zeros(num_compositions)
    if record_probabilities:
      result['probabilities'] = np.zeros(
          (num_compositions, length, self.num_actions))
    for t in range(length):
      (scores, _, reward_log_probs, q_state,
       reward_state) = self._network_step(observations, q_state,
                                          reward_state)
      probabilities = _softmax(scores)
      if sample:
        chosen = sample_classes(probabilities, rng)
      else:
        chosen = np.argmax(scores, axis=-1)
      if with_rewards:
        result['note_rnn'] += _pick(reward_log_probs, chosen)
        music_theory, leap_state = rewards_batch.music_theory_reward_batch(
            notes[:, :t], chosen, leap_state, self.music_theory_config,
            beat=t)
        result['music_theory'] += music_theory
      if record_probabilities:
        result['probabilities'][:, t] = probabilities
      notes[:, t] = chosen
      observations = chosen
    return result

  def generate_compositions(self, num_compositions, composition_length=None,
                            sample=True):
    """Composes many melodies in batches (for statistics).

    Each melody starts from a fresh priming (the priming mode's) and its
    notes are the policy's, sampled from its softmax (or argmax), without
    exploration.

    Returns:
      int array [num_compositions, composition_length] of classes.
    """
    length = composition_length or self.num_notes_in_melody
    chunks = []
    for start in range(0, num_compositions, GENERATION_CHUNK):
      size = min(GENERATION_CHUNK, num_compositions - start)
      chunks.append(self._rollout(size, length, self.rng, sample)['notes'])
    if not chunks:
      return np.zeros((0, length), np.int64)
    return np.concatenate(chunks)

  def evaluate_model(self, num_trials=None, sample_next_obs=True):
    """Composes `num_trials` melodies and records their mean rewards.

    Appends to eval_avg_note_rnn_reward the mean per-note log p(a|s), to
    eval_avg_music_theory_reward the mean per-note music-theory reward times
    reward_scaler, and to eval_avg_reward their sum. (The original kept only
    each melody's last note.) Does not touch the melodies in progress or the
    exploration schedule.
    """
    num_trials = num_trials or self.num_eval_compositions
    result = self._rollout(num_trials, self.num_notes_in_melody, self.rng,
                           sample=sample_next_obs, with_rewards=True)
    per_note = 1.0 / self.num_notes_in_melody
    note_rnn = float(np.mean(result['note_rnn']) * per_note)
    music_theory = float(np.mean(result['music_theory']) * per_note *
                         self.reward_scaler)
    self.eval_avg_note_rnn_reward.append(note_rnn)
    self.eval_avg_music_theory_reward.append(music_theory)
    self.eval_avg_reward.append(note_rnn + music_theory)
    return note_rnn, music_theory

  def generate_music_sequence(self, title='rltuner_sample',
                              visualize_probs=False, prob_image_name=None,
                              length=None, most_probable=False):
    """Composes one melody and writes it as MIDI into output_dir.

    Args:
      title: MIDI file name stem; a number is appended if it exists.
      visualize_probs: also save a heatmap of the policy's note
        probabilities at each step as a PNG.
      prob_image_name: the heatmap's file name (default `<title>.png`).
      length: steps (default num_notes_in_melody).
      most_probable: argmax instead of sampling.

    Returns:
      (list of class ints, path of the MIDI file).
    """
    length = length or self.num_notes_in_melody
    result = self._rollout(1, length, self.rng, sample=not most_probable,
                           record_probabilities=visualize_probs)
    notes = [int(n) for n in result['notes'][0]]
    logger.info('Generated sequence: %s', notes)
    path = get_next_file_name(self.output_dir, title, 'mid')
    encoding.classes_to_midi_file(notes, path)
    if visualize_probs:
      image = prob_image_name or title + '.png'
      plot_note_probabilities(result['probabilities'][0], notes,
                              os.path.join(self.output_dir, image))
    return notes, path

  def evaluate_music_theory_metrics(self, num_compositions=10000, key=None,
                                    tonic_note=rl_tuner_ops.C_MAJOR_TONIC):
    """Statistics of `num_compositions` melodies (the original's stat dict)."""
    return rl_tuner_eval_metrics.compute_composition_stats(
        self, num_compositions=num_compositions,
        composition_length=self.num_notes_in_melody, key=key,
        tonic_note=tonic_note)

  # --- Saving and restoring -------------------------------------------------

  def _training_state(self):
    return {
        'format_version': 1,
        'algorithm': self.algorithm,
        'reward_mode': self.reward_mode,
        'num_parallel_melodies': self.num_parallel_melodies,
        'counters': {
            'env_steps': self.env_steps,
            'actions_executed_so_far': self.actions_executed_so_far,
            'num_times_store_called': self.num_times_store_called,
            'num_times_train_called': self.num_times_train_called,
            'iteration': self.iteration,
        },
        'accumulators': {
            'reward_last_n': self.reward_last_n,
            'music_theory_reward_last_n': self.music_theory_reward_last_n,
            'note_rnn_reward_last_n': self.note_rnn_reward_last_n,
        },
        'history': {key: [float(v) for v in getattr(self, key)]
                    for key in HISTORY_KEYS},
        'rng_state': self.rng.bit_generator.state,
    }

  def _checkpoint_root(self, directory=None):
    return os.path.join(directory or self.output_dir, CHECKPOINT_SUBDIR)

  def save_model(self, name, directory=None):
    """Checkpoints the three networks, Adam and the training state.

    Writes `<directory>/checkpoints/<name>-<env_steps>/` atomically (a
    temporary directory renamed into place), keeps the newest
    CHECKPOINTS_TO_KEEP, and writes the reward history .npz.
    Returns the checkpoint directory.
    """
    root = self._checkpoint_root(directory)
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f'{name}-{self.env_steps}')
    staging = tempfile.mkdtemp(dir=root, prefix='.tmp-')
    try:
      self._checkpoint.write(os.path.join(staging, 'ckpt'))
      with open(os.path.join(staging, 'training_state.json'), 'w') as f:
        json.dump(self._training_state(), f)
      if os.path.isdir(final):
        shutil.rmtree(final)
      os.replace(staging, final)
    except BaseException:
      shutil.rmtree(staging, ignore_errors=True)
      raise
    for old in list_checkpoints(root)[:-CHECKPOINTS_TO_KEEP]:
      shutil.rmtree(old, ignore_errors=True)
    self.save_stored_rewards(name, directory)
    return final

  def save_stored_rewards(self, file_name, directory=None):
    """Writes the reward histories to `<file_name>-<env_steps>.npz`."""
    path = os.path.join(directory or self.output_dir,
                        f'{file_name}-{self.env_steps}.npz')
    buffer = io.BytesIO()
    np.savez(buffer, **{_NPZ_NAMES[key]: np.asarray(getattr(self, key))
                        for key in HISTORY_KEYS})
    encoding.write_file_atomically(path, buffer.getvalue())
    return path

  def restore_from_directory(self, directory=None, checkpoint_name=None,
                             reward_file_name=None):
    """Restores networks, Adam, counters and histories from a checkpoint.

    Args:
      directory: the output directory of a run (default output_dir), or a
        checkpoint directory itself.
      checkpoint_name: a checkpoint directory name inside
        `<directory>/checkpoints`; default: the newest.
      reward_file_name: optional .npz history file (the original's format)
        to load instead of the checkpoint's own histories.

    Returns:
      The checkpoint directory restored from.

    Raises:
      FileNotFoundError: no checkpoint there.
      RLTunerError: the checkpoint is of another algorithm.
    """
    directory = directory or self.output_dir
    if os.path.isfile(os.path.join(directory, 'training_state.json')):
      path = directory
    elif checkpoint_name is not None:
      path = os.path.join(self._checkpoint_root(directory), checkpoint_name)
    else:
      found = list_checkpoints(self._checkpoint_root(directory))
      if not found:
        raise FileNotFoundError(
            f'no RL Tuner checkpoint in {self._checkpoint_root(directory)}')
      path = found[-1]
    if not os.path.isfile(os.path.join(path, 'training_state.json')):
      raise FileNotFoundError(f'no RL Tuner checkpoint at {path}')
    with open(os.path.join(path, 'training_state.json')) as f:
      state = json.load(f)
    # Q, Psi and G values mean different things: never continue one as
    # another.
    if state.get('algorithm', self.algorithm) != self.algorithm:
      raise RLTunerError(
          f'checkpoint {path} was trained with algorithm '
          f"{state['algorithm']!r}; this tuner uses {self.algorithm!r}")
    self._checkpoint.read(os.path.join(path, 'ckpt')).assert_consumed()
    for key, value in state['counters'].items():
      setattr(self, key, int(value))
    for key, value in state['accumulators'].items():
      setattr(self, key, float(value))
    for key in HISTORY_KEYS:
      setattr(self, key, list(state['history'][key]))
    self.rng.bit_generator.state = state['rng_state']
    if reward_file_name is not None:
      with np.load(os.path.join(directory, reward_file_name)) as npz:
        for key in HISTORY_KEYS:
          setattr(self, key, [float(v) for v in npz[_NPZ_NAMES[key]]])
    logger.info('Restored RL Tuner from %s (env step %d)', path,
                self.env_steps)
    return path

  # --- Figures ---------------------------------------------------------------

  def _figure_path(self, image_name, directory, default):
    return os.path.join(directory or self.output_dir, image_name or default)

  def save_model_and_figs(self, name, directory=None):
    """Checkpoint, reward history and the three PNG plots."""
    self.save_model(name, directory=directory)
    self.plot_rewards(f'TrainRewards-{name}.png', directory)
    self.plot_evaluation(f'EvaluationRewards-{name}.png', directory)
    self.plot_target_vals(f'TargetVals-{name}.png', directory)

  def _steps_axis(self, count, offset=0):
    return [self.output_every_nth * (i + offset) for i in range(count)]

  def plot_rewards(self, image_name=None, directory=None):
    """PNG of the summed training rewards per block of output_every_nth."""
    x = self._steps_axis(len(self.rewards_batched), offset=1)
    return _save_line_plot(
        self._figure_path(image_name, directory, 'TrainRewards.png'), x,
        {'Total': self.rewards_batched,
         'Music theory': self.music_theory_rewards_batched,
         'Note RNN': self.note_rnn_rewards_batched},
        'Environment steps',
        f'Reward summed over {self.output_every_nth} steps',
        f'Training rewards ({self.algorithm})')

  def plot_evaluation(self, image_name=None, directory=None,
                      start_at_epoch=0):
    """PNG of the per-note evaluation rewards over training."""
    start = int(start_at_epoch // self.output_every_nth)
    x = self._steps_axis(len(self.eval_avg_reward))[start:]
    return _save_line_plot(
        self._figure_path(image_name, directory, 'EvaluationRewards.png'), x,
        {'Total': self.eval_avg_reward[start:],
         'Music theory (scaled)': self.eval_avg_music_theory_reward[start:],
         'Note RNN log p(a|s)': self.eval_avg_note_rnn_reward[start:]},
        'Environment steps', 'Mean reward per note',
        f'Evaluation ({self.algorithm}, {self.num_eval_compositions} '
        'compositions)')

  def plot_target_vals(self, image_name=None, directory=None):
    """PNG of the mean next-state value of sampled minibatches."""
    x = self._steps_axis(len(self.target_val_list))
    return _save_line_plot(
        self._figure_path(image_name, directory, 'TargetVals.png'), x,
        {'Target value': self.target_val_list}, 'Environment steps',
        'Mean next-state value', f'Target values ({self.algorithm})')


def get_next_file_name(directory, prefix, extension):
  """`directory/prefix.extension`, or prefix1, prefix2... if it exists."""
  name = os.path.join(directory, f'{prefix}.{extension}')
  i = 0
  while os.path.exists(name):
    i += 1
    name = os.path.join(directory, f'{prefix}{i}.{extension}')
  return name


def list_checkpoints(root):
  """Checkpoint directories in `root`, oldest first (by environment step)."""
  if not os.path.isdir(root):
    return []
  found = []
  for entry in os.listdir(root):
    match = _CHECKPOINT_RE.match(entry)
    path = os.path.join(root, entry)
    if match and os.path.isfile(os.path.join(path, 'training_state.json')):
      found.append((int(match.group('step')), path))
  return [path for _, path in sorted(found)]


def _save_line_plot(path, x, series, xlabel, ylabel, title):
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
  _save_figure(figure, path)
  return path


def _save_figure(figure, path):
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
  _save_figure(figure, path)
  return path
