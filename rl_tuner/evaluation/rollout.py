"""Composing melodies without learning, through the melody environment.

Evaluation, `generate_music_sequence`, `generate_compositions` and the
statistics' melodies all come from `compose`: N melodies primed afresh, each
note chosen by the policy (sampled from its softmax, or argmax) with no
exploration, every step taken by a `MelodyEnv`.
"""

import numpy as np

from note_rnn.model import lstm_cell
from note_rnn.model import sampling
from note_rnn.runtime import progress as progress_lib
from rl_tuner.env import melody_env

# Melodies composed per batched network call when composing many.
CHUNK = 2048


def compose(learner, primer, config, num_compositions, length, rng,
            sample=True, reward_set=None, record_probabilities=False,
            reward_costs=None, progress=None):
  """Composes N melodies together.

  Args:
    learner: dqn.DQNLearner (its act step gives scores and Reward RNN
      logits).
    primer: priming.Primer.
    config: rewards.MusicTheoryConfig of the run.
    num_compositions: N.
    length: steps per melody.
    rng: numpy Generator for priming and sampling.
    sample: sample each note from the policy's softmax; False: argmax.
    reward_set: reward_api.RewardSet to score the notes with, or None.
    record_probabilities: also return the policy's softmax.
    reward_costs: reward_api.RewardCosts the user's rewards' calls are
      counted in ('evaluation'), or None.
    progress: a `progress.Task` counting the notes composed, or None (a
      task of its own: a line every 10 s when composing takes long).

  Returns:
    dict: 'notes' int [N, L]; with reward_set, 'total', 'note_rnn',
    'music_theory' float64 [N] summed over the steps and 'terms' float64
    [T, N] (each term summed, before the reward_scaler); with
    record_probabilities, 'probabilities' float64 [N, L, 38].
  """
  learner.sync_acting_weights()  # Whatever changed the weights before.
  with lstm_cell.single_threaded_blas():
    return _compose(learner, primer, config, num_compositions, length, rng,
                    sample, reward_set, record_probabilities, reward_costs,
                    progress)


def _compose(learner, primer, config, num_compositions, length, rng, sample,
             reward_set, record_probabilities, reward_costs, progress):
  """`compose` after the weights are read, with BLAS on one thread."""
  if progress is None:
    progress = progress_lib.Task(f'composing {num_compositions:,} melodies',
                                 num_compositions * length)
  observations, q_state, reward_state = primer.prime(num_compositions, rng)
  env = melody_env.MelodyEnv(
      num_compositions, config,
      rewards=None if reward_set is None else reward_set.bind(
          reward_costs, 'evaluation'))
  env.reset(observations)
  result = {}
  if reward_set is not None:
    for name in ('total', 'note_rnn', 'music_theory'):
      result[name] = np.zeros(num_compositions)
    result['terms'] = np.zeros((len(reward_set.terms), num_compositions))
  if record_probabilities:
    result['probabilities'] = np.zeros(
        (num_compositions, length, primer.num_actions))
  for t in range(length):
    scores, reward_logits, q_state, reward_state = learner.act_numpy(
        observations, q_state, reward_state)
    if sample or record_probabilities:
      probabilities = sampling.softmax(scores)
    chosen = (sampling.sample_classes(probabilities, rng) if sample else
              np.argmax(scores, axis=-1))
    parts = env.step(chosen, reward_logits)
    if parts is not None:
      result['total'] += parts.total
      result['note_rnn'] += parts.note_rnn
      result['music_theory'] += parts.music_theory
      result['terms'] += parts.terms
    if record_probabilities:
      result['probabilities'][:, t] = probabilities
    observations = chosen
    progress.advance(num_compositions)
  result['notes'] = np.array(env.notes)
  return result


def compose_many(learner, primer, config, num_compositions, length, rng,
                 sample=True):
  """int [N, L] melodies composed in chunks of CHUNK (bounded memory)."""
  progress = progress_lib.Task(f'composing {num_compositions:,} melodies',
                               num_compositions * length)
  chunks = [compose(learner, primer, config, min(CHUNK, num_compositions -
                                                 start), length, rng,
                    sample, progress=progress)['notes']
            for start in range(0, num_compositions, CHUNK)]
  if not chunks:
    return np.zeros((0, length), np.int64)
  return np.concatenate(chunks)
