"""Training melodies for the default Note RNN from music21's folk corpus.

The `music21` package (the project's `corpus` extra) ships large ABC
tunebooks and the Bach chorales in its `corpus/` folder. This module reads
the collections in `corpus_sources.COLLECTIONS`, turns every tune into a
NoteSequence and runs it through the normal melody pipeline
(`note_rnn.melody_pipeline`), so the output is the same
`training_melodies.tfrecord` / `eval_melodies.tfrecord` pair that
`bin/note_rnn_create_dataset.py` writes.

Steps:

1. `corpus_sources.discover_tunes` lists the files of each collection and
   splits ABC tunebooks into tunes; score files (the Bach chorales) are one
   tune each. Tunes are sources: each goes whole to training or evaluation.
2. Worker processes parse each tune (`tune_parsing.parse_tune`) with
   note_seq's ABC parser and/or music21 (`--parser`): `auto` runs both,
   keeps music21's sequence (it reads ties, tuplets, chords, variant
   endings, pickups and multi-voice tunes, which note_seq rejects or
   ignores) and falls back to note_seq's where music21 fails. Both outcomes
   are counted per collection.
3. A music21 part becomes a NoteSequence in two steps:
   `tune_parsing.music21_part_events` reads it into plain
   `note_events.NoteEvent`s (the only music21-dependent part) and
   `note_events.events_to_note_sequence` builds the sequence from them: one
   melody line (the first part; the soprano of a chorale), chords reduced
   to their top note, tied notes merged, grace notes dropped, repeats
   expanded (as played; written order where music21 cannot expand them), a
   pickup bar shifted so bar lines fall on the time-signature grid, at a
   fixed `note_events.DEFAULT_QPM` with one tempo event.
4. The same worker runs `melody_pipeline.note_sequence_to_class_sequences`
   on the sequence; `dataset_runner.write_dataset` splits by tune and
   writes the TFRecords. Same corpus, options and seed give byte-identical
   files whatever the number of workers.

Held-out collections (`heldout_collection_names`) are parsed the same way,
but their melodies never enter either split: each is written whole to
`heldout_<name>.tfrecord` and all of them to `heldout_melodies.tfrecord`
(an early-stopping or test set of other traditions). The evaluation split
is also written per training collection, `eval_<name>.tfrecord`, and the
build's settings and per-collection counts to `corpus_manifest.json`.
"""

import collections
import dataclasses
import json
import os
import random
import sys

from note_rnn.corpus import corpus_sources
from note_rnn.data import dataset_runner
from note_rnn.data import dataset_tasks
from note_rnn.data import melody_pipeline
from note_rnn.data import tune_parsing
from note_rnn.data import tunes as tunes_lib

# Neither note_seq nor music21 is imported at module level (see
# tune_parsing): note_rnn_build_corpus --help, which reads the defaults
# here, loads neither.


# Tunes sent to a worker process at once.
TUNES_PER_TASK = 8

# Files written beside dataset_runner's TRAINING_FILENAME and EVAL_FILENAME:
# the evaluation split's melodies of one training collection, all melodies
# of one held-out collection, of every held-out collection, and the build's
# settings and counts. A file that would hold no melody is not written.
EVAL_COLLECTION_FILENAME = 'eval_{}.tfrecord'
HELDOUT_COLLECTION_FILENAME = 'heldout_{}.tfrecord'
# The same for a subset of a collection (`Collection.subsets`), e.g.
# heldout_essenFolksong-china.tfrecord.
SUBSET_SEPARATOR = '-'
HELDOUT_FILENAME = 'heldout_melodies.tfrecord'
MANIFEST_FILENAME = 'corpus_manifest.json'
MANIFEST_FORMAT = 'note_rnn corpus manifest'
MANIFEST_VERSION = 1

# Melody extraction uses melody_pipeline's defaults (Magenta's), which suit
# these folk tunes. Measured on the default collections (4,672 tunes,
# repeats expanded; counts +-1): min_bars 7 keeps 4,685 melodies from 4,665
# tunes; 4 keeps 4,701, 8 keeps 4,670, 16 keeps 4,222 (half the chorales
# drop); min_unique_pitches 3 keeps 4,690; gap_bars 2 keeps 4,683;
# max_steps 512 truncates 1,267 melodies (1024: 162).

# DatasetStats.files_failed reason for a file none of whose tunes parsed.
FILE_NO_TUNE_PARSED = 'no_tune_parsed'


def _counter_text(counter):
  """' (a: 1, b: 2)' for a Counter, most common first; '' if empty."""
  if not counter:
    return ''
  items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
  return ' (' + ', '.join(f'{k}: {v}' for k, v in items) + ')'



def _run_corpus_task(task):
  """Worker entry point: task = (tunes, parser, options, expand_repeats)."""
  tunes, parser, options, expand_repeats = task
  return [
      tune_parsing.process_tune(t, parser, options, expand_repeats)
      for t in tunes
  ]


# ---------------------------------------------------------------------------
# Statistics.


@dataclasses.dataclass
class CorpusStats:
  """The whole build: per collection and the dataset pipeline's counts.

  Attributes:
    parser: parser mode used.
    collections: name -> `CollectionStats`.
    dataset: `melody_pipeline.DatasetStats`; its files are corpus files,
      its sequences parsed tunes, its sources tunes.
  """
  parser: str = tune_parsing.PARSER_AUTO
  collections: dict = dataclasses.field(default_factory=dict)
  dataset: melody_pipeline.DatasetStats = dataclasses.field(
      default_factory=melody_pipeline.DatasetStats)
  heldout_melodies: int = 0
  heldout_path: str = ''
  manifest_path: str = ''
  # File name -> melodies, of the per-collection and held-out files written.
  files: dict = dataclasses.field(default_factory=dict)

  def add(self, outcome):
    """Counts one `TuneOutcome`."""
    stat = self.collections[outcome.collection]
    for parser, result in ((tune_parsing.PARSER_NOTE_SEQ, outcome.note_seq),
                           (tune_parsing.PARSER_MUSIC21, outcome.music21)):
      if result is None:
        continue
      if result == 'ok':
        setattr(stat, f'{parser}_ok', getattr(stat, f'{parser}_ok') + 1)
      else:
        getattr(stat, f'{parser}_failed')[
            tune_parsing.error_class(result)] += 1
    if outcome.parser:
      stat.parsed += 1
      stat.parsed_by[outcome.parser] += 1
      if (outcome.parser == tune_parsing.PARSER_MUSIC21 and
          not outcome.repeats_expanded):
        stat.repeats_not_expanded += 1
    else:
      stat.failed[tune_parsing.error_class(outcome.failure)] += 1
    stat.melodies += len(outcome.melodies)
    stat.tunes_with_melodies += int(bool(outcome.melodies))
    self.dataset.merge(outcome.stats)

  def table(self):
    """Per-collection table (text) with parser failure reasons."""
    show_note_seq = self.parser in (tune_parsing.PARSER_AUTO,
                                    tune_parsing.PARSER_NOTE_SEQ)
    show_music21 = self.parser in (tune_parsing.PARSER_AUTO,
                                   tune_parsing.PARSER_MUSIC21)

    def cell(ok, failed, ran):
      if not ran:
        return '-'
      total = ok + sum(failed.values())
      return f'{ok}/{total}' if total else '0/0'

    header = ('collection', 'files', 'tunes', 'dups', 'note_seq ok',
              'music21 ok', 'parsed', 'failed', 'melodies', 'tunes w/ mel')
    rows = [header]
    total = corpus_sources.CollectionStats('total')
    for name in sorted(self.collections):
      s = self.collections[name]
      rows.append((name, s.files, s.tunes, s.duplicates,
                   cell(s.note_seq_ok, s.note_seq_failed, show_note_seq),
                   cell(s.music21_ok, s.music21_failed, show_music21),
                   s.parsed, sum(s.failed.values()), s.melodies,
                   s.tunes_with_melodies))
      for field in dataclasses.fields(total):
        value = getattr(s, field.name)
        if isinstance(value, collections.Counter):
          getattr(total, field.name).update(value)
        elif isinstance(value, int):
          setattr(total, field.name, getattr(total, field.name) + value)
    rows.append(('total', total.files, total.tunes, total.duplicates,
                 cell(total.note_seq_ok, total.note_seq_failed,
                      show_note_seq),
                 cell(total.music21_ok, total.music21_failed, show_music21),
                 total.parsed, sum(total.failed.values()), total.melodies,
                 total.tunes_with_melodies))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ['Per collection (parser: ' + self.parser + ')']
    for i, row in enumerate(rows):
      cells = [str(v).ljust(w) if j == 0 else str(v).rjust(w)
               for j, (v, w) in enumerate(zip(row, widths))]
      lines.append('  ' + '  '.join(cells))
      if i == 0 or i == len(rows) - 2:
        lines.append('  ' + '  '.join('-' * w for w in widths))
    for name in sorted(self.collections):
      s = self.collections[name]
      for label, counter in (('note_seq failed', s.note_seq_failed),
                             ('music21 failed', s.music21_failed),
                             ('not parsed', s.failed)):
        if counter:
          lines.append(f'  {name} {label}:'
                       f'{_counter_text(counter)}')
      if s.parsed_by and len(s.parsed_by) > 1:
        lines.append(f'  {name} sequences from:'
                     f'{_counter_text(s.parsed_by)}')
      if s.repeats_not_expanded:
        lines.append(f'  {name} repeats kept in written order: '
                     f'{s.repeats_not_expanded}')
    return '\n'.join(lines)

  def split_table(self):
    """Per-collection split (text): training, eval, held out, files."""
    header = ('collection', 'role', 'training', 'eval', 'held out',
              'dup of training', 'file')
    rows = [header]
    for name in sorted(self.collections):
      s = self.collections[name]
      if s.role == corpus_sources.ROLE_HELDOUT:
        role = 'held out'
        if corpus_sources.evaluation_only(name, s.role):
          role += ', evaluation only'
        if s.tunes_available > s.tunes:
          role += f', {s.tunes} of {s.tunes_available} tunes'
        duplicates = s.heldout_melodies_also_in_training
      else:
        role = 'training'
        duplicates = s.eval_melodies_also_in_training
      filename = collection_filename(name, s.role)
      rows.append((name, role, s.training_melodies, s.eval_melodies,
                   s.heldout_melodies, duplicates,
                   filename if filename in self.files else '-'))
      for subset, count in s.subset_melodies.items():
        filename = collection_filename(name, s.role, subset)
        held_out = s.role == corpus_sources.ROLE_HELDOUT
        rows.append((f'  {subset}', 'subset', '', '' if held_out else count,
                     count if held_out else '', '',
                     filename if filename in self.files else '-'))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ['Split per collection (melodies; "dup of training": eval or '
             'held-out melodies equal to a training melody)']
    for i, row in enumerate(rows):
      cells = [str(v).ljust(w) if j in (0, 1, 6) else str(v).rjust(w)
               for j, (v, w) in enumerate(zip(row, widths))]
      lines.append('  ' + '  '.join(cells).rstrip())
      if i == 0:
        lines.append('  ' + '  '.join('-' * w for w in widths))
    if self.heldout_path:
      tunes = sum(s.tunes_with_melodies for s in self.collections.values()
                  if s.role == corpus_sources.ROLE_HELDOUT)
      lines.append(f'  held-out melodies:      {self.heldout_melodies} from '
                   f'{tunes} tunes -> {self.heldout_path}')
    if self.manifest_path:
      lines.append(f'  manifest:               {self.manifest_path}')
    return '\n'.join(lines)

  def summary(self):
    """The dataset summary followed by the per-collection tables."""
    return '\n'.join((self.dataset.summary(), self.table(),
                      self.split_table()))


# ---------------------------------------------------------------------------
# The build.


def build_corpus_dataset(output_dir, corpus_dir=None,
                         collection_names=corpus_sources.DEFAULT_COLLECTIONS,
                         include_essen=False, parser=tune_parsing.PARSER_AUTO,
                         eval_ratio=dataset_runner.DEFAULT_EVAL_RATIO,
                         seed=0, options=None, num_workers=None,
                         max_tunes_per_collection=0, expand_repeats=True,
                         progress_stream=sys.stderr,
                         heldout_collection_names=(), max_heldout_tunes=0):
  """Builds the Note RNN training and evaluation TFRecords from the corpus.

  Writes `dataset_runner.TRAINING_FILENAME` and `EVAL_FILENAME` (the
  training collections' melodies, split by tune), `EVAL_COLLECTION_FILENAME`
  per training collection (its part of the evaluation split, in the order
  of the evaluation file), `HELDOUT_COLLECTION_FILENAME` per held-out
  collection and `HELDOUT_FILENAME` (all held-out melodies, shuffled with
  `seed`), `dataset_runner.FAILED_FILES_FILENAME` and `MANIFEST_FILENAME`
  (settings and per-collection counts, no paths or times), all together.
  Same corpus, settings and seed give byte-identical files.

  Args:
    output_dir: folder for the files (created if missing; files replaced
      atomically, all together).
    corpus_dir: folder laid out like music21's `corpus/`; None = the
      installed music21's.
    collection_names: training collections, names in `COLLECTIONS`.
    include_essen: allow and add the non-commercial Essen collection to
      training.
    parser: one of `PARSERS`.
    eval_ratio: fraction of the training collections' tunes (with
      melodies) for evaluation, in [0, 1].
    seed: split, order and sample seed.
    options: `melody_pipeline.MelodyOptions` (None = defaults).
    num_workers: worker processes; None = os.cpu_count(); 1 = in-process.
    max_tunes_per_collection: first this many tunes of each (0 = all).
    expand_repeats: see `parse_with_music21`.
    progress_stream: text stream for the progress line, or None.
    heldout_collection_names: collections whose melodies never enter
      training (taken out of `collection_names`; Essen allowed, for
      evaluation only; see `corpus_sources.resolve_split_collections`).
    max_heldout_tunes: read a random sample (drawn with `seed`) of at most
      this many tunes of each held-out collection (0 = all).

  Returns:
    `CorpusStats`.

  Raises:
    Music21NotInstalledError: music21 is missing (it holds the corpus and
      parses it).
    ValueError: bad collections, parser or ratio.
    FileNotFoundError: a collection folder is missing.
    dataset_runner.EmptyCorpusError: no tune or no training melody; nothing
      is written. Its `stats` is the `CorpusStats`.
  """
  if parser not in tune_parsing.PARSERS:
    raise ValueError(
        f'parser must be one of {tune_parsing.PARSERS}; got {parser!r}')
  if not 0.0 <= eval_ratio <= 1.0:
    raise ValueError(f'eval_ratio must lie in [0, 1]; got {eval_ratio}')
  for name, value in (('max_tunes_per_collection', max_tunes_per_collection),
                      ('max_heldout_tunes', max_heldout_tunes)):
    if value < 0:
      raise ValueError(f'{name} must be >= 0; got {value}')
  options = options or melody_pipeline.MelodyOptions()
  names, heldout_names = corpus_sources.resolve_split_collections(
      collection_names, heldout_collection_names, include_essen)
  music21_version = None
  if parser != tune_parsing.PARSER_NOTE_SEQ or corpus_dir is None:
    music21_version = tunes_lib.import_music21().__version__
  if corpus_dir is None:
    corpus_dir = corpus_sources.music21_corpus_dir()

  samples = {name: max_heldout_tunes for name in heldout_names}
  tunes, collection_stats = corpus_sources.discover_tunes(
      corpus_dir, names + heldout_names, max_tunes_per_collection,
      sample_sizes=samples, sample_seed=seed)
  for name in heldout_names:
    collection_stats[name].role = corpus_sources.ROLE_HELDOUT
  stats = CorpusStats(parser=parser, collections=collection_stats)
  stats.dataset.files_found = sum(s.files for s in collection_stats.values())
  if not tunes:
    raise dataset_runner.EmptyCorpusError(
        f'no tune found in {", ".join(names + heldout_names)} under '
        f'{corpus_dir}', stats)

  tasks = []
  for start in range(0, len(tunes), TUNES_PER_TASK):
    chunk = tunes[start:start + TUNES_PER_TASK]
    tasks.append((len(chunk), (chunk, parser, options, expand_repeats)))
  num_workers = num_workers or os.cpu_count() or 1
  num_workers = max(1, min(num_workers, len(tasks)))
  progress = dataset_tasks.Progress(len(tunes), 'tunes', progress_stream)
  results = dataset_runner.run_tasks(tasks, num_workers, progress,
                                      _run_corpus_task)
  progress.finish()

  melodies_by_source = {}
  heldout_by_source = {}
  parsed_files = collections.defaultdict(int)
  tunes_by_file = collections.Counter(t.path for t in tunes)
  path_by_key = {t.key: t.path for t in tunes}
  for outcomes in results:
    for outcome in outcomes:
      stats.add(outcome)
      if outcome.parser:
        parsed_files[path_by_key[outcome.key]] += 1
      if outcome.melodies:
        held_out = outcome.collection in heldout_names
        (heldout_by_source if held_out else melodies_by_source)[
            outcome.key] = outcome.melodies
  stats.dataset.files_read = len(parsed_files)
  for path in sorted(tunes_by_file):
    if path not in parsed_files:
      key = os.path.relpath(path, corpus_dir).replace(os.sep, '/')
      stats.dataset.fail_file(key, FILE_NO_TUNE_PARSED)
  for name in sorted(collection_stats):
    for key, reason in collection_stats[name].files_without_tunes:
      stats.dataset.fail_file(key, reason)
  # Sources of the split (held-out ones are counted per collection).
  stats.dataset.sources_with_melodies = len(melodies_by_source)
  if not melodies_by_source:
    raise dataset_runner.EmptyCorpusError(
        'no melody found in the training collections (see the summary for '
        'what was dropped and why)', stats)

  def extra_files(training, evaluation):
    return _collection_files(stats, training, evaluation, heldout_by_source,
                             seed, {
                                 'seed': seed,
                                 'eval_ratio': eval_ratio,
                                 'parser': parser,
                                 'expand_repeats': expand_repeats,
                                 'melody_options': dataclasses.asdict(options),
                                 'max_tunes_per_collection':
                                     max_tunes_per_collection,
                                 'max_heldout_tunes': max_heldout_tunes,
                                 'music21_version': music21_version,
                             })

  dataset_runner.write_dataset(melodies_by_source, output_dir, eval_ratio,
                                seed, stats.dataset, extra_files=extra_files)
  if HELDOUT_FILENAME in stats.files:
    stats.heldout_path = os.path.join(output_dir, HELDOUT_FILENAME)
  stats.manifest_path = os.path.join(output_dir, MANIFEST_FILENAME)
  return stats


def _collection_of(key):
  """The collection of a source key ('<collection>/<file>[#n]')."""
  return key.split('/', 1)[0]


def _collection_files(stats, training, evaluation, heldout_by_source, seed,
                      settings):
  """Per-collection and held-out files and the manifest, as writers.

  Fills in the split counts of `stats.collections`, `stats.files` and
  `stats.heldout_melodies`.

  Args:
    stats: `CorpusStats` of the build.
    training, evaluation: the splits' (source key, melody) pairs, in the
      order written.
    heldout_by_source: held-out source key -> melodies.
    seed: order seed of the held-out files.
    settings: the build's settings, for the manifest.

  Returns:
    (file name, writer) pairs for `outputs.write_files_together`.
  """
  # Imported here (it imports TensorFlow): note_rnn_build_corpus --help
  # and the worker processes need not load it.
  # pylint: disable-next=g-import-not-at-top
  from note_rnn.data import sequence_example_io
  seen_in_training = {bytes(melody) for _, melody in training}
  by_file = {}
  for key, _ in training:
    stats.collections[_collection_of(key)].training_melodies += 1
  # (collection, subset or '') -> melodies, in the order written.
  eval_by_collection = collections.defaultdict(list)
  for key, melody in evaluation:
    name = _collection_of(key)
    eval_by_collection[name, ''].append(melody)
    subset = corpus_sources.subset_of(key)
    if subset:
      eval_by_collection[name, subset].append(melody)
    stats.collections[name].eval_melodies += 1
    stats.collections[name].eval_melodies_also_in_training += int(
        bytes(melody) in seen_in_training)
  for (name, subset), melodies in eval_by_collection.items():
    by_file[collection_filename(name, corpus_sources.ROLE_TRAINING,
                                subset)] = melodies
  heldout_by_collection = collections.defaultdict(list)
  for key in sorted(heldout_by_source):
    heldout_by_collection[_collection_of(key), ''].extend(
        heldout_by_source[key])
    subset = corpus_sources.subset_of(key)
    if subset:
      heldout_by_collection[_collection_of(key), subset].extend(
          heldout_by_source[key])
  combined = []
  for name, subset in sorted(heldout_by_collection):
    melodies = heldout_by_collection[name, subset]
    random.Random(seed).shuffle(melodies)
    by_file[collection_filename(name, corpus_sources.ROLE_HELDOUT,
                                subset)] = melodies
    if subset:
      continue
    stat = stats.collections[name]
    stat.heldout_melodies = len(melodies)
    stat.heldout_melodies_also_in_training = sum(
        bytes(m) in seen_in_training for m in melodies)
    combined.extend(melodies)
  if combined:
    random.Random(seed).shuffle(combined)
    by_file[HELDOUT_FILENAME] = combined
  stats.heldout_melodies = len(combined)
  stats.files = {name: len(melodies) for name, melodies in by_file.items()}
  for name, stat in stats.collections.items():
    stat.subset_melodies = {
        subset: stats.files.get(collection_filename(name, stat.role, subset),
                                0)
        for subset, _ in corpus_sources.COLLECTIONS[name].subsets}

  def writer(melodies):
    return lambda path: sequence_example_io.write_sequence_examples(
        path, melodies)
  writers = [(name, writer(by_file[name])) for name in sorted(by_file)]
  manifest = manifest_dict(stats, len(training), len(evaluation), settings)
  data = (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode()

  def write_manifest(path):
    with open(path, 'wb') as f:
      f.write(data)
  writers.append((MANIFEST_FILENAME, write_manifest))
  return writers


def collection_filename(name, role, subset=''):
  """The per-collection file of a collection, or of one of its subsets."""
  pattern = (HELDOUT_COLLECTION_FILENAME if role == corpus_sources.ROLE_HELDOUT
             else EVAL_COLLECTION_FILENAME)
  return pattern.format(f'{name}{SUBSET_SEPARATOR}{subset}' if subset
                        else name)


def manifest_dict(stats, training_melodies, eval_melodies, settings):
  """The manifest: settings, files and per-collection counts (JSON-ready)."""
  collections_out = {}
  for name in sorted(stats.collections):
    s = stats.collections[name]
    info = corpus_sources.COLLECTIONS[name]
    filename = collection_filename(name, s.role)
    subsets = {}
    for subset, prefixes in info.subsets:
      subset_file = collection_filename(name, s.role, subset)
      subsets[subset] = {
          'file_prefixes': list(prefixes) or 'the other files',
          'melodies': s.subset_melodies.get(subset, 0),
          'file': subset_file if subset_file in stats.files else None,
      }
    collections_out[name] = {
        'title': info.title,
        'role': s.role,
        'evaluation_only': corpus_sources.evaluation_only(name, s.role),
        'non_commercial': info.non_commercial,
        'license': info.license,
        'files_read': s.files,
        'tunes_available': s.tunes_available,
        'tunes': s.tunes,
        'duplicate_tunes_skipped': s.duplicates,
        'tunes_parsed': s.parsed,
        'tunes_with_melodies': s.tunes_with_melodies,
        'melodies': s.melodies,
        'training_melodies': s.training_melodies,
        'eval_melodies': s.eval_melodies,
        'heldout_melodies': s.heldout_melodies,
        'eval_melodies_also_in_training': s.eval_melodies_also_in_training,
        'heldout_melodies_also_in_training':
            s.heldout_melodies_also_in_training,
        'file': filename if filename in stats.files else None,
        'subsets': subsets,
    }
  dataset = stats.dataset
  return {
      'format': MANIFEST_FORMAT,
      'version': MANIFEST_VERSION,
      'settings': settings,
      'files': {
          'training': dataset_runner.TRAINING_FILENAME,
          'eval': dataset_runner.EVAL_FILENAME,
          'heldout': (HELDOUT_FILENAME if HELDOUT_FILENAME in stats.files
                      else None),
          'failed_files': dataset_runner.FAILED_FILES_FILENAME,
          'per_collection': dict(sorted(stats.files.items())),
      },
      'totals': {
          'training_melodies': training_melodies,
          'eval_melodies': eval_melodies,
          'heldout_melodies': stats.heldout_melodies,
          'melodies_kept': dataset.melodies_kept,
          'melodies_truncated': dataset.melodies_truncated,
          'failed_files': len(dataset.failed_files),
      },
      'collections': collections_out,
      'note': ('Held-out collections never enter the training or eval '
               'split. Collections with evaluation_only true are licensed '
               'for non-commercial use only: evaluate on them, never train '
               'a distributed model on them.'),
  }
