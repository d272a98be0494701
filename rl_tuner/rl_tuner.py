"""The RL Tuner: a recurrent DQN that tunes a Note RNN with music theory.

Three copies of one Note RNN play three roles:
  * `q_network`: the online value network, trained by Q, Psi or G learning;
  * `target_q_network`: a slowly following copy that supplies the TD targets;
  * `reward_rnn`: a frozen copy whose log p(a|s) keeps the tuned model close
    to what the Note RNN learned from data.

`RLTuner` is a facade with the original Magenta class's public names, so code
written against `magenta.models.rl_tuner.rl_tuner.RLTuner` ports by changing
the import. It puts together, and holds nothing of their work:
  run.settings          the run's settings, checked once;
  env.melody_env        the B melodies in progress and their rewards;
  rewards.reward_api    the rewards (built-in modes plus the user's own);
  agents.registry       the algorithm's row, which names its agent
                        (agents.dqn.dqn_agent for q, psi, g and pure RL);
  run.runner            the training loop, evaluation and checkpoint timing;
  env.priming, evaluation.rollout   starting and composing melodies;
  magenta.*             the original's one-melody, reward and output methods.
Deliberate differences from the original are listed in BUILD.md.
"""

import dataclasses
import logging
import os

import numpy as np
import tensorflow as tf

from note_rnn import audio
from note_rnn import encoding
from note_rnn.model import hparams as note_rnn_hparams_lib
from note_rnn.model import note_rnn_model
from note_rnn.model import sampling
from note_rnn.runtime import progress as progress_lib
from rl_tuner.agents import exploration as policy
from rl_tuner.agents import registry
from rl_tuner.env import melody_env
from rl_tuner.env import priming
from rl_tuner.evaluation import rollout
from rl_tuner.evaluation import statistics
from rl_tuner.magenta import attributes
from rl_tuner.magenta import output_methods as rl_tuner_outputs
from rl_tuner.magenta import reward_methods as rl_tuner_compat
from rl_tuner.reports import plots
from rl_tuner.run import checkpointer
from rl_tuner.run import resume_settings
from rl_tuner.run import reward_history
from rl_tuner.run import runner as runner_lib
from rl_tuner.run import settings as settings_lib

logger = logging.getLogger(__name__)

EXPLORATION_MODES = policy.EXPLORATION_MODES
PRIMING_MODES = priming.PRIMING_MODES
NOTE_RNN_TYPES = note_rnn_hparams_lib.NOTE_RNN_TYPES
TRAIN_SEQUENCE_LENGTH = priming.TRAIN_SEQUENCE_LENGTH
# The original's names of classes 0 and 1 (its labels; see music_theory).
NOTE_OFF, NO_EVENT = 0, 1
GENERATION_CHUNK = rollout.CHUNK
# Melodies of each evaluation logged to TensorBoard as audio.
EVAL_AUDIO_MELODIES = 3
CHECKPOINT_SUBDIR = checkpointer.SUBDIR
CHECKPOINTS_TO_KEEP = checkpointer.KEEP
list_checkpoints = checkpointer.list_checkpoints
HISTORY_KEYS = reward_history.HISTORY_KEYS
TERM_HISTORY_KEYS = reward_history.TERM_HISTORY_KEYS

RLTunerError = settings_lib.UsageError
primer_classes = priming.melody_pipeline.primer_classes
sample_classes = sampling.sample_classes
get_next_file_name = rl_tuner_compat.get_next_file_name
reload_files = rl_tuner_compat.reload_files
plot_note_probabilities = plots.plot_note_probabilities


class RLTuner(attributes.OriginalAttributes,
              rl_tuner_compat.OriginalRewardMethods,
              rl_tuner_compat.OriginalGraphNames,
              rl_tuner_outputs.OriginalOutputMethods):
  """Tunes a Note RNN by reinforcement learning (Q, Psi, G or pure RL).

  Attributes (the original's names):
    q_network, target_q_network, reward_rnn: `note_rnn_loader.
      NoteRNNLoader`s (NoteRNNs with the original loader's methods).
    experience: the replay buffer (`replay_buffer.ReplayBuffer`).
    composition, beat, composition_direction, leapt_from,
      steps_since_last_leap: the first melody in progress.
    rewards_batched, music_theory_rewards_batched, note_rnn_rewards_batched:
      summed training rewards of each block of `output_every_nth` steps.
    eval_avg_reward, eval_avg_music_theory_reward, eval_avg_note_rnn_reward:
      per-note means over the evaluation compositions, one per evaluation.
    target_val_list: mean next-state value of a training minibatch, sampled
      every `output_every_nth` steps.
    dqn_hparams: `DQNHParams`.
    output_dir: where checkpoints, plots, histories and MIDI go.
    reward_mode, reward_scaler, exploration_mode, stochastic_observations,
      output_every_nth: take effect from the next call when assigned, as in
      the original. algorithm, dqn_hparams, priming_mode, midi_primer,
      training_file_list, num_notes_in_melody, note_rnn_type,
      num_parallel_melodies and seed are fixed by the constructor:
      assigning one raises RLTunerError naming the argument to use.
  New:
    settings: the run's `settings.TrainSettings` (kept in step with the
      attributes assigned later).
    algorithm_spec: the algorithm's `registry.AlgorithmSpec`.
    agent: its agent (`dqn_agent.DQNAgent` for the DQN family).
    runner: the `runner.Runner` that trains it.
    env: the `melody_env.MelodyEnv` of the melodies in progress.
    reward_set: the run's `reward_api.RewardSet`.
    term_rewards_batched, eval_avg_term_rewards: dict term name -> history
      of that term's share of the reward (after weight and reward_scaler).
    note_rnn_identity: {'sha256': digest of the weights, 'path'} of the
      Note RNN the tuner started from (checkpoints record it; a resumed run
      must start from the same).
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
               input_size=encoding.NUM_CLASSES,
               num_actions=encoding.NUM_CLASSES,
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
               num_eval_compositions=100,
               rewards=None,
               reward_weights=None,
               settings=None,
               resolved=None,
               xla_updates=False,
               reward_rnn_trainable=False):
    """Sets up the tuner; see the class docstring and BUILD.md.

    Args (beyond the original's, which keep their meaning):
      num_parallel_melodies: B melodies composed side by side; step counts
        (`train`, `output_every_nth`) count environment steps (notes), so
        settings mean the same for any B.
      seed: seed of every random choice.
      music_theory_config: `rewards.MusicTheoryConfig` (key, tonic, label
        convention); default C major with the original's labels.
      num_eval_compositions: compositions per `evaluate_model` call.
      rewards: more rewards (functions (state, actions) -> float [B],
        classes, `reward_api.Reward`s or spec strings), added to the mode's.
      reward_weights: dict or 'name=weight,...' string of term weights.
      settings: a `settings.TrainSettings` to build from instead of the
        arguments above (the objects among them still apply).
      resolved: `settings.resolve(settings)` if the caller already has it.
      xla_updates: compile the gradient steps with XLA (seconds of
        compiling per tuner; a third less time per update).
      reward_rnn_trainable: g only: the original code's G update, which
        also trains the Reward RNN (its defect 7; BUILD.md).

    Raises:
      RLTunerError (a ValueError): a setting that cannot work, naming it.
    """
    if input_size != encoding.NUM_CLASSES or (
        num_actions != encoding.NUM_CLASSES):
      raise RLTunerError(
          f'input_size and num_actions must be {encoding.NUM_CLASSES} '
          f'(the melody encoding); got {input_size} and {num_actions}')
    if settings is None:
      settings = settings_lib.from_arguments(locals())
      if isinstance(note_rnn_hparams, str):
        note_rnn_hparams = None
    if resolved is None:
      resolved = settings_lib.resolve(
          settings, dqn_hparams=dqn_hparams,
          music_theory_config=music_theory_config,
          note_rnn_hparams=note_rnn_hparams,
          training_files=training_file_list, rewards_extra=rewards or (),
          check_output_dir=False)
    self.settings = settings
    self.output_dir = output_dir or settings.output_dir
    self.save_name = save_name
    self.save_path = os.path.join(self.output_dir, save_name)
    self.algorithm_spec = registry.get(settings.algorithm)
    self.algorithm = self.algorithm_spec.name
    self.reward_set = resolved.reward_set
    self.dqn_hparams = resolved.dqn_hparams
    self.music_theory_config = resolved.music_theory_config
    self.note_rnn_hparams = resolved.note_rnn_hparams
    self.training_file_list = resolved.training_files
    self.note_rnn_checkpoint_file = resolved.checkpoint
    self.note_rnn_checkpoint_dir = settings.note_rnn_checkpoint_dir or None
    self.midi_primer = settings.midi_primer or None
    self.input_size = self.num_actions = encoding.NUM_CLASSES
    for name in ('priming_mode', 'note_rnn_type', 'num_notes_in_melody',
                 'num_parallel_melodies', 'num_eval_compositions', 'seed'):
      setattr(self, name, getattr(settings, name))
    self.rng = np.random.default_rng(self.seed)
    self.history = reward_history.RewardHistory(self.reward_set)
    self.env = melody_env.MelodyEnv(self.num_parallel_melodies,
                                    self.music_theory_config,
                                    self.reward_set.bind())
    # The live attributes, stored directly: nothing is built from them yet.
    self.__dict__.update(
        reward_mode=self.reward_set.mode,
        reward_scaler=settings.reward_scaler,
        exploration_mode=settings.exploration_mode,
        stochastic_observations=settings.stochastic_observations,
        output_every_nth=settings.output_every_nth)
    self._summary_writer = summary_writer
    self.eval_melodies = None
    self.q_network = self.agent = self.runner = None
    self.note_rnn_identity = None
    if initialize_immediately:
      self.initialize_internal_models_graph_session()

  # --- Set-up ----------------------------------------------------------------

  def initialize_internal_models_graph_session(self,
                                               restore_from_checkpoint=True):
    """Builds the three networks, the agent, the priming data and the Runner.

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
      path = self.note_rnn_checkpoint_file
      try:
        source = note_rnn_model.NoteRNN.load(path,
                                             hparams=self.note_rnn_hparams)
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
    # The Note RNN the run starts from, as checkpoints record it.
    self.note_rnn_identity = {
        'sha256': resume_settings.weights_digest(source.get_weights()),
        'path': (self.note_rnn_checkpoint_file or 'embedded default'
                 if restore_from_checkpoint else 'random weights')}
    self.q_network, self.target_q_network, self.reward_rnn = (
        rl_tuner_compat.tuner_networks(self, source))
    spec = self.algorithm_spec
    self.agent = spec.agent_class().build(
        self.q_network, self.target_q_network, self.reward_rnn,
        self.settings, self.dqn_hparams, self.rng, **spec.agent_options)
    self._checkpoint = tf.train.Checkpoint(**self.agent.trackables())
    try:
      primer = priming.Primer(
          self.priming_mode, self.q_network, self.num_actions,
          training_files=self.training_file_list,
          midi_primer=self.midi_primer, rng=self.rng)
    except priming.PrimingError as e:
      raise RLTunerError(str(e)) from e
    self.runner = runner_lib.Runner(
        self.env, self.agent, primer, self.history, self.rng,
        evaluate=self._evaluate_for_runner, save=self._save_for_runner,
        final_epsilon=self.dqn_hparams.random_action_probability,
        num_notes_in_melody=self.num_notes_in_melody,
        output_every_nth=self.output_every_nth,
        records_log_p_in_total=spec.records_log_p_in_total,
        audio_settings=self.settings, summary_writer=self._summary_writer)
    batch = self.num_parallel_melodies
    self.agent.begin_melodies(
        np.zeros(batch, np.int64),
        np.zeros((batch, self.q_network.state_size), np.float32),
        np.zeros((batch, self.reward_rnn.state_size), np.float32))

  # --- Parts, under the original's names -------------------------------------

  learner = property(lambda self: self.agent.learner,
                     doc='The DQN learner (compiled act / train steps).')
  experience = property(lambda self: self.agent.experience,
                        doc='The replay buffer.')
  primer = attributes.forward('runner', 'primer', 'How each melody starts.')
  _q_state = attributes.forward('agent', 'policy_state',
                      "Q-network LSTM states [B, Sq] of the melodies.")
  _reward_state = attributes.forward('agent', 'prior_state',
                           'Reward RNN LSTM states [B, Sr].')
  env_steps = attributes.forward('runner', 'env_steps', 'Environment steps taken.')
  actions_executed_so_far = attributes.forward(
      'runner', 'beats', 'Beats taken (the exploration clock).')
  num_times_store_called = attributes.forward(
      'agent', 'num_times_store_called', 'Transitions offered to replay.')
  num_times_train_called = attributes.forward(
      'agent', 'num_times_train_called', 'Steps offered to training.')
  iteration = attributes.forward('agent', 'iteration', 'Gradient steps taken.')

  @property
  def summary_writer(self):
    """TensorBoard writer (tf.summary), or None."""
    return self._summary_writer

  @summary_writer.setter
  def summary_writer(self, writer):
    self._summary_writer = writer
    if self.runner is not None:
      self.runner.summary_writer = writer

  def prime_internal_models(self):
    """Primes every melody in progress; returns melody 0's first observation.

    Returns:
      One-hot [38] of the note the first melody starts from.
    """
    observations, policy_state, prior_state = self.primer.prime(
        self.num_parallel_melodies, self.rng)
    self.env.previous = observations
    self.agent.begin_melodies(observations, policy_state, prior_state)
    return encoding.classes_to_onehot(observations[0])

  def reset_composition(self):
    """Starts every melody over at beat 0 with no notes and no leap."""
    self.env.reset(self.env.previous)

  # --- Acting -----------------------------------------------------------------

  def exploration_probability(self, exploration_period=None):
    """Epsilon of e-greedy exploration now (after the actions so far).

    Args:
      exploration_period: beats (actions) over which epsilon anneals from 1
        to `random_action_probability`; default that of the last `train`.
    """
    return self.runner.epsilon(exploration_period)

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
    if len(observations) != self.num_parallel_melodies and not single:
      raise RLTunerError(f'action got {len(observations)} observations; the '
                         f'tuner has {self.num_parallel_melodies} melodies')
    if single:
      observations = np.repeat(observations, self.num_parallel_melodies)
    self.runner.beats += 1
    self.learner.sync_acting_weights()  # Called from user loops: any change.
    scores, reward_logits, self._q_state, self._reward_state = (
        self.learner.act_numpy(observations, self._q_state,
                               self._reward_state))
    epsilon = (self.exploration_probability(exploration_period)
               if enable_random and self.exploration_mode == 'egreedy'
               else 0.0)
    actions, next_obs = self.agent.choose(scores, epsilon, sample_next_obs)
    if single:
      return (encoding.classes_to_onehot(actions[0]), encoding.classes_to_onehot(next_obs[0]),
              reward_logits[0])
    return encoding.classes_to_onehot(actions), encoding.classes_to_onehot(next_obs), reward_logits

  # --- Replay and learning -------------------------------------------------

  def store(self, observation, state, action, reward, newobservation,
            newstate, new_reward_state):
    """Stores one transition (one-hot notes, flat states), every nth call."""
    self.agent.store_transitions(dict(
        observation=[np.argmax(observation)],
        state=np.reshape(state, (1, -1)), action=[np.argmax(action)],
        reward=[reward], new_observation=[np.argmax(newobservation)],
        new_state=np.reshape(newstate, (1, -1)),
        new_reward_state=np.reshape(new_reward_state, (1, -1))))

  def training_step(self):
    """One call of the original's training step.

    Every `train_every_nth` call, once the replay holds a minibatch, samples
    `minibatch_size` transitions and takes one gradient step (then the soft
    target update).

    Returns:
      The step's loss, or None when this call took no step.
    """
    losses = self.runner.learn(1).losses
    return float(losses[0]) if len(losses) else None

  def train(self, num_steps=10000, exploration_period=5000,
            enable_random=True):
    """Acts, collects rewards, stores transitions and learns (the Runner).

    Args:
      num_steps: environment steps to take (notes summed over the parallel
        melodies), rounded up to whole beats.
      exploration_period: environment steps over which epsilon anneals from
        1.0 to `random_action_probability`; counted over the tuner's life,
        so a resumed or repeated `train` continues the schedule.
      enable_random: False disables e-greedy exploration.
    """
    self.runner.train(num_steps, exploration_period, enable_random)

  def _evaluate_for_runner(self):
    self.evaluate_model()
    return self.eval_melodies

  def _save_for_runner(self):
    self.save_model(self.algorithm)

  # --- Composing without learning ----------------------------------------------

  def _compose(self, num, length, **kwargs):
    return rollout.compose(self.agent.policy, self.primer,
                           self.music_theory_config, num, length, self.rng,
                           **kwargs)

  def generate_compositions(self, num_compositions, composition_length=None,
                            sample=True):
    """Composes many melodies from fresh primings, without exploration.

    Returns:
      int array [num_compositions, composition_length] of classes.
    """
    return rollout.compose_many(
        self.agent.policy, self.primer, self.music_theory_config,
        num_compositions, composition_length or self.num_notes_in_melody,
        self.rng, sample)

  def evaluate_model(self, num_trials=None, sample_next_obs=True):
    """Composes `num_trials` melodies and records their mean rewards.

    Appends per-note means: log p(a|s) to eval_avg_note_rnn_reward, the
    rest of the reward (reward_scaler on) to eval_avg_music_theory_reward,
    their sum to eval_avg_reward, and each term to eval_avg_term_rewards.
    (The original kept only each melody's last note.) Does not touch the
    melodies in progress or the exploration schedule.
    """
    num_trials = num_trials or self.num_eval_compositions
    result = self._compose(
        num_trials, self.num_notes_in_melody, sample=sample_next_obs,
        reward_set=self.reward_set, reward_costs=self.env.rewards.costs,
        progress=progress_lib.Task(
            f'evaluation at env step {self.env_steps:,} ({num_trials:,} '
            'melodies)', num_trials * self.num_notes_in_melody))
    self.eval_melodies = result['notes'][:EVAL_AUDIO_MELODIES]
    per_note = 1.0 / self.num_notes_in_melody
    note_rnn = float(np.mean(result['note_rnn']) * per_note)
    music_theory = float(np.mean(result['music_theory']) * per_note)
    self.history.record_evaluation(note_rnn, music_theory,
                                   result['terms'].mean(axis=1) * per_note)
    return note_rnn, music_theory

  def generate_music_sequence(self, title='rltuner_sample',
                              visualize_probs=False, prob_image_name=None,
                              length=None, most_probable=False,
                              overwrite=False):
    """Composes one melody and writes it as MIDI into output_dir.

    Args:
      title: MIDI file name stem; a number is appended if it exists, unless
        `overwrite`.
      visualize_probs: also save a heatmap of the policy's note
        probabilities at each step as a PNG.
      prob_image_name: the heatmap's file name (default `<title>.png`).
      length: steps (default num_notes_in_melody).
      most_probable: argmax instead of sampling.
      overwrite: write `<title>.mid`, replacing a file of that name (what a
        resumed run does).

    Returns:
      (list of class ints, path of the MIDI file).
    """
    result = self._compose(1, length or self.num_notes_in_melody,
                           sample=not most_probable,
                           record_probabilities=visualize_probs)
    notes = [int(n) for n in result['notes'][0]]
    logger.debug('Generated sequence: %s', notes)
    path = (os.path.join(self.output_dir, title + '.mid') if overwrite else
            get_next_file_name(self.output_dir, title, 'mid'))
    audio.classes_to_midi_file(notes, path)
    if visualize_probs:
      image = prob_image_name or title + '.png'
      plots.plot_note_probabilities(result['probabilities'][0], notes,
                                    os.path.join(self.output_dir, image))
    return notes, path

  def statistics_config(self, key=None, tonic_note=None):
    """The MusicTheoryConfig statistics judge by: the run's, or an explicit
    key (classes) and tonic with the run's labels and melody length."""
    config = self.music_theory_config
    if key is not None:
      config = dataclasses.replace(config, key=tuple(key))
    if tonic_note is not None:
      config = dataclasses.replace(config, tonic=int(tonic_note))
    return config

  def evaluate_music_theory_metrics(self, num_compositions=10000, key=None,
                                    tonic_note=None):
    """Statistics of `num_compositions` melodies (the original's stat dict),
    judged in the run's key, tonic and labels unless key / tonic_note say
    otherwise."""
    return statistics.compute_composition_stats(
        self, num_compositions=num_compositions,
        composition_length=self.num_notes_in_melody,
        config=self.statistics_config(key, tonic_note))


for _name in (reward_history.HISTORY_KEYS + reward_history.TERM_HISTORY_KEYS
              + reward_history.ACCUMULATOR_KEYS):
  setattr(RLTuner, _name, reward_history.delegate(_name))
