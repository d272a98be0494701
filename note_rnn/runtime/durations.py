"""Durations as the tools print them: wall times, ETAs."""

import math

# What `format_duration` gives for a duration that is not known.
UNKNOWN = '--'


def format_duration(seconds):
  """'H:MM:SS' text of a duration, e.g. 3725 -> '1:02:05'.

  Args:
    seconds: the duration in seconds (float or int); rounded to the
      nearest second, negative values count as 0. None, inf or NaN mean
      unknown.

  Returns:
    Hours (as many digits as needed), minutes and seconds, or `UNKNOWN`.
  """
  if seconds is None or not math.isfinite(seconds):
    return UNKNOWN
  seconds = int(round(max(seconds, 0)))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return f'{hours}:{minutes:02d}:{seconds:02d}'
