"""Comparing Note RNNs on evaluation files: figures per model, as Markdown.

`compare` scores models on one TFRecord of melodies, `compare_collections`
on several (each model loaded once), with `training.evaluate`: loss,
accuracy and log-perplexity as in training (steps from
`skip_first_n_losses` on, melodies cut to `max_sequence_length`) and over
every real step. `markdown` and `collections_markdown` give the tables
`bin/note_rnn_evaluate.py` prints; `collection_files` names the files of
its --sequence_example_file and --collections flags.
"""

import glob
import os

from note_rnn.training import training

# The model (and with it TensorFlow) is imported by the function that loads
# it: note_rnn_evaluate --help, which imports this module, need not load
# TensorFlow.

# Rows of `markdown`: (key of a `training.evaluate` result, title).
ROWS = (('loss', 'cross-entropy per step (nats)'),
        ('accuracy', 'next-step accuracy'),
        ('log_perplexity', 'log-perplexity'),
        ('mean_log_likelihood_per_step', 'log-likelihood per step'))


# Suffix dropped from a file name to name its row.
TFRECORD_SUFFIX = '.tfrecord'


def compare(named_paths, sequence_example_file, batch_size=128):
  """Scores every model on one file.

  Args:
    named_paths: (model name, checkpoint path; '' = embedded) pairs.
    sequence_example_file: TFRecord of melody SequenceExamples.
    batch_size: melodies per batch (speed only).

  Returns:
    {model: `training.evaluate` result plus 'source'}, in the order given.
  """
  results = compare_collections(
      named_paths, [('', sequence_example_file)], batch_size)
  return results['']


def compare_collections(named_paths, named_files, batch_size=128):
  """Scores every model on every file, loading each model once.

  Args:
    named_paths: (model name, checkpoint path; '' = embedded) pairs.
    named_files: (collection name, TFRecord path) pairs.
    batch_size: melodies per batch (speed only).

  Returns:
    {collection: {model: `training.evaluate` result plus 'source'}}, in the
    order given.
  """
  # Imported here: it imports TensorFlow.
  from note_rnn.model import note_rnn_model as model_lib  # pylint: disable=g-import-not-at-top
  results = {collection: {} for collection, _ in named_files}
  for name, path in named_paths:
    model = model_lib.NoteRNN.load(path or None)
    for collection, sequence_example_file in named_files:
      result = training.evaluate(model, sequence_example_file,
                                 batch_size=batch_size)
      result['source'] = model.source
      results[collection][name] = result
  return results


def collection_files(file_specs, collection_pairs):
  """The files to score, named.

  Args:
    file_specs: paths and globs; each file is named after its file name
      without `TFRECORD_SUFFIX`. Globs expand in sorted order.
    collection_pairs: 'name=path' strings.

  Returns:
    (name, path) pairs, in the order given, each file once.

  Raises:
    FileNotFoundError: a missing file, or a glob matching none.
    ValueError: a malformed pair, or one name for two files.
  """
  pairs = []
  for spec in file_specs:
    if glob.has_magic(spec):
      paths = sorted(glob.glob(spec))
      if not paths:
        raise FileNotFoundError(
            f'--sequence_example_file: no file matches {spec}')
    else:
      paths = [spec]
    for path in paths:
      name = os.path.basename(path)
      if name.endswith(TFRECORD_SUFFIX):
        name = name[:-len(TFRECORD_SUFFIX)]
      pairs.append((name, path))
  for item in collection_pairs:
    name, sep, path = item.partition('=')
    if not sep or not name or not path:
      raise ValueError(f'--collections takes name=path pairs, got {item!r}')
    pairs.append((name, path))
  named = {}
  for name, path in pairs:
    if not os.path.isfile(path):
      raise FileNotFoundError(f'no evaluation file {path}')
    if name in named and os.path.abspath(named[name]) != os.path.abspath(
        path):
      raise ValueError(
          f'two files named {name!r} ({named[name]}, {path}); name them '
          'with --collections=name=path')
    named.setdefault(name, path)
  return list(named.items())


def collections_markdown(results):
  """One row per collection: melodies, steps, loss and accuracy per model.

  Args:
    results: `compare_collections`' result.

  Returns:
    A Markdown table, newline-terminated.
  """
  models = list(next(iter(results.values())))
  lines = ['| collection | melodies | steps | ' +
           ' | '.join(f'{m} nats/step' for m in models) + ' | ' +
           ' | '.join(f'{m} accuracy' for m in models) + ' |',
           '|---|---:|---:|' + '---:|' * (2 * len(models))]
  for collection, by_model in results.items():
    figures = [by_model[m] for m in models]
    steps = sorted({f['num_steps'] for f in figures})
    cells = [collection, str(figures[0]['num_melodies']),
             ' / '.join(str(n) for n in steps)]
    cells += [f'{f["loss"]:.4f}' for f in figures]
    cells += [f'{f["accuracy"]:.4f}' for f in figures]
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'


def markdown(results):
  """Every metric per model, as in training and over all steps.

  Args:
    results: `compare`'s result.

  Returns:
    A Markdown table (one column per model), newline-terminated.
  """
  names = list(results)
  lines = ['| metric | ' + ' | '.join(names) + ' |',
           '|---|' + '---|' * len(names)]
  for scope, label in ((None, 'as in training'), ('without_skip',
                                                  'all steps')):
    for key, title in ROWS:
      cells = []
      for name in names:
        figures = results[name][scope] if scope else results[name]
        cells.append(f'{figures[key]:.4f}')
      lines.append(f'| {title} ({label}) | ' + ' | '.join(cells) + ' |')
  steps = ' | '.join(str(results[n]['num_steps']) for n in names)
  lines.append(f'| steps scored (as in training) | {steps} |')
  return '\n'.join(lines) + '\n'
