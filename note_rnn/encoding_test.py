"""Tests of the 38-class encoding's link to note_seq."""

import subprocess
import sys

from note_seq import melodies_lib

from note_rnn import encoding


def test_special_events_are_note_seqs():
  assert encoding.MELODY_NO_EVENT == melodies_lib.MELODY_NO_EVENT
  assert encoding.MELODY_NOTE_OFF == melodies_lib.MELODY_NOTE_OFF


def test_classes_round_trip_through_a_note_seq_melody():
  classes = [2, 0, 1, 14, 0, 0, 37, 1]
  melody = encoding.classes_to_melody(classes)
  assert encoding.melody_to_classes(melody) == classes


def test_importing_the_encoding_does_not_import_note_seq():
  # Every tool's flags import it; note_seq takes seconds to import.
  code = ('import sys; from note_rnn import encoding; '
          'print("note_seq" in sys.modules)')
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, check=True)
  assert result.stdout.strip() == 'False'
