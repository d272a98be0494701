"""B melodies composed side by side: their state, one step, and its rewards.

`MelodyEnv` is the one place where melodies are stepped. Training, evaluation,
`generate_music_sequence`, `generate_compositions` and the composition
statistics all step through it; one melody is a batch of one.

State, for B melodies that are all at the same step t:
  notes     int [B, t]   classes played so far (0 hold, 1 rest, 2.. pitches;
                         see note_rnn.encoding), the note being judged not in
                         it;
  beat      int          step of the note being judged, in sixteenth notes
                         (normally t; the tonic reward's clock);
  previous  int [B]      the note the networks saw last: the priming note
                         before the first step, then the last note played;
  leap      LeapState    the pending-leap state of each melody.

Rewards are functions `reward(state, actions) -> float [B]` that read this
object (see `reward_api`). What several rules share is computed here once per
step and cached: the interval from the last pitch, whether a note repeats
excessively, the distinct pitches of the last bar, whether a motif repeats,
the leap outcome. These features are kept incrementally (last pitch, runs of
repeats, the pitch counts of the last bar, codes of every 8-step window), so
a step costs a fixed number of array operations whatever the melody length,
apart from the autocorrelation and the unique-extremes rule, which read the
whole melody as the original did.

Every value equals the one-melody reference in `rewards` (tested step by step
on the golden compositions, in several keys and both label conventions).
"""

import functools

import numpy as np

from note_rnn.model import sampling
from rl_tuner.music import intervals
from rl_tuner.music import keys
from rl_tuner.music import melody_features as rewards_batch
from rl_tuner.music import music_theory as reference

NUM_CLASSES = keys.NUM_CLASSES
NO_NOTE = rewards_batch.NO_NOTE
LeapState = rewards_batch.LeapState
# Steps of a motif (a bar of eight sixteenths) and the notes before the one
# being judged that belong to it.
_BAR = reference.MOTIF_BAR_LENGTH
_TAIL = _BAR - 1
# Windows of eight classes are coded as base-38 numbers (< 38**8 < 2**63).
_TAIL_MODULUS = NUM_CLASSES ** (_TAIL - 1)
_INITIAL_CAPACITY = 64


@functools.lru_cache(maxsize=32)
def interval_tables(config):
  """Interval codes and rewards of every (last pitch, action) pair.

  Returns:
    (codes, rewards): float64 [39, 38]. Row p < 38 is the last pitch played
    (rows 0 and 1 unused), row 38 means no pitch yet (interval 0). `codes`
    are rewards.detect_sequential_interval's; `rewards` the preferred-
    interval reward of each code before its scaler.
  """
  pitches = np.arange(keys.NUM_SPECIAL_EVENTS, NUM_CLASSES)
  prev, action = np.meshgrid(pitches, np.arange(NUM_CLASSES), indexing='ij')
  codes = np.zeros((NUM_CLASSES + 1, NUM_CLASSES))
  interval, _ = rewards_batch.sequential_interval(
      prev.reshape(-1, 1), action.reshape(-1), config)
  codes[pitches] = interval.reshape(len(pitches), NUM_CLASSES)
  return codes, rewards_batch.interval_reward(codes, scaler=1.0)


def leap_transition(leap, steps_over, last_pitch, actions, interval):
  """The leap rule (rewards.detect_leap_up_back) on arrays that broadcast.

  Args:
    leap: LeapState before the actions (its steps_since_last_leap unused).
    steps_over: bool, steps_since_last_leap > STEPS_BETWEEN_LEAPS.
    last_pitch: int, the last pitch played, NO_NOTE if none.
    actions: int classes.
    interval: float interval codes from last_pitch to the actions.

  Returns:
    (outcome: 0, LEAP_RESOLVED or LEAP_DOUBLED; direction and leapt_from
    after the actions; whether the action is a leap, which restarts the
    count of steps since the last leap).
  """
  direction, leapt_from, _ = leap
  is_pitch = actions >= keys.NUM_SPECIAL_EVENTS
  is_leap = is_pitch & ((interval >= intervals.FIFTH) |
                        (interval == intervals.IN_KEY_FIFTH))
  pending = direction != 0
  leap_direction = np.where(actions > last_pitch, intervals.ASCENDING,
                            intervals.DESCENDING)
  leap_back = is_leap & pending & (direction != leap_direction)
  returned = is_pitch & ~is_leap & (
      ((direction == intervals.ASCENDING) & (actions <= leapt_from)) |
      ((direction == intervals.DESCENDING) & (actions >= leapt_from)))
  resolved = leap_back | returned
  outcome = np.where(
      (leap_back & steps_over) | returned, intervals.LEAP_RESOLVED,
      np.where(is_leap & pending & ~leap_back, intervals.LEAP_DOUBLED, 0))
  first_leap = is_leap & ~pending
  new_direction = np.where(first_leap, leap_direction,
                           np.where(resolved, 0, direction))
  new_leapt_from = np.where(first_leap, last_pitch,
                            np.where(resolved, NO_NOTE, leapt_from))
  return outcome, new_direction, new_leapt_from, is_leap


@functools.lru_cache(maxsize=8)
def leap_tables(config):
  """`leap_transition` of every leap state, last pitch and action.

  Returns:
    int8 [3, 39, 2, 39, 38, 4], indexed by [direction, leapt_from,
    steps_since_last_leap > STEPS_BETWEEN_LEAPS, last pitch, action] as
    they are kept (direction -1 and NO_NOTE index the last entry, as numpy
    reads negative indices): outcome, direction and leapt_from after the
    action, 1 if the action is a leap. 1.4 MB; one lookup replaces the
    rule's twenty array operations per step.
  """
  notes = np.append(np.arange(NUM_CLASSES), NO_NOTE)
  direction, leapt_from, steps_over, last_pitch, actions = np.meshgrid(
      [0, intervals.ASCENDING, intervals.DESCENDING], notes, [False, True],
      notes, np.arange(NUM_CLASSES), indexing='ij')
  interval = interval_tables(config)[0][last_pitch, actions]
  leap = LeapState(direction, leapt_from, None)
  return np.stack(
      [np.asarray(part, np.int8) for part in leap_transition(
          leap, steps_over, last_pitch, actions, interval)], axis=-1)


class MelodyEnv:
  """B melodies in progress, stepped together.

  Attributes:
    batch_size: B.
    config: `rewards.MusicTheoryConfig` the rules judge by (key, tonic,
      melody length, class labels).
    rewards: the `reward_api.BoundRewards` a `step` computes, or None (then
      `step` only advances the melodies).
  """

  def __init__(self, batch_size, config=reference.DEFAULT_CONFIG,
               rewards=None):
    self.batch_size = int(batch_size)
    if self.batch_size < 1:
      raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    self.config = config
    self.rewards = rewards
    self._rows = np.arange(self.batch_size)
    self._notes = np.zeros((self.batch_size, _INITIAL_CAPACITY), np.int64)
    self._codes = np.zeros_like(self._notes)
    self.reset()

  # --- State ------------------------------------------------------------------

  def reset(self, previous=None):
    """Starts every melody over: no notes, beat 0, no pending leap.

    Args:
      previous: int [B], the note each melody is primed with (what the
        networks see before the first step); default all 0.
    """
    batch = self.batch_size
    self._length = 0
    self.beat = 0
    self.previous = (np.zeros(batch, np.int64) if previous is None else
                     np.array(previous, np.int64).reshape(batch))
    self.leap = LeapState.initial(batch)
    self._last_pitch = np.full(batch, NO_NOTE, np.int64)
    # Holds and rests since the last pitch, by class (0 and 1).
    self._trailing = np.zeros((batch, keys.NUM_SPECIAL_EVENTS), np.int64)
    # Occurrences of the last pitch in the unbroken run of it and of special
    # events that ends the melody, and whether that run holds a special one.
    self._run_count = np.zeros(batch, np.int64)
    self._run_breaks = np.zeros(batch, bool)
    # How often each class occurs in the last seven notes.
    self._window = np.zeros((batch, NUM_CLASSES), np.int64)
    # Base-38 code of the last seven notes.
    self._tail = np.zeros(batch, np.int64)
    self._step_cache = {}
    self._pending_leap = None
    if self.rewards is not None:
      self.rewards.reset(batch)

  @property
  def length(self):
    """t: notes played so far by each melody."""
    return self._length

  @property
  def notes(self):
    """int [B, t]: the notes played so far (a read-only view)."""
    view = self._notes[:, :self._length]
    view.flags.writeable = False
    return view

  @property
  def num_notes_in_melody(self):
    return self.config.num_notes_in_melody

  @property
  def last_pitch(self):
    """int [B]: the last pitched class played, NO_NOTE (-1) if none."""
    return self._last_pitch

  def _ensure_capacity(self, length):
    if length <= self._notes.shape[1]:
      return
    grown = max(length, 2 * self._notes.shape[1])
    for name in ('_notes', '_codes'):
      old = getattr(self, name)
      new = np.zeros((self.batch_size, grown), np.int64)
      new[:, :old.shape[1]] = old
      setattr(self, name, new)

  def append(self, notes):
    """Adds one note [B] to every melody (beat + 1); rewards untouched.

    The leap state is not changed: `step` commits the state the leap rule
    computed for these notes, and code that sets melodies note by note
    (`load`) keeps the leap state as it was set.
    """
    notes = np.asarray(notes, np.int64).reshape(self.batch_size)
    t = self._length
    rows = self._rows
    self._ensure_capacity(t + 1)
    self._notes[:, t] = notes
    if t >= _TAIL:
      self._codes[:, t] = self._tail * NUM_CLASSES + notes
      self._window[rows, self._notes[:, t - _TAIL]] -= 1
    self._window[rows, notes] += 1
    self._tail = (self._tail % _TAIL_MODULUS) * NUM_CLASSES + notes

    special = notes < keys.NUM_SPECIAL_EVENTS
    if special.all():
      self._trailing[rows, notes] += 1
      self._run_breaks[:] = True
    else:
      same = notes == self._last_pitch
      pitch = ~special
      had_breaks = self._trailing.any(axis=1)
      self._run_count = np.where(
          pitch, np.where(same, self._run_count + 1, 1), self._run_count)
      self._run_breaks = np.where(
          pitch, np.where(same, self._run_breaks, had_breaks), True)
      self._last_pitch = np.where(pitch, notes, self._last_pitch)
      self._trailing[pitch] = 0
      if special.any():
        index = np.flatnonzero(special)
        self._trailing[index, notes[index]] += 1
    self._length = t + 1
    self.beat += 1
    self.previous = notes
    self._step_cache = {}
    self._pending_leap = None

  def load(self, notes, beat=None, leap=None):
    """Sets the melodies to `notes` int [B, t] (features rebuilt).

    Args:
      notes: int [B, t] classes.
      beat: the beat to continue from (default t).
      leap: LeapState to keep (default: the current one).
    """
    notes = np.asarray(notes, np.int64).reshape(self.batch_size, -1)
    keep_leap = self.leap if leap is None else leap
    previous = self.previous
    self.reset(previous)
    for t in range(notes.shape[1]):
      self.append(notes[:, t])
    if notes.shape[1] == 0:
      self.previous = previous
    self.leap = LeapState(*(np.array(a, np.int64) for a in keep_leap))
    if beat is not None:
      self.beat = int(beat)

  # --- Features of the actions, shared by the rules -------------------------

  def _cached(self, name, actions, config, compute):
    key = (name, id(actions), id(config))
    hit = self._step_cache.get(key)
    if hit is not None and hit[0] is actions:
      return hit[1]
    value = compute()
    self._step_cache[key] = (actions, value)
    return value

  def melody_with(self, actions):
    """int [B, t + 1]: the notes with the actions appended (read-only view,
    valid until the next call that appends other actions)."""
    t = self._length
    self._ensure_capacity(t + 1)
    self._notes[:, t] = actions
    return self._notes[:, :t + 1]

  def interval(self, actions, config=None):
    """float [B]: interval code from the last pitch to each action.

    As rewards.detect_sequential_interval: 0 before any pitch or for a
    unison, HOLD/REST codes for the special events, IN_KEY_FIFTH /
    IN_KEY_THIRD within the tonic triad, else semitones.
    """
    config = config or self.config
    return self._cached('interval', actions, config, lambda: interval_tables(
        config)[0][self._last_pitch, actions])

  def interval_reward_base(self, actions, config=None):
    """float [B]: preferred-interval reward of each action before scaling."""
    config = config or self.config
    return self._cached(
        'interval_reward', actions, config,
        lambda: interval_tables(config)[1][self._last_pitch, actions])

  def repeats_excessively(self, actions, config=None):
    """bool [B]: whether each action repeats a note too often.

    As rewards.detect_repeating_notes: counting the action's class in the
    run of it and of special events that ends the melody, more than 4 plain
    repeats, more than 6 with holds or rests between, or a rest (NOTE_OFF)
    after more than one rest.
    """
    config = config or self.config

    def compute():
      special = actions < keys.NUM_SPECIAL_EVENTS
      special_index = np.minimum(actions, 1)
      rows = self._rows
      count = np.where(
          special, self._trailing[rows, special_index],
          np.where(actions == self._last_pitch, self._run_count, 0))
      breaks = np.where(special, self._trailing[rows, 1 - special_index] > 0,
                        self._run_breaks)
      limit = np.where(breaks, reference.MAX_REPEATS_WITH_BREAKS,
                       reference.MAX_PLAIN_REPEATS)
      return (count > limit) | ((actions == config.note_off) & (
          count > reference.MAX_REPEATED_NOTE_OFF))
    return self._cached('repeats', actions, config, compute)

  def motif_unique_notes(self, actions):
    """int [B]: distinct pitches in the last bar (8 steps) with the action.

    0 while the melody with the action is shorter than a bar; the bar is a
    motif where this is >= 3 (rewards.detect_last_motif).
    """
    def compute():
      if self._length + 1 < _BAR:
        return np.zeros(self.batch_size, np.int64)
      present = np.count_nonzero(
          self._window[:, keys.NUM_SPECIAL_EVENTS:], axis=1)
      new = (actions >= keys.NUM_SPECIAL_EVENTS) & (
          self._window[self._rows, actions] == 0)
      return present + new
    return self._cached('motif', actions, None, compute)

  def repeated_motif(self, actions):
    """bool [B]: the action ends a motif that was played before.

    As rewards.detect_repeated_motif: the earlier occurrence lies wholly
    before the last seven notes.
    """
    def compute():
      t = self._length
      if t - _TAIL < _BAR:
        return np.zeros(self.batch_size, bool)
      code = self._tail * NUM_CLASSES + actions
      found = (self._codes[:, _TAIL:t - _TAIL] == code[:, None]).any(axis=1)
      return found & (self.motif_unique_notes(actions) >=
                      reference.MIN_NOTES_IN_MOTIF)
    return self._cached('repeated_motif', actions, None, compute)

  def leap_outcome(self, actions, config=None):
    """int [B]: 0, LEAP_RESOLVED (1) or LEAP_DOUBLED (-1) for each action.

    As rewards.detect_leap_up_back, looked up in `leap_tables`. The leap
    state the actions lead to is kept until `step` (or `commit_leap`) makes
    it the state.
    """
    config = config or self.config

    def compute():
      if self._length == 0:
        return np.zeros(self.batch_size, np.int64), self.leap
      direction, leapt_from, steps = self.leap
      row = leap_tables(config)[
          direction, leapt_from,
          (steps > reference.STEPS_BETWEEN_LEAPS).astype(np.int8),
          self._last_pitch, actions].astype(np.int64)
      new_state = LeapState(row[:, 1], row[:, 2],
                            np.where(row[:, 3] == 1, 0, steps + 1))
      return row[:, 0], new_state
    outcome, new_state = self._cached('leap', actions, config, compute)
    if config is self.config:
      self._pending_leap = (np.array(actions), new_state)
    return outcome

  def commit_leap(self, actions, config=None):
    """Makes the leap state after `actions` the state (no note added)."""
    config = config or self.config
    self.leap_outcome(actions, config)
    self.leap = self._cached('leap', actions, config, None)[1]

  def autocorrelation_penalty(self, actions,
                              weight=reference.AUTOCORRELATION_PENALTY_WEIGHT):
    """float [B]: -weight * sum of |autocorrelation| over 0.15 at lags 1-3.

    The coefficients use np.mean / np.var's floating-point operations, so
    they equal the original's bit for bit.
    """
    def compute():
      melody = self.melody_with(actions)
      n = melody.shape[1]
      centred = melody - melody.sum(axis=1, dtype=np.float64,
                                    keepdims=True) / n
      variance = (centred * centred).sum(axis=1) / n
      products = np.stack([
          (centred[:, lag:] * centred[:, :n - lag]).sum(axis=1)
          if lag < n else np.zeros(self.batch_size)
          for lag in reference.AUTOCORRELATION_LAGS])
      with np.errstate(invalid='ignore', divide='ignore'):
        magnitude = np.abs(products / float(n) / variance)
      penalty = np.where(magnitude > reference.AUTOCORRELATION_THRESHOLD,
                         magnitude * weight, 0.0).sum(axis=0)
      return 0.0 - penalty
    return self._cached(('autocorr', weight), actions, None, compute)

  # --- Stepping -------------------------------------------------------------

  def step(self, actions, reward_logits=None):
    """Judges the actions [B], then appends them to the melodies.

    Args:
      actions: int [B] classes played.
      reward_logits: float [B, 38] Reward RNN logits before the actions
        (log p(a|s) comes from their log-softmax, in float64); needed when
        the rewards use log p.

    Returns:
      `reward_api.StepRewards` of the actions (None without rewards).
    """
    actions = np.asarray(actions, np.int64).reshape(self.batch_size)
    parts = None
    if self.rewards is not None:
      log_probs = None if reward_logits is None else sampling.log_softmax(
          reward_logits)
      parts = self.rewards.evaluate(self, actions, log_probs)
    pending = self._pending_leap
    if pending is not None and np.array_equal(pending[0], actions):
      self.leap = pending[1]
    self.append(actions)
    return parts
