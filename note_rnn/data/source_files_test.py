"""Tests of reading ABC tunebooks with music21 or note_seq (source_files).

The tunebook below has a tune with rests, ties, a triplet, a repeat and
variant endings (which note_seq's ABC parser rejects: it reads no rests), a
plain tune both parsers read, and a tune neither parses (an empty L:
field). Its first tune's encoding is worked out by hand in TUNE_1.
"""

import pytest

from note_rnn import encoding
from note_rnn.data import melody_pipeline as mp
from note_rnn.data import source_files
from note_rnn.data import tune_parsing
from note_rnn.data import tunes

TUNEBOOK = """\
%abc-2.1
% A file header: its fields hold for every tune.
M:4/4
L:1/8

X:1
T:Rests, ties, a triplet, a repeat with variant endings
K:C
|: C2 E2 G2 z2 | (3cBA G2- G2 E2 | F2 A2 c2 B2 |1 c4 z4 :|2 c6 z2 ||
D2 F2 A2 c2 | B2 G2 E2 C2 | E4- E2 D2 | C8 |]

X:2
T:Plain
K:C
CDEF GABc|cBAG FEDC|EGce dBGB|c2G2 E2C2|DEFG ABcd|edcB AGFE|DFAc BGDB|c4 C4|]

X:3
T:An empty unit note length
L:
K:C
CDEF GABc|
"""

# Classes of the tunebook's pitches (C major, C4 to E5: transposing to C
# major and centring in [48, 84) moves them by 0 semitones).
C, D, E, F, G, A, B, c, d, e = (
    encoding.pitch_to_class(p) for p in (60, 62, 64, 65, 67, 69, 71, 72, 74,
                                         76))
HOLD = encoding.HOLD_CLASS
REST = encoding.REST_CLASS


def note(cls, steps):
  """A note onset held for `steps` sixteenths in all."""
  return [cls] + [HOLD] * (steps - 1)


def rest(steps):
  """A note off (the rest's first step), then silence."""
  return [REST] + [HOLD] * (steps - 1)


# Tune 1 played out (bars 1-3, ending 1, bars 1-3, ending 2, bars 5-8),
# 12 bars of 16 sixteenths. An eighth is 2 steps. The triplet's notes start
# 4/3 steps apart (0, 1.33, 2.67), quantized to steps 0, 1 and 3; tied
# notes are one note.
_BARS_1_TO_3 = (
    note(C, 4) + note(E, 4) + note(G, 4) + rest(4) +    # C2 E2 G2 z2
    [c, B, HOLD, A] + note(G, 8) + note(E, 4) +         # (3cBA G2- G2 E2
    note(F, 4) + note(A, 4) + note(c, 4) + note(B, 4))  # F2 A2 c2 B2
TUNE_1 = (
    _BARS_1_TO_3 + note(c, 8) + rest(8) +               # |1 c4 z4 :|
    _BARS_1_TO_3 + note(c, 12) + rest(4) +              # |2 c6 z2 ||
    note(D, 4) + note(F, 4) + note(A, 4) + note(c, 4) +
    note(B, 4) + note(G, 4) + note(E, 4) + note(C, 4) +
    note(E, 12) + note(D, 4) +                          # E4- E2 D2
    note(C, 16))                                        # C8
# Tune 2: eighths (2 steps) and quarters, 8 bars.
_EIGHTHS = [C, D, E, F, G, A, B, c, c, B, A, G, F, E, D, C,
            E, G, c, e, d, B, G, B]
TUNE_2 = (sum((note(p, 2) for p in _EIGHTHS), []) +
          note(c, 4) + note(G, 4) + note(E, 4) + note(C, 4) +
          sum((note(p, 2) for p in [D, E, F, G, A, B, c, d,
                                    e, d, c, B, A, G, F, E,
                                    D, F, A, c, B, G, D, B]), []) +
          note(c, 8) + note(C, 8))

# The per-tune reasons name the parser, the error's class and its message.
NOTE_SEQ_REST_ERROR = (f'{mp.SEQUENCE_ABC_TUNE_PARSE_ERROR}: '
                       "note_seq:InvalidCharacterError: Unexpected character: "
                       "[b'z']")
MUSIC21_TUNE_3_ERROR = (f'{mp.SEQUENCE_ABC_TUNE_PARSE_ERROR}: '
                        'music21:ABCTokenException: no quarter length '
                        'associated with this metadata:')


def require_music21():
  return pytest.importorskip(
      'music21', reason="music21 is an extra: pip install -e '.[corpus]'")


def without_music21(monkeypatch):
  """Makes music21 look uninstalled (to the import helper every path uses)."""
  def missing():
    raise tunes.Music21NotInstalledError('No module named music21')
  monkeypatch.setattr(tunes, 'import_music21', missing)


def _process(tmp_path, text, parser, name='tunebook.abc'):
  path = tmp_path / name
  path.write_text(text)
  return source_files.process_file(
      source_files.SourceFile(str(path), name, source_files.KIND_ABC, parser))


def _classes(result):
  return [list(m) for _, melodies in result.melodies for m in melodies]


def test_hand_encoded_tunes_are_12_and_8_bars():
  assert len(TUNE_1) == 12 * encoding.STEPS_PER_BAR
  assert len(TUNE_2) == 8 * encoding.STEPS_PER_BAR


def test_parser_names_are_the_corpus_builders():
  assert (source_files.ABC_PARSER_AUTO, source_files.ABC_PARSER_MUSIC21,
          source_files.ABC_PARSER_NOTE_SEQ) == (tune_parsing.PARSER_AUTO,
                                                tune_parsing.PARSER_MUSIC21,
                                                tune_parsing.PARSER_NOTE_SEQ)


def test_music21_reads_rests_ties_triplets_and_variant_endings(tmp_path):
  require_music21()
  result = _process(tmp_path, TUNEBOOK, source_files.ABC_PARSER_MUSIC21)
  assert _classes(result) == [TUNE_1, TUNE_2]
  # Tune 3 fails alone, under music21's error; the file is read.
  assert result.stats.sequences == 2
  assert result.stats.sequences_skipped == {MUSIC21_TUNE_3_ERROR: 1}
  assert result.stats.files_read == 1 and not result.stats.failed_files
  assert result.melodies[0][0] == 'tunebook.abc'  # The file is the source.
  # Same input, same melodies.
  again = _process(tmp_path, TUNEBOOK, source_files.ABC_PARSER_MUSIC21)
  assert again.melodies == result.melodies


def test_note_seq_drops_the_tune_with_rests_by_name_and_keeps_the_rest(
    tmp_path):
  result = _process(tmp_path, TUNEBOOK, source_files.ABC_PARSER_NOTE_SEQ)
  assert _classes(result) == [TUNE_2]
  assert result.stats.sequences == 1
  assert result.stats.sequences_skipped == {
      NOTE_SEQ_REST_ERROR: 1,
      f'{mp.SEQUENCE_ABC_TUNE_PARSE_ERROR}: note_seq:ABCParseError: '
      '(ValueError("invalid literal for int() with base N: \'...': 1}
  assert result.stats.files_read == 1 and not result.stats.failed_files


def test_a_file_without_a_readable_tune_fails_with_the_commonest_error(
    tmp_path):
  tunebook = TUNEBOOK.split('\nX:2')[0] + '\nX:4\nK:C\nC2 z2 E4|]\n'
  tunebook += '\nX:5\nL:\nK:C\nCDEF|\n'
  result = _process(tmp_path, tunebook, source_files.ABC_PARSER_NOTE_SEQ)
  assert not result.melodies
  assert result.stats.sequences_skipped[NOTE_SEQ_REST_ERROR] == 2
  assert result.stats.failed_files == [
      ('tunebook.abc', f'{source_files.FILE_ABC_ALL_TUNES_FAILED}: '
                       + NOTE_SEQ_REST_ERROR.partition(': ')[2])]


def test_tunes_without_notes_are_counted_as_such(tmp_path):
  result = _process(tmp_path, 'X:1\nT:Words only\nK:C\n', 'note_seq')
  assert result.stats.failed_files == [('tunebook.abc',
                                        source_files.FILE_NO_NOTES)]
  assert result.stats.sequences_skipped == {mp.SEQUENCE_NO_NOTES: 1}


def test_music21_never_reads_a_tune_over_the_bounds(tmp_path, monkeypatch):
  require_music21()
  parse_tune = tune_parsing.parse_tune

  def checked_parse_tune(tune, parser, *args):
    assert 'Bomb' not in tune.abc, 'music21 was given the bomb'
    return parse_tune(tune, parser, *args)
  monkeypatch.setattr(tune_parsing, 'parse_tune', checked_parse_tune)
  # A last note of 10^9 eighths: music21 would ask for 8 GB.
  bomb = TUNEBOOK.replace('T:Plain', 'T:Bomb').replace('c4 C4|]',
                                                       'c4 C999999999|]')
  result = _process(tmp_path, bomb, source_files.ABC_PARSER_MUSIC21)
  assert _classes(result) == [TUNE_1]
  assert result.stats.sequences_skipped[mp.INPUT_TOO_MANY_STEPS] == 1
  alone = _process(tmp_path, 'X:1\nT:Bomb\nL:1/8\nK:C\nCDEF|C999999999|\n',
                   source_files.ABC_PARSER_MUSIC21, 'bomb.abc')
  assert alone.stats.failed_files == [('bomb.abc', mp.INPUT_TOO_MANY_STEPS)]


def test_auto_is_music21_when_installed_else_note_seq(tmp_path, monkeypatch):
  installed = source_files.music21_installed()
  assert source_files.resolve_abc_parser('auto') == (
      'music21' if installed else 'note_seq')
  assert source_files.resolve_abc_parser('note_seq') == 'note_seq'
  without_music21(monkeypatch)
  assert not source_files.music21_installed()
  assert source_files.resolve_abc_parser('auto') == 'note_seq'
  with pytest.raises(source_files.Music21MissingError) as info:
    source_files.resolve_abc_parser('music21')
  message = str(info.value)
  assert message.startswith('--abc_parser=music21 needs music21')
  assert message.endswith("pip install -e '.[corpus]'")
  assert '\n' not in message
  assert isinstance(info.value, source_files.InputError)
  with pytest.raises(ValueError, match='abc_parser must be one of'):
    source_files.resolve_abc_parser('abc2midi')
  # A file of an 'auto' source is read by the fallback.
  result = _process(tmp_path, TUNEBOOK, source_files.ABC_PARSER_AUTO)
  assert _classes(result) == [TUNE_2]
  assert NOTE_SEQ_REST_ERROR in result.stats.sequences_skipped


def test_find_source_files_gives_abc_files_their_parser(tmp_path):
  (tmp_path / 'a.abc').write_text(TUNEBOOK)
  (tmp_path / 'b.mid').write_bytes(b'')
  sources = source_files.find_source_files(tmp_path, abc_parser='note_seq')
  assert [(s.key, s.abc_parser) for s in sources] == [('a.abc', 'note_seq'),
                                                      ('b.mid', 'note_seq')]
  assert source_files.find_source_files(
      tmp_path / 'a.abc')[0].abc_parser == 'auto'


@pytest.mark.parametrize('text, reason', [
    ('note_seq:InvalidCharacterError', 'note_seq:InvalidCharacterError'),
    ('music21:Music21Exception', 'music21:Music21Exception'),
    ("Unexpected character: [b'z']\nat line 12",
     "Unexpected character: [b'z'] at line N"),
    ('cannot read /home/me/tunes/book.abc: bar 17, beat 2.5',
     'cannot read <path> bar N, beat N'),
    ('x' * 200, 'x' * (source_files.MAX_REASON_CHARS - 3) + '...'),
])
def test_reason_line_is_short_and_shared(text, reason):
  assert source_files.reason_line(text) == reason


def test_a_parser_that_raises_fails_its_tune_alone(tmp_path, monkeypatch):
  parse_tune = tune_parsing.parse_tune

  def flaky_parse_tune(tune, parser, *args):
    if 'T:Plain' in tune.abc:
      raise RecursionError('maximum recursion depth exceeded')
    return parse_tune(tune, parser, *args)
  monkeypatch.setattr(tune_parsing, 'parse_tune', flaky_parse_tune)
  plain = 'X:2' + TUNEBOOK.split('X:2')[1].split('\n\n')[0] + '\n'
  copy = plain.replace('X:2', 'X:4').replace('T:Plain', 'T:Copy')
  result = _process(tmp_path, f'M:4/4\nL:1/8\n\n{plain}\n{copy}',
                    'note_seq')
  assert result.stats.sequences_skipped == {
      f'{mp.SEQUENCE_ABC_TUNE_PARSE_ERROR}: note_seq:RecursionError: '
      'maximum recursion depth exceeded': 1}
  assert _classes(result) == [TUNE_2]


def test_find_source_files_keys_and_filters(testdata_dir, tmp_path):
  keys = [s.key for s in source_files.find_source_files(testdata_dir)]
  assert 'abc/tunes.abc' in keys and 'corrupt.mid' in keys
  assert 'make_testdata.py' not in keys
  assert keys == sorted(keys)
  # A glob; keys relative to the matches' common folder.
  glob_keys = [s.key for s in source_files.find_source_files(
      str(testdata_dir / '**' / '*.abc'))]
  assert glob_keys == ['broken.abc', 'tunes.abc']
  single = source_files.find_source_files(testdata_dir / 'c_major.mid')
  assert [(s.key, s.kind) for s in single] == [
      ('c_major.mid', source_files.KIND_MIDI)]
  (tmp_path / 'notes.txt').write_text('x')
  with pytest.raises(source_files.InputError, match='unknown file type'):
    source_files.find_source_files(tmp_path / 'notes.txt')
  with pytest.raises(source_files.InputError, match='matches nothing'):
    source_files.find_source_files(tmp_path / 'missing')
