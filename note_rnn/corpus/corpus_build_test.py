"""Tests of the folk-corpus builder (note_rnn.corpus).

Most tests need no music21: the note-event to NoteSequence conversion,
collection discovery on a fake corpus folder, the statistics, a whole build
with note_seq's parser, and the missing-music21 error. Tests marked by
`_music21()` skip where music21 is not installed (CI installs only
'.[test]').
"""

import collections
import io
import json
import pathlib
import sys

from note_seq.protobuf import music_pb2
import pytest

from note_rnn import encoding
from note_rnn.corpus import corpus_build as corpus
from note_rnn.corpus import corpus_sources
from note_rnn.data import dataset_runner
from note_rnn.data import melody_pipeline as mp
from note_rnn.data import note_events
from note_rnn.data import sequence_example_io as sio
from note_rnn.data import tune_parsing
from note_rnn.data import tunes as tunes_lib

# An 8-bar C major tune (quavers) note_seq's ABC parser reads; 5+ pitch
# classes, so the default melody options keep it.
SCALE_TUNE = """X:{number}
T:Scale tune {number}
M:4/4
L:1/8
K:C
CDEF GABc|cBAG FEDC|CDEF GABc|c8|
CEGc BGEC|DFAc BGFD|CDEF GABc|c8|]"""
# A tune note_seq rejects (tuplet) and music21 reads.
TUPLET_TUNE = """X:{number}
T:Tuplet tune
M:4/4
L:1/8
K:G
(3GAB c2 d2 e2|"""
KSM = music_pb2.NoteSequence.KeySignature

# note_seq's reason for a tune with a tuplet: class and message.
TUPLET_ERROR = 'TupletError: Tuplets are not supported.'


def _music21():
  return pytest.importorskip(
      'music21', reason="music21 is not installed; pip install -e '.[corpus]' "
      'to run this test')


def _write_essen(root, count):
  """An essenFolksong folder: tune 1 is SCALE_TUNE, the others in D major.

  Tunes 2.. differ from each other by their length (8 + n bars).
  """
  essen = root / 'essenFolksong'
  essen.mkdir(parents=True)
  tunes = [SCALE_TUNE.format(number=1)]
  for number in range(2, count + 1):
    body = '\n'.join(['CDEF GABc|cBAG FEDC|'] * (4 + number))
    tunes.append(f'X:{number}\nT:Essen {number}\nM:4/4\nL:1/8\nK:D\n'
                 f'{body}c8|]')
  (essen / 'test0.abc').write_text('\n\n'.join(tunes) + '\n')
  (essen / 'license.txt').write_text('non-commercial')
  return root


def _write_fake_corpus(root):
  """A folder laid out like music21's corpus/ with small collections."""
  oneills = root / 'oneills1850'
  oneills.mkdir(parents=True)
  # Two transcriptions of tune 2 in overlapping files: one is a duplicate.
  (oneills / '0001-0002.abc').write_text(
      '% header comment\n\n' + SCALE_TUNE.format(number=1) + '\n\n'
      + SCALE_TUNE.format(number=2) + '\n')
  (oneills / '0002-0003_b.abc').write_text(
      SCALE_TUNE.format(number=2) + '\n\n' + TUPLET_TUNE.format(number=3)
      + '\n\nfree text after the tune\n')
  # A third transcription of tune 2 only: the file gives no tune.
  (oneills / '0002-0002_c.abc').write_text(SCALE_TUNE.format(number=2))
  (oneills / 'readme.txt').write_text('not a tunebook')
  ryans = root / 'ryansMammoth'
  ryans.mkdir()
  for name in ('BReel', 'AJig'):
    (ryans / f'{name}.abc').write_text(SCALE_TUNE.format(number=1))
  (ryans / 'CEmpty.abc').write_text('% no tune here\n')
  bach = root / 'bach'
  bach.mkdir()
  for name in ('bwv1.6.mxl', 'bwv277.krn', 'bwv277.mxl', 'bwv67.4.xml'):
    (bach / name).write_bytes(b'')
  (bach / 'choraleAnalyses').mkdir()
  return root


# ---------------------------------------------------------------------------
# Collections and discovery.


def test_resolve_collections_guards_essen():
  assert corpus_sources.resolve_collections(['bach', 'oneills1850',
                                             'bach']) == ('bach', 'oneills1850')
  with pytest.raises(ValueError, match='unknown collection.*nope'):
    corpus_sources.resolve_collections(['nope'])
  with pytest.raises(ValueError, match='non-commercial.*--include_essen'):
    corpus_sources.resolve_collections(['essenFolksong'])
  assert corpus_sources.resolve_collections(['bach'], include_essen=True) == (
      'bach', 'essenFolksong')
  assert set(corpus_sources.DEFAULT_COLLECTIONS) <= set(
      corpus_sources.COLLECTIONS)
  assert corpus_sources.ESSEN not in corpus_sources.DEFAULT_COLLECTIONS
  assert all(not corpus_sources.COLLECTIONS[n].non_commercial
             for n in corpus_sources.DEFAULT_COLLECTIONS)


def test_resolve_split_collections_holds_out_essen_for_evaluation_only():
  resolve = corpus_sources.resolve_split_collections
  # Held out without --include_essen: read for evaluation only.
  assert resolve(corpus_sources.DEFAULT_COLLECTIONS,
                 ['essenFolksong', 'bach']) == (
                     ('airdsAirs', 'miscFolk', 'oneills1850',
                      'ryansMammoth'), ('bach', 'essenFolksong'))
  assert corpus_sources.evaluation_only('essenFolksong',
                                        corpus_sources.ROLE_HELDOUT)
  assert not corpus_sources.evaluation_only('bach',
                                            corpus_sources.ROLE_HELDOUT)
  assert resolve(['bach'], ['essenFolksong'], include_essen=False) == (
      ('bach',), ('essenFolksong',))
  # Trained on, it still needs --include_essen.
  with pytest.raises(ValueError, match='--include_essen'):
    resolve(['essenFolksong', 'bach'], ['bach'])
  with pytest.raises(ValueError, match='both held out and trained on'):
    resolve(['bach'], ['essenFolksong'], include_essen=True)
  with pytest.raises(ValueError, match='unknown collection.*nope'):
    resolve(['bach'], ['nope'])
  with pytest.raises(ValueError, match='no training collection left'):
    resolve(['bach'], ['bach'])


def test_subset_of_splits_essen_by_file():
  assert corpus_sources.subset_of('essenFolksong/han1.abc#0003') == 'china'
  assert corpus_sources.subset_of('essenFolksong/han2.abc#0100') == 'china'
  assert corpus_sources.subset_of('essenFolksong/erk10.abc#0001') == 'europe'
  assert corpus_sources.subset_of('essenFolksong/irl.abc#0001') == 'europe'
  assert corpus_sources.subset_of('bach/bwv1.6.mxl') == ''


def test_discover_tunes_on_a_fake_corpus(tmp_path):
  root = _write_fake_corpus(tmp_path / 'corpus')
  tunes, stats = corpus_sources.discover_tunes(
      root, ['oneills1850', 'ryansMammoth', 'bach'])
  assert [t.key for t in tunes] == [
      'bach/bwv1.6.mxl', 'bach/bwv277.mxl', 'bach/bwv67.4.xml',
      'oneills1850/0001-0002.abc#0001', 'oneills1850/0001-0002.abc#0002',
      'oneills1850/0002-0003_b.abc#0002',
      'ryansMammoth/AJig.abc#0001', 'ryansMammoth/BReel.abc#0001']
  assert stats['oneills1850'].duplicates == 2
  assert (stats['oneills1850'].files, stats['oneills1850'].tunes) == (3, 3)
  assert stats['oneills1850'].files_without_tunes == [
      ('oneills1850/0002-0002_c.abc', corpus_sources.FILE_ONLY_DUPLICATES)]
  assert stats['ryansMammoth'].files_without_tunes == [
      ('ryansMammoth/CEmpty.abc', corpus_sources.FILE_NO_TUNES)]
  assert (stats['bach'].files, stats['bach'].tunes) == (3, 3)
  bach = tunes[0]
  assert bach.kind == tunes_lib.KIND_SCORE and bach.melody_part == 'soprano'
  assert not bach.abc
  tuplet = tunes[5]
  assert tuplet.reference_number == 3
  assert tuplet.abc.startswith('X:3') and 'free text' not in tuplet.abc
  # The header comment is not passed on.
  assert tunes[3].abc.startswith('X:1')
  assert all(not pathlib.PurePath(t.key).is_absolute() for t in tunes)

  limited, stats = corpus_sources.discover_tunes(root, ['oneills1850'], 1)
  assert [t.key for t in limited] == ['oneills1850/0001-0002.abc#0001']
  assert (stats['oneills1850'].files, stats['oneills1850'].tunes) == (1, 1)
  with pytest.raises(FileNotFoundError, match='airdsAirs'):
    corpus_sources.discover_tunes(root, ['airdsAirs'])


def test_discover_tunes_samples_a_collection_in_file_order(tmp_path):
  root = _write_fake_corpus(tmp_path / 'corpus')
  _write_essen(root, 9)
  everything, _ = corpus_sources.discover_tunes(root, ['essenFolksong'])
  sampled, stats = corpus_sources.discover_tunes(
      root, ['essenFolksong', 'bach'], sample_sizes={'essenFolksong': 4},
      sample_seed=3)
  essen = [t for t in sampled if t.collection == 'essenFolksong']
  assert len(essen) == 4
  positions = [everything.index(t) for t in essen]
  assert positions == sorted(positions)
  assert (stats['essenFolksong'].tunes,
          stats['essenFolksong'].tunes_available) == (4, 9)
  assert (stats['bach'].tunes, stats['bach'].tunes_available) == (3, 3)
  again, _ = corpus_sources.discover_tunes(
      root, ['essenFolksong'], sample_sizes={'essenFolksong': 4},
      sample_seed=3)
  assert again == essen
  other, _ = corpus_sources.discover_tunes(
      root, ['essenFolksong'], sample_sizes={'essenFolksong': 4},
      sample_seed=4)
  assert other != essen


def test_parse_with_note_seq_reports_reasons(tmp_path):
  root = _write_fake_corpus(tmp_path / 'corpus')
  tunes, _ = corpus_sources.discover_tunes(root, ['oneills1850', 'bach'])
  by_key = {t.key: t for t in tunes}
  sequence, reason = tune_parsing.parse_with_note_seq(
      by_key['oneills1850/0001-0002.abc#0001'])
  assert reason == '' and len(sequence.notes) == 50
  assert tune_parsing.parse_with_note_seq(
      by_key['oneills1850/0002-0003_b.abc#0002']) == (None, TUPLET_ERROR)
  tune = tunes_lib.Tune('bach', 'bach/x.krn',
                        str(root / 'bach' / 'bwv277.krn'),
                        tunes_lib.KIND_SCORE)
  assert tune_parsing.parse_with_note_seq(tune) == (
      None, tune_parsing.REASON_UNSUPPORTED_FORMAT)
  sequence, outcome = tune_parsing.parse_tune(
      by_key['oneills1850/0002-0003_b.abc#0002'], tune_parsing.PARSER_NOTE_SEQ)
  assert sequence is None
  # The reason names the parser, the error's class and its message; the
  # summaries count by class.
  assert (outcome.note_seq, outcome.music21) == (TUPLET_ERROR, None)
  assert outcome.failure == 'note_seq:' + TUPLET_ERROR
  assert tune_parsing.error_class(outcome.failure) == 'note_seq:TupletError'
  sequence, outcome = tune_parsing.parse_tune(
      by_key['oneills1850/0001-0002.abc#0001'], tune_parsing.PARSER_NOTE_SEQ)
  assert outcome.parser == tune_parsing.PARSER_NOTE_SEQ
  assert sequence.filename == 'oneills1850/0001-0002.abc#0001'
  assert sequence.collection_name == 'oneills1850'
  assert sequence.reference_number == 1
  with pytest.raises(ValueError, match='parser'):
    tune_parsing.parse_tune(tunes[0], 'lilypond')


# ---------------------------------------------------------------------------
# Whole builds.


def _build(root, output_dir, **kwargs):
  kwargs.setdefault('collection_names', ['oneills1850', 'ryansMammoth'])
  kwargs.setdefault('parser', tune_parsing.PARSER_NOTE_SEQ)
  kwargs.setdefault('num_workers', 1)
  kwargs.setdefault('progress_stream', io.StringIO())
  return corpus.build_corpus_dataset(str(output_dir), corpus_dir=str(root),
                                     **kwargs)


def test_build_with_note_seq_on_a_fake_corpus(tmp_path, monkeypatch):
  # The note_seq parser on a given corpus folder needs no music21.
  monkeypatch.setitem(sys.modules, 'music21', None)
  root = _write_fake_corpus(tmp_path / 'corpus')
  progress = io.StringIO()
  stats = _build(root, tmp_path / 'out', eval_ratio=0.25,
                 progress_stream=progress)
  assert '5/5 tunes' in progress.getvalue()
  oneills = stats.collections['oneills1850']
  assert (oneills.note_seq_ok, dict(oneills.note_seq_failed)) == (
      2, {'TupletError': 1})
  assert oneills.failed == {'note_seq:TupletError': 1}
  assert (oneills.parsed, oneills.melodies) == (2, 2)
  assert stats.collections['ryansMammoth'].melodies == 2
  dataset = stats.dataset
  # 0002-0003_b.abc: a duplicate and the tuplet tune; nothing parsed.
  assert (dataset.files_found, dataset.files_read) == (6, 3)
  assert sorted(dataset.failed_files) == [
      ('oneills1850/0002-0002_c.abc', corpus_sources.FILE_ONLY_DUPLICATES),
      ('oneills1850/0002-0003_b.abc', corpus.FILE_NO_TUNE_PARSED),
      ('ryansMammoth/CEmpty.abc', corpus_sources.FILE_NO_TUNES)]
  assert dataset.sequences == 4
  assert dataset.sequences_skipped == {
      tune_parsing.SEQUENCE_TUNE_PARSE_ERROR: 1
  }
  assert dataset.melodies_kept == dataset.sources_with_melodies == 4
  assert (dataset.training_sources, dataset.eval_sources) == (3, 1)
  training = sio.read_class_sequences(
      tmp_path / 'out' / dataset_runner.TRAINING_FILENAME)
  evaluation = sio.read_class_sequences(
      tmp_path / 'out' / dataset_runner.EVAL_FILENAME)
  assert len(training) == 3 and len(evaluation) == 1
  assert all(len(m) == 8 * encoding.STEPS_PER_BAR
             for m in training + evaluation)
  summary = stats.summary()
  assert 'Melody dataset summary' in summary
  assert 'Per collection (parser: note_seq)' in summary
  assert 'oneills1850 note_seq failed: (TupletError: 1)' in summary
  total_line = next(line for line in summary.splitlines()
                    if line.strip().startswith('total'))
  assert total_line.split()[1:] == ['6', '5', '2', '4/5', '-', '4', '1',
                                    '4', '4']
  # Same corpus and seed: same bytes.
  _build(root, tmp_path / 'again', eval_ratio=0.25)
  names = (dataset_runner.TRAINING_FILENAME, dataset_runner.EVAL_FILENAME)
  first = [(tmp_path / 'out' / n).read_bytes() for n in names]
  assert [(tmp_path / 'again' / n).read_bytes() for n in names] == first


def _melody_multiset(*paths):
  return collections.Counter(
      tuple(m) for path in paths for m in sio.read_class_sequences(path))


def test_build_with_heldout_collections(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  root = _write_essen(_write_fake_corpus(tmp_path / 'corpus'), 5)
  body = '\n'.join(['CDEF GABc|cBAG FEDC|'] * 12)
  (root / 'essenFolksong' / 'han1.abc').write_text(
      f'X:1\nT:Han\nM:4/4\nL:1/8\nK:D\n{body}c8|]\n')
  out = tmp_path / 'out'
  # The six essen tunes give six melodies (tune 1 of test0.abc equals the
  # training collections' tunes); essen is held out without include_essen.
  stats = _build(root, out, eval_ratio=0.25,
                 heldout_collection_names=['essenFolksong'])
  essen = stats.collections['essenFolksong']
  assert essen.role == corpus_sources.ROLE_HELDOUT
  assert (essen.heldout_melodies, essen.training_melodies,
          essen.eval_melodies) == (6, 0, 0)
  assert essen.heldout_melodies_also_in_training == 1
  assert essen.subset_melodies == {'china': 1, 'europe': 5}
  assert stats.heldout_melodies == 6
  assert stats.heldout_path == str(out / corpus.HELDOUT_FILENAME)
  oneills, ryans = (stats.collections[n] for n in ('oneills1850',
                                                   'ryansMammoth'))
  assert oneills.training_melodies + oneills.eval_melodies == 2
  assert ryans.training_melodies + ryans.eval_melodies == 2
  dataset = stats.dataset
  assert (dataset.training_melodies, dataset.eval_melodies) == (3, 1)
  assert dataset.melodies_kept == 10
  # Files: the held-out melodies are in neither split.
  training = sio.read_class_sequences(out / dataset_runner.TRAINING_FILENAME)
  heldout = sio.read_class_sequences(
      out / corpus.HELDOUT_COLLECTION_FILENAME.format('essenFolksong'))
  assert len(heldout) == 6 and len(training) == 3
  assert _melody_multiset(out / corpus.HELDOUT_FILENAME) == (
      _melody_multiset(out / 'heldout_essenFolksong.tfrecord'))
  d_major = [tuple(m) for m in heldout if tuple(m) not in
             {tuple(t) for t in training}]
  assert len(d_major) == 5
  # Its subsets, by file: han*.abc and the rest.
  china = out / 'heldout_essenFolksong-china.tfrecord'
  europe = out / 'heldout_essenFolksong-europe.tfrecord'
  assert len(sio.read_class_sequences(china)) == 1
  assert _melody_multiset(china, europe) == _melody_multiset(
      out / 'heldout_essenFolksong.tfrecord')
  # The per-collection eval files partition the eval file.
  eval_files = sorted(p.name for p in out.glob('eval_*.tfrecord')
                      if p.name != dataset_runner.EVAL_FILENAME)
  eval_by_collection = [
      corpus.EVAL_COLLECTION_FILENAME.format(n)
      for n in ('oneills1850', 'ryansMammoth')
      if stats.collections[n].eval_melodies]
  assert eval_files == sorted(eval_by_collection)
  assert _melody_multiset(*(out / n for n in eval_files)) == (
      _melody_multiset(out / dataset_runner.EVAL_FILENAME))
  # The manifest.
  manifest = json.loads((out / corpus.MANIFEST_FILENAME).read_text())
  entry = manifest['collections']['essenFolksong']
  assert entry['role'] == 'heldout' and entry['evaluation_only']
  assert entry['non_commercial'] and entry['heldout_melodies'] == 6
  assert entry['subsets'] == {
      'china': {'file_prefixes': ['han'], 'melodies': 1,
                'file': 'heldout_essenFolksong-china.tfrecord'},
      'europe': {'file_prefixes': 'the other files', 'melodies': 5,
                 'file': 'heldout_essenFolksong-europe.tfrecord'}}
  assert manifest['collections']['oneills1850']['subsets'] == {}
  assert entry['file'] == 'heldout_essenFolksong.tfrecord'
  assert not manifest['collections']['oneills1850']['evaluation_only']
  assert manifest['files']['heldout'] == corpus.HELDOUT_FILENAME
  assert manifest['totals'] == {
      'training_melodies': 3, 'eval_melodies': 1, 'heldout_melodies': 6,
      'melodies_kept': 10, 'melodies_truncated': 0, 'failed_files': 3}
  assert manifest['settings']['seed'] == 0
  assert str(tmp_path) not in (out / corpus.MANIFEST_FILENAME).read_text()
  table = stats.summary()
  assert 'Split per collection' in table
  assert 'held out, evaluation only' in table
  assert 'heldout_essenFolksong-china.tfrecord' in table
  # Same corpus and seed: every file byte-identical.
  _build(root, tmp_path / 'again', eval_ratio=0.25,
         heldout_collection_names=['essenFolksong'])
  files = sorted(p.name for p in out.iterdir())
  assert files == sorted(p.name for p in (tmp_path / 'again').iterdir())
  for name in files:
    assert (out / name).read_bytes() == (tmp_path / 'again' /
                                         name).read_bytes(), name
  # Holding a collection out leaves the split of the others as it was.
  _build(root, tmp_path / 'plain', eval_ratio=0.25)
  for name in (dataset_runner.TRAINING_FILENAME,
               dataset_runner.EVAL_FILENAME):
    assert (out / name).read_bytes() == (tmp_path / 'plain' /
                                         name).read_bytes()
  assert not (tmp_path / 'plain' / corpus.HELDOUT_FILENAME).exists()


def test_build_samples_heldout_collections_and_skips_empty_files(
    tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  root = _write_essen(_write_fake_corpus(tmp_path / 'corpus'), 9)
  stats = _build(root, tmp_path / 'out', eval_ratio=0.0,
                 collection_names=['ryansMammoth', 'oneills1850'],
                 heldout_collection_names=['essenFolksong', 'oneills1850'],
                 max_heldout_tunes=3)
  essen = stats.collections['essenFolksong']
  assert (essen.tunes, essen.tunes_available, essen.heldout_melodies) == (
      3, 9, 3)
  # oneills1850 held out: the first of --collections taken out of training.
  assert stats.collections['oneills1850'].role == 'heldout'
  assert stats.collections['oneills1850'].heldout_melodies == 2
  assert stats.collections['ryansMammoth'].training_melodies == 2
  # No eval melody: no eval_<name> file, an empty eval file as before.
  assert [p.name for p in (tmp_path / 'out').glob('eval_*.tfrecord')] == [
      dataset_runner.EVAL_FILENAME]
  manifest = json.loads(
      (tmp_path / 'out' / corpus.MANIFEST_FILENAME).read_text())
  assert manifest['collections']['ryansMammoth']['file'] is None
  assert manifest['collections']['oneills1850']['file'] == (
      'heldout_oneills1850.tfrecord')
  assert manifest['settings']['max_heldout_tunes'] == 3
  assert stats.heldout_melodies == 5
  with pytest.raises(ValueError, match='max_heldout_tunes'):
    _build(root, tmp_path / 'bad', max_heldout_tunes=-1)


def test_build_writes_eval_files_of_subsets(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  root = _write_essen(_write_fake_corpus(tmp_path / 'corpus'), 9)
  (root / 'essenFolksong' / 'test0.abc').rename(
      root / 'essenFolksong' / 'han1.abc')
  _write_essen(tmp_path / 'more', 5)
  (tmp_path / 'more' / 'essenFolksong' / 'test0.abc').rename(
      root / 'essenFolksong' / 'erk10.abc')
  out = tmp_path / 'out'
  stats = _build(root, out, eval_ratio=0.5, include_essen=True,
                 collection_names=['ryansMammoth'])
  essen = stats.collections['essenFolksong']
  assert essen.role == corpus_sources.ROLE_TRAINING and essen.eval_melodies
  assert sum(essen.subset_melodies.values()) == essen.eval_melodies
  subsets = [out / f'eval_essenFolksong-{s}.tfrecord'
             for s, n in essen.subset_melodies.items() if n]
  assert _melody_multiset(*subsets) == _melody_multiset(
      out / 'eval_essenFolksong.tfrecord')
  manifest = json.loads((out / corpus.MANIFEST_FILENAME).read_text())
  assert not manifest['collections']['essenFolksong']['evaluation_only']


def test_build_without_melodies_raises_with_stats(tmp_path):
  root = _write_fake_corpus(tmp_path / 'corpus')
  with pytest.raises(dataset_runner.EmptyCorpusError,
                     match='no melody') as info:
    _build(root, tmp_path / 'out',
           options=mp.MelodyOptions(min_bars=20))
  assert info.value.stats.dataset.melodies_dropped == {mp.MELODY_TOO_SHORT: 4}
  assert not (tmp_path / 'out').exists()
  empty = tmp_path / 'empty'
  (empty / 'ryansMammoth').mkdir(parents=True)
  with pytest.raises(dataset_runner.EmptyCorpusError, match='no tune found'):
    _build(empty, tmp_path / 'out', collection_names=['ryansMammoth'])


def test_missing_music21_says_how_to_install(tmp_path, monkeypatch):
  monkeypatch.setitem(sys.modules, 'music21', None)
  with pytest.raises(tunes_lib.Music21NotInstalledError,
                     match=r"pip install -e '\.\[corpus\]'"):
    corpus.build_corpus_dataset(str(tmp_path / 'out'))
  root = _write_fake_corpus(tmp_path / 'corpus')
  with pytest.raises(tunes_lib.Music21NotInstalledError):
    _build(root, tmp_path / 'out', parser=tune_parsing.PARSER_AUTO)


def test_corpus_stats_counts_outcomes():
  stats = corpus.CorpusStats(parser=tune_parsing.PARSER_AUTO,
                             collections={
                                 'bach':
                                     corpus_sources.CollectionStats('bach',
                                                                    files=2,
                                                                    tunes=2)
                             })
  ok = tune_parsing.TuneOutcome('bach/a', 'bach', note_seq='no_notes',
                          music21='ok', parser=tune_parsing.PARSER_MUSIC21,
                          repeats_expanded=False, melodies=[b'\x02\x00'])
  ok.stats.melodies_kept = 1
  failed = tune_parsing.TuneOutcome('bach/b', 'bach', note_seq='TupletError',
                              music21='IndexError',
                              failure='music21:IndexError')
  stats.add(ok)
  stats.add(failed)
  bach = stats.collections['bach']
  assert (bach.note_seq_ok, bach.music21_ok, bach.parsed) == (0, 1, 1)
  assert bach.note_seq_failed == collections.Counter(
      {'no_notes': 1, 'TupletError': 1})
  assert bach.failed == {'music21:IndexError': 1}
  assert (bach.repeats_not_expanded, bach.melodies) == (1, 1)
  assert stats.dataset.melodies_kept == 1
  table = stats.table()
  assert 'bach repeats kept in written order: 1' in table
  assert 'bach music21 failed: (IndexError: 1)' in table


# ---------------------------------------------------------------------------
# With music21.


def test_music21_parses_what_note_seq_rejects(tmp_path):
  _music21()
  tune = tunes_lib.Tune(
      'ryansMammoth', 'ryansMammoth/t.abc#0001', str(tmp_path / 't.abc'),
      tunes_lib.KIND_ABC,
      'X:1\nT:t\nM:3/4\nL:1/8\nK:D\n'
      'A2|:d4 (3fed|{g}f2-f2 [Ad]2|[1 e6:|[2 e4||\n')
  sequence, reason, expanded = tune_parsing.parse_with_music21(tune)
  assert reason == '' and expanded
  beats = 60.0 / note_events.DEFAULT_QPM
  notes = [(n.pitch, round(n.start_time / beats, 3),
            round(n.end_time / beats, 3)) for n in sequence.notes]
  # Pickup A shifted to beat 2 of its bar; triplet; grace note dropped;
  # tied F merged; chord [Ad] -> D; repeat played with its first ending,
  # then the second ending.
  first_time = [(69, 2.0, 3.0), (74, 3.0, 5.0), (78, 5.0, 5.333),
                (76, 5.333, 5.667), (74, 5.667, 6.0), (78, 6.0, 8.0),
                (74, 8.0, 9.0), (76, 9.0, 12.0)]
  assert notes[:8] == first_time
  assert [p for p, _, _ in notes[8:]] == [74, 78, 76, 74, 78, 74, 76]
  assert notes[-1] == (76, 18.0, 20.0)
  assert [(t.numerator, t.denominator) for t in sequence.time_signatures] == [
      (3, 4)]
  assert [(k.key, k.mode) for k in sequence.key_signatures] == [
      (2, KSM.MAJOR)]
  assert tune_parsing.parse_with_note_seq(tune)[1] == TUPLET_ERROR
  _, outcome = tune_parsing.parse_tune(tune)
  assert (outcome.parser, outcome.note_seq, outcome.music21) == (
      tune_parsing.PARSER_MUSIC21, TUPLET_ERROR, 'ok')


def test_build_from_the_installed_music21_corpus(tmp_path):
  _music21()
  stats = corpus.build_corpus_dataset(
      str(tmp_path / 'out'), max_tunes_per_collection=2, num_workers=1,
      progress_stream=None, eval_ratio=0.2)
  assert set(stats.collections) == set(corpus_sources.DEFAULT_COLLECTIONS)
  for name, collection in stats.collections.items():
    assert collection.tunes == 2, name
    assert collection.music21_ok == 2, name
    assert collection.melodies >= 2, name
  assert stats.dataset.training_melodies + stats.dataset.eval_melodies == (
      stats.dataset.melodies_kept)
