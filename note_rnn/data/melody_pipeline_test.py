"""Tests of melody extraction, transposition and encoding (melody_pipeline)."""

import collections
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

from note_seq import abc_parser
from note_seq import melodies_lib
from note_seq import sequences_lib
from note_seq.protobuf import music_pb2
import numpy as np
import pytest

from note_rnn import encoding
from note_rnn.data import abc_text
from note_rnn.data import dataset_tasks
from note_rnn.data import melody_pipeline as mp
from note_rnn.data import source_files

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
  a.fail_file('x.mid', source_files.FILE_UNREADABLE_MIDI)
  b = mp.DatasetStats(files_read=2, melodies_kept=3)
  b.melodies_dropped[mp.MELODY_TOO_SHORT] += 2
  a.merge(b)
  assert (a.files_read, a.melodies_kept) == (3, 5)
  assert a.melodies_dropped == {mp.MELODY_TOO_SHORT: 3}
  assert a.failed_files == [('x.mid', source_files.FILE_UNREADABLE_MIDI)]
  assert 'x.mid (unreadable_midi)' in a.summary()


def _classes(result):
  return [list(m) for _, melodies in result.melodies for m in melodies]


def test_testdata_files_give_the_documented_melodies(testdata_dir):
  source = {}
  # note_seq's ABC parser, as make_testdata.py documents (music21's:
  # source_files_test).
  for s in source_files.find_source_files(
      testdata_dir, abc_parser=source_files.ABC_PARSER_NOTE_SEQ):
    source[s.key] = s
  results = {k: source_files.process_file(s) for k, s in source.items()}
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
      ('corrupt.mid', source_files.FILE_UNREADABLE_MIDI)]
  assert results['empty.mid'].stats.failed_files == [
      ('empty.mid', source_files.FILE_NO_NOTES)]
  tunes = results['abc/tunes.abc']
  assert tunes.stats.sequences == 3
  assert [len(c) for c in _classes(tunes)] == [128, 128, 128]
  broken = results['abc/broken.abc']
  assert broken.stats.sequences == 1
  assert broken.stats.sequences_skipped == {
      f'{mp.SEQUENCE_ABC_TUNE_PARSE_ERROR}: note_seq:TupletError: '
      'Tuplets are not supported.': 1}
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


# ---------------------------------------------------------------------------
# Faults and bad input: oversized inputs, dying workers, encodings.

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
# An 8-bar tune in ABC (the first of testdata/abc/tunes.abc), with a title.
ABC_TUNE = """X:1
T:{title}
M:4/4
L:1/8
K:C
CDEF GABc|cBAG FEDC|EGce dBGB|c2G2 E2C2|DEFG ABcd|edcB AGFE|DFAc BGDB|c4 C4|
"""
# The tune: a last note of a billion eighth notes,
# which note_seq would pad to 2e9 steps before max_steps cuts it.
ABC_BOMB = ABC_TUNE.format(title='Bomb').replace('c4 C4|', 'c4 C999999999|')
TICKS_PER_QUARTER = 96


def _varlen(value):
  out = [value & 0x7f]
  value >>= 7
  while value:
    out.append(0x80 | (value & 0x7f))
    value >>= 7
  return bytes(reversed(out))


def _midi_bytes(notes, ticks_per_quarter=TICKS_PER_QUARTER):
  """Format-0 MIDI bytes of back-to-back notes, (pitch, ticks) each."""
  events = []
  for pitch, ticks in notes:
    events.append(b'\x00' + bytes([0x90, pitch, 100]))
    events.append(_varlen(ticks) + bytes([0x80, pitch, 0]))
  track = b''.join(events) + b'\x00\xff\x2f\x00'
  return (b'MThd' + (6).to_bytes(4, 'big') + (0).to_bytes(2, 'big') +
          (1).to_bytes(2, 'big') + ticks_per_quarter.to_bytes(2, 'big') +
          b'MTrk' + len(track).to_bytes(4, 'big') + track)


def _good_midi_notes():
  """phrase(8) as back-to-back quarter notes."""
  return [(pitch, TICKS_PER_QUARTER) for pitch, _, _ in phrase(8)]


def write_bomb_corpus(folder):
  """Two good files and three bombs; returns {name: expected failure}."""
  folder.mkdir(parents=True, exist_ok=True)
  (folder / 'good.abc').write_text(ABC_TUNE.format(title='Good'))
  (folder / 'good.mid').write_bytes(_midi_bytes(_good_midi_notes()))
  (folder / 'bomb.abc').write_text(ABC_BOMB)
  # A note of 10 hours at 120 qpm: 288,000 steps (6.9M ticks).
  ten_hours = 10 * 3600 * 2 * TICKS_PER_QUARTER
  (folder / 'long_note.mid').write_bytes(
      _midi_bytes(_good_midi_notes() + [(60, ten_hours)]))
  (folder / 'many_notes.mid').write_bytes(
      _midi_bytes([(60 + i % 12, TICKS_PER_QUARTER // 4)
                   for i in range(100000)]))
  return {'bomb.abc': mp.INPUT_TOO_MANY_STEPS,
          'long_note.mid': mp.INPUT_TOO_MANY_STEPS,
          'many_notes.mid': mp.INPUT_TOO_MANY_NOTES}


def test_sequence_bounds_are_checked_before_quantizing():
  sequence = make_sequence(phrase(8))
  assert mp.sequence_steps(sequence) == pytest.approx(8 * BAR)
  assert mp.input_bound_reason(sequence) is None
  # A tempo change halves the rate for the last 4 bars (seconds 16-32).
  halved = make_sequence(phrase(8))
  halved.tempos.add(time=16.0, qpm=QPM / 2)
  assert mp.sequence_steps(halved) == pytest.approx(6 * BAR)
  # One note ending past MAX_INPUT_STEPS steps.
  long_note = make_sequence(
      phrase(8) + [(60, 8 * BAR, mp.MAX_INPUT_STEPS + 1)])
  class_sequences, stats = mp.note_sequence_to_class_sequences(long_note)
  assert not class_sequences
  assert stats.sequences_skipped == {mp.INPUT_TOO_MANY_STEPS: 1}
  with pytest.raises(mp.NoMelodyError, match='too_many_steps'):
    mp.primer_classes(long_note)
  infinite = make_sequence(phrase(8))
  infinite.notes[-1].end_time = float('inf')
  assert mp.input_bound_reason(infinite) == mp.INPUT_TOO_MANY_STEPS
  many = make_sequence([(60, i, i + 1) for i in range(mp.MAX_INPUT_NOTES + 1)])
  _, stats = mp.note_sequence_to_class_sequences(many)
  assert stats.sequences_skipped == {mp.INPUT_TOO_MANY_NOTES: 1}


def test_midi_scan_bounds_notes_and_ticks(testdata_dir):
  assert source_files.midi_bound_reason(_midi_bytes(_good_midi_notes())) is None
  for path in sorted(testdata_dir.glob('*.mid')):
    assert source_files.midi_bound_reason(path.read_bytes()) is None, path
  # Steps are ticks / ticks per quarter * 4, whatever the tempo.
  limit_ticks = mp.MAX_INPUT_STEPS * TICKS_PER_QUARTER // 4
  assert source_files.midi_bound_reason(
      _midi_bytes([(60, limit_ticks)])) is None
  assert source_files.midi_bound_reason(
      _midi_bytes([(60, limit_ticks + 1)])) == mp.INPUT_TOO_MANY_STEPS
  notes = [(60, 1)] * mp.MAX_INPUT_NOTES
  assert source_files.midi_bound_reason(_midi_bytes(notes)) is None
  assert source_files.midi_bound_reason(_midi_bytes(notes + [(60, 1)])) == (
      mp.INPUT_TOO_MANY_NOTES)
  # Bytes the scan cannot follow are left to the MIDI reader.
  truncated = b'MThd\0\0\0\6\0\0\0\1\0\x60MTrk\0\0\0\4\x00\x40'
  assert source_files.midi_bound_reason(truncated) is None


def test_process_file_drops_bomb_files_with_their_reason(tmp_path):
  expected = write_bomb_corpus(tmp_path)
  sources = {s.key: s for s in source_files.find_source_files(tmp_path)}
  for name, reason in expected.items():
    result = source_files.process_file(sources[name])
    assert not result.melodies
    assert result.stats.failed_files == [(name, reason)]
  for name in ('good.abc', 'good.mid'):
    result = source_files.process_file(sources[name])
    assert [len(c) for c in _classes(result)] == [8 * BAR]
  # A file over MAX_INPUT_BYTES is not even read.
  big = tmp_path / 'big.abc'
  with open(big, 'wb') as f:
    f.truncate(source_files.MAX_INPUT_BYTES[source_files.KIND_ABC] + 1)
  result = source_files.process_file(
      source_files.SourceFile(str(big), 'big.abc', source_files.KIND_ABC))
  assert result.stats.failed_files == [
      ('big.abc', source_files.INPUT_TOO_LARGE)]


# Runs in a child process without TensorFlow: caps its address space a
# little above what importing the pipeline took, runs every file of the
# corpus in process, and prints what came out and how much memory grew.
_MEMORY_CHILD = textwrap.dedent("""
    import json, resource, sys
    from note_rnn.data import dataset_runner
    from note_rnn.data import dataset_tasks
    from note_rnn.data import melody_pipeline as mp
    from note_rnn.data import source_files
    assert 'tensorflow' not in sys.modules
    def vm_kib(field):
      for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
          return int(line.split()[1])
    if sys.argv[2] == 'music21':
      # Imported and warmed up before the limit is set and growth measured.
      good = sys.argv[1] + '/good.abc'
      source_files.process_file(source_files.SourceFile(
          good, 'good.abc', source_files.KIND_ABC, 'music21'))
    limit = (vm_kib('VmSize') + HEADROOM_KIB) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sources = source_files.find_source_files(sys.argv[1],
                                             abc_parser=sys.argv[2])
    results = dataset_runner.run_tasks(
        dataset_tasks.make_tasks(sources, {}, mp.MelodyOptions(),
                                 mp.DatasetStats()),
        1, dataset_tasks.Progress(len(sources), 'files', None))
    stats = mp.DatasetStats()
    melodies = {}
    for result in results:
      stats.merge(result.stats)
      for key, found in result.melodies:
        melodies[key] = [len(m) for m in found]
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(json.dumps({'failed': stats.failed_files, 'melodies': melodies,
                      'rss_growth_kib': growth}))
""")
# Address space the child may add after its imports, and the peak RSS it may
# gain running the corpus. Unbounded, the ABC bomb asks for 16 GB at once,
# the MIDI ones grew RSS by 115 MB (100k notes) and 160 MB (10-hour note).
MEMORY_CHILD_HEADROOM_MIB = 1024
MAX_RSS_GROWTH_MIB = 48


@pytest.mark.parametrize('abc_parser', ['note_seq', 'music21'])
def test_bomb_files_keep_memory_flat_under_a_memory_limit(tmp_path,
                                                          abc_parser):
  if abc_parser == 'music21':
    pytest.importorskip(
        'music21', reason="music21 is an extra: pip install -e '.[corpus]'")
  expected = write_bomb_corpus(tmp_path / 'corpus')
  script = _MEMORY_CHILD.replace('HEADROOM_KIB',
                                 str(MEMORY_CHILD_HEADROOM_MIB * 1024))
  env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
  result = subprocess.run(
      [sys.executable, '-c', script, str(tmp_path / 'corpus'), abc_parser],
      env=env,
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  assert sorted(map(tuple, report['failed'])) == sorted(expected.items())
  assert report['melodies'] == {'good.abc': [8 * BAR], 'good.mid': [8 * BAR]}
  assert report['rss_growth_kib'] < MAX_RSS_GROWTH_MIB * 1024


def crash_on_marker(task):
  """Worker entry point that dies on files named *crash*.

  It lives here, in a module free of TensorFlow, for the worker processes
  of note_rnn_create_dataset_test to import.

  Args:
    task: as `dataset_tasks.run_task`.

  Returns:
    `dataset_tasks.run_task(task)`.
  """
  kind, payload, _ = task
  if kind == 'file' and 'crash' in payload.key:
    os._exit(3)  # pylint: disable=protected-access
  return dataset_tasks.run_task(task)


def _abc_title(data):
  text, _ = abc_text.decode_abc(data)
  tunes, errors = abc_parser.parse_abc_tunebook(text)
  assert not errors
  return [t.sequence_metadata.title for t in tunes.values()]


@pytest.mark.parametrize('name, data, title', [
    ('utf8', ABC_TUNE.format(title='Müller “Walzer”').encode('utf-8'),
     'Müller “Walzer”'),
    ('latin1', ABC_TUNE.format(title='Müller Ländler').encode('latin-1'),
     'Müller Ländler'),
    ('cp1252', ABC_TUNE.format(title='“Walzer” – Müller').encode('cp1252'),
     '“Walzer” – Müller'),
    ('utf8_bom', b'\xef\xbb\xbf' + ABC_TUNE.format(title='Æ').encode(),
     'Æ'),
    ('utf16_le', ABC_TUNE.format(title='Grüße').encode('utf-16'), 'Grüße'),
    ('utf16_be', b'\xfe\xff' + ABC_TUNE.format(title='Grüße').encode(
        'utf-16-be'), 'Grüße'),
    ('utf16_no_bom', ABC_TUNE.format(title='Grüße').encode('utf-16-le'),
     'Grüße'),
    # Windows-1251 bytes would read as accented latin without the charset.
    ('charset', ('%abc-charset windows-1251\n\n' + ABC_TUNE.format(
        title='Калинка')).encode('cp1251'), 'Калинка'),
    ('charset_field', ('I:abc-charset iso-8859-1\n\n' + ABC_TUNE.format(
        title='Gr\x96n')).encode('latin-1'), 'Gr\x96n'),
    ('crlf', ABC_TUNE.format(title='Dos').replace('\n', '\r\n').encode(),
     'Dos'),
])
def test_abc_files_in_legacy_encodings_are_read(tmp_path, name, data, title):
  assert _abc_title(data) == [title]
  path = tmp_path / f'{name}.abc'
  path.write_bytes(data)
  result = source_files.process_file(
      source_files.SourceFile(str(path), path.name, source_files.KIND_ABC))
  assert not result.stats.failed_files
  assert [len(c) for c in _classes(result)] == [8 * BAR]


def test_summary_points_to_the_full_failure_list():
  stats = mp.DatasetStats(failed_files_path='out/failed_files.txt')
  for i in range(mp.MAX_FAILED_FILES_LISTED + 3):
    stats.fail_file(f'bad{i:02d}.mid', source_files.FILE_UNREADABLE_MIDI)
  summary = stats.summary()
  assert '... and 3 more (all in out/failed_files.txt)' in summary
  assert 'failed files list:      13 -> out/failed_files.txt' in summary


def _reference_melodies(quantized, options):
  """note_seq's search over the whole sequence (extract_melodies before it
  gave each search only the notes it can reach), as (start, events)."""
  steps_per_bar = int(
      sequences_lib.steps_per_bar_in_quantized_sequence(quantized))
  found = []
  for instrument in sorted({n.instrument for n in quantized.notes}):
    search_start_step = 0
    while True:
      melody = melodies_lib.Melody()
      try:
        melody.from_quantized_sequence(
            quantized, search_start_step=search_start_step,
            instrument=instrument, gap_bars=options.gap_bars,
            ignore_polyphonic_notes=options.ignore_polyphonic_notes,
            pad_end=False, filter_drums=options.filter_drums)
      except melodies_lib.PolyphonicMelodyError:
        break
      if not melody:
        break
      search_start_step = melody.end_step + (-melody.end_step) % steps_per_bar
      found.append((melody.start_step, list(melody)))
  return found


@pytest.mark.parametrize('seed', range(4))
def test_windowed_search_finds_what_note_seq_finds(seed):
  rng = np.random.RandomState(seed)
  tracks = []
  for _ in range(3):
    notes, step = [], int(rng.randint(0, 20))
    for _ in range(300):
      length = int(rng.choice([1, 2, 4, 8, 40]))
      notes.append((int(rng.randint(40, 90)), step, step + length))
      # Mostly close notes; sometimes chords, overlaps and long gaps.
      step += int(rng.choice([0, 1, 2, 4, 4, 8, 15, 16, 17, 40]))
    tracks.append(notes)
  sequence = quantize(make_sequence(*tracks, drum_tracks=(2,)))
  for options in (
      mp.MelodyOptions(min_bars=0, min_unique_pitches=0, max_steps=10**6),
      mp.MelodyOptions(min_bars=0, min_unique_pitches=0, max_steps=10**6,
                       gap_bars=0.5, filter_drums=False,
                       ignore_polyphonic_notes=False)):
    melodies, _ = mp.extract_melodies(sequence, options)
    assert [(m.start_step, list(m)) for m in melodies] == (
        _reference_melodies(sequence, options))


def test_many_short_melodies_are_found_in_linear_time():
  # 15,000 one-step notes a bar apart: as many melody searches. Scanning
  # the whole track per search took 130 s here; windows take about 1 s.
  notes = [(60, 17 * i, 17 * i + 1)
           for i in range((mp.MAX_INPUT_STEPS - 40) // 17)]
  sequence = make_sequence(notes)
  assert mp.input_bound_reason(sequence) is None
  start = time.monotonic()
  _, stats = mp.note_sequence_to_class_sequences(sequence)
  assert stats.melodies_dropped == {mp.MELODY_TOO_SHORT: len(notes)}
  assert time.monotonic() - start < 30
