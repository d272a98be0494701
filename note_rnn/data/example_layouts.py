"""The two record layouts of melody training data (no TensorFlow here).

MAGENTA (the default): Magenta's melody SequenceExample, one one-hot float
vector of 38 per input step and an int64 label per step, which Magenta's
melody_rnn tools and the original RL Tuner read. About 170 bytes per step:
86 KB for a 512-step melody.

COMPACT: a tf.train.Example with one int64 feature, `melody_classes`, the
melody's N classes (each class < 128 is one byte in the packed varint
encoding): about 1 byte per step, over 100 times smaller. This project's
readers (`note_rnn_train`, `note_rnn_evaluate`, the RL Tuner's priming from
--training_data_path) read both and tell them apart by their records;
Magenta's tools read only MAGENTA.
"""

MAGENTA = 'magenta'
COMPACT = 'compact'
LAYOUTS = (MAGENTA, COMPACT)
DEFAULT = MAGENTA
# The compact layout's feature: int64 classes of the whole melody.
CLASSES_KEY = 'melody_classes'

HELP = (f"Record layout of the melodies: '{MAGENTA}' (Magenta's one-hot "
        "SequenceExample, ~170 bytes per step, read by Magenta's tools) or "
        f"'{COMPACT}' (class indices as int64, ~1 byte per step, read by "
        "this project's tools).")


def check(layout, flag='--layout'):
  """Returns `layout`, or raises ValueError naming the flag."""
  if layout not in LAYOUTS:
    raise ValueError(f'{flag} must be one of {", ".join(LAYOUTS)}; got '
                     f'{layout!r}')
  return layout
