"""Magenta's `note_rnn_loader` module name: re-exports only.

Code written against `magenta.models.rl_tuner.note_rnn_loader` ports by
changing the import. The loader itself is `rl_tuner.magenta.loader`.
"""

# pylint: disable=unused-import
from rl_tuner.magenta.loader import CellInfo
from rl_tuner.magenta.loader import GRAPH_NAMES
from rl_tuner.magenta.loader import NotApplicableError
from rl_tuner.magenta.loader import NoteRNNLoader
