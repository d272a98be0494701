"""Note RNN: the LSTM melody model that the RL Tuner tunes.

`NoteRNN`, `NoteRNNHParams`, `CheckpointError`, `default_hparams` and
`basic_rnn_hparams` are importable from here; they are loaded on first use
so that `import note_rnn.encoding` does not import TensorFlow.
"""

import importlib
import warnings

# note_seq imports pydub, which warns that ffmpeg is missing; nothing in
# this project uses ffmpeg.
warnings.filterwarnings('ignore', message="Couldn't find ffmpeg",
                        category=RuntimeWarning)

_EXPORTS = {
    'NoteRNN': 'note_rnn.model.note_rnn_model',
    'CheckpointError': 'note_rnn.model.checkpoint_import',
    'NoteRNNHParams': 'note_rnn.model.hparams',
    'default_hparams': 'note_rnn.model.hparams',
    'basic_rnn_hparams': 'note_rnn.model.hparams',
}


def __getattr__(name):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
  return sorted(list(globals()) + list(_EXPORTS))
