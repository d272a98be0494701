"""Tests of the paper reproduction at a tiny size."""

import json
import os
import pathlib

from note_rnn import audio
from note_rnn.model import hparams as hparams_lib
from note_rnn.model import note_rnn_model as model_lib
from rl_tuner.experiments import reproduction
from rl_tuner.experiments import train_run
from rl_tuner.reports import reproduction_table
from rl_tuner.run import settings as settings_lib

CONFIGS = pathlib.Path(__file__).resolve().parent.parent.parent / 'configs'


def test_every_paper_config_parses_into_settings():
  for algorithm, name in reproduction.CONFIG_FILES.items():
    values = settings_lib.read_flagfile(CONFIGS / name)
    settings = train_run.TrainSettings().replace(**values)
    assert settings.algorithm == algorithm.replace('_original', '')
    # Only the original's G run trains its Reward RNN.
    assert settings.reward_rnn_trainable == (algorithm == 'g_original')
    if algorithm == 'g_original':  # Otherwise the paper's G settings.
      g = settings_lib.read_flagfile(CONFIGS / reproduction.CONFIG_FILES['g'])
      assert values == dict(g, reward_rnn_trainable=True)
    # The paper: c = 0.5, discount 0.5, 1M steps, half of them exploring.
    assert settings.reward_scaler == 2.0
    assert settings.discount_rate == 0.5
    assert settings.training_steps == 2 * settings.exploration_steps
    assert settings.exploration_mode == 'egreedy'


def test_reproduce_writes_every_output_and_skips_complete_runs(tmp_path):
  checkpoint = tmp_path / 'tiny_note_rnn'
  model_lib.NoteRNN(hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
                    seed=3).save(str(checkpoint))
  out = tmp_path / 'paper'
  overrides = {'note_rnn_checkpoint_file': str(checkpoint),
               'training_steps': 96, 'exploration_steps': 48,
               'output_every_nth': 32, 'max_experience': 64,
               'minibatch_size': 8}
  record = reproduction.reproduce(str(out), str(CONFIGS), ('q', 'g'),
                                  overrides=overrides, num_compositions=40,
                                  seed=1)
  for name in ('table1.md', 'table1.json', 'figure2a_log_p.png',
               'figure2b_music_theory.png', 'samples_piano_roll.png',
               'reproduction.json'):
    assert (out / name).is_file(), name
  files = sorted(os.listdir(out / 'samples'))
  stems = [f'{m}_{i}' for m in ('note_rnn', 'q', 'g')
           for i in range(reproduction.NUM_SAMPLE_MELODIES)]
  assert files == sorted(['audio.json'] + [
      stem + suffix for stem in stems for suffix in ('.mid', '.png', '.wav')])
  for stem in stems:  # Each sample's WAV lasts its 32 steps at 80 qpm.
    samples, rate = audio.read_wav(out / 'samples' / f'{stem}.wav')
    assert len(samples) == audio.num_samples(32, 80, rate)
  assert record['audio']['files'] == [f'{stem}.wav' for stem in stems]
  # The page, and each algorithm's own run with its page.
  assert (out / 'report.html').is_file()
  assert (out / 'q' / 'report.html').is_file()
  table = json.loads((out / 'table1.json').read_text())
  assert set(table['ours']) == {'note_rnn', 'q', 'g'}
  assert table['original_code_here'] is None
  markdown = (out / 'table1.md').read_text()
  assert '| metric | Note RNN | Q | G |' in markdown
  # One seed: the single-seed layout and table, no ± and no marks.
  assert record['seed'] == 1 and record['seeds'] == [1]
  assert not (out / 'q' / 'seed_1').exists()
  assert '±' not in markdown and reproduction_table.MARK not in markdown
  assert 'marked' not in table and 'per_seed' not in record
  # Histories: an evaluation before training and one every 32 steps.
  assert len(record['models']['q']['history']['steps']) == 1 + 96 // 32
  assert record['models']['note_rnn']['history'] is None
  assert all(run['trained_now'] for run in record['runs'].values())

  again = reproduction.reproduce(str(out), str(CONFIGS), ('q', 'g'),
                                 overrides=overrides, num_compositions=40,
                                 seed=1)
  assert not any(run['trained_now'] for run in again['runs'].values())
  # Same seed, same models: the same statistics.
  assert again['models']['q']['table1'] == record['models']['q']['table1']

