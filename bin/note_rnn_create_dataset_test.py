"""End-to-end tests of bin/note_rnn_create_dataset.py on testdata/."""

import collections
import errno
import importlib.util
import io
import os
import pathlib
import resource
import shutil
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import output_checks_testing
import pytest
import tensorflow as tf

from note_rnn import encoding
from note_rnn.data import dataset_runner
from note_rnn.data import melody_pipeline as mp
from note_rnn.data import melody_pipeline_test as mp_test
from note_rnn.data import sequence_example_io as sio
from note_rnn.data import source_files
from note_rnn.data import source_files_test as sf_test
from note_rnn.runtime import outputs

SCRIPT = pathlib.Path(__file__).resolve().parent / 'note_rnn_create_dataset.py'
REPO_ROOT = SCRIPT.parent.parent
# Seconds a subprocess run may take before the test fails.
SUBPROCESS_TIMEOUT_S = 120

_spec = importlib.util.spec_from_file_location('note_rnn_create_dataset',
                                               SCRIPT)
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)
FLAGS = flags.FLAGS

# What testdata/ holds (see testdata/make_testdata.py).
EXPECTED_FILES = 13
EXPECTED_MELODIES = 11
EXPECTED_SOURCES_WITH_MELODIES = 8


def _create(input_spec, output_dir, **kwargs):
  # 0: in this process (fast); 1 and more: worker processes.
  kwargs.setdefault('num_workers', 0)
  # The statistics of testdata/ below are note_seq's (music21 reads the
  # triplet tune of broken.abc, 4 bars, too short to keep: the same
  # melodies); music21's are tested on a tunebook of its own.
  kwargs.setdefault('abc_parser', source_files.ABC_PARSER_NOTE_SEQ)
  kwargs.setdefault('progress_stream', io.StringIO())
  return tool.create_dataset(str(input_spec), str(output_dir), **kwargs)


def _read_bytes(output_dir):
  return [(pathlib.Path(output_dir) / name).read_bytes()
          for name in (dataset_runner.TRAINING_FILENAME,
                       dataset_runner.EVAL_FILENAME)]


@pytest.fixture(scope='module')
def testdata_run(tmp_path_factory):
  """One in-process run over testdata/ with the defaults, seed 0."""
  output_dir = tmp_path_factory.mktemp('dataset')
  progress = io.StringIO()
  stats = _create(REPO_ROOT / 'testdata', output_dir, progress_stream=progress)
  return stats, output_dir, progress.getvalue()


def test_stats_on_testdata(testdata_run):
  stats, _, progress = testdata_run
  assert stats.files_found == EXPECTED_FILES
  assert stats.files_read == EXPECTED_FILES - 2
  assert stats.files_failed == {source_files.FILE_UNREADABLE_MIDI: 1,
                                source_files.FILE_NO_NOTES: 1}
  assert stats.failed_files == [
      ('corrupt.mid', source_files.FILE_UNREADABLE_MIDI),
      ('empty.mid', source_files.FILE_NO_NOTES)]
  # 9 MIDI files with notes + 3 + 1 ABC tunes.
  assert stats.sequences == 13
  assert stats.sequences_skipped == {
      f'{mp.SEQUENCE_ABC_TUNE_PARSE_ERROR}: note_seq:TupletError: '
      'Tuplets are not supported.': 1}
  assert stats.abc_parser == 'note_seq'
  assert f'{EXPECTED_FILES}\n  ABC parser:             note_seq\n' in (
      stats.summary())
  assert stats.tracks_skipped == {mp.TRACK_DRUMS: 1}
  assert stats.polyphonic_tracks_resolved == 1
  assert stats.melodies_kept == EXPECTED_MELODIES
  assert stats.melodies_truncated == 1
  assert stats.melodies_dropped == {mp.MELODY_TOO_SHORT: 2,
                                    mp.MELODY_TOO_FEW_PITCHES: 1}
  assert stats.sources_with_melodies == EXPECTED_SOURCES_WITH_MELODIES
  # 10% of 8 sources rounds to 1.
  assert (stats.training_sources, stats.eval_sources) == (7, 1)
  assert stats.training_melodies + stats.eval_melodies == EXPECTED_MELODIES
  assert f'{EXPECTED_FILES}/{EXPECTED_FILES} files' in progress
  summary = stats.summary()
  assert 'corrupt.mid (unreadable_midi)' in summary
  assert 'too_short: 2' in summary


def test_output_files_hold_the_melodies(testdata_run):
  stats, output_dir, _ = testdata_run
  assert stats.failed_files_path == str(
      output_dir / dataset_runner.FAILED_FILES_FILENAME)
  assert (output_dir / dataset_runner.FAILED_FILES_FILENAME).read_text() == (
      'corrupt.mid\tunreadable_midi\nempty.mid\tno_notes\n')
  training = sio.read_class_sequences(
      output_dir / dataset_runner.TRAINING_FILENAME)
  evaluation = sio.read_class_sequences(
      output_dir / dataset_runner.EVAL_FILENAME)
  assert len(training) == stats.training_melodies
  assert len(evaluation) == stats.eval_melodies
  lengths = sorted(len(m) for m in training + evaluation)
  assert lengths == [128] * 10 + [512]
  for melody in training + evaluation:
    assert all(0 <= c < encoding.NUM_CLASSES for c in melody)
  # c_major, g_major (transposed), polyphonic (top notes) and long_gap
  # (twice) all give c_major's melody.
  counts = collections.Counter(tuple(m) for m in training + evaluation)
  (melody, count), = counts.most_common(1)
  assert count == 5
  assert melody[:5] == (encoding.pitch_to_class(60), 0, 0, 0,
                        encoding.pitch_to_class(64))
  dataset = sio.make_training_dataset(
      [str(output_dir / dataset_runner.TRAINING_FILENAME)], batch_size=4,
      max_length=128,
      shuffle=False, repeat=False)
  inputs, labels, lengths = next(iter(dataset))
  assert inputs.shape[0] == 4 and inputs.shape[2] == encoding.NUM_CLASSES
  assert labels.dtype == tf.int64


def test_same_seed_gives_identical_bytes(testdata_run, tmp_path):
  _, output_dir, _ = testdata_run
  _create(REPO_ROOT / 'testdata', tmp_path / 'again')
  assert _read_bytes(tmp_path / 'again') == _read_bytes(output_dir)
  _create(REPO_ROOT / 'testdata', tmp_path / 'other', seed=1)
  assert _read_bytes(tmp_path / 'other') != _read_bytes(output_dir)


def test_every_failed_file_is_listed_in_the_output_folder(tmp_path):
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  shutil.copy(REPO_ROOT / 'testdata' / 'c_major.mid', corpus)
  failed = mp.MAX_FAILED_FILES_LISTED + 5
  for i in range(failed):
    shutil.copy(REPO_ROOT / 'testdata' / 'corrupt.mid',
                corpus / f'bad{i:02d}.mid')
  stats = _create(corpus, tmp_path / 'out')
  listed = (tmp_path / 'out' / dataset_runner.FAILED_FILES_FILENAME).read_text()
  assert listed.splitlines() == [f'bad{i:02d}.mid\tunreadable_midi'
                                 for i in range(failed)]
  summary = stats.summary()
  assert (f'... and 5 more (all in {tmp_path / "out" / "failed_files.txt"})'
          in summary)
  assert f'failed files list:      {failed} -> ' in summary
  # No temporary file is left beside the outputs.
  assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == sorted(
      [dataset_runner.EVAL_FILENAME, dataset_runner.FAILED_FILES_FILENAME,
       dataset_runner.TRAINING_FILENAME])


def test_a_file_that_kills_its_worker_fails_alone(tmp_path):
  # Workers import the task function's module (melody_pipeline_test, free
  # of TensorFlow); it kills its worker on files named *crash*.
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  shutil.copy(REPO_ROOT / 'testdata' / 'c_major.mid', corpus)
  shutil.copy(REPO_ROOT / 'testdata' / 'abc' / 'tunes.abc', corpus)
  shutil.copy(REPO_ROOT / 'testdata' / 'g_major.mid', corpus / 'crash.mid')
  # Each worker start imports note_seq (seconds): the pool breaks twice,
  # with the tasks in flight, then with crash.mid alone.
  progress = io.StringIO()
  stats = _create(corpus, tmp_path / 'out', num_workers=2, eval_ratio=0.0,
                  run_task=mp_test.crash_on_marker, progress_stream=progress)
  assert '3/3 files' in progress.getvalue()
  assert stats.files_read == 2
  assert stats.failed_files == [('crash.mid', source_files.FILE_WORKER_CRASHED)]
  assert stats.melodies_kept == stats.training_melodies == 4
  failed_files = tmp_path / 'out' / dataset_runner.FAILED_FILES_FILENAME
  assert failed_files.read_text() == (
      'crash.mid\tworker_crashed\n')


def test_split_keeps_each_source_whole(tmp_path):
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  shutil.copy(REPO_ROOT / 'testdata' / 'long_gap.mid', corpus)  # 2 melodies
  shutil.copy(REPO_ROOT / 'testdata' / 'abc' / 'tunes.abc', corpus)  # 3
  seen = set()
  for seed in range(6):
    stats = _create(corpus, tmp_path / f'out{seed}', eval_ratio=0.5,
                    seed=seed)
    assert stats.eval_sources == 1
    assert stats.eval_melodies in (2, 3)
    assert stats.training_melodies == 5 - stats.eval_melodies
    seen.add(stats.eval_melodies)
  assert seen == {2, 3}


def test_note_sequence_tfrecord_input(tmp_path):
  path = tmp_path / 'notes.tfrecord'
  sequences = [
      encoding.midi_file_to_note_sequence(
          str(REPO_ROOT / 'testdata' / 'c_major.mid')),
      encoding.midi_file_to_note_sequence(
          str(REPO_ROOT / 'testdata' / 'long_gap.mid')),
  ]
  with tf.io.TFRecordWriter(str(path)) as writer:
    for sequence in sequences:
      writer.write(sequence.SerializeToString())
    writer.write(b'not a note sequence')
    writer.write(b'')  # An empty NoteSequence: no notes.
    # A last note of a billion seconds: refused before it is expanded.
    bomb = sequences[0].__deepcopy__()
    bomb.notes[-1].end_time = 1e9
    writer.write(bomb.SerializeToString())
  stats = _create(path, tmp_path / 'out', eval_ratio=0.0)
  assert stats.files_found == stats.files_read == 1
  assert stats.sequences == 5
  assert stats.sequences_skipped == {mp.SEQUENCE_BAD_RECORD: 1,
                                     mp.SEQUENCE_NO_NOTES: 1,
                                     mp.INPUT_TOO_MANY_STEPS: 1}
  assert stats.melodies_kept == stats.training_melodies == 3
  assert stats.sources_with_melodies == 2  # Each record is a source.
  melodies = sio.read_class_sequences(
      tmp_path / 'out' / dataset_runner.TRAINING_FILENAME)
  assert [len(m) for m in melodies] == [128] * 3


def test_empty_folder_raises_empty_corpus_error(tmp_path):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(tool.EmptyCorpusError, match='no .*file found'):
    _create(tmp_path / 'empty', tmp_path / 'out')
  assert not (tmp_path / 'out').exists()


def test_no_melody_raises_with_stats(tmp_path):
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  for name in ('corrupt.mid', 'too_short.mid'):
    shutil.copy(REPO_ROOT / 'testdata' / name, corpus)
  with pytest.raises(tool.EmptyCorpusError, match='no melody') as info:
    _create(corpus, tmp_path / 'out')
  assert info.value.stats.files_failed == {source_files.FILE_UNREADABLE_MIDI: 1}
  assert info.value.stats.melodies_dropped == {mp.MELODY_TOO_SHORT: 1}
  assert not (tmp_path / 'out').exists()


def _run_main(argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(FLAGS(['note_rnn_create_dataset.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


def test_main_rejects_bad_flags_with_one_line(tmp_path, capsys):
  out = f'--output_dir={tmp_path / "out"}'
  cases = [
      ([out], '--input is required'),
      ([f'--input={tmp_path / "missing"}', out], 'matches nothing'),
      ([f'--input={REPO_ROOT / "testdata"}'], '--output_dir is required'),
      ([f'--input={REPO_ROOT / "testdata"}', out, '--eval_ratio=1.5'],
       '--eval_ratio'),
      ([f'--input={REPO_ROOT / "testdata"}', out, '--gap_bars=0'],
       'gap_bars'),
      ([f'--input={REPO_ROOT / "testdata"}', out, '--num_shards=0'],
       '--num_shards must be >= 1; got 0'),
  ]
  for argv, message in cases:
    rc, _, err = _run_main(argv, capsys)
    assert rc == tool.EXIT_USAGE
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_main_reads_a_flagfile(tmp_path, capsys, testdata_run):
  _, reference_dir, _ = testdata_run
  flagfile = tmp_path / 'flags.txt'
  flagfile.write_text(f'--input={REPO_ROOT / "testdata"}\n'
                      f'--output_dir={tmp_path / "out"}\n'
                      '--num_workers=1\n--seed=0\n')
  rc, out, _ = _run_main([f'--flagfile={flagfile}'], capsys)
  assert rc == 0
  assert out.count('Melody dataset summary') == 1
  assert _read_bytes(tmp_path / 'out') == _read_bytes(reference_dir)


def test_main_writes_compact_shards_of_the_same_melodies(tmp_path, capsys,
                                                        testdata_run):
  _, reference_dir, _ = testdata_run
  rc, out, _ = _run_main([f'--input={REPO_ROOT / "testdata"}',
                          f'--output_dir={tmp_path}', '--num_workers=1',
                          '--layout=compact', '--num_shards=2'], capsys)
  assert rc == 0
  for filename in (dataset_runner.TRAINING_FILENAME,
                   dataset_runner.EVAL_FILENAME):
    names, pattern = dataset_runner.shard_names(filename, 2)
    assert f'-> {tmp_path / pattern}' in out
    melodies = sum((sio.read_class_sequences(str(tmp_path / n))
                    for n in names), [])
    assert melodies == sio.read_class_sequences(
        str(reference_dir / filename))
    compact = sum(os.path.getsize(tmp_path / n) for n in names)
    assert compact * 100 < os.path.getsize(reference_dir / filename)


def _run_script(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  return subprocess.run(
      [sys.executable, str(SCRIPT)] + list(args), cwd=REPO_ROOT, env=env,
      capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S,
      check=False)


def test_script_on_testdata(tmp_path, testdata_run):
  _, reference_dir, _ = testdata_run
  # Default --num_workers (all CPUs): worker processes must give the same
  # bytes as the in-process run.
  result = _run_script('--input=testdata', f'--output_dir={tmp_path}')
  assert result.returncode == 0, result.stderr
  for name in (dataset_runner.TRAINING_FILENAME, dataset_runner.EVAL_FILENAME):
    assert (tmp_path / name).is_file()
  assert 'corrupt.mid (unreadable_midi)' in result.stdout
  assert f'melodies kept:          {EXPECTED_MELODIES}' in result.stdout
  assert f'{EXPECTED_FILES}/{EXPECTED_FILES} files' in result.stderr
  assert _read_bytes(tmp_path) == _read_bytes(reference_dir)


def test_script_on_empty_folder_exits_2(tmp_path):
  (tmp_path / 'empty').mkdir()
  result = _run_script(f'--input={tmp_path / "empty"}',
                       f'--output_dir={tmp_path / "out"}')
  assert result.returncode == 2
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('note_rnn_create_dataset:')]
  assert len(errors) == 1
  assert 'no .abc/.mid/.midi/.tfrecord file found' in errors[0]
  assert not result.stdout


# --- ABC parsers: music21 if installed (--abc_parser=auto), else note_seq.


def _abc_corpus(tmp_path):
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  (corpus / 'tunebook.abc').write_text(sf_test.TUNEBOOK)
  return corpus


def _in_process(monkeypatch):
  """Runs the tool's files in this process (fast, and monkeypatches hold)."""
  monkeypatch.setattr(
      tool, 'create_dataset',
      lambda *args, **kwargs: dataset_runner.create_dataset(
          *args, **dict(kwargs, num_workers=0, progress_stream=sys.stderr)))


def _melodies(output_dir):
  return sorted(sio.read_class_sequences(
      output_dir / dataset_runner.TRAINING_FILENAME))


def test_main_reads_abc_with_music21_when_installed(tmp_path, capsys,
                                                     monkeypatch):
  sf_test.require_music21()
  corpus = _abc_corpus(tmp_path)
  _in_process(monkeypatch)
  rc, out, err = _run_main([f'--input={corpus}', '--eval_ratio=0',
                            f'--output_dir={tmp_path / "auto"}'], capsys)
  assert rc == 0, err
  assert 'ABC parser: music21\n' in err
  assert '  ABC parser:             music21\n' in out
  assert sf_test.MUSIC21_TUNE_3_ERROR + ': 1' in out
  assert _melodies(tmp_path / 'auto') == sorted([sf_test.TUNE_1,
                                                 sf_test.TUNE_2])
  # Same bytes for --abc_parser=music21; note_seq drops the tune with rests,
  # naming its error.
  rc, out, _ = _run_main([f'--input={corpus}', '--eval_ratio=0',
                          f'--output_dir={tmp_path / "music21"}',
                          '--abc_parser=music21'], capsys)
  assert rc == 0
  assert _read_bytes(tmp_path / 'music21') == _read_bytes(tmp_path / 'auto')
  rc, out, _ = _run_main([f'--input={corpus}', '--eval_ratio=0',
                          f'--output_dir={tmp_path / "note_seq"}',
                          '--abc_parser=note_seq'], capsys)
  assert rc == 0
  assert '  ABC parser:             note_seq\n' in out
  assert f'{sf_test.NOTE_SEQ_REST_ERROR}: 1' in out
  assert _melodies(tmp_path / 'note_seq') == [sf_test.TUNE_2]


def test_main_without_music21_falls_back_to_note_seq_and_says_so(
    tmp_path, capsys, monkeypatch):
  sf_test.without_music21(monkeypatch)
  _in_process(monkeypatch)
  rc, out, err = _run_main([f'--input={_abc_corpus(tmp_path)}',
                            f'--output_dir={tmp_path / "out"}',
                            '--eval_ratio=0'], capsys)
  assert rc == 0, err
  assert ("ABC parser: note_seq (music21 is not installed); tunes with "
          "rests, tuplets, chords or variant endings fail: pip install -e "
          "'.[corpus]' reads them with music21\n") in err
  assert ('  ABC parser:             note_seq (music21 is not installed)\n'
          in out)
  assert _melodies(tmp_path / 'out') == [sf_test.TUNE_2]


def test_main_abc_parser_music21_without_music21_fails_before_reading(
    tmp_path, capsys, monkeypatch):
  sf_test.without_music21(monkeypatch)
  monkeypatch.setattr(source_files, 'find_source_files', _must_not_read)
  output_dir = tmp_path / 'out'
  rc, out, err = _run_main([f'--input={REPO_ROOT / "testdata"}',
                            f'--output_dir={output_dir}',
                            '--abc_parser=music21'], capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_create_dataset', '--abc_parser=music21',
      "pip install -e '.[corpus]'")
  assert 'music21' in line.split('--abc_parser=music21', 1)[1]
  assert not out
  assert not output_dir.exists()


# Address space for the tool (TensorFlow reserves far more than it uses;
# a run over testdata/ peaked at 1.7 GiB of address space, 0.7 GiB RSS).
# Unbounded, the ABC bomb alone asks for 16 GB in one allocation.
TOOL_ADDRESS_SPACE_LIMIT = 8 << 30


def _limit_address_space():
  resource.setrlimit(resource.RLIMIT_AS,
                     (TOOL_ADDRESS_SPACE_LIMIT, TOOL_ADDRESS_SPACE_LIMIT))


def test_script_drops_bomb_files_under_a_memory_limit(tmp_path):
  expected = mp_test.write_bomb_corpus(tmp_path / 'corpus')
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  result = subprocess.run(
      [sys.executable, str(SCRIPT), f'--input={tmp_path / "corpus"}',
       f'--output_dir={tmp_path / "out"}', '--num_workers=1',
       '--eval_ratio=0'],
      cwd=REPO_ROOT, env=env, capture_output=True, text=True,
      timeout=SUBPROCESS_TIMEOUT_S, check=False,
      preexec_fn=_limit_address_space)
  assert result.returncode == 0, result.stderr[-3000:]
  for name, reason in expected.items():
    assert f'failed: {name} ({reason})' in result.stdout
  listed = (tmp_path / 'out' / dataset_runner.FAILED_FILES_FILENAME).read_text()
  assert listed == ''.join(f'{name}\t{reason}\n'
                           for name, reason in sorted(expected.items()))
  # The good files' melodies are written.
  melodies = sio.read_class_sequences(
      tmp_path / 'out' / dataset_runner.TRAINING_FILENAME)
  assert [len(m) for m in melodies] == [128, 128]


# --- Unusable output locations and a full disk: one line, exit 2, nothing
# written.


def _must_not_read(*unused_args, **unused_kwargs):
  raise AssertionError('the input was read before --output_dir was checked')


@pytest.mark.parametrize('below', [False, True])
def test_main_output_dir_that_is_a_file_fails_before_reading_input(
    tmp_path, capsys, monkeypatch, below):
  target = tmp_path / 'file'
  target.write_text('data')
  output_dir = target / 'sub' if below else target
  monkeypatch.setattr(source_files, 'find_source_files', _must_not_read)
  rc, out, err = _run_main([f'--input={REPO_ROOT / "testdata"}',
                            f'--output_dir={output_dir}'], capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_create_dataset', f'--output_dir={output_dir}')
  assert 'is a file, not a directory' in line
  assert not out
  assert output_checks_testing.snapshot(tmp_path) == {'file': b'data'}


@pytest.mark.parametrize('below', [False, True])
def test_script_read_only_output_dir_fails_at_once(below):
  with output_checks_testing.read_only_dir() as (parent, read_only):
    output_dir = read_only / 'out' if below else read_only
    before = output_checks_testing.snapshot(read_only)
    rc, out, err = output_checks_testing.run_as_nobody(
        SCRIPT, [f'--input={REPO_ROOT / "testdata"}',
                 f'--output_dir={output_dir}', '--num_workers=1'],
        cwd=parent, timeout=SUBPROCESS_TIMEOUT_S)
    line = output_checks_testing.assert_one_line_error(
        rc, err, 'note_rnn_create_dataset', f'--output_dir={output_dir}')
    assert 'Permission denied' in line
    assert not out  # No summary: no input was read.
    assert output_checks_testing.snapshot(read_only) == before


def _fill_the_disk(path):
  """Stands in for a writer that ran out of space half way."""
  with open(path, 'wb') as f:
    f.write(b'half a file')
  raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


@pytest.mark.parametrize('existing', [False, True])
@pytest.mark.parametrize('failing', ['eval', 'failed_files'])
def test_main_disk_full_leaves_no_partial_dataset(tmp_path, capsys,
                                                  monkeypatch, existing,
                                                  failing):
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  shutil.copy(REPO_ROOT / 'testdata' / 'c_major.mid', corpus)
  shutil.copy(REPO_ROOT / 'testdata' / 'corrupt.mid', corpus)
  output_dir = tmp_path / 'data' / 'out'
  if existing:
    output_dir.mkdir(parents=True)
    for name in (dataset_runner.TRAINING_FILENAME,
                 dataset_runner.EVAL_FILENAME,
                 dataset_runner.FAILED_FILES_FILENAME):
      (output_dir / name).write_bytes(b'from an earlier run')
  before = output_checks_testing.snapshot(tmp_path / 'data')
  if failing == 'eval':
    write_records = sio.write_sequence_examples

    def writer(path, melodies, *layout):
      if path.endswith(dataset_runner.EVAL_FILENAME):
        _fill_the_disk(path)
      return write_records(path, melodies, *layout)
    monkeypatch.setattr(sio, 'write_sequence_examples', writer)
  else:
    monkeypatch.setattr(outputs, 'write_file_atomically',
                        lambda path, data: _fill_the_disk(path))
  # Every file in this process (fast): --num_workers=1 would start one.
  monkeypatch.setattr(
      tool, 'create_dataset',
      lambda *args, **kwargs: dataset_runner.create_dataset(
          *args, **dict(kwargs, num_workers=0, progress_stream=None)))
  rc, out, err = _run_main([f'--input={corpus}', f'--output_dir={output_dir}'],
                           capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_create_dataset', output_dir)
  assert line == 'note_rnn_create_dataset: error: ' + (
      outputs.disk_full_message(f'--output_dir={output_dir}',
                                resumable=False))
  assert not out
  # Absent, or the earlier run's files untouched; no temporary left.
  assert output_checks_testing.snapshot(tmp_path / 'data') == before
