"""Tests of ABC text handling before any parser (abc_text)."""

import fractions

import pytest

from note_rnn.data import abc_text
from note_rnn.data import melody_pipeline as mp

HEADER = '%abc-2.1\n% A comment, dropped.\nM:6/8\nL:1/8\n'


def test_abc_tunes_give_each_tune_the_header_and_its_first_voice():
  text = (HEADER + '\nX:7\nT:One\nK:G\nGAB c2d|]\n\n'
          'X:8\nT:Two voices\nK:D\nV:1\nDEF G2A|]\nV:2\nA,B,C D2E|]\n')
  assert abc_text.abc_tunes(text) == [
      (7, 'M:6/8\nL:1/8\n\nX:7\nT:One\nK:G\nGAB c2d|]\n'),
      (8, 'M:6/8\nL:1/8\n\nX:8\nT:Two voices\nK:D\nDEF G2A|]\n')]


def test_text_without_an_x_line_is_one_tune():
  assert abc_text.abc_tunes('L:1/8\nK:C\nCDEF|\n') == [
      (-1, 'L:1/8\nK:C\nCDEF|\n')]
  assert not abc_text.abc_tunes('\n\n')


def test_split_abc_tunebook_header_tunes_and_free_text():
  text = ('% comment\nM:6/8\n\nX: 7\nT:A\nK:D\nabc|\n\nfree text\n'
          'X:8\nT:B\nK:G\ndef|\n')
  header, tunes = abc_text.split_abc_tunebook(text)
  assert header == '% comment\nM:6/8'
  assert tunes == [(7, 'X: 7\nT:A\nK:D\nabc|'), (8, 'X:8\nT:B\nK:G\ndef|')]
  assert abc_text.split_abc_tunebook('no tunes here\n') == (
      'no tunes here', [])
  assert abc_text.split_abc_tunebook('X:\nK:C\nC|')[1] == [
      (-1, 'X:\nK:C\nC|')
  ]


def test_abc_file_header_keeps_fields_and_directives_only():
  header = '% Glasgow\n%%staffsep 55\n\nM:C|\nSome free text\nL:1/8'
  assert abc_text.abc_file_header(header) == '%%staffsep 55\nM:C|\nL:1/8'


def test_abc_first_voice_from_voice_lines_and_inline_fields():
  tune = ('X:1\nT:Duet\nV:1\nV:2 merge\nK:D\n[V:1] abc|def|\n[V:2] x|x8|\n'
          '%\nV:1\nABC|\nV:2\nDEF|\nw: words of voice 2\n')
  assert abc_text.abc_first_voice(tune) == (
      'X:1\nT:Duet\nK:D\n abc|def|\nABC|')
  # Body text before any voice field belongs to the first voice.
  assert abc_text.abc_first_voice(
      'X:1\nK:C\nCDE|\nV:2\nGAB|') == 'X:1\nK:C\nCDE|'
  # Fields and comments before the first voice field are not music;
  # body fields follow the voice they are written in.
  assert abc_text.abc_first_voice(
      'X:1\nK:A\nP:A\n%\n[V:1] abc|\n[V:2] ABC|\nP:B\n[V:1] def|') == (
          'X:1\nK:A\nP:A\n%\n abc|\n def|')
  plain = 'X:1\nT:Scale\nM:4/4\nL:1/8\nK:C\nCDEF GABc|c8|]'
  assert abc_text.abc_first_voice(plain) == plain


def test_tune_size_of_a_plain_tune():
  size = abc_text.abc_tune_size(
      'X:1\nM:4/4\nL:1/8\nK:C\n'
      '"C"!trill!CDEF {g}GABc|[CEG]2 [CE]4 z2|(3cBA G2- G2 z|Z2|]\n')
  # 3 bars of 4/4 (the triplet at full length fills the third) and 2 bars
  # of rest. Notes and rests: 8 + 1 grace note, 3 + 2 in chords + 1, 3 + 2
  # tied + 1, and 1 (Z2); the quoted chord symbol and the decoration are
  # none.
  assert size.quarters == 4 * 3 + 2 * 4
  assert size.notes == 22
  assert (size.bars, size.bar_lines) == (3, 4)
  assert size.overfull_units == size.overfull_total == 0
  assert size.meter_numerator == 4


def test_tune_size_of_an_overfull_bar_counts_its_shortest_notes():
  # 3/4 bars of 9/8 (9 eighths), 9/8 with sixteenths (18) and 7/8 (14).
  size = abc_text.abc_tune_size(
      'X:1\nM:3/4\nL:1/8\nK:C\nC9|C/C/C8|C/C/C6|C6|\n')
  assert size.overfull_units == 18
  assert size.overfull_total == 9 + 18 + 14
  # Inline fields apply where they stand.
  size = abc_text.abc_tune_size('X:1\nM:3/4\nL:1/8\nK:C\nC6|[M:4/4]C8|\n')
  assert size.overfull_units == 0
  assert size.quarters == 7


@pytest.mark.parametrize('body, reason', [
    ('CDEF GABc|c4 C4|', None),
    # The bomb of melody_pipeline_test: a note of 10^9 eighths.
    ('CDEF GABc|c4 C999999999|', mp.INPUT_TOO_MANY_STEPS),
    ('C' + '9' * 5000 + '|C|', mp.INPUT_TOO_MANY_STEPS),
    ('[CEG]99999999|C|', mp.INPUT_TOO_MANY_STEPS),
    ('CDEF GABc|' * (abc_text.MUSIC21_MAX_TUNE_NOTES // 8 + 1),
     mp.INPUT_TOO_MANY_NOTES),
    ('C8|' * (abc_text.MUSIC21_MAX_TUNE_BARS + 1), abc_text.ABC_TOO_MANY_BARS),
    ('[M:33/8]C8|C8|', abc_text.ABC_METER_TOO_LARGE),
    # Overfull bars between bar lines: one of 257 eighths, or 5 of 255
    # (256 eighths are 128 quarters).
    ('CDEF|C257|CDEF|', abc_text.ABC_BAR_TOO_LONG),
    ('CDEF|C255|CDEF|', None),
    ('CDEF|C256|C256|CDEF|', None),
    ('CDEF|' + 'C255|' * 5, abc_text.ABC_BAR_TOO_LONG),
    # Without two bar lines music21 makes no bars: a long line is cheap.
    ('C' * 300 + '|', None),
])
def test_bound_reason(body, reason):
  tune = f'X:1\nT:t\nM:4/4\nL:1/8\nK:C\n{body}\n'
  assert abc_text.abc_tune_bound_reason(tune) == reason


def test_huge_numbers_are_huge_not_errors():
  size = abc_text.abc_tune_size(
      'X:1\nM:' + '9' * 5000 + '/8\nL:1/' + '9' * 5000 + '\nK:C\nC|\n')
  assert size.meter_numerator == 10**9
  assert size.quarters == fractions.Fraction(4, 10**9)
