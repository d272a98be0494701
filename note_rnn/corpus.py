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
2. Worker processes parse each tune (`parse_tune`) with note_seq's ABC
   parser and/or music21 (`--parser`): `auto` runs both, keeps music21's
   sequence (it reads ties, tuplets, chords, variant endings, pickups and
   multi-voice tunes, which note_seq rejects or ignores) and falls back to
   note_seq's where music21 fails. Both outcomes are counted per collection.
3. A music21 part becomes a NoteSequence in two steps: `music21_part_events`
   reads it into plain `note_events.NoteEvent`s (the only music21-dependent
   part) and `note_events.events_to_note_sequence` builds the sequence from
   them: one melody line (the first part; the soprano of a chorale), chords
   reduced to their top note, tied notes merged, grace notes dropped,
   repeats expanded (as played; written order where music21 cannot expand
   them), a pickup bar shifted so bar lines fall on the time-signature
   grid, at a fixed `note_events.DEFAULT_QPM` with one tempo event.
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
import contextlib
import dataclasses
import io
import json
import math
import os
import random
import sys
import warnings

from note_rnn import corpus_sources
from note_rnn import dataset_runner
from note_rnn import melody_pipeline
from note_rnn import note_events
# note_seq is imported by the functions that use it (music21 already was):
# note_rnn_build_corpus --help, which reads the defaults here, loads neither.

# Parsers (`--parser`).
PARSER_AUTO = 'auto'
PARSER_NOTE_SEQ = 'note_seq'
PARSER_MUSIC21 = 'music21'
PARSERS = (PARSER_AUTO, PARSER_NOTE_SEQ, PARSER_MUSIC21)


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

# Why a tune gave no NoteSequence (prefixed with the parser, e.g.
# 'note_seq:TupletError'; parse exceptions are named by their class).
REASON_NO_NOTES = 'no_notes'
REASON_UNSUPPORTED_FORMAT = 'unsupported_format'
REASON_NO_PART = 'no_part'
# DatasetStats.sequences_skipped reason for tunes no parser could read.
SEQUENCE_TUNE_PARSE_ERROR = 'tune_parse_error'
# DatasetStats.files_failed reason for a file none of whose tunes parsed.
FILE_NO_TUNE_PARSED = 'no_tune_parsed'




# ---------------------------------------------------------------------------
# Plain note events -> NoteSequence (no music21 needed).




# ---------------------------------------------------------------------------
# Parsers (run in worker processes).


@dataclasses.dataclass
class TuneOutcome:
  """What became of one tune.

  Attributes:
    key, collection: the tune's.
    note_seq, music21: None if the parser did not run, 'ok', or the reason
      it failed.
    parser: parser whose NoteSequence was used ('' if none).
    failure: why the tune gave no NoteSequence ('' if it gave one).
    repeats_expanded: False if music21 could not expand the repeats.
    melodies: encoded melodies (bytes of classes).
    stats: `melody_pipeline.DatasetStats` of the pipeline on this tune.
  """
  key: str
  collection: str
  note_seq: str = None
  music21: str = None
  parser: str = ''
  failure: str = ''
  repeats_expanded: bool = True
  melodies: list = dataclasses.field(default_factory=list)
  stats: melody_pipeline.DatasetStats = dataclasses.field(
      default_factory=melody_pipeline.DatasetStats)


def _counter_text(counter):
  """' (a: 1, b: 2)' for a Counter, most common first; '' if empty."""
  if not counter:
    return ''
  items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
  return ' (' + ', '.join(f'{k}: {v}' for k, v in items) + ')'


def _error_name(error):
  return type(error).__name__


def parse_with_note_seq(tune):
  """Parses one tune with note_seq (ABC parser; MusicXML reader for scores).

  Args:
    tune: `Tune`.

  Returns:
    (sequence, reason): NoteSequence with notes and '', or None and why not.
  """
  from note_seq import abc_parser  # pylint: disable=g-import-not-at-top
  if tune.kind == corpus_sources.KIND_ABC:
    try:
      sequences, errors = abc_parser.parse_abc_tunebook(tune.abc)
    except Exception as e:  # pylint: disable=broad-except
      return None, _error_name(e)
    if errors and not sequences:
      return None, _error_name(errors[0])
    sequence = next(iter(sequences.values()), None) if sequences else None
  else:
    if not tune.path.lower().endswith(('.mxl', '.xml', '.musicxml')):
      return None, REASON_UNSUPPORTED_FORMAT
    # pylint: disable-next=g-import-not-at-top
    from note_seq import musicxml_reader
    try:
      sequence = musicxml_reader.musicxml_file_to_sequence_proto(tune.path)
    except Exception as e:  # pylint: disable=broad-except
      return None, _error_name(e)
    part = 0
    for info in sequence.part_infos:
      if tune.melody_part and info.name.lower().startswith(tune.melody_part):
        part = info.part
        break
    kept = [n for n in sequence.notes if n.part == part]
    del sequence.notes[:]
    sequence.notes.extend(kept)
  if sequence is None or not sequence.notes:
    return None, REASON_NO_NOTES
  return sequence, ''


def _melody_part(stream, melody_part):
  """The music21 part holding the melody: named `melody_part`, else first."""
  # pylint: disable-next=g-import-not-at-top
  from music21 import stream as stream_module  # pytype: disable=import-error
  if isinstance(stream, stream_module.Opus):
    scores = list(stream.scores)
    if not scores:
      return None
    stream = scores[0]
  parts = list(stream.parts) if isinstance(stream, stream_module.Score) else []
  if not parts:
    return stream if stream.flatten().notes else None
  if melody_part:
    for part in parts:
      names = (part.partName or '', str(part.id or ''))
      if any(n.lower().startswith(melody_part) for n in names):
        return part
  return parts[0]


def music21_part_events(part):
  """Reads a music21 part into plain data for `events_to_note_sequence`.

  Args:
    part: music21 Part (or any stream of measures or notes).

  Returns:
    (events, time_signatures, key_signatures, pickup): `NoteEvent`s of the
    part's notes and chords (chord symbols and unpitched notes skipped), the
    (offset, numerator, denominator) list (without the signatures of
    split-off partial bars, `drop_split_bar_signatures`), the (offset, tonic
    pitch class, mode) list, and the first measure's `paddingLeft` (quarter
    notes a pickup leaves empty).
  """
  # pylint: disable=g-import-not-at-top
  from music21 import chord  # pytype: disable=import-error
  from music21 import harmony  # pytype: disable=import-error
  from music21 import key as key_module  # pytype: disable=import-error
  from music21 import meter  # pytype: disable=import-error
  from music21 import note  # pytype: disable=import-error
  from music21 import stream  # pytype: disable=import-error
  # pylint: enable=g-import-not-at-top
  measures = list(part.getElementsByClass(stream.Measure))
  pickup = float(measures[0].paddingLeft) if measures else 0.0
  flat = part.flatten()
  events = []
  for element in flat.notes:
    if isinstance(element, harmony.Harmony):
      continue
    if isinstance(element, note.Note):
      pitches = (int(round(element.pitch.ps)),)
    elif isinstance(element, chord.Chord):
      pitches = tuple(int(round(p.ps)) for p in element.pitches)
    else:
      continue
    events.append(note_events.NoteEvent(
        offset=float(element.offset),
        duration=float(element.duration.quarterLength),
        pitches=pitches,
        tie=element.tie.type if element.tie is not None else None,
        grace=bool(element.duration.isGrace)))
  # Signatures are read per measure: music21 may put one signature object
  # in several measures, and a flattened stream gives it one offset only.
  if measures:
    placed = [(float(m.getOffsetBySite(part)), m.timeSignature, m.keySignature)
              for m in measures]
  else:
    placed = [(float(e.offset), e, None)
              for e in flat.getElementsByClass(meter.TimeSignature)]
    placed += [(float(e.offset), None, e)
               for e in flat.getElementsByClass(key_module.KeySignature)]
  time_signatures = []
  key_signatures = []
  for offset, ts, ks in sorted(placed, key=lambda p: p[0]):
    if ts is not None:
      time_signatures.append((offset, int(ts.numerator), int(ts.denominator)))
    if ks is not None:
      k = ks if isinstance(ks, key_module.Key) else ks.asKey('major')
      key_signatures.append((offset, k.tonic.pitchClass, k.mode))
  end = max((e.offset + e.duration for e in events), default=0.0)
  time_signatures = note_events.drop_split_bar_signatures(time_signatures, end)
  return events, time_signatures, key_signatures, pickup


def parse_with_music21(tune, expand_repeats=True):
  """Parses one tune with music21 and converts its melody line.

  Args:
    tune: `Tune`.
    expand_repeats: play repeats out (`Stream.expandRepeats`); tunes whose
      repeats music21 cannot expand stay in written order.

  Returns:
    (sequence, reason, repeats_expanded): NoteSequence with notes and '',
    or None and why not; False if repeats could not be expanded.
  """
  # pylint: disable-next=g-import-not-at-top
  from music21 import converter  # pytype: disable=import-error
  try:
    if tune.kind == corpus_sources.KIND_ABC:
      parsed = converter.parse(tune.abc, format='abc')
    else:
      parsed = converter.parse(tune.path, forceSource=True)
    part = _melody_part(parsed, tune.melody_part)
  except Exception as e:  # pylint: disable=broad-except
    return None, _error_name(e), True
  if part is None:
    return None, REASON_NO_PART, True
  expanded = True
  if expand_repeats:
    try:
      part = part.expandRepeats()
    except Exception:  # pylint: disable=broad-except
      expanded = False
  try:
    events, time_signatures, key_signatures, pickup = music21_part_events(
        part)
  except Exception as e:  # pylint: disable=broad-except
    return None, _error_name(e), expanded
  sequence = note_events.events_to_note_sequence(
      events, time_signatures, key_signatures, pickup)
  if not sequence.notes:
    return None, REASON_NO_NOTES, expanded
  return sequence, '', expanded


def parse_tune(tune, parser=PARSER_AUTO, expand_repeats=True):
  """Turns one tune into a NoteSequence with the chosen parser(s).

  `auto` runs both parsers (so both are measured) and keeps music21's
  sequence, or note_seq's where music21 fails.

  Args:
    tune: `Tune`.
    parser: one of `PARSERS`.
    expand_repeats: see `parse_with_music21`.

  Returns:
    (sequence or None, `TuneOutcome` without melodies).
  """
  if parser not in PARSERS:
    raise ValueError(f'parser must be one of {PARSERS}; got {parser!r}')
  outcome = TuneOutcome(tune.key, tune.collection)
  candidates = {}
  # Parsers print warnings about odd ABC; they would garble the progress
  # line and say nothing the counts do not.
  with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
    warnings.simplefilter('ignore')
    if parser in (PARSER_AUTO, PARSER_NOTE_SEQ):
      sequence, reason = parse_with_note_seq(tune)
      outcome.note_seq = reason or 'ok'
      if sequence is not None:
        candidates[PARSER_NOTE_SEQ] = sequence
    if parser in (PARSER_AUTO, PARSER_MUSIC21):
      sequence, reason, outcome.repeats_expanded = parse_with_music21(
          tune, expand_repeats)
      outcome.music21 = reason or 'ok'
      if sequence is not None:
        candidates[PARSER_MUSIC21] = sequence
  for name in (PARSER_MUSIC21, PARSER_NOTE_SEQ):
    if name in candidates:
      outcome.parser = name
      sequence = candidates[name]
      break
  else:
    primary = PARSER_NOTE_SEQ if parser == PARSER_NOTE_SEQ else PARSER_MUSIC21
    reason = outcome.note_seq if primary == PARSER_NOTE_SEQ else outcome.music21
    outcome.failure = f'{primary}:{reason}'
    return None, outcome
  sequence.filename = tune.key
  sequence.collection_name = tune.collection
  if tune.reference_number >= 0:
    sequence.reference_number = tune.reference_number
  return sequence, outcome


def process_tune(tune, parser=PARSER_AUTO, options=None, expand_repeats=True):
  """Parses one tune and encodes its melodies; never raises for bad tunes.

  Args:
    tune: `Tune`.
    parser: one of `PARSERS`.
    options: `melody_pipeline.MelodyOptions` (None = defaults).
    expand_repeats: see `parse_with_music21`.

  Returns:
    `TuneOutcome` with melodies and pipeline stats.
  """
  options = options or melody_pipeline.MelodyOptions()
  sequence, outcome = parse_tune(tune, parser, expand_repeats)
  if sequence is None:
    outcome.stats.sequences_skipped[SEQUENCE_TUNE_PARSE_ERROR] += 1
    return outcome
  classes, outcome.stats = melody_pipeline.note_sequence_to_class_sequences(
      sequence, options)
  outcome.melodies = [bytes(c) for c in classes]
  return outcome


def _run_corpus_task(task):
  """Worker entry point: task = (tunes, parser, options, expand_repeats)."""
  tunes, parser, options, expand_repeats = task
  return [process_tune(t, parser, options, expand_repeats) for t in tunes]


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
  parser: str = PARSER_AUTO
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
    for parser, result in ((PARSER_NOTE_SEQ, outcome.note_seq),
                           (PARSER_MUSIC21, outcome.music21)):
      if result is None:
        continue
      if result == 'ok':
        setattr(stat, f'{parser}_ok', getattr(stat, f'{parser}_ok') + 1)
      else:
        getattr(stat, f'{parser}_failed')[result] += 1
    if outcome.parser:
      stat.parsed += 1
      stat.parsed_by[outcome.parser] += 1
      if outcome.parser == PARSER_MUSIC21 and not outcome.repeats_expanded:
        stat.repeats_not_expanded += 1
    else:
      stat.failed[outcome.failure] += 1
    stat.melodies += len(outcome.melodies)
    stat.tunes_with_melodies += int(bool(outcome.melodies))
    self.dataset.merge(outcome.stats)

  def table(self):
    """Per-collection table (text) with parser failure reasons."""
    show_note_seq = self.parser in (PARSER_AUTO, PARSER_NOTE_SEQ)
    show_music21 = self.parser in (PARSER_AUTO, PARSER_MUSIC21)

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
                         include_essen=False, parser=PARSER_AUTO,
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
  if parser not in PARSERS:
    raise ValueError(f'parser must be one of {PARSERS}; got {parser!r}')
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
  if parser != PARSER_NOTE_SEQ or corpus_dir is None:
    music21_version = corpus_sources.import_music21().__version__
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
  progress = dataset_runner.Progress(len(tunes), 'tunes', progress_stream)
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
  # pylint: disable-next=g-import-not-at-top
  from note_rnn import sequence_example_io
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


def format_duration(seconds):
  """'1h02m03s'-style text of a duration in seconds."""
  seconds = int(math.floor(seconds + 0.5))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return (f'{hours}h{minutes:02d}m{seconds:02d}s' if hours else
          f'{minutes}m{seconds:02d}s')
