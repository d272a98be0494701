"""Reward files for tests: Python source a test writes to disk and loads.

FLAKY_REWARD defines `flaky(state, actions)`: half a point for a note above
middle C, and a RuntimeError (two lines of message) at the call numbered by
the environment variable FLAKY_FAIL_AT, counted over the process; 0 or unset
never fails.
"""

FLAKY_REWARD = '''
import os

import numpy as np

calls = 0


def flaky(state, actions):
  """Half a point above middle C; raises at call FLAKY_FAIL_AT if set."""
  global calls
  calls += 1
  if calls == int(os.environ.get('FLAKY_FAIL_AT', '0')):
    raise RuntimeError('broken\\nat call %d' % calls)
  return (np.asarray(actions) > 14) * 0.5
'''
