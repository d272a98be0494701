"""Tests of note_rnn.data.note_events: note events -> NoteSequence."""

from note_seq.protobuf import music_pb2

from note_rnn import encoding
from note_rnn.data import melody_pipeline as mp
from note_rnn.data import note_events

KSM = music_pb2.NoteSequence.KeySignature


def test_merge_note_events_ties_chords_and_grace_notes():
  events = [
      note_events.NoteEvent(0.0, 0.0, (74,), grace=True),
      note_events.NoteEvent(0.0, 1.0, (60,), tie='start'),
      note_events.NoteEvent(1.0, 1.0, (60,), tie='continue'),
      note_events.NoteEvent(2.0, 0.5, (60,), tie='stop'),
      # A "tie" to another pitch (a slur) does not merge.
      note_events.NoteEvent(2.5, 0.5, (62,), tie='start'),
      note_events.NoteEvent(3.0, 1.0, (64,)),
      # A chord keeps its top note.
      note_events.NoteEvent(4.0, 1.0, (55, 67, 64)),
      # Not contiguous: the tie is not honoured.
      note_events.NoteEvent(5.0, 1.0, (67,), tie='start'),
      note_events.NoteEvent(6.5, 1.0, (67,), tie='stop'),
      note_events.NoteEvent(8.0, 1.0, ()),
  ]
  assert note_events.merge_note_events(events) == [
      (0.0, 2.5, 60), (2.5, 3.0, 62), (3.0, 4.0, 64), (4.0, 5.0, 67),
      (5.0, 6.0, 67), (6.5, 7.5, 67)]


def test_events_to_note_sequence_times_signatures_and_pickup():
  events = [note_events.NoteEvent(0.0, 1.0, (67,)),  # A one-beat pickup ...
            note_events.NoteEvent(1.0, 2.0, (72,))]  # ... then the first bar.
  sequence = note_events.events_to_note_sequence(
      events,
      time_signatures=[(0.0, 3, 4), (1.0, 3, 4), (4.0, 6, 8)],
      key_signatures=[(0.0, 7, 'dorian'), (1.0, 7, 'dorian'),
                      (4.0, 2, 'minor')],
      pickup=2.0, qpm=120.0)
  seconds = 60.0 / 120.0
  assert [(n.pitch, n.start_time, n.end_time) for n in sequence.notes] == [
      (67, 2 * seconds, 3 * seconds), (72, 3 * seconds, 5 * seconds)]
  assert [n.velocity for n in sequence.notes
         ] == [note_events.DEFAULT_VELOCITY] * 2
  assert [(t.time, t.qpm) for t in sequence.tempos] == [(0.0, 120.0)]
  # Repeated signatures are dropped; those at offset 0 stay at time 0.
  assert [(t.time, t.numerator, t.denominator)
          for t in sequence.time_signatures] == [(0.0, 3, 4),
                                                 (6 * seconds, 6, 8)]
  assert [(k.time, k.key, k.mode) for k in sequence.key_signatures] == [
      (0.0, 7, KSM.DORIAN), (6 * seconds, 2, KSM.MINOR)]
  assert sequence.total_time == 5 * seconds
  assert sequence.ticks_per_quarter == 220


def test_drop_split_bar_signatures():
  # music21's ABC reader: 2/2, a split-off 1/6 bar, 2/2 again, ..., and a
  # split-off last bar.
  third = 2.0 / 3.0  # A 1/6 bar, in quarter notes.
  signatures = [(0.0, 2, 2), (8.0, 1, 6), (8.0 + third, 2, 2),
                (16.0 + third, 1, 6), (16.0 + 2 * third, 2, 2),
                (24.0 + 2 * third, 3, 8)]
  assert note_events.drop_split_bar_signatures(
      signatures, end=25.5 + 2 * third) == [(0.0, 2, 2)]
  # Without the end, the last signature is kept.
  assert note_events.drop_split_bar_signatures(signatures)[-1] == (
      24.0 + 2 * third, 3, 8)
  # Real changes stay: longer than one bar, or not returning.
  changes = [(0.0, 3, 4), (12.0, 2, 4), (20.0, 3, 4), (23.0, 6, 8)]
  assert note_events.drop_split_bar_signatures(changes, end=35.0) == changes
  assert note_events.drop_split_bar_signatures(
      [(0.0, 4, 4), (4.0, 4, 4), (8.0, 3, 4)], end=11.0) == [
          (0.0, 4, 4)]
  assert note_events.drop_split_bar_signatures([]) == []


def test_events_to_note_sequence_defaults_to_four_four():
  sequence = note_events.events_to_note_sequence(
      [note_events.NoteEvent(0.0, 1.0, (60,))])
  assert [(t.numerator, t.denominator) for t in sequence.time_signatures] == [
      (4, 4)]
  assert not sequence.key_signatures


def test_events_to_note_sequence_feeds_the_melody_pipeline():
  # An 8-bar 3/4 tune with a one-beat pickup; ties make half notes.
  scale = [60, 62, 64, 65, 67, 69, 71, 72]
  events = [note_events.NoteEvent(0.0, 1.0, (59,))]
  for bar in range(8):
    offset = 1.0 + 3.0 * bar
    pitch = scale[bar]
    events += [note_events.NoteEvent(offset, 1.0, (pitch,), tie='start'),
               note_events.NoteEvent(offset + 1.0, 1.0, (pitch,), tie='stop'),
               note_events.NoteEvent(offset + 2.0, 1.0, (pitch + 12, pitch))]
  sequence = note_events.events_to_note_sequence(
      events, [(0.0, 3, 4)], [(0.0, 0, 'major')], pickup=2.0)
  melodies, stats = mp.note_sequence_to_class_sequences(sequence)
  assert stats.melodies_kept == 1
  (melody,) = melodies
  # The melody starts at the pickup's bar: 2 beats without an event (the
  # pickup is shifted onto beat 3), then the pickup note; 1 + 8 bars.
  steps_per_bar = 3 * encoding.STEPS_PER_QUARTER
  assert len(melody) == 9 * steps_per_bar
  assert melody[:8] == [encoding.HOLD_CLASS] * 8
  assert melody[8] >= encoding.NUM_SPECIAL_EVENTS
  onsets = [c for c in melody if c >= encoding.NUM_SPECIAL_EVENTS]
  # One onset for the pickup, then per bar a tied half note and the top
  # note of a chord.
  assert len(onsets) == 1 + 2 * 8
