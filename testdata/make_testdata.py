"""Writes the small music files under testdata/ (run from anywhere).

    python testdata/make_testdata.py

The files exercise the melody pipeline; the expected results on defaults
(min_bars 7, max_steps 512, min_unique_pitches 5, gap_bars 1) are:

  c_major.mid        8-bar C major melody at 120 qpm -> 1 melody (128 steps)
  g_major.mid        the same melody a fifth up, G major key signature ->
                     1 melody, identical to c_major's after transposition
  polyphonic.mid     c_major's melody as the top note of triads -> 1 melody,
                     identical to c_major's (polyphony resolved to the top)
  with_drums.mid     a drum track plus an 8-bar arpeggio melody -> 1 melody,
                     1 drum track skipped
  long_gap.mid       c_major's melody, 2 bars of silence, again -> 2 melodies
  long_melody.mid    c_major's melody 5 times (640 steps) -> 1 melody
                     truncated to 512 steps
  too_short.mid      3 bars -> dropped (too short)
  few_pitches.mid    8 bars over C, E, G only -> dropped (too few pitches)
  empty.mid          a valid MIDI file without notes -> failed (no notes)
  corrupt.mid        256 random bytes -> failed (unreadable MIDI)
  primer.mid         2-bar C major phrase for priming the RL Tuner -> dropped
                     (too short)
  abc/tunes.abc      3 valid 8-bar tunes (C, G, D major) -> 3 melodies
  abc/broken.abc     1 valid tune, 1 with a triplet that note_seq's ABC
                     parser rejects -> 1 melody, 1 tune parse error

Everything is built from fixed lists, so reruns rewrite identical bytes.
"""

import os
import random
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))

from note_seq.protobuf import music_pb2  # pylint: disable=g-import-not-at-top

from note_rnn import audio  # pylint: disable=g-import-not-at-top
from note_rnn import encoding  # pylint: disable=g-import-not-at-top
from note_rnn.runtime import outputs  # pylint: disable=g-import-not-at-top

# Tempo of the test files, quarter notes per minute.
QPM = 120.0
SECONDS_PER_STEP = 60.0 / QPM / encoding.STEPS_PER_QUARTER
VELOCITY = 100
# Durations in sixteenth-note steps.
EIGHTH, QUARTER, HALF = 2, 4, 8
# General MIDI drum pitches.
KICK, SNARE = 36, 38
# Rest marker in the phrase lists.
REST = None

# 8 bars of C major, (pitch or REST, steps); uses all seven scale degrees.
C_MAJOR_PHRASE = [
    (60, QUARTER), (64, QUARTER), (67, QUARTER), (64, QUARTER),
    (65, QUARTER), (69, QUARTER), (67, HALF),
    (64, EIGHTH), (64, EIGHTH), (62, QUARTER), (60, QUARTER), (62, QUARTER),
    (64, HALF), (REST, QUARTER), (67, QUARTER),
    (69, QUARTER), (71, QUARTER), (72, HALF),
    (71, QUARTER), (69, QUARTER), (67, QUARTER), (65, QUARTER),
    (64, QUARTER), (62, QUARTER), (64, QUARTER), (65, QUARTER),
    (67, QUARTER), (62, QUARTER), (60, HALF),
]
# 8 bars of broken C major / F major / G major chords in eighth notes.
ARPEGGIO_PHRASE = (
    [(60, EIGHTH), (64, EIGHTH), (67, EIGHTH), (72, EIGHTH)] * 4 +
    [(65, EIGHTH), (69, EIGHTH), (72, EIGHTH), (77, EIGHTH)] * 4 +
    [(67, EIGHTH), (71, EIGHTH), (74, EIGHTH), (79, EIGHTH)] * 4 +
    [(60, EIGHTH), (64, EIGHTH), (67, EIGHTH), (72, EIGHTH)] * 4)
# 8 bars over three pitch classes only.
FEW_PITCHES_PHRASE = [(60, QUARTER), (64, QUARTER), (67, QUARTER),
                      (64, QUARTER)] * 8
# 3 bars: shorter than the 7-bar minimum.
SHORT_PHRASE = C_MAJOR_PHRASE[:11]
# 2 bars to prime the RL Tuner: C E G C' | B A G E C (C major).
PRIMER_PHRASE = [(60, QUARTER), (64, QUARTER), (67, QUARTER), (72, QUARTER),
                 (71, EIGHTH), (69, EIGHTH), (67, QUARTER), (64, QUARTER),
                 (60, QUARTER)]
# Semitones from C major up to G major.
FIFTH = 7
# Triad below each melody note: the melody stays the top voice.
CHORD_OFFSETS = (0, -4, -7)
# Steps of silence between the two halves of long_gap.mid (2 bars).
LONG_GAP_STEPS = 2 * encoding.STEPS_PER_BAR
# Times the C major phrase repeats in long_melody.mid (5 x 128 = 640 steps).
LONG_MELODY_REPEATS = 5
# Length of corrupt.mid in bytes and the seed of its contents.
CORRUPT_BYTES = 256
CORRUPT_SEED = 0

TUNES_ABC = """\
X:1
T:Scale walk
M:4/4
L:1/8
K:C
CDEF GABc|cBAG FEDC|EGce dBGB|c2G2 E2C2|DEFG ABcd|edcB AGFE|DFAc BGDB|c4 C4|

X:2
T:Hill tune
M:4/4
L:1/8
K:G
GABc d2B2|c2A2 B2G2|ABcd e2d2|c2B2 A4|GABc defg|fedc BAGF|GBdB cAFA|G4 G4|

X:3
T:River tune
M:4/4
L:1/8
K:D
DEFG A2F2|G2E2 F2D2|EFGA B2A2|G2F2 E4|DEFG ABcd|cBAG FEDC|DFAF GEC E|D4 D4|
"""

BROKEN_ABC = """\
X:1
T:Plain tune
M:4/4
L:1/8
K:F
FGAB c2A2|B2G2 A2F2|GABc d2c2|B2A2 G4|FGAB cdef|edcB AGFE|FAcA BGEG|F4 F4|

X:2
T:Triplet tune (note_seq's ABC parser does not support tuplets)
M:4/4
L:1/8
K:C
(3CDE F2 G4|c4 G4|(3EFG A2 B4|c8|
"""


def phrase_to_notes(phrase, start_step=0, transpose=0):
  """[(pitch or REST, steps)] -> [(pitch, start_step, end_step)], next step."""
  notes = []
  step = start_step
  for pitch, steps in phrase:
    if pitch is not REST:
      notes.append((pitch + transpose, step, step + steps))
    step += steps
  return notes, step


def make_sequence(tracks, key=None):
  """Builds a NoteSequence at QPM in 4/4.

  Args:
    tracks: list of (notes, is_drum); notes are (pitch, start, end) in steps.
    key: optional key-signature pitch class (major mode).

  Returns:
    NoteSequence.
  """
  sequence = music_pb2.NoteSequence()
  sequence.ticks_per_quarter = 220
  sequence.tempos.add(time=0.0, qpm=QPM)
  sequence.time_signatures.add(time=0.0, numerator=4, denominator=4)
  if key is not None:
    sequence.key_signatures.add(
        time=0.0, key=key, mode=music_pb2.NoteSequence.KeySignature.MAJOR)
  for instrument, (notes, is_drum) in enumerate(tracks):
    for pitch, start, end in notes:
      sequence.notes.add(
          pitch=pitch, velocity=VELOCITY, instrument=instrument,
          program=0, is_drum=is_drum,
          start_time=start * SECONDS_PER_STEP, end_time=end * SECONDS_PER_STEP)
  sequence.total_time = max((n.end_time for n in sequence.notes), default=0.0)
  return sequence


def write_midi(name, tracks, key=None):
  path = os.path.join(_HERE, name)
  audio.note_sequence_to_midi_file(make_sequence(tracks, key), path)
  return path


def write_bytes(name, data):
  path = os.path.join(_HERE, name)
  outputs.write_file_atomically(path, data)
  return path


def main():
  c_notes, c_end = phrase_to_notes(C_MAJOR_PHRASE)
  write_midi('c_major.mid', [(c_notes, False)])
  write_midi('g_major.mid',
             [(phrase_to_notes(C_MAJOR_PHRASE, transpose=FIFTH)[0], False)],
             key=FIFTH)
  chords = [(pitch + offset, start, end)
            for pitch, start, end in c_notes for offset in CHORD_OFFSETS]
  write_midi('polyphonic.mid', [(chords, False)])

  arpeggio, arpeggio_end = phrase_to_notes(ARPEGGIO_PHRASE)
  drums = [(KICK if beat % 2 == 0 else SNARE, step, step + 1)
           for beat, step in enumerate(range(0, arpeggio_end, QUARTER))]
  write_midi('with_drums.mid', [(drums, True), (arpeggio, False)])

  second, _ = phrase_to_notes(C_MAJOR_PHRASE, start_step=c_end + LONG_GAP_STEPS)
  write_midi('long_gap.mid', [(c_notes + second, False)])
  write_midi('long_melody.mid',
             [(phrase_to_notes(C_MAJOR_PHRASE * LONG_MELODY_REPEATS)[0],
               False)])
  write_midi('too_short.mid', [(phrase_to_notes(SHORT_PHRASE)[0], False)])
  write_midi('few_pitches.mid',
             [(phrase_to_notes(FEW_PITCHES_PHRASE)[0], False)])
  write_midi('empty.mid', [])
  write_midi('primer.mid', [(phrase_to_notes(PRIMER_PHRASE)[0], False)])

  rng = random.Random(CORRUPT_SEED)
  write_bytes('corrupt.mid', bytes(rng.randrange(256)
                                   for _ in range(CORRUPT_BYTES)))
  write_bytes(os.path.join('abc', 'tunes.abc'), TUNES_ABC.encode('utf-8'))
  write_bytes(os.path.join('abc', 'broken.abc'), BROKEN_ABC.encode('utf-8'))


if __name__ == '__main__':
  main()
