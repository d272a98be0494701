"""Where the corpus's tunes come from: music21's collections, split into tunes.

`resolve_collections` checks collection names against `COLLECTIONS`
(`resolve_split_collections` also sorts out held-out collections, which are
read for evaluation only); `discover_tunes` lists each collection's files
in the installed music21 (or any folder laid out like its `corpus/`) and
splits ABC tunebooks into tunes (`abc_text.split_abc_tunebook`: a tune
runs from its `X:` line to the first empty line, ABC 2.1; the lines before
the first `X:` are the file header, given to every tune). Score files (the
Bach chorales) are one tune each; a held-out collection may be sampled
down.
"""

import collections
import dataclasses
import os
import random

from note_rnn.data import abc_text
from note_rnn.data import tunes

# music21 (the optional 'corpus' extra) is imported by the functions that
# read its corpus: without it, the rest of the tools still work.

# DatasetStats.files_failed reasons: an ABC file without tunes (no X:
# line), one whose tunes all transcribe tunes of earlier files (O'Neill's
# overlapping files). (note_rnn.corpus adds FILE_NO_TUNE_PARSED.)
FILE_NO_TUNES = 'no_tunes'
FILE_ONLY_DUPLICATES = 'only_duplicate_tunes'

# CollectionStats.role: melodies split into training and evaluation, or
# held out (never trained on; evaluation only).
ROLE_TRAINING = 'training'
ROLE_HELDOUT = 'heldout'

@dataclasses.dataclass(frozen=True)
class Collection:
  """One folder of music21's corpus.

  Attributes:
    name: folder name under music21's `corpus/`.
    title: human-readable name.
    kind: `KIND_ABC` (tunebooks) or `KIND_SCORE` (one piece per file).
    extensions: file types read, lower case, in order of preference when
      one piece exists in several (same name without extension).
    license: licence of the encodings, as stated by music21.
    non_commercial: True if the licence forbids commercial use; such
      collections are read only when asked for explicitly.
    dedupe_reference_numbers: True when several files transcribe the same
      numbered tune (`X:`); the first in file order is kept.
    melody_part: name of the part holding the melody (case-insensitive
      prefix); the first part if empty or absent.
    subsets: (subset name, file-name prefixes) pairs splitting a collection
      of several traditions for evaluation (`subset_of`); a pair with no
      prefixes takes the files no earlier pair took. Empty: one whole.
  """
  name: str
  title: str
  kind: str
  extensions: tuple
  license: str
  non_commercial: bool = False
  dedupe_reference_numbers: bool = False
  melody_part: str = ''
  subsets: tuple = ()


_MUSIC21_CORPUS_LICENSE = (
    "music21 corpus/license.txt: distributed with the encoders' permission, "
    'out of copyright in the US to the best of its authors\' knowledge; no '
    'folder licence')

COLLECTIONS = {
    c.name: c for c in (
        Collection(
            'oneills1850', "O'Neill's Music of Ireland (1903)",
            tunes.KIND_ABC, ('.abc',),
            'tunes public domain (1903); ABC by volunteers (Z: fields); '
            + _MUSIC21_CORPUS_LICENSE,
            dedupe_reference_numbers=True),
        Collection(
            'ryansMammoth', "Ryan's Mammoth Collection (1883)",
            tunes.KIND_ABC, ('.abc',),
            'tunes public domain (1883); ABC by volunteers (Z: fields); '
            + _MUSIC21_CORPUS_LICENSE),
        Collection(
            'airdsAirs', "Aird's Selection of Airs (1778-1803)",
            tunes.KIND_ABC, ('.abc',),
            'tunes public domain (1778-1803); ABC by Jack Campin; '
            + _MUSIC21_CORPUS_LICENSE),
        Collection(
            'miscFolk', 'American fife tunes, Northumbrian Minstrelsy (1882)',
            tunes.KIND_ABC, ('.abc',),
            'tunes public domain; ABC by Jack Campin; '
            + _MUSIC21_CORPUS_LICENSE),
        Collection(
            'bach', 'J. S. Bach chorales (soprano line)', tunes.KIND_SCORE,
            ('.mxl', '.xml', '.krn'),
            'compositions public domain; MusicXML encodings with no rights '
            'field; the 3 Humdrum files (CCARH 1994, "refer to licensing '
            'agreement") are shadowed by MusicXML copies and not read; '
            + _MUSIC21_CORPUS_LICENSE,
            melody_part='soprano'),
        Collection(
            'essenFolksong', 'Essen Folksong Collection', tunes.KIND_ABC,
            ('.abc',),
            'essenFolksong/license.txt: legal status unclear; permission for '
            'NON-COMMERCIAL distribution and use in music21 only',
            non_commercial=True,
            # han1/han2.abc: Han Chinese songs (O: China); the other files
            # are European, mostly German-speaking (O: Europa, Lothringen,
            # Luxemburg; irl.abc, 62 Irish songs).
            subsets=(('china', ('han',)), ('europe', ()))),
    )
}
DEFAULT_COLLECTIONS = ('oneills1850', 'ryansMammoth', 'airdsAirs',
                       'miscFolk', 'bach')
ESSEN = 'essenFolksong'


# ---------------------------------------------------------------------------
# music21 and its corpus folder.


def music21_corpus_dir():
  """The `corpus/` folder of the installed music21 (raises if missing)."""
  music21 = tunes.import_music21()
  # Imported here: music21 is optional, and slow to import.
  # pylint: disable-next=g-import-not-at-top
  from music21 import corpus  # pytype: disable=import-error
  del music21
  return os.path.dirname(os.path.abspath(corpus.__file__))


def resolve_collections(names, include_essen=False):
  """Validates collection names and applies the Essen rule.

  Args:
    names: collection names (`COLLECTIONS` keys); duplicates are ignored.
    include_essen: True allows (and adds) the non-commercial Essen
      collection.

  Returns:
    Sorted tuple of names.

  Raises:
    ValueError: an unknown name, or a non-commercial collection named
      without `include_essen`.
  """
  chosen = set(names)
  unknown = sorted(chosen - set(COLLECTIONS))
  if unknown:
    raise ValueError(f'unknown collection(s) {", ".join(unknown)}; known: '
                     f'{", ".join(sorted(COLLECTIONS))}')
  if include_essen:
    chosen.add(ESSEN)
  restricted = sorted(n for n in chosen if COLLECTIONS[n].non_commercial)
  if restricted and not include_essen:
    raise ValueError(
        f'{", ".join(restricted)} is licensed for non-commercial use only; '
        'pass --include_essen to use it')
  if not chosen:
    raise ValueError('no collection chosen')
  return tuple(sorted(chosen))


def resolve_split_collections(names, heldout_names=(), include_essen=False):
  """Training and held-out collections, with the Essen rule for training.

  Held-out collections are read for evaluation only: their melodies never
  enter the training or evaluation split, so any known collection may be
  held out, the non-commercial Essen collection included (without
  `include_essen`; evaluating a model on it is non-commercial use). A
  held-out collection named in `names` too is taken out of training.

  Args:
    names: training collection names (`COLLECTIONS` keys).
    heldout_names: held-out collection names.
    include_essen: True trains on (and adds) the Essen collection.

  Returns:
    (training, heldout): sorted tuples of names, disjoint.

  Raises:
    ValueError: an unknown name, no training collection left, a
      non-commercial collection in training without `include_essen`, or
      Essen both held out and included.
  """
  heldout = set(heldout_names)
  unknown = sorted((set(names) | heldout) - set(COLLECTIONS))
  if unknown:
    raise ValueError(f'unknown collection(s) {", ".join(unknown)}; known: '
                     f'{", ".join(sorted(COLLECTIONS))}')
  if include_essen and ESSEN in heldout:
    raise ValueError(f'{ESSEN} cannot be both held out and trained on '
                     '(--include_essen)')
  chosen = set(names) - heldout
  if not chosen and not include_essen:
    raise ValueError('no training collection left once the held-out ones '
                     'are taken out')
  training = resolve_collections(sorted(chosen), include_essen)
  return training, tuple(sorted(heldout))


def subset_of(key):
  """The subset (`Collection.subsets`) of a tune key, or '' if none."""
  name, _, rest = key.partition('/')
  filename = rest.split('#', 1)[0]
  for subset, prefixes in COLLECTIONS[name].subsets:
    if not prefixes or filename.startswith(prefixes):
      return subset
  return ''


def evaluation_only(name, role):
  """True for a non-commercial collection held out: read to evaluate only."""
  return role == ROLE_HELDOUT and COLLECTIONS[name].non_commercial


# ---------------------------------------------------------------------------
# Finding tunes.


def _read_text(path):
  with open(path, 'rb') as f:
    data = f.read()
  try:
    return data.decode('utf-8')
  except UnicodeDecodeError:
    return data.decode('latin-1')


def _collection_files(directory, collection):
  """Files of one collection, sorted; one per piece (preferred extension)."""
  by_stem = {}
  rank = {ext: i for i, ext in enumerate(collection.extensions)}
  for name in sorted(os.listdir(directory)):
    path = os.path.join(directory, name)
    stem, ext = os.path.splitext(name)
    ext = ext.lower()
    if ext not in rank or not os.path.isfile(path):
      continue
    if stem not in by_stem or rank[ext] < rank[by_stem[stem][1]]:
      by_stem[stem] = (name, ext)
  return sorted(name for name, _ in by_stem.values())


@dataclasses.dataclass
class CollectionStats:
  """What one collection gave.

  Attributes:
    name: collection name.
    files: files read.
    tunes: tunes found (after duplicates and `max_tunes`).
    duplicates: tunes skipped as another file's transcription of the same
      `X:` number.
    files_without_tunes: (file key, `FILE_NO_TUNES` or
      `FILE_ONLY_DUPLICATES`) of files giving no tune (all files read).
    note_seq_ok, music21_ok: tunes each parser turned into a NoteSequence
      with notes (counted only where it ran).
    note_seq_failed, music21_failed: reason -> tunes the parser failed on.
    parsed: tunes that gave a NoteSequence (from the parser used).
    parsed_by: parser -> tunes whose sequence it gave.
    failed: reason -> tunes without a NoteSequence.
    repeats_not_expanded: music21 tunes kept in written order because their
      repeats could not be expanded.
    melodies: melodies kept.
    tunes_with_melodies: tunes giving >= 1 melody.
    role: `ROLE_TRAINING` or `ROLE_HELDOUT`.
    tunes_available: tunes before a held-out collection was sampled down
      (`discover_tunes`' `sample_sizes`); equal to `tunes` otherwise.
    training_melodies, eval_melodies: its melodies in each split (training
      role).
    heldout_melodies: its melodies (held-out role).
    eval_melodies_also_in_training, heldout_melodies_also_in_training: those
      equal to a melody of the training split (the same tune in two books).
    subset_melodies: subset -> melodies in its per-subset file (see
      `Collection.subsets`; its eval melodies, or held-out ones).
  """
  name: str
  files: int = 0
  tunes: int = 0
  duplicates: int = 0
  files_without_tunes: list = dataclasses.field(default_factory=list)
  note_seq_ok: int = 0
  note_seq_failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  music21_ok: int = 0
  music21_failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  parsed: int = 0
  parsed_by: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  failed: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)
  repeats_not_expanded: int = 0
  melodies: int = 0
  tunes_with_melodies: int = 0
  role: str = ROLE_TRAINING
  tunes_available: int = 0
  training_melodies: int = 0
  eval_melodies: int = 0
  heldout_melodies: int = 0
  eval_melodies_also_in_training: int = 0
  heldout_melodies_also_in_training: int = 0
  subset_melodies: dict = dataclasses.field(default_factory=dict)


def discover_tunes(corpus_dir, collection_names, max_tunes_per_collection=0,
                   sample_sizes=None, sample_seed=0):
  """Lists the tunes of the chosen collections.

  Args:
    corpus_dir: folder laid out like music21's `corpus/` (one sub-folder
      per collection; files directly inside it).
    collection_names: names in `COLLECTIONS`.
    max_tunes_per_collection: keep the first this many tunes of each
      collection (0 = all).
    sample_sizes: optional {name: n}: keep a random sample of n of that
      collection's tunes (after `max_tunes_per_collection`), in file order,
      drawn with `random.Random(sample_seed)` (0 or absent = all).
    sample_seed: seed of the samples.

  Returns:
    (tunes, stats): `tunes.Tune`s ordered by collection name, file name and
    position, and {name: `CollectionStats`} with files, tunes and
    duplicates filled in.

  Raises:
    FileNotFoundError: a collection's folder is missing.
  """
  all_tunes = []
  stats = {}
  for name in sorted(collection_names):
    collection = COLLECTIONS[name]
    directory = os.path.join(corpus_dir, name)
    if not os.path.isdir(directory):
      raise FileNotFoundError(
          f'collection {name}: no folder {directory} (is this music21\'s '
          'corpus folder?)')
    stat = stats[name] = CollectionStats(name)
    found = []
    seen_numbers = set()
    for filename in _collection_files(directory, collection):
      stat.files += 1
      path = os.path.join(directory, filename)
      file_key = f'{name}/{filename}'
      if collection.kind == tunes.KIND_SCORE:
        found.append(tunes.Tune(name, file_key, path, tunes.KIND_SCORE,
                                melody_part=collection.melody_part))
        continue
      header, abc_tunes = abc_text.split_abc_tunebook(_read_text(path))
      header = abc_text.abc_file_header(header)
      count = len(found)
      for position, (number, text) in enumerate(abc_tunes, 1):
        if collection.dedupe_reference_numbers and number >= 0:
          if number in seen_numbers:
            stat.duplicates += 1
            continue
          seen_numbers.add(number)
        text = abc_text.abc_first_voice(text)
        abc = f'{header}\n\n{text}\n' if header else f'{text}\n'
        found.append(tunes.Tune(
            name, f'{file_key}#{position:04d}', path, tunes.KIND_ABC, abc,
            number, collection.melody_part))
      if len(found) == count:
        stat.files_without_tunes.append(
            (file_key, FILE_ONLY_DUPLICATES if abc_tunes else FILE_NO_TUNES))
    if max_tunes_per_collection and len(found) > max_tunes_per_collection:
      found = found[:max_tunes_per_collection]
      stat.files = len({t.path for t in found})
      stat.files_without_tunes = []
    stat.tunes_available = len(found)
    sample_size = (sample_sizes or {}).get(name, 0)
    if sample_size and len(found) > sample_size:
      chosen = random.Random(sample_seed).sample(range(len(found)),
                                                 sample_size)
      found = [found[i] for i in sorted(chosen)]
    stat.tunes = len(found)
    all_tunes.extend(found)
  return all_tunes, stats
