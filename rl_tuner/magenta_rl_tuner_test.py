"""Magenta's own RLTuner tests, run against this port.

The test methods below are those of magenta/models/rl_tuner/rl_tuner_test.py
(magenta/magenta at commit 526d3eb1; Copyright 2025 The Magenta Authors,
Apache License 2.0), their bodies unchanged. Replaced, and nothing else:
  * the imports: `magenta.models.rl_tuner.rl_tuner` is `rl_tuner.rl_tuner`,
    and TensorFlow 2 instead of `tensorflow.compat.v1` with
    `disable_v2_behavior()`;
  * the TF1 set-up: setUp built a TF1 graph and session, initialised a
    random `NoteRNNLoader` and wrote it with a `tf.train.Saver`; here a
    random Note RNN is written with `NoteRNN(seed=0).save(checkpoint_dir)`.
    tearDown, which closed that session, is gone.
They check the drop-in promise: code written against Magenta's RLTuner
runs after changing the import (BUILD.md, "API compatibility").
"""

import os
import os.path
import tempfile

import matplotlib
import matplotlib.pyplot as plt  # pylint: disable=unused-import
import tensorflow as tf

from note_rnn.model import note_rnn_model
from rl_tuner import rl_tuner

matplotlib.use('Agg')


class RLTunerTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.output_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
    self.checkpoint_dir = tempfile.mkdtemp(dir=self.get_temp_dir())
    note_rnn_model.NoteRNN(seed=0).save(self.checkpoint_dir)

  def testInitializationAndPriming(self):
    rlt = rl_tuner.RLTuner(
        self.output_dir, note_rnn_checkpoint_dir=self.checkpoint_dir)

    initial_note = rlt.prime_internal_models()
    self.assertTrue(initial_note is not None)

  def testInitialGeneration(self):
    rlt = rl_tuner.RLTuner(
        self.output_dir, note_rnn_checkpoint_dir=self.checkpoint_dir)

    plot_name = 'test_initial_plot.png'
    rlt.generate_music_sequence(visualize_probs=True,
                                prob_image_name=plot_name)
    output_path = os.path.join(self.output_dir, plot_name)
    self.assertTrue(os.path.exists(output_path))

  def testAction(self):
    rlt = rl_tuner.RLTuner(
        self.output_dir, note_rnn_checkpoint_dir=self.checkpoint_dir)

    initial_note = rlt.prime_internal_models()

    action = rlt.action(initial_note, 100, enable_random=False)
    self.assertTrue(action is not None)

  def testRewardNetwork(self):
    rlt = rl_tuner.RLTuner(
        self.output_dir, note_rnn_checkpoint_dir=self.checkpoint_dir)

    zero_state = rlt.q_network.get_zero_state()
    priming_note = rlt.get_random_note()

    reward_scores = rlt.get_reward_rnn_scores(priming_note, zero_state)
    self.assertTrue(reward_scores is not None)

  def testTraining(self):
    rlt = rl_tuner.RLTuner(
        self.output_dir, note_rnn_checkpoint_dir=self.checkpoint_dir,
        output_every_nth=30)
    rlt.train(num_steps=31, exploration_period=3)

    checkpoint_dir = os.path.dirname(rlt.save_path)
    checkpoint_files = [
        f for f in os.listdir(checkpoint_dir)
        if os.path.isfile(os.path.join(checkpoint_dir, f))]
    checkpoint_step_30 = [
        f for f in checkpoint_files
        if os.path.basename(rlt.save_path) + '-30' in f]

    self.assertTrue(len(checkpoint_step_30))

    self.assertTrue(len(rlt.rewards_batched) >= 1)
    self.assertTrue(len(rlt.eval_avg_reward) >= 1)

  def testCompositionStats(self):
    rlt = rl_tuner.RLTuner(
        self.output_dir, note_rnn_checkpoint_dir=self.checkpoint_dir,
        output_every_nth=30)
    stat_dict = rlt.evaluate_music_theory_metrics(num_compositions=10)

    self.assertTrue(stat_dict['num_repeated_notes'] >= 0)
    self.assertTrue(len(stat_dict['autocorrelation1']) > 1)

if __name__ == '__main__':
  tf.test.main()
