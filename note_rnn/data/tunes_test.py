"""Tests of note_rnn.data.tunes."""

import sys

import pytest

from note_rnn.data import tunes


def test_missing_music21_says_how_to_install(monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  with pytest.raises(tunes.Music21NotInstalledError,
                     match=r"pip install -e '\.\[corpus\]'") as raised:
    tunes.import_music21()
  assert isinstance(raised.value, ImportError)
  assert tunes.INSTALL_HINT in str(raised.value)


def test_a_tune_defaults_to_no_abc_number_or_part():
  tune = tunes.Tune('bach', 'bach/x.mxl', '/corpus/bach/x.mxl',
                    tunes.KIND_SCORE)
  assert (tune.abc, tune.reference_number, tune.melody_part) == ('', -1, '')
  with pytest.raises(AttributeError):
    tune.key = 'other'  # Frozen.
