"""Tests of note_rnn.training.evaluate (tables and file names; the scoring
itself runs in bin/note_rnn_evaluate_test.py)."""

import pytest

from note_rnn.training import evaluate


def _figures(loss, accuracy, steps, melodies=2):
  return {'loss': loss, 'accuracy': accuracy, 'log_perplexity': loss,
          'mean_log_likelihood_per_step': -loss, 'num_steps': steps,
          'num_melodies': melodies}


def test_markdown_has_every_metric_as_in_training_and_over_all_steps():
  results = {
      name: dict(_figures(loss, 0.5, 30),
                 without_skip=_figures(loss + 1.0, 0.25, 94))
      for name, loss in (('a', 1.23456), ('b', 2.0))}
  lines = evaluate.markdown(results).splitlines()
  assert lines[:2] == ['| metric | a | b |', '|---|---|---|']
  assert ('| cross-entropy per step (nats) (as in training) | 1.2346 | '
          '2.0000 |') in lines
  assert '| next-step accuracy (all steps) | 0.2500 | 0.2500 |' in lines
  assert '| log-likelihood per step (all steps) | -2.2346 | -3.0000 |' in (
      lines)
  assert lines[-1] == '| steps scored (as in training) | 30 | 30 |'
  assert len(lines) == 2 + 2 * len(evaluate.ROWS) + 1


def test_collections_markdown_has_a_row_per_collection():
  results = {
      'eval_a': {'a': _figures(1.0, 0.5, 15, 1),
                 'b': _figures(2.0, 0.25, 15, 1)},
      'heldout': {'a': _figures(3.0, 0.125, 24), 'b': _figures(4.0, 0.0, 24)},
  }
  assert evaluate.collections_markdown(results) == (
      '| collection | melodies | steps | a nats/step | b nats/step | '
      'a accuracy | b accuracy |\n'
      '|---|---:|---:|---:|---:|---:|---:|\n'
      '| eval_a | 1 | 15 | 1.0000 | 2.0000 | 0.5000 | 0.2500 |\n'
      '| heldout | 2 | 24 | 3.0000 | 4.0000 | 0.1250 | 0.0000 |\n')


def test_collection_files_names_and_errors(tmp_path):
  for name in ('x.tfrecord', 'y.tfrecord'):
    (tmp_path / name).write_bytes(b'')
  (tmp_path / 'sub').mkdir()
  (tmp_path / 'sub' / 'x.tfrecord').write_bytes(b'')
  assert evaluate.collection_files([f'{tmp_path}/*.tfrecord'], [
      f'z={tmp_path / "x.tfrecord"}']) == [
          ('x', str(tmp_path / 'x.tfrecord')),
          ('y', str(tmp_path / 'y.tfrecord')),
          ('z', str(tmp_path / 'x.tfrecord'))]
  with pytest.raises(FileNotFoundError, match='no file matches'):
    evaluate.collection_files([f'{tmp_path}/*.none'], [])
  with pytest.raises(FileNotFoundError, match='no evaluation file'):
    evaluate.collection_files([f'{tmp_path}/missing.tfrecord'], [])
  with pytest.raises(ValueError, match='two files named'):
    evaluate.collection_files([str(tmp_path / 'x.tfrecord'),
                               str(tmp_path / 'sub' / 'x.tfrecord')], [])
  with pytest.raises(ValueError, match='name=path'):
    evaluate.collection_files([], ['nameless'])
