"""The folder tree is the architecture: imports go only downward.

`LAYERS` states the layer order once, lowest first. A module may import
modules of its own layer (without a circle) and of layers below it, never
above. Production code never imports the test oracles (`rl_tuner.testing`)
or the Magenta entry modules, which only re-export. Every import is walked,
those inside functions included; one of our modules imported inside a
function must say why in a comment just above it (it keeps a tool's --help
or the settings free of TensorFlow).
"""

import ast
import collections
import pathlib
import re

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ('note_rnn', 'rl_tuner')

# Lowest first. A layer is a subpackage or a module; a tuple is one layer.
LAYERS = (
    'note_rnn.runtime',      # atomic files and folders, event logs, durations
    'note_rnn.encoding',     # the 38-class vocabulary
    'note_rnn.audio',        # melodies as sound
    'note_rnn.model',        # the Keras Note RNN, its cell, hparams, import
    'note_rnn.data',         # melody data: records, pipeline, ABC, datasets
    'note_rnn.corpus',       # the folk corpus of the embedded model
    'note_rnn.training',     # training and evaluating a Note RNN
    'note_rnn.generation',   # sampling melodies from a Note RNN
    'note_rnn',              # the package's lazy exports
    'rl_tuner.music',        # keys, intervals, music-theory config, features
    'rl_tuner.replay',       # the replay memory and its store on disk
    'rl_tuner.env',          # the batched melody environment, priming
    'rl_tuner.rewards',      # the reward API and the built-in rules
    'rl_tuner.agents',       # the algorithm registry and the agents
    'rl_tuner.evaluation',   # composing melodies, their statistics
    'rl_tuner.run',          # settings, the Runner, checkpoints, histories
    'rl_tuner.reports',      # tables, plots, sample media, pages
    'rl_tuner.magenta',      # the original's loader, methods and attributes
    'rl_tuner.rl_tuner',     # the RLTuner facade
    'rl_tuner.experiments',  # one run, the reproduction, sweeps
    ('rl_tuner.rl_tuner_ops', 'rl_tuner.rl_tuner_eval_metrics',
     'rl_tuner.note_rnn_loader', 'rl_tuner'),  # Magenta entry points
)
TESTING = 'rl_tuner.testing'
ENTRY_POINTS = LAYERS[-1]


def _layer_index(module):
  """Index in LAYERS of the longest layer name `module` falls under."""
  best, best_length = None, -1
  for index, layer in enumerate(LAYERS):
    for name in (layer if isinstance(layer, tuple) else (layer,)):
      if (module == name or module.startswith(name + '.')) and (
          len(name) > best_length):
        best, best_length = index, len(name)
  return best


def _modules():
  """dict dotted module name -> path, of every module of both packages."""
  modules = {}
  for package in PACKAGES:
    for path in sorted((REPO / package).rglob('*.py')):
      parts = path.relative_to(REPO).with_suffix('').parts
      if parts[-1] == '__init__':
        parts = parts[:-1]
      modules['.'.join(parts)] = path
  return modules


Import = collections.namedtuple('Import', 'target line in_function explained')


def _imports(path, known):
  """Imports of our own modules in one file, with where they stand."""
  source = path.read_text(encoding='utf-8')
  lines = source.splitlines()
  tree = ast.parse(source)
  in_function = set()
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      for inner in ast.walk(node):
        in_function.add(id(inner))
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      targets = [f'{node.module}.{alias.name}' for alias in node.names]
      targets = [t if t in known else node.module for t in targets]
    else:
      continue
    above = lines[max(node.lineno - 3, 0):node.lineno - 1]
    explained = any(line.strip().startswith('#') and 'pylint' not in line
                    for line in above)
    for target in targets:
      if target in known:
        found.append(Import(target, node.lineno, id(node) in in_function,
                            explained))
  return found


def _graph():
  modules = _modules()
  return modules, {name: _imports(path, modules)
                   for name, path in modules.items()}


def _is_test(module):
  return module.endswith('_test') or module == TESTING or (
      module.startswith(TESTING + '.'))


def violations(graph):
  """Human-readable breaches of the layering in `graph`.

  Args:
    graph: dict module -> list of Import.
  """
  problems = []
  production = {m for m in graph if not _is_test(m)}
  for module in sorted(production):
    layer = _layer_index(module)
    if layer is None:
      problems.append(f'{module}: in no layer of LAYERS')
      continue
    for imp in graph[module]:
      target = imp.target
      where = f'{module}:{imp.line} imports {target}'
      if _is_test(target):
        problems.append(f'{where}: production imports a test module')
        continue
      if target in ENTRY_POINTS and layer != len(LAYERS) - 1:
        problems.append(f'{where}: a Magenta entry module (re-exports '
                        'only) imported inside the package')
        continue
      target_layer = _layer_index(target)
      if target_layer is not None and target_layer > layer:
        problems.append(f'{where}: upward ({LAYERS[layer]} is below '
                        f'{LAYERS[target_layer]})')
      if imp.in_function and not imp.explained:
        problems.append(f'{where} inside a function without a comment '
                        'saying why')
  # Circles between production modules, imports inside functions included.
  edges = {m: sorted({i.target for i in graph[m]} & production)
           for m in production}
  state, stack = {}, []

  def visit(node):
    state[node] = 'open'
    stack.append(node)
    for nxt in edges[node]:
      if state.get(nxt) == 'open':
        cycle = stack[stack.index(nxt):] + [nxt]
        problems.append('import circle: ' + ' -> '.join(cycle))
      elif nxt not in state:
        visit(nxt)
    stack.pop()
    state[node] = 'done'

  for node in sorted(production):
    if node not in state:
      visit(node)
  return problems


def test_imports_go_only_downward_without_circles():
  _, graph = _graph()
  problems = violations(graph)
  assert not problems, '\n'.join(problems)


def test_note_rnn_never_imports_rl_tuner():
  _, graph = _graph()
  upward = [f'{m}:{i.line} imports {i.target}' for m, imports in graph.items()
            if m.startswith('note_rnn') and not _is_test(m) for i in imports
            if i.target.startswith('rl_tuner')]
  assert not upward


def test_every_package_is_in_a_layer():
  modules, _ = _graph()
  missing = sorted(m for m in modules
                   if not _is_test(m) and _layer_index(m) is None)
  assert not missing


# A module-level comment or docstring saying why libraries are imported
# inside its functions (e.g. "TensorFlow is imported by the functions that
# use them: --help need not load it").
_SAYS_WHY = re.compile(r'imported (by|inside|in|when|on|here|only)|'
                       r'imports? (lazily|on first use)')


def third_party_imports_in_functions(path):
  """Names of the libraries (not ours) `path` imports inside functions."""
  tree = ast.parse(path.read_text(encoding='utf-8'))
  names = set()
  for function in ast.walk(tree):
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
      for node in ast.walk(function):
        if isinstance(node, ast.Import):
          names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
          names.add(node.module)
  return sorted(n for n in names if n.split('.')[0] not in PACKAGES)


def test_libraries_imported_inside_functions_say_why():
  unexplained = []
  for module, path in _modules().items():
    if _is_test(module):
      continue
    libraries = third_party_imports_in_functions(path)
    if not libraries:
      continue
    source = path.read_text(encoding='utf-8')
    text = ' '.join([ast.get_docstring(ast.parse(source)) or ''] + [
        line for line in source.splitlines() if line.strip().startswith('#')])
    if not _SAYS_WHY.search(text):
      unexplained.append(f'{module}: {", ".join(libraries)}')
  assert not unexplained, '\n'.join(unexplained)


@pytest.mark.parametrize('planted, expected', [
    ({'rl_tuner.music.keys': [Import('rl_tuner.agents.registry', 3, False,
                                     False)],
      'rl_tuner.agents.registry': []}, 'upward'),
    ({'rl_tuner.env.a': [Import('rl_tuner.env.b', 1, False, False)],
      'rl_tuner.env.b': [Import('rl_tuner.env.a', 1, True, True)]},
     'import circle'),
    ({'rl_tuner.run.runner': [Import('rl_tuner.testing.reference_rewards',
                                     1, False, False)],
      'rl_tuner.testing.reference_rewards': []}, 'test module'),
    ({'rl_tuner.reports.plots': [Import('rl_tuner.rl_tuner_ops', 1, False,
                                        False)],
      'rl_tuner.rl_tuner_ops': []}, 'entry module'),
    ({'rl_tuner.env.a': [Import('rl_tuner.music.b', 9, True, False)],
      'rl_tuner.music.b': []}, 'without a comment'),
])
def test_the_checker_catches_each_kind_of_breach(planted, expected):
  problems = violations(planted)
  assert len(problems) == 1 and expected in problems[0], problems
