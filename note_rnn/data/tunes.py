"""A tune to parse (ABC text or a score file), and music21, which reads both.

`Tune` is what the corpus builder (`note_rnn.corpus.corpus_sources`) and
the dataset tool's ABC reader (`source_files`) hand to `tune_parsing`.
music21 is an optional extra: `import_music21` imports it or raises
`Music21NotInstalledError` saying how to install it.
"""

import dataclasses

# music21 (the optional 'corpus' extra) is imported only when a tune is
# read with it (`import_music21`).

# Kinds of tune: ABC text, or a score file (MusicXML, Humdrum) read whole.
KIND_ABC = 'abc'
KIND_SCORE = 'score'

# Installing the extra that provides music21.
INSTALL_HINT = "pip install -e '.[corpus]'"


class Music21NotInstalledError(ImportError):
  """music21, which holds the corpus, is not installed."""


def import_music21():
  """Imports music21.

  Returns:
    The `music21` module.

  Raises:
    Music21NotInstalledError: it is not installed (the message says how to
      install it).
  """
  try:
    # Imported here: music21 is optional, and slow to import.
    # pylint: disable-next=g-import-not-at-top
    import music21  # pytype: disable=import-error
  except ImportError as e:
    raise Music21NotInstalledError(
        f'music21 is not installed ({e}); it holds the folk-tune corpus: '
        f'{INSTALL_HINT}') from e
  return music21


@dataclasses.dataclass(frozen=True)
class Tune:
  """One tune to parse.

  Attributes:
    collection: collection name ('' outside the corpus).
    key: stable source key, '<collection>/<file>' for a score file and
      '<collection>/<file>#<n>' (n = 1-based position in the file, 4 digits)
      for an ABC tune; '/'-separated, independent of where music21 lives.
    path: absolute path of the file.
    kind: `KIND_ABC` or `KIND_SCORE`.
    abc: ABC text of the tune (the file header, an empty line, the tune);
      empty for score files.
    reference_number: the tune's `X:` number (-1 if none or not ABC).
    melody_part: name of the part holding the melody (case-insensitive
      prefix; the first part if empty).
  """
  collection: str
  key: str
  path: str
  kind: str
  abc: str = ''
  reference_number: int = -1
  melody_part: str = ''
