"""The training loop: the Runner drives any Agent through the melodies.

The Runner owns what every algorithm shares:
  * the loop over beats of B melodies: priming, `agent.act`, the
    environment's rewards, `agent.observe`, `agent.update`, and
    `agent.begin_melodies` / `agent.end_melodies` at melody boundaries;
  * the exploration schedule (ε anneals linearly from 1 over the
    exploration period, counted in beats);
  * evaluation every `output_every_nth` environment steps, and the
    checkpoint that follows when the melodies in progress end (where a
    resumed run can continue exactly);
  * progress (rate and ETA every 10 s, on the process's one progress clock,
    so an evaluation's lines keep the beat), what each of the user's
    rewards costs, and TensorBoard;
  * where a user's reward failed: a `reward_api.RewardCallError` leaves
    with the environment step (or the evaluation) in its message.

The agent never imports the Runner. Evaluating and checkpointing are the
caller's (`evaluate`, `save` callables), so the Runner knows nothing of the
tuner above it. A step counts one note of one melody (an environment step),
so the same settings mean the same for any B.
"""

import logging
import time

import tensorflow as tf

from note_rnn import audio
from note_rnn.model import lstm_cell
from note_rnn.runtime import durations
from note_rnn.runtime import progress as progress_lib
from rl_tuner.agents import exploration
from rl_tuner.rewards import reward_api

logger = logging.getLogger(__name__)

# Seconds between progress lines (the first comes after 3 s).
PROGRESS_SECONDS = progress_lib.PERIOD_S
# Gradient steps between two TensorBoard points of the loss.
LOSS_LOG_EVERY = 100


class Runner:
  """Trains an agent on B melodies of a `MelodyEnv`.

  Attributes:
    env_steps: environment steps taken over the run's life.
    beats: beats (actions of all B melodies) taken, the exploration
      schedule's clock (the original's `actions_executed_so_far`).
    exploration_period: beats over which ε anneals (set by `train`).
    output_every_nth, num_notes_in_melody: evaluation period in
      environment steps; melody length in steps. Changes take effect at the
      next beat.
    summary_writer: TensorBoard writer or None.
  """

  def __init__(self, env, agent, primer, history, rng, *, evaluate, save,
               final_epsilon, num_notes_in_melody, output_every_nth,
               records_log_p_in_total, audio_settings=None,
               summary_writer=None):
    """Args:
      env: `melody_env.MelodyEnv` of the B melodies.
      agent: an `agents.agent.Agent`.
      primer: `priming.Primer`, how each melody starts.
      history: `reward_history.RewardHistory` the rewards accumulate in.
      rng: numpy Generator shared with the agent (one random stream).
      evaluate: callable () -> melodies [N, L] of an evaluation (it records
        its means in `history` itself).
      save: callable () that writes a checkpoint.
      final_epsilon: ε after the exploration period.
      records_log_p_in_total: the block's recorded reward includes log p
        (the registry row's `records_log_p_in_total`).
      audio_settings: a `TrainSettings` (audio, qpm, audio_program,
        audio_renderer) to log evaluation melodies as TensorBoard audio,
        or None.
    """
    self.env = env
    self.agent = agent
    self.primer = primer
    self.history = history
    self.rng = rng
    self.evaluate = evaluate
    self.save = save
    self.final_epsilon = final_epsilon
    self.num_notes_in_melody = num_notes_in_melody
    self.output_every_nth = output_every_nth
    self.records_log_p_in_total = records_log_p_in_total
    self.audio_settings = audio_settings
    self.summary_writer = summary_writer
    self.env_steps = 0
    self.beats = 0
    self.exploration_period = 0
    # A block ended; checkpoint when the melodies next start afresh.
    self.checkpoint_due = False

  @property
  def batch_size(self):
    return self.env.batch_size

  # --- Pieces the tuner's Magenta methods call too ------------------------

  def epsilon(self, exploration_period=None):
    """ε of ε-greedy exploration after the beats so far."""
    if exploration_period is None:
      exploration_period = self.exploration_period
    return exploration.exploration_probability(
        self.beats, exploration_period, self.final_epsilon)

  def begin_melodies(self):
    """Starts every melody over: beat 0, primed notes and states.

    Returns:
      int [B], the primed notes.
    """
    self.env.reset(self.env.previous)
    observations, policy_state, prior_state = self.primer.prime(
        self.batch_size, self.rng)
    self.env.previous = observations
    self.agent.begin_melodies(observations, policy_state, prior_state)
    return observations

  def learn(self, num_env_steps):
    """`agent.update` after `num_env_steps` steps; records what it learned.

    Returns:
      The agent's `UpdateResult`.
    """
    result = self.agent.update(num_env_steps)
    if len(result.losses):
      self.history.add_target_values(result.values)
      if self.summary_writer is not None:
        for offset, (loss, value) in enumerate(zip(result.losses,
                                                   result.values)):
          step = result.first_step + offset
          if step % LOSS_LOG_EVERY == 0:
            with self.summary_writer.as_default():
              tf.summary.scalar('prediction_error', loss, step=step)
              tf.summary.scalar('mean_target_value', value, step=step)
    return result

  # --- The loop ----------------------------------------------------------

  def beat(self, enable_random=True):
    """Plays one note in every melody; the agent observes the rewards.

    Returns:
      reward_api.StepRewards of the notes played.
    """
    self.beats += 1
    epsilon = self.epsilon() if enable_random else 0.0
    notes, prior_logits = self.agent.act(epsilon)
    parts = self.env.step(notes, prior_logits)
    self.agent.observe(parts.total)
    self.history.accumulate(parts)
    return parts

  def train(self, num_steps, exploration_period, enable_random=True):
    """Acts, collects rewards and learns for `num_steps` environment steps.

    Args:
      num_steps: environment steps, rounded up to whole beats.
      exploration_period: environment steps over which ε anneals from 1 to
        its final value; counted over the run's life, so a resumed or
        repeated `train` continues the schedule.
      enable_random: False disables ε-greedy exploration.
    """
    self.agent.policy.sync_acting_weights()
    if self.env_steps == 0 and not self.history.eval_avg_reward:
      self._evaluate()
    with lstm_cell.single_threaded_blas():
      self._train(num_steps, exploration_period, enable_random)

  def _train(self, num_steps, exploration_period, enable_random):
    batch = self.batch_size
    # ε anneals per environment step; the clock counts beats.
    self.exploration_period = exploration_period / batch
    start_steps = self.env_steps
    start_time = time.time()
    costs_reported = False
    try:
      self.begin_melodies()
      while self.env_steps - start_steps < num_steps:
        self.beat(enable_random)
        before = self.env_steps
        self.env_steps += batch
        self.learn(batch)
        if self.env_steps // self.output_every_nth > (
            before // self.output_every_nth):
          self._end_of_block()
        if self.env.beat % self.num_notes_in_melody == 0:
          self.agent.end_melodies()
          self._checkpoint_if_due()
          if self.env_steps - start_steps < num_steps:
            self.begin_melodies()
        now = time.time()
        if progress_lib.due(now, start_time):
          self._report_progress(self.env_steps - start_steps, num_steps,
                                now - start_time)
        if not costs_reported and now - start_time >= progress_lib.FIRST_S:
          costs_reported = True  # Measured over the first seconds' calls.
          self._report_reward_costs(
              num_steps - (self.env_steps - start_steps))
    except reward_api.RewardCallError as e:
      if e.where is None:  # The beat being played, or melodies starting.
        step = self.env_steps + (0 if e.in_reset else batch)
        e.where = f'env step {step:,}'
      raise
    self._checkpoint_if_due()  # A later `train` starts melodies afresh too.
    self._report_progress(self.env_steps - start_steps, num_steps,
                          time.time() - start_time)

  def _checkpoint_if_due(self):
    """Saves where melodies start afresh, as a later `train` call does: a
    run resumed from here continues exactly."""
    if self.checkpoint_due:
      self.save()
      self.checkpoint_due = False

  def _report_progress(self, done, total, elapsed):
    progress_lib.logged(time.time())
    rate = done / elapsed if elapsed > 0 else float('nan')
    eta = (total - done) / rate if rate > 0 else float('nan')
    logger.info('step %d/%d  %.0f steps/s  ETA %.0f s  (env step %d)',
                done, total, rate, max(eta, 0.0), self.env_steps)

  def _report_reward_costs(self, steps_left):
    """Logs, for each of the user's rewards called so far, its measured
    cost per call and the time it adds to the `steps_left` environment
    steps left of this `train` (their beats and evaluations)."""
    rewards = self.env.rewards
    costs = None if rewards is None else rewards.costs
    if costs is None or not costs.names():
      return
    beats_left = -(-steps_left // self.batch_size)
    nth = self.output_every_nth
    eval_calls_left = ((self.env_steps + steps_left) // nth -
                       self.env_steps // nth) * self.num_notes_in_melody
    for name in costs.names():
      training = costs.per_call(name, 'training')
      evaluation = costs.per_call(name, 'evaluation')
      measured = []
      if training is not None:
        measured.append(f'{_seconds_text(training)} per training call '
                        f'({self.batch_size} melodies)')
      if evaluation is not None:
        measured.append(f'{_seconds_text(evaluation)} per evaluation call')
      added = beats_left * (training or 0.0)
      if evaluation is not None:
        added += eval_calls_left * evaluation
      logger.info(
          'Reward %r: %s; it adds about %s to the rest of the run (%s '
          'training calls%s).',
          name, ', '.join(measured), durations.format_duration(added),
          f'{beats_left:,}',
          f', {eval_calls_left:,} evaluation calls' if evaluation is not None
          else '')

  def _evaluate(self):
    """`evaluate()`; a user's reward failing in it says so."""
    try:
      return self.evaluate()
    except reward_api.RewardCallError as e:
      if e.where is None:
        e.where = f'in the evaluation at env step {self.env_steps:,}'
      raise

  def _end_of_block(self):
    """Every output_every_nth steps: evaluate and record; a checkpoint
    follows when the melodies in progress end."""
    melodies = self._evaluate()
    history = self.history
    history.end_block(total_includes_note_rnn=self.records_log_p_in_total)
    logger.info('Env step %d: reward for last %d steps %.2f (music theory '
                '%.2f, note rnn %.2f); eval per-note: log p %.3f, music '
                'theory %.3f; epsilon %.3f', self.env_steps,
                self.output_every_nth, history.rewards_batched[-1],
                history.music_theory_rewards_batched[-1],
                history.note_rnn_rewards_batched[-1],
                history.eval_avg_note_rnn_reward[-1],
                history.eval_avg_music_theory_reward[-1], self.epsilon())
    if self.summary_writer is not None:
      history.write_scalars(self.summary_writer, self.env_steps)
      settings = self.audio_settings
      if settings is not None and settings.audio:
        audio.write_tensorboard_audio(
            self.summary_writer, 'eval_melodies', melodies, self.env_steps,
            settings.qpm, settings.audio_program,
            audio.get_renderer(settings.audio_renderer))
    self.checkpoint_due = True


def _seconds_text(seconds):
  """'1.23 s', '4.56 ms' or '7.8 us': a cost per call, 3 digits."""
  if seconds >= 1.0:
    return f'{seconds:.3g} s'
  if seconds >= 1e-3:
    return f'{seconds * 1e3:.3g} ms'
  return f'{seconds * 1e6:.3g} us'
