"""Names of the original's TF1 code that have no counterpart in the port.

Code written against Magenta's RL Tuner may touch a graph piece (a
placeholder, an op, the session) or a helper that only made sense in TF1.
Such a name raises `NotApplicableError` with a message naming what to use
instead, rather than a bare AttributeError. BUILD.md ("API compatibility")
lists them with the reasons.

This module imports nothing, so its error class stays one class when
`rl_tuner.reload_files()` reloads the modules that use it.
"""


class NotApplicableError(NotImplementedError, AttributeError):
  """A name of the original's TF1 code that has no counterpart here.

  The message names what to use instead. Also an AttributeError, so
  `hasattr` is False for such an attribute.
  """


def add_properties(cls, hints, label=None):
  """Gives `cls` a property per name in `hints` that raises.

  Args:
    cls: the class.
    hints: dict name -> what to use instead (text).
    label: the class name the messages use (default cls.__name__).
  """
  for name, hint in hints.items():
    setattr(cls, name,
            _raising_property(f'{label or cls.__name__}.{name}', hint))


def _raising_property(label, hint):
  def get(unused_self):
    raise NotApplicableError(f'{label} was a piece of the original\'s TF1 '
                             f'graph and has no counterpart here: {hint}')
  return property(get, doc=f'Not applicable: {hint}.')


def module_getattr(module_name, hints):
  """A module-level `__getattr__` raising NotApplicableError for `hints`.

  Args:
    module_name: the module's `__name__`.
    hints: dict name -> why not applicable and what to use instead.
  """
  def __getattr__(name):  # pylint: disable=invalid-name
    if name in hints:
      raise NotApplicableError(f'{module_name}.{name} of the original has '
                               f'no counterpart here: {hints[name]}')
    raise AttributeError(f'module {module_name!r} has no attribute {name!r}')
  return __getattr__


_ONE_BY_ONE = ('the statistics are computed for all compositions at once: '
               'compute_composition_stats(rl_tuner, num_compositions) or '
               'compute_composition_stats_for_compositions(compositions, '
               'config); rl_tuner.testing.reference_statistics is the '
               'note-by-note computation (a test oracle)')
# The original rl_tuner_eval_metrics' note-by-note helpers.
EVAL_METRICS = {
    'compose_and_evaluate_piece': _ONE_BY_ONE,
    'initialize_stat_dict': 'a statistics dict comes whole from '
                            'compute_composition_stats; ' + _ONE_BY_ONE,
    'add_interval_stat': _ONE_BY_ONE,
    'add_in_key_stat': _ONE_BY_ONE,
    'add_tonic_start_stat': _ONE_BY_ONE,
    'add_repeating_note_stat': _ONE_BY_ONE,
    'add_motif_stat': _ONE_BY_ONE,
    'add_repeated_motif_stat': _ONE_BY_ONE,
    'add_leap_stats': _ONE_BY_ONE,
    'add_high_low_unique_stats': _ONE_BY_ONE,
}
