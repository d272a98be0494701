"""ABC text before any parser reads it: bytes to text, tunebook to tunes.

`decode_abc` decodes ABC file bytes as ABC tools do; `split_abc_tunebook`
splits a tunebook into its file header and tunes (`abc_file_header` keeps
the header's defaults, `abc_first_voice` a multi-voice tune's first
voice), which the corpus builder (`note_rnn.corpus.corpus_sources`) and
`abc_tunes` use; `abc_tunes` gives tunes that parse alone;
`abc_tune_bound_reason` bounds a tune from its text before music21, whose
ABC reader is slow or runs out of memory on very long bars, meters or
tunes, reads it. Nothing here needs note_seq or music21.
"""

import codecs
import dataclasses
import fractions
import re

from note_rnn import encoding
from note_rnn.data import melody_pipeline

# Bounds of one ABC tune read by music21, estimated from its text
# (`abc_tune_size`). music21's ABC reader is slow on long tunes and on bars
# longer than their meter, whose remainder it gives a time signature of its
# own, at a cost that grows about as the square of that signature's
# numerator, as does a meter's (times on a busy 2-core machine): an
# overfull bar of 127 eighths takes 1.5 s, of 255 eighths 8 s, of 511
# eighths 28 s, of 2,043 32nd notes 8 minutes, and one of 10^9 eighths asks
# for 8 GB at once; a meter of 64/8 takes 0.4 s, of 1000/8 2 minutes;
# 2,048 one-note bars take 30 s, 8,192 notes in 1,024 bars 2 minutes. A
# tune over a bound is skipped with its reason before music21 reads it.
# The 12,947 ABC tunes of music21's corpus are at most 726 notes, 127 bars,
# an overfull bar of 352 units (670 in all) and a meter of 12; the two
# over MUSIC21_MAX_BAR_UNITS are Essen tunes notated in 32nd notes.
MUSIC21_MAX_TUNE_NOTES = 4096  # Notes, rests and grace notes.
MUSIC21_MAX_TUNE_BARS = 1024
# Overfull bars, in units of their shortest note (`AbcTuneSize`): the
# longest, and all of a tune's together.
MUSIC21_MAX_BAR_UNITS = 256
MUSIC21_MAX_OVERFULL_UNITS = 1024
MUSIC21_MAX_METER_NUMERATOR = 32
ABC_TOO_MANY_BARS = 'abc_too_many_bars'
ABC_BAR_TOO_LONG = 'abc_bar_too_long'
ABC_METER_TOO_LARGE = 'abc_meter_too_large'


# A charset declaration (ABC 2.1 `I:abc-charset`, or abcm2ps' `%abc-charset`).
_ABC_CHARSET = re.compile(rb'^[ \t]*(?:%|I:)[ \t]*abc-charset[ \t]+([\w.:-]+)',
                          re.MULTILINE)
_BOMS = (
    (codecs.BOM_UTF32_LE, 'utf-32'),
    (codecs.BOM_UTF32_BE, 'utf-32'),
    (codecs.BOM_UTF8, 'utf-8-sig'),
    (codecs.BOM_UTF16_LE, 'utf-16'),
    (codecs.BOM_UTF16_BE, 'utf-16'),
)


def decode_abc(data):
  """Decodes ABC file bytes as ABC tools do; never fails.

  A byte-order mark wins (UTF-8, UTF-16, UTF-32); then a charset line
  (`%abc-charset NAME` or `I:abc-charset NAME`, e.g. iso-8859-1, utf-8);
  then UTF-8; then, for legacy 8-bit files, Windows-1252 (latin-1 with
  typographic quotes in 0x80-0x9f), and latin-1, which reads any byte. A
  file without a mark whose every other byte is NUL is read as UTF-16. Line
  ends are normalized to '\n'.

  Args:
    data: file contents.

  Returns:
    (text, encoding name).
  """
  candidates = []
  for bom, name in _BOMS:
    if data.startswith(bom):
      candidates.append(name)
      break
  else:
    if len(data) >= 2 and len(data) % 2 == 0 and b'\0' in data[:64]:
      if not any(data[1:64:2]):
        candidates.append('utf-16-le')
      elif not any(data[0:64:2]):
        candidates.append('utf-16-be')
    declared = _ABC_CHARSET.search(data)
    if declared:
      try:
        candidates.append(
            codecs.lookup(declared.group(1).decode('ascii')).name)
      except LookupError:
        pass
  candidates += ['utf-8', 'cp1252', 'latin-1']
  for name in candidates:
    try:
      text = data.decode(name)
    except UnicodeDecodeError:
      continue
    return text.replace('\r\n', '\n').replace('\r', '\n'), name
  raise AssertionError('latin-1 decodes any bytes')


_X_LINE = re.compile(r'X:\s*(\d*)')


def split_abc_tunebook(text):
  """Splits an ABC tunebook into its file header and tunes.

  A tune starts at an `X:` line and ends at the first empty line (ABC 2.1);
  free text up to the next `X:` line is dropped. Lines before the first `X:`
  line are the file header.

  Args:
    text: the tunebook's text.

  Returns:
    (header, tunes): header text ('' if none) and a list of
    (reference number or -1, tune text), in file order.
  """
  lines = text.splitlines()
  starts = [i for i, line in enumerate(lines) if _X_LINE.match(line)]
  if not starts:
    return '\n'.join(lines).strip(), []
  header = '\n'.join(lines[:starts[0]]).strip()
  tunes = []
  for start, end in zip(starts, starts[1:] + [len(lines)]):
    block = []
    for line in lines[start:end]:
      if not line.strip():
        break
      block.append(line)
    number = _X_LINE.match(block[0]).group(1)
    tunes.append((int(number) if number else -1, '\n'.join(block)))
  return header, tunes


_FIELD_LINE = re.compile(r'[A-Za-z+]:')
_VOICE_LINE = re.compile(r'\s*V:\s*(\S+)')
_INLINE_VOICE = re.compile(r'\[V:\s*([^\]\s]+)[^\]]*\]')


def abc_file_header(header):
  """The parts of an ABC file header that set tune defaults.

  Keeps information fields and `%%` directives; drops comments and free
  text (which parsers may read as music) and blank lines (which note_seq
  reads as tune boundaries).

  Args:
    header: text before a tunebook's first `X:` line.

  Returns:
    The kept lines, joined by newlines ('' if none).
  """
  kept = [line.rstrip() for line in header.splitlines()
          if _FIELD_LINE.match(line) or line.startswith('%%')]
  return '\n'.join(kept)


def abc_first_voice(tune):
  """Keeps only the first voice of a multi-voice ABC tune.

  Header lines (through the `K:` line) are kept for every voice. The first
  voice is the first voice declared in the header (`V:` line), else the
  first voice named in the body (a `V:` line or an inline `[V:id]` field)
  if no music comes before it, else the unnamed voice of that music. Body
  lines and fields are kept for the first voice only; `V:` lines and
  inline voice fields are removed, so the result reads as a single-voice
  tune. A tune without voice fields is returned unchanged.

  Args:
    tune: ABC text of one tune.

  Returns:
    ABC text of the tune's first voice.
  """
  lines = tune.splitlines()
  if not any(_VOICE_LINE.match(line) or _INLINE_VOICE.search(line)
             for line in lines):
    return tune
  header_end = next((i + 1 for i, line in enumerate(lines)
                     if line.startswith('K:')), 0)
  header, body = lines[:header_end], lines[header_end:]
  first = None
  for line in header:
    match = _VOICE_LINE.match(line)
    if match:
      first = match.group(1)
      break
  if first is None:
    for line in body:
      match = _VOICE_LINE.match(line) or _INLINE_VOICE.match(line.strip())
      if match:
        first = match.group(1)
        break
      if line.strip() and not (_FIELD_LINE.match(line) or
                               line.startswith('%')):
        break  # Music before any voice field: the unnamed voice is first.
  kept = [line for line in header if not _VOICE_LINE.match(line)]
  current = first
  for line in body:
    match = _VOICE_LINE.match(line)
    if match:
      current = match.group(1)
      continue
    pieces = []
    position = 0
    for inline in _INLINE_VOICE.finditer(line):
      if current == first:
        pieces.append(line[position:inline.start()])
      current = inline.group(1)
      position = inline.end()
    if current == first:
      pieces.append(line[position:])
    text = ''.join(pieces)
    if text.strip():
      kept.append(text.rstrip())
  return '\n'.join(kept)


def abc_tunes(text):
  """An ABC tunebook's tunes, each as text that parses alone.

  The tunebook is split as the corpus builder splits music21's
  (`split_abc_tunebook`: a tune runs from its X: line to the first empty
  line); the file header's fields and directives
  (`abc_file_header`) are put before every tune, and a multi-voice tune
  keeps its first voice (`abc_first_voice`). Text without an X: line is one
  tune.

  Args:
    text: decoded ABC file.

  Returns:
    List of (reference number or -1, ABC text), in file order.
  """
  header, tunes = split_abc_tunebook(text)
  if not tunes:
    return [(-1, header + '\n')] if header else []
  header = abc_file_header(header)
  return [(number, f'{header}\n\n{tune}\n' if header else f'{tune}\n')
          for number, tune in ((n, abc_first_voice(t)) for n, t in tunes)]


# Tokens of ABC music lines that `abc_tune_bound_reason` reads; the rest
# (accidentals, octave marks, ties, slurs, broken rhythm) it skips.
_ABC_TOKENS = re.compile(r"""
    "[^"\n]*" | ![^!\n]*! | %.*                  # annotations, decorations
  | \[(?P<field>[A-Za-z]):(?P<value>[^\]\n]*)\]  # inline field
  | \{(?P<grace>[^}\n]*)\}                       # grace notes
  | (?P<bar>\|+|::)
  | (?P<chord>\[)(?=[\^_=A-Ga-gxz])
  | (?P<note>[A-Ga-gxzXZ])[,']*(?P<length>\d*/*\d*)
  | \](?P<chord_length>\d*/*\d*)
  | \(\d+(?::\d*)*                               # tuplet
""", re.VERBOSE)
_ABC_FIELD_LINE = re.compile(r'([A-Za-z+]):(.*)')
_DIGITS = re.compile(r'\d+')


def _abc_int(digits, default):
  # Huge numbers only need to be huge (and int() refuses over 4,300 digits).
  if not digits:
    return default
  return int(digits) if len(digits) < 10 else 10**9


def _abc_length(text):
  """Multiplier of a note length such as '', '3', '/', '//', '3/2'."""
  numerator, slashes, denominator = re.fullmatch(r'(\d*)(/*)(\d*)',
                                                 text).groups()
  value = fractions.Fraction(_abc_int(numerator, 1))
  if slashes:
    value /= max(_abc_int(denominator, 2 ** len(slashes)), 1)
  return value


def _abc_ratio(value):
  """(numerator, denominator) of an L: or M: field ('n/d', 'n', '2+3/8'),
  or None (e.g. 'C', 'none'); an additive numerator is summed."""
  numerator, slash, denominator = value.partition('/')
  numerator = sum(_abc_int(d, 0) for d in _DIGITS.findall(numerator))
  denominator = _abc_int(''.join(_DIGITS.findall(denominator)[:1]), 0)
  if not numerator or (slash and not denominator):
    return None
  return numerator, denominator or 1


@dataclasses.dataclass
class AbcTuneSize:
  """What `abc_tune_size` estimates of one ABC tune from its text.

  Attributes:
    quarters: length in quarter notes: notes and rests at their written
      lengths, a chord as its longest note, tuplets at full length,
      multi-measure rests (Z, X) as 4/4 bars.
    notes: notes, rests and grace notes (each of a chord's).
    bars: bars with notes or rests.
    bar_lines: bar lines.
    overfull_units: the longest bar that is longer than its meter's bar (a
      meter without numbers counts as 4/4), in units of its shortest note or
      quarter notes, whichever is shorter: at most the numerator of the
      time signature music21 gives the part of the bar it splits off.
    overfull_total: the sum of that over all such bars.
    meter_numerator: largest M: numerator (the sum of an additive one).
  """
  quarters: fractions.Fraction = fractions.Fraction(0)
  notes: int = 0
  bars: int = 0
  bar_lines: int = 0
  overfull_units: fractions.Fraction = fractions.Fraction(0)
  overfull_total: fractions.Fraction = fractions.Fraction(0)
  meter_numerator: int = 0


def abc_tune_size(abc):
  """Estimates an ABC tune's size from its text, without parsing it.

  Reading stops after MUSIC21_MAX_TUNE_NOTES + 1 notes (the counts are
  then at least the tune's); the estimates err high otherwise.

  Args:
    abc: ABC text of one tune (with its file header).

  Returns:
    `AbcTuneSize`.
  """
  size = AbcTuneSize()
  unit = fractions.Fraction(1, 8)  # Whole notes per length unit (L:).
  meter = fractions.Fraction(1)  # Whole notes per bar (M:).
  bar = fractions.Fraction(0)
  finest = 4  # Finest note (1/finest of a whole note) in the bar, or 4.
  chord = None  # Longest note of the open chord, in whole notes.

  def end_bar():
    nonlocal bar, finest
    size.bars += bar > 0
    if bar > meter:
      size.overfull_units = max(size.overfull_units, bar * finest)
      size.overfull_total += bar * finest
    bar, finest = fractions.Fraction(0), 4

  def add(duration):
    nonlocal bar, finest
    size.quarters += 4 * duration
    bar += duration
    finest = max(finest, duration.denominator)

  def set_field(name, value):
    nonlocal unit, meter
    ratio = _abc_ratio(value) if name in 'LM' else None
    if name == 'L' and ratio:
      unit = fractions.Fraction(*ratio)
    elif name == 'M':
      meter = fractions.Fraction(*ratio) if ratio else fractions.Fraction(1)
      size.meter_numerator = max(size.meter_numerator,
                                 ratio[0] if ratio else 0)

  for line in abc.splitlines():
    field = _ABC_FIELD_LINE.match(line)
    if field:
      set_field(*field.groups())
      continue
    for token in _ABC_TOKENS.finditer(line):
      if token['field']:
        set_field(token['field'], token['value'])
      elif token['grace'] is not None:
        size.notes += len(re.findall(r'[A-Ga-g]', token['grace']))
      elif token['bar']:
        size.bar_lines += 1
        end_bar()
      elif token['chord']:
        chord = fractions.Fraction(0)
      elif token['note']:
        size.notes += 1
        length = _abc_length(token['length'])
        if token['note'] in 'XZ':  # Rests of `length` bars: cheap in music21.
          size.quarters += 4 * length
        elif chord is not None:
          chord = max(chord, unit * length)
        else:
          add(unit * length)
      elif token['chord_length'] is not None and chord is not None:
        add(chord * _abc_length(token['chord_length']))
        chord = None
    if size.notes > MUSIC21_MAX_TUNE_NOTES:
      break
  end_bar()
  return size


def abc_tune_bound_reason(abc, steps_per_quarter=encoding.STEPS_PER_QUARTER):
  """Why music21 should not read an ABC tune, or None; reads the text only.

  Compares `abc_tune_size` with MAX_INPUT_STEPS and the MUSIC21_MAX_*
  bounds.

  Args:
    abc: ABC text of one tune (with its file header).
    steps_per_quarter: quantization grid.

  Returns:
    melody_pipeline.INPUT_TOO_MANY_STEPS, INPUT_TOO_MANY_NOTES,
    ABC_METER_TOO_LARGE, ABC_TOO_MANY_BARS, ABC_BAR_TOO_LONG or None.
  """
  size = abc_tune_size(abc)
  if size.quarters * steps_per_quarter > melody_pipeline.MAX_INPUT_STEPS:
    return melody_pipeline.INPUT_TOO_MANY_STEPS
  if size.notes > MUSIC21_MAX_TUNE_NOTES:
    return melody_pipeline.INPUT_TOO_MANY_NOTES
  if size.meter_numerator > MUSIC21_MAX_METER_NUMERATOR:
    return ABC_METER_TOO_LARGE
  if size.bars > MUSIC21_MAX_TUNE_BARS:
    return ABC_TOO_MANY_BARS
  # music21 makes bars (and splits overfull ones) only from two bar lines on.
  if size.bar_lines >= 2 and (
      size.overfull_units > MUSIC21_MAX_BAR_UNITS or
      size.overfull_total > MUSIC21_MAX_OVERFULL_UNITS):
    return ABC_BAR_TOO_LONG
  return None
