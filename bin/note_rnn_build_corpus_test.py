"""End-to-end tests of bin/note_rnn_build_corpus.py.

Without music21 the tool runs note_seq's parser on a fake corpus folder
(--corpus_dir) and must say how to install music21 when it is needed; the
test on the real corpus skips where music21 is not installed.
"""

import errno
import io
import os
import pathlib
import subprocess
import sys

from absl import flags
from absl.testing import flagsaver
import output_checks_testing
import pytest
import script_testing

from note_rnn.corpus import corpus_build as corpus
from note_rnn.corpus import corpus_sources
from note_rnn.data import dataset_runner
from note_rnn.data import sequence_example_io
from note_rnn.data import tune_parsing
from note_rnn.runtime import outputs

SCRIPT = pathlib.Path(__file__).resolve().parent / 'note_rnn_build_corpus.py'
REPO_ROOT = SCRIPT.parent.parent
# Seconds a subprocess run may take before the test fails.
SUBPROCESS_TIMEOUT_S = 120

FLAGS = flags.FLAGS

# An 8-bar tune note_seq's ABC parser reads (no rests: it rejects 'z').
TUNE = """X:{number}
T:Tune {number}
M:4/4
L:1/8
K:{key}
CDEF GABc|cBAG FEDC|CDEF GABc|c8|
CEGc BGEC|DFAc BGFD|CDEF GABc|c8|]
"""
NAMES = (dataset_runner.TRAINING_FILENAME, dataset_runner.EVAL_FILENAME)


@pytest.fixture(scope='module')
def tool():
  with script_testing.isolated_script(SCRIPT,
                                      'note_rnn_build_corpus') as module:
    yield module


@pytest.fixture(name='fake_corpus')
def fixture_fake_corpus(tmp_path):
  """Six readable tunes and one tuplet tune note_seq rejects."""
  root = tmp_path / 'corpus'
  oneills = root / 'oneills1850'
  oneills.mkdir(parents=True)
  tunes = [TUNE.format(number=n, key=k) for n, k in
           enumerate(('C', 'G', 'D', 'F'), 1)]
  tunes.append('X:5\nT:Tuplet\nM:2/4\nL:1/8\nK:C\n(3CDE F2|\n')
  (oneills / '0001-0005.abc').write_text('\n'.join(tunes))
  ryans = root / 'ryansMammoth'
  ryans.mkdir()
  for name, key in (('AReel', 'A'), ('BJig', 'Bb')):
    (ryans / f'{name}.abc').write_text(TUNE.format(number=1, key=key))
  return root


def _run_main(tool, argv, capsys):
  with flagsaver.flagsaver():
    rc = tool.main(FLAGS(['note_rnn_build_corpus.py'] + argv))
  captured = capsys.readouterr()
  return rc, captured.out, captured.err


def _fake_argv(fake_corpus, output_dir, *extra):
  return [f'--corpus_dir={fake_corpus}', f'--output_dir={output_dir}',
          '--collections=oneills1850,ryansMammoth', '--parser=note_seq',
          *extra]


def test_main_rejects_bad_flags_with_one_line(tool, tmp_path, capsys):
  out = f'--output_dir={tmp_path / "out"}'
  (tmp_path / 'file').write_text('')
  cases = [
      ([], '--output_dir is required'),
      ([f'--output_dir={tmp_path / "file"}'], 'is a file, not a directory'),
      ([out, '--eval_ratio=-0.1'], '--eval_ratio'),
      ([out, '--num_workers=0'], '--num_workers'),
      ([out, '--max_tunes_per_collection=-1'], '--max_tunes_per_collection'),
      ([out, f'--corpus_dir={tmp_path / "missing"}'], '--corpus_dir'),
      ([out, '--collections=nope'], 'unknown collection'),
      ([out, '--collections=essenFolksong'], '--include_essen'),
      ([out, '--heldout_collections=nope'], 'unknown collection'),
      ([out, '--include_essen', '--heldout_collections=essenFolksong'],
       'both held out and trained on'),
      ([out, '--collections=bach', '--heldout_collections=bach'],
       'no collection chosen'),
      ([out, '--max_heldout_tunes=-1'], '--max_heldout_tunes'),
      ([out, '--min_bars=-1'], 'min_bars'),
      ([out, 'extra'], 'unexpected arguments'),
  ]
  for argv, message in cases:
    rc, out_text, err = _run_main(tool, argv, capsys)
    assert rc == tool.EXIT_USAGE, argv
    assert message in err, (argv, err)
    assert len(err.strip().splitlines()) == 1
    assert not out_text


def test_main_without_music21_exits_2_with_install_hint(
    tool, tmp_path, capsys, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  rc, out, err = _run_main(tool, [f'--output_dir={tmp_path / "out"}'], capsys)
  assert rc == tool.EXIT_USAGE
  assert "pip install -e '.[corpus]'" in err
  assert len(err.strip().splitlines()) == 1 and not out
  assert not (tmp_path / 'out').exists()


def test_main_with_note_seq_on_a_fake_corpus(tool, fake_corpus, tmp_path,
                                             capsys, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  argv = _fake_argv(fake_corpus, tmp_path / 'out', '--num_workers=1',
                    '--eval_ratio=0.2')
  rc, out, _ = _run_main(tool, argv, capsys)
  assert rc == 0
  assert out.count('Melody dataset summary') == 1
  assert 'melodies kept:          6' in out
  assert 'oneills1850 note_seq failed: (TupletError: 1)' in out
  assert 'wall time:' in out
  for name in NAMES:
    assert (tmp_path / 'out' / name).is_file()


def test_main_holds_out_essen_without_include_essen(tool, fake_corpus,
                                                   tmp_path, capsys,
                                                   monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  essen = fake_corpus / 'essenFolksong'
  essen.mkdir()
  (essen / 'test0.abc').write_text('\n'.join(
      TUNE.format(number=n, key=k) for n, k in enumerate(('E', 'Ab'), 1)))
  argv = _fake_argv(fake_corpus, tmp_path / 'out', '--num_workers=1',
                    '--eval_ratio=0.2', '--heldout_collections=essenFolksong')
  rc, out, err = _run_main(tool, argv, capsys)
  assert rc == 0, err
  assert 'held out, evaluation only' in out
  assert 'held-out melodies:      2 from 2 tunes' in out
  for name in NAMES + ('heldout_essenFolksong.tfrecord',
                       corpus.HELDOUT_FILENAME, corpus.MANIFEST_FILENAME):
    assert (tmp_path / 'out' / name).is_file(), name
  assert len(sequence_example_io.read_class_sequences(
      tmp_path / 'out' / corpus.HELDOUT_FILENAME)) == 2


def test_main_prints_the_summary_when_no_melody_survives(
    tool, fake_corpus, tmp_path, capsys):
  argv = _fake_argv(fake_corpus, tmp_path / 'out', '--num_workers=1',
                    '--min_bars=9')
  rc, out, err = _run_main(tool, argv, capsys)
  assert rc == tool.EXIT_USAGE
  assert 'no melody found' in err
  assert 'too_short: 6' in out and 'Per collection' in out
  assert not (tmp_path / 'out').exists()


def _run_script(*args, env_extra=None):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', **(env_extra or {}))
  return subprocess.run(
      [sys.executable, str(SCRIPT)] + list(args), cwd=REPO_ROOT, env=env,
      capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S,
      check=False)


def test_script_output_does_not_depend_on_worker_count(fake_corpus,
                                                       tmp_path):
  reference = corpus.build_corpus_dataset(
      str(tmp_path / 'one'), corpus_dir=str(fake_corpus),
      collection_names=['oneills1850', 'ryansMammoth'],
      parser=tune_parsing.PARSER_NOTE_SEQ, num_workers=1, eval_ratio=0.2,
      progress_stream=io.StringIO())
  assert reference.dataset.melodies_kept == 6
  result = _run_script(*_fake_argv(fake_corpus, tmp_path / 'two',
                                   '--num_workers=2', '--eval_ratio=0.2'))
  assert result.returncode == 0, result.stderr
  assert '7/7 tunes' in result.stderr
  for name in NAMES:
    assert ((tmp_path / 'two' / name).read_bytes() ==
            (tmp_path / 'one' / name).read_bytes())


def test_script_without_music21_exits_2(tmp_path):
  # A music21 that fails to import stands in for a missing one.
  fake = tmp_path / 'site' / 'music21'
  fake.mkdir(parents=True)
  (fake / '__init__.py').write_text("raise ImportError('simulated')\n")
  result = _run_script(f'--output_dir={tmp_path / "out"}',
                       env_extra={'PYTHONPATH': str(tmp_path / 'site')})
  assert result.returncode == 2
  errors = [line for line in result.stderr.splitlines()
            if line.startswith('note_rnn_build_corpus:')]
  assert len(errors) == 1
  assert "pip install -e '.[corpus]'" in errors[0]
  assert not result.stdout


def test_main_on_the_installed_music21_corpus(tool, tmp_path, capsys):
  pytest.importorskip(
      'music21', reason="music21 is not installed; pip install -e '.[corpus]' "
      'to run this test')
  argv = [f'--output_dir={tmp_path / "out"}', '--max_tunes_per_collection=1',
          '--collections=ryansMammoth,bach', '--num_workers=1']
  rc, out, _ = _run_main(tool, argv, capsys)
  assert rc == 0
  assert 'Per collection (parser: auto)' in out
  for name in NAMES:
    assert (tmp_path / 'out' / name).is_file()


# --- Unusable output locations and a full disk: one line, exit 2, nothing
# written.


def _must_not_read(*unused_args, **unused_kwargs):
  raise AssertionError('the corpus was read before --output_dir was checked')


@pytest.mark.parametrize('below', [False, True])
def test_main_output_dir_that_is_a_file_fails_before_reading_the_corpus(
    tool, fake_corpus, tmp_path, capsys, monkeypatch, below):
  target = tmp_path / 'file'
  target.write_text('data')
  output_dir = target / 'sub' if below else target
  monkeypatch.setattr(corpus_sources, 'discover_tunes', _must_not_read)
  rc, out, err = _run_main(tool, _fake_argv(fake_corpus, output_dir), capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_build_corpus', f'--output_dir={output_dir}')
  assert 'is a file, not a directory' in line
  assert not out
  assert target.read_text() == 'data'


def test_script_read_only_output_dir_fails_at_once():
  with output_checks_testing.read_only_dir() as (parent, read_only):
    before = output_checks_testing.snapshot(read_only)
    rc, out, err = output_checks_testing.run_as_nobody(
        SCRIPT, [f'--output_dir={read_only}', '--num_workers=1'], cwd=parent,
        timeout=SUBPROCESS_TIMEOUT_S)
    line = output_checks_testing.assert_one_line_error(
        rc, err, 'note_rnn_build_corpus', f'--output_dir={read_only}')
    assert 'Permission denied' in line
    assert not out
    assert output_checks_testing.snapshot(read_only) == before


def test_main_disk_full_leaves_no_partial_dataset(tool, fake_corpus, tmp_path,
                                                  capsys, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  write_records = sequence_example_io.write_sequence_examples

  def writer(path, melodies, *layout):
    if path.endswith(dataset_runner.EVAL_FILENAME):
      with open(path, 'wb') as f:
        f.write(b'half a file')
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    return write_records(path, melodies, *layout)
  monkeypatch.setattr(sequence_example_io, 'write_sequence_examples', writer)
  output_dir = tmp_path / 'out'
  rc, _, err = _run_main(
      tool, _fake_argv(fake_corpus, output_dir, '--num_workers=1',
                       '--eval_ratio=0.2'), capsys)
  line = output_checks_testing.assert_one_line_error(
      rc, err, 'note_rnn_build_corpus', output_dir)
  assert line == 'note_rnn_build_corpus: error: ' + (
      outputs.disk_full_message(f'--output_dir={output_dir}',
                                resumable=False))
  assert not output_dir.exists()
