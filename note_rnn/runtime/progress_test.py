"""Progress lines: one clock for the process, a line every PERIOD_S."""

import logging

import pytest

from note_rnn.runtime import progress


@pytest.fixture
def clock(monkeypatch):
  """A fake time.time() the test moves; the progress clock starts afresh."""
  now = [1000.0]
  monkeypatch.setattr(progress.time, 'time', lambda: now[0])
  monkeypatch.setattr(progress, '_last_line', [float('-inf')])
  return now


def _lines(caplog):
  return [r.getMessage() for r in caplog.records
          if r.name == progress.logger.name]


def test_a_task_logs_after_its_first_seconds_then_every_period(clock,
                                                               caplog):
  caplog.set_level(logging.INFO)
  task = progress.Task('composing 10 melodies', 100)
  for _ in range(4):  # 0.5 s apart: nothing in the first 3 s.
    clock[0] += 0.5
    task.advance(5)
  assert not _lines(caplog)
  clock[0] += 1.0  # 3 s in, 25 notes done: 75 left at 25 / 3 per s.
  task.advance(5)
  assert _lines(caplog) == [
      'composing 10 melodies: 25/100 notes, 8 notes/s, ETA 0:00:09']
  clock[0] += progress.PERIOD_S - 0.1
  task.advance(5)
  assert len(_lines(caplog)) == 1
  clock[0] += 0.1
  task.advance(5)
  assert len(_lines(caplog)) == 2


def test_one_clock_for_every_job(clock, caplog):
  caplog.set_level(logging.INFO)
  first = progress.Task('evaluation', 100)
  clock[0] += 5.0
  first.advance(10)
  assert len(_lines(caplog)) == 1
  # Another job (or the training loop) within PERIOD_S of that line waits.
  second = progress.Task('statistics', 100)
  clock[0] += 4.0
  second.advance(10)
  assert progress.due(clock[0], second.started) is False
  progress.logged(clock[0])  # The training loop logged a line.
  clock[0] += progress.PERIOD_S - 1.0
  second.advance(10)
  assert len(_lines(caplog)) == 1
  clock[0] += 1.0
  second.advance(10)
  assert _lines(caplog)[-1] == (
      'statistics: 30/100 notes, 2 notes/s, ETA 0:00:33')
