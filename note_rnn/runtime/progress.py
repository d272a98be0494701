"""Progress lines every 10 s, whatever a long job is doing.

One clock for the whole process: training, evaluation and the statistics'
composing each log a line when PERIOD_S seconds have passed since the last
progress line of any of them, so a run shows a sign of life every 10 s in
whichever phase it is. A job says nothing in its first FIRST_S seconds
(short jobs stay silent). A check costs one clock read.
"""

import logging
import time

from note_rnn.runtime import durations

# Seconds between two progress lines.
PERIOD_S = 10.0
# Seconds a job runs before its first line.
FIRST_S = 3.0

logger = logging.getLogger(__name__)

# time.time() of the last progress line of the process.
_last_line = [float('-inf')]


def due(now, started):
  """Whether a job started at `started` logs a line at `now` (time.time())."""
  return now - _last_line[0] >= PERIOD_S and now - started >= FIRST_S


def logged(now):
  """Records that a progress line was logged at `now` (time.time())."""
  _last_line[0] = now


class Task:
  """A job of `total` units that logs its progress and ETA when `due`.

  Attributes:
    what: what the job is, e.g. 'evaluation at env step 10,000 (100
      melodies)'.
    total: units of the whole job.
    unit: their name ('notes').
    done: units done so far.
  """

  def __init__(self, what, total, unit='notes'):
    self.what = what
    self.total = total
    self.unit = unit
    self.done = 0
    self.started = time.time()

  def advance(self, units):
    """Counts `units` more done; logs a line if one is due."""
    self.done += units
    now = time.time()
    if due(now, self.started):
      logged(now)
      elapsed = now - self.started
      rate = self.done / elapsed if elapsed > 0 else 0.0
      eta = (self.total - self.done) / rate if rate > 0 else None
      logger.info('%s: %s/%s %s, %.0f %s/s, ETA %s', self.what,
                  f'{self.done:,}', f'{self.total:,}', self.unit, rate,
                  self.unit, durations.format_duration(eta))
