"""The dataset job on Ray gives the local runner's files, byte for byte.

One local Ray of 2 CPUs serves the module. Ray workers import
`note_rnn.dataset_runner_test` (for `crash_on_marker`), which stays free of
TensorFlow at import.
"""

import pathlib
import shutil

import pytest

from note_rnn.data import dataset_runner
from note_rnn.data import dataset_runner_test
from note_rnn.data import example_layouts

ray = pytest.importorskip('ray', reason="Ray is an extra: pip install -e "
                          "'.[sweep]'")

TESTDATA = pathlib.Path(__file__).resolve().parent.parent.parent / 'testdata'
NAMES = (dataset_runner.TRAINING_FILENAME, dataset_runner.EVAL_FILENAME,
         dataset_runner.FAILED_FILES_FILENAME)


@pytest.fixture(scope='module', autouse=True)
def local_ray():
  ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
           configure_logging=False)
  yield
  ray.shutdown()


def _stats_text(stats):
  """The summary without the output paths (they name different folders)."""
  return '\n'.join(line for line in stats.summary().splitlines()
                   if '->' not in line and 'failed files' not in line)


def test_ray_writes_the_local_runners_files_on_testdata(tmp_path):
  for seed in (0, 3):
    results = {}
    for runner in dataset_runner.RUNNERS:
      out = tmp_path / f'{runner}_{seed}'
      stats = dataset_runner.create_dataset(
          str(TESTDATA), str(out), seed=seed, num_workers=2, runner=runner,
          progress_stream=None)
      results[runner] = (stats, {n: (out / n).read_bytes() for n in NAMES})
    (local, local_files), (on_ray, ray_files) = (results['local'],
                                                 results['ray'])
    assert ray_files == local_files
    assert local.melodies_kept > 5 and local.eval_melodies > 0
    # The same per-reason statistics and split.
    assert on_ray.files_failed == local.files_failed
    assert on_ray.melodies_dropped == local.melodies_dropped
    assert (on_ray.training_sources, on_ray.eval_sources) == (
        local.training_sources, local.eval_sources)
    assert _stats_text(on_ray) == _stats_text(local)


def test_ray_shards_in_the_compact_layout_hold_the_same_melodies(tmp_path):
  # pylint: disable-next=g-import-not-at-top
  from note_rnn.data import sequence_example_io as sio
  local = tmp_path / 'local'
  dataset_runner.create_dataset(str(TESTDATA), str(local), num_workers=0,
                                progress_stream=None)
  sharded = tmp_path / 'sharded'
  stats = dataset_runner.create_dataset(
      str(TESTDATA), str(sharded), runner='ray', layout=example_layouts.COMPACT,
      num_shards=3, progress_stream=None)
  names, pattern = dataset_runner.shard_names(
      dataset_runner.TRAINING_FILENAME, 3)
  assert stats.training_path == str(sharded / pattern)
  shards = [sio.read_class_sequences(str(sharded / n)) for n in names]
  assert [len(s) for s in shards] == sorted(
      (len(s) for s in shards), reverse=True)
  assert sum(shards, []) == sio.read_class_sequences(
      str(local / dataset_runner.TRAINING_FILENAME))
  assert {sio.file_layout(str(sharded / n)) for n in names} == {
      example_layouts.COMPACT}


def test_a_file_that_kills_its_ray_worker_fails_alone(tmp_path):
  corpus = tmp_path / 'corpus'
  corpus.mkdir()
  shutil.copy(TESTDATA / 'c_major.mid', corpus)
  shutil.copy(TESTDATA / 'g_major.mid',
              corpus / f'{dataset_runner_test.CRASH_MARKER}.mid')
  stats = dataset_runner.create_dataset(
      str(corpus), str(tmp_path / 'out'), runner='ray',
      run_task=dataset_runner_test.crash_on_marker, progress_stream=None)
  assert stats.files_failed == {'worker_crashed': 1}
  assert stats.melodies_kept >= 1
  failed = (tmp_path / 'out' / dataset_runner.FAILED_FILES_FILENAME)
  assert failed.read_text() == (
      f'{dataset_runner_test.CRASH_MARKER}.mid\tworker_crashed\n')
