"""Tests of melody extraction, transposition and encoding (melody_pipeline)."""

import collections

from note_seq import sequences_lib
from note_seq.protobuf import music_pb2
import numpy as np
import pytest

from note_rnn import encoding
from note_rnn import melody_pipeline as mp

# Test sequences run at 60 qpm: one quarter note per second, 4 steps each.
QPM = 60.0
SECONDS_PER_STEP = 60.0 / QPM / encoding.STEPS_PER_QUARTER
BAR = encoding.STEPS_PER_BAR
# One bar of C major quarter notes, then one of G major: 7 pitch classes
# over two bars, (pitch, start step, end step) from step 0.
C_MAJOR_TWO_BARS = [(60, 0, 4), (62, 4, 8), (64, 8, 12), (65, 12, 16),
                    (67, 16, 20), (69, 20, 24), (71, 24, 28), (72, 28, 32)]


def phrase(bars, start_step=0, transpose=0):
  """Repeats C_MAJOR_TWO_BARS to `bars` bars (an even number)."""
  assert bars % 2 == 0
  notes = []
  for rep in range(bars // 2):
    for pitch, start, end in C_MAJOR_TWO_BARS:
      offset = start_step + rep * 2 * BAR
      notes.append((pitch + transpose, start + offset, end + offset))
  return notes


def make_sequence(*tracks, drum_tracks=(), time_signature=(4, 4)):
  """NoteSequence with one instrument per track of (pitch, start, end) steps.

  Args:
    *tracks: lists of (pitch, start_step, end_step).
    drum_tracks: indices of tracks whose notes are drums.
    time_signature: (numerator, denominator).

  Returns:
    An unquantized NoteSequence at QPM.
  """
  sequence = music_pb2.NoteSequence()
  sequence.tempos.add(qpm=QPM)
  sequence.time_signatures.add(numerator=time_signature[0],
                               denominator=time_signature[1])
  for instrument, notes in enumerate(tracks):
    for pitch, start, end in notes:
      sequence.notes.add(pitch=pitch, velocity=100, instrument=instrument,
                         is_drum=instrument in drum_tracks,
                         start_time=start * SECONDS_PER_STEP,
                         end_time=end * SECONDS_PER_STEP)
  sequence.total_time = max(n.end_time for n in sequence.notes)
  return sequence


def quantize(sequence):
  return sequences_lib.quantize_note_sequence(sequence,
                                              encoding.STEPS_PER_QUARTER)


def extract(*tracks, options=mp.MelodyOptions(), **kwargs):
  return mp.extract_melodies(quantize(make_sequence(*tracks, **kwargs)),
                             options)


def test_eight_bar_melody_is_kept_whole():
  melodies, stats = extract(phrase(8))
  assert len(melodies) == 1
  melody = melodies[0]
  # 8 bars of quarter notes; the final note-off is not part of the melody.
  assert len(melody) == 8 * BAR
  assert melody.start_step == 0
  assert list(melody)[:5] == [60, -2, -2, -2, 62]
  assert stats.melodies_dropped == collections.Counter()
  assert stats.melodies_truncated == 0


def test_silence_of_one_bar_splits_the_melody():
  first = phrase(8)
  # The first melody's last note ends at step 128; one bar of silence.
  second = phrase(8, start_step=8 * BAR + BAR)
  melodies, _ = extract(first + second)
  assert [len(m) for m in melodies] == [8 * BAR, 8 * BAR]
  assert [m.start_step for m in melodies] == [0, 9 * BAR]


def test_silence_shorter_than_gap_bars_does_not_split():
  first = phrase(8)
  second = [(p, s + 8 * BAR + BAR - 1, e + 8 * BAR + BAR - 1)
            for p, s, e in phrase(8)]
  melodies, _ = extract(first + second)
  assert len(melodies) == 1
  assert len(melodies[0]) == 17 * BAR - 1
  # With gap_bars 0.5 the same 15-step silence splits.
  melodies, _ = extract(first + second,
                        options=mp.MelodyOptions(gap_bars=0.5))
  assert len(melodies) == 2


def test_polyphony_resolves_to_the_top_note():
  chords = [(p + offset, s, e) for p, s, e in phrase(8)
            for offset in (0, -3, -7)]
  melodies, stats = extract(chords)
  assert len(melodies) == 1
  assert list(melodies[0]) == list(extract(phrase(8))[0][0])
  assert stats.polyphonic_tracks_resolved == 1
  assert not stats.tracks_skipped


def test_polyphonic_track_is_dropped_without_ignore_polyphonic_notes():
  chords = [(p + offset, s, e) for p, s, e in phrase(8) for offset in (0, -4)]
  options = mp.MelodyOptions(ignore_polyphonic_notes=False)
  melodies, stats = extract(chords, phrase(8), options=options)
  # The chord track is dropped; the monophonic one is kept.
  assert len(melodies) == 1
  assert stats.tracks_skipped == {mp.TRACK_POLYPHONIC: 1}


def test_drum_tracks_are_skipped():
  drums = [(36, s, s + 1) for s in range(0, 8 * BAR, 4)]
  drums_with_pitches = [(p, s, e) for p, s, e in phrase(8)]
  melodies, stats = extract(drums, phrase(8, transpose=2),
                            drums_with_pitches, drum_tracks=(0, 2))
  assert len(melodies) == 1
  assert min(p for p in melodies[0] if p >= 0) == 62
  assert stats.tracks_skipped == {mp.TRACK_DRUMS: 2}


def test_min_bars_drops_short_melodies():
  # 6 bars: dropped with the default 7, kept with min_bars=6.
  melodies, stats = extract(phrase(6))
  assert not melodies
  assert stats.melodies_dropped == {mp.MELODY_TOO_SHORT: 1}
  melodies, _ = extract(phrase(6), options=mp.MelodyOptions(min_bars=6))
  assert len(melodies) == 1
  # Exactly 7 bars (112 steps) is long enough.
  seven = phrase(6) + [(60, 6 * BAR, 7 * BAR)]
  melodies, stats = extract(seven)
  assert [len(m) for m in melodies] == [7 * BAR]


def test_min_unique_pitches_counts_pitch_classes():
  # C4, E4, G4, C5, E5 over 8 bars: 5 notes but 3 pitch classes.
  pitches = [60, 64, 67, 72, 76]
  notes = [(pitches[i % 5], 4 * i, 4 * i + 4) for i in range(8 * 4)]
  melodies, stats = extract(notes)
  assert not melodies
  assert stats.melodies_dropped == {mp.MELODY_TOO_FEW_PITCHES: 1}
  melodies, _ = extract(
      notes, options=mp.MelodyOptions(min_unique_pitches=3))
  assert len(melodies) == 1


def test_long_melodies_are_truncated_to_max_steps():
  melodies, stats = extract(phrase(40))
  assert [len(m) for m in melodies] == [mp.DEFAULT_MAX_STEPS]
  assert stats.melodies_truncated == 1
  melodies, stats = extract(phrase(40),
                            options=mp.MelodyOptions(max_steps=200))
  assert [len(m) for m in melodies] == [200]


def test_melody_starts_at_the_bar_of_its_first_note():
  # First note on beat 2: the melody begins at the bar line with holds,
  # as note_seq pads.
  notes = [(p, s + 4, e + 4) for p, s, e in phrase(8)]
  melodies, _ = extract(notes)
  assert melodies[0].start_step == 0
  assert encoding.melody_to_classes(melodies[0])[:5] == [
      encoding.HOLD_CLASS] * 4 + [encoding.pitch_to_class(60)]


def test_g_major_melody_is_transposed_to_c_major():
  c_melodies, _ = extract(phrase(8))
  g_melodies, _ = extract(phrase(8, transpose=7))
  c_classes, c_amount = mp.encode_melody(c_melodies[0])
  g_classes, g_amount = mp.encode_melody(g_melodies[0])
  assert c_amount == 0
  # G major -> C major by the octave-nearest move centring in [48, 84).
  assert g_amount == -7
  assert g_classes == c_classes
  assert c_classes[0] == encoding.pitch_to_class(60)


def test_squash_folds_every_pitch_into_the_encoding_range():
  # A C major melody spanning 4 octaves from C2 (36) to C6 (84).
  pitches = [36, 50, 64, 79, 84, 38, 53, 67, 81, 40, 55, 69, 83, 41]
  notes = [(pitches[i % len(pitches)], 4 * i, 4 * i + 4)
           for i in range(8 * 4)]
  melodies, _ = extract(notes)
  classes, amount = mp.encode_melody(melodies[0])
  assert amount == 0
  note_classes = [c for c in classes if c >= encoding.NUM_SPECIAL_EVENTS]
  assert min(note_classes) >= encoding.NUM_SPECIAL_EVENTS
  assert max(note_classes) < encoding.NUM_CLASSES
  # Octave folding keeps pitch classes: 36 -> 48, 84 -> 72.
  events = encoding.classes_to_events(classes)
  assert events[0] == 48
  assert events[16] == 72
  assert all(e % 12 in (0, 2, 4, 5, 7, 9, 11) for e in events if e >= 0)


def test_note_sequence_to_class_sequences_counts():
  sequence = make_sequence(phrase(8), phrase(4, transpose=2))
  class_sequences, stats = mp.note_sequence_to_class_sequences(sequence)
  assert len(class_sequences) == 1
  assert len(class_sequences[0]) == 8 * BAR
  assert stats.sequences == 1
  assert stats.melodies_kept == 1
  assert stats.melodies_dropped == {mp.MELODY_TOO_SHORT: 1}
  empty, stats = mp.note_sequence_to_class_sequences(music_pb2.NoteSequence())
  assert not empty
  assert stats.sequences_skipped == {mp.SEQUENCE_NO_NOTES: 1}


def test_tempo_change_splits_before_quantizing():
  # 16 bars at 60 qpm, then the tempo doubles at bar 8: two 8-bar pieces,
  # each quantized at its own tempo.
  sequence = make_sequence(phrase(8))
  tail = make_sequence(phrase(8))
  for note in tail.notes:
    sequence.notes.add().CopyFrom(note)
    sequence.notes[-1].start_time = 32.0 + note.start_time / 2
    sequence.notes[-1].end_time = 32.0 + note.end_time / 2
  sequence.tempos.add(time=32.0, qpm=2 * QPM)
  sequence.total_time = max(n.end_time for n in sequence.notes)
  class_sequences, stats = mp.note_sequence_to_class_sequences(sequence)
  assert [len(c) for c in class_sequences] == [8 * BAR, 8 * BAR]
  assert class_sequences[0] == class_sequences[1]
  assert not stats.sequences_skipped


def test_three_four_time_uses_twelve_step_bars():
  notes = [(p, s, e) for p, s, e in phrase(8)][:24]  # 96 steps = 8 bars of 3/4
  melodies, _ = extract(notes, time_signature=(3, 4))
  assert melodies[0].steps_per_bar == 12
  assert len(melodies) == 1
  # 6 bars of 3/4 (72 steps) is too short for min_bars=7.
  melodies, stats = extract(notes[:18], time_signature=(3, 4))
  assert not melodies
  assert stats.melodies_dropped == {mp.MELODY_TOO_SHORT: 1}


def test_options_are_validated():
  with pytest.raises(ValueError, match='gap_bars'):
    mp.MelodyOptions(gap_bars=0)
  with pytest.raises(ValueError, match='max_steps'):
    mp.MelodyOptions(max_steps=1)


def test_stats_merge_adds_counts():
  a = mp.DatasetStats(files_read=1, melodies_kept=2)
  a.melodies_dropped[mp.MELODY_TOO_SHORT] += 1
  a.fail_file('x.mid', mp.FILE_UNREADABLE_MIDI)
  b = mp.DatasetStats(files_read=2, melodies_kept=3)
  b.melodies_dropped[mp.MELODY_TOO_SHORT] += 2
  a.merge(b)
  assert (a.files_read, a.melodies_kept) == (3, 5)
  assert a.melodies_dropped == {mp.MELODY_TOO_SHORT: 3}
  assert a.failed_files == [('x.mid', mp.FILE_UNREADABLE_MIDI)]
  assert 'x.mid (unreadable_midi)' in a.summary()


def _classes(result):
  return [list(m) for _, melodies in result.melodies for m in melodies]


def test_testdata_files_give_the_documented_melodies(testdata_dir):
  source = {}
  for s in mp.find_source_files(testdata_dir):
    source[s.key] = s
  results = {k: mp.process_file(s) for k, s in source.items()}
  c_major = _classes(results['c_major.mid'])
  assert [len(c) for c in c_major] == [128]
  # Same tune a fifth up / as the top of triads: the same classes.
  assert _classes(results['g_major.mid']) == c_major
  assert _classes(results['polyphonic.mid']) == c_major
  assert results['polyphonic.mid'].stats.polyphonic_tracks_resolved == 1
  assert _classes(results['long_gap.mid']) == c_major * 2
  assert [len(c) for c in _classes(results['long_melody.mid'])] == [512]
  assert results['long_melody.mid'].stats.melodies_truncated == 1
  assert results['with_drums.mid'].stats.tracks_skipped == {mp.TRACK_DRUMS: 1}
  assert len(_classes(results['with_drums.mid'])) == 1
  for name in ('too_short.mid', 'primer.mid'):
    assert results[name].stats.melodies_dropped == {mp.MELODY_TOO_SHORT: 1}
  assert results['few_pitches.mid'].stats.melodies_dropped == {
      mp.MELODY_TOO_FEW_PITCHES: 1}
  assert results['corrupt.mid'].stats.failed_files == [
      ('corrupt.mid', mp.FILE_UNREADABLE_MIDI)]
  assert results['empty.mid'].stats.failed_files == [
      ('empty.mid', mp.FILE_NO_NOTES)]
  tunes = results['abc/tunes.abc']
  assert tunes.stats.sequences == 3
  assert [len(c) for c in _classes(tunes)] == [128, 128, 128]
  broken = results['abc/broken.abc']
  assert broken.stats.sequences == 1
  assert broken.stats.sequences_skipped == {
      mp.SEQUENCE_ABC_TUNE_PARSE_ERROR: 1}
  assert len(_classes(broken)) == 1


def test_primer_is_a_short_c_major_melody(testdata_dir):
  melody = encoding.midi_file_to_note_sequence(
      str(testdata_dir / 'primer.mid'))
  pitches = [n.pitch for n in melody.notes]
  assert len(pitches) == 9
  assert all(p % 12 in (0, 2, 4, 5, 7, 9, 11) for p in pitches)
  assert all(encoding.MIN_NOTE <= p < encoding.MAX_NOTE for p in pitches)
  quantized = quantize(melody)
  assert quantized.total_quantized_steps == 2 * BAR


def test_find_source_files_keys_and_filters(testdata_dir, tmp_path):
  keys = [s.key for s in mp.find_source_files(testdata_dir)]
  assert 'abc/tunes.abc' in keys and 'corrupt.mid' in keys
  assert 'make_testdata.py' not in keys
  assert keys == sorted(keys)
  # A glob; keys relative to the matches' common folder.
  glob_keys = [s.key for s in mp.find_source_files(
      str(testdata_dir / '**' / '*.abc'))]
  assert glob_keys == ['broken.abc', 'tunes.abc']
  single = mp.find_source_files(testdata_dir / 'c_major.mid')
  assert [(s.key, s.kind) for s in single] == [('c_major.mid', mp.KIND_MIDI)]
  (tmp_path / 'notes.txt').write_text('x')
  with pytest.raises(mp.InputError, match='unknown file type'):
    mp.find_source_files(tmp_path / 'notes.txt')
  with pytest.raises(mp.InputError, match='matches nothing'):
    mp.find_source_files(tmp_path / 'missing')


def test_split_sources_is_deterministic_and_sized():
  keys = [f'song{i:03d}.mid' for i in range(50)]
  eval_keys = mp.split_sources(keys, 0.1, seed=0)
  assert len(eval_keys) == 5
  assert mp.split_sources(list(reversed(keys)), 0.1, seed=0) == eval_keys
  assert mp.split_sources(keys, 0.1, seed=1) != eval_keys
  assert mp.split_sources(keys, 0.0, seed=0) == set()
  assert len(mp.split_sources(keys[:8], 0.1, seed=0)) == 1  # 0.8 rounds to 1
  with pytest.raises(ValueError):
    mp.split_sources(keys, 1.5, seed=0)


def test_encode_melody_output_is_in_range_for_random_melodies():
  rng = np.random.RandomState(0)
  for _ in range(20):
    pitches = rng.randint(0, 128, size=40)
    notes = [(int(p), 4 * i, 4 * i + 3) for i, p in enumerate(pitches)]
    melodies, _ = extract(notes, options=mp.MelodyOptions(
        min_unique_pitches=0))
    for melody in melodies:
      classes, _ = mp.encode_melody(melody)
      assert all(0 <= c < encoding.NUM_CLASSES for c in classes)
