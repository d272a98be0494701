"""One RL Tuner training run: outputs, summary, reloading.

`run(settings)` trains (or resumes) the tuner that a `settings.TrainSettings`
describes and writes every output; `load_tuner(run_dir)` rebuilds a finished
run's tuner. The command-line tools and the paper reproduction share these,
so a flag file means the same everywhere.
"""

import json
import logging
import os
import shutil
import time

from note_rnn import audio
from note_rnn import encoding
from note_rnn.model import checkpoint_import
from note_rnn.runtime import event_log
from note_rnn.runtime import outputs
from rl_tuner.evaluation import statistics
from rl_tuner.replay import replay_store
from rl_tuner.reports import report_page
from rl_tuner.reports import sample_media
from rl_tuner.reports import table1 as table1_lib
from rl_tuner.rewards import reward_api
from rl_tuner.run import checkpointer
from rl_tuner.run import resume_settings
from rl_tuner.run import run_folder
from rl_tuner.run import settings as settings_lib

# The run folder's names (rl_tuner.run.run_folder).
SUMMARY_NAME = run_folder.SUMMARY_NAME
TUNED_NOTE_RNN = run_folder.TUNED_NOTE_RNN
NUM_SAMPLE_MELODIES = run_folder.NUM_SAMPLE_MELODIES
UNTUNED_MODEL = run_folder.UNTUNED_MODEL
UNTUNED_TITLE = run_folder.UNTUNED_TITLE
load_summary = run_folder.load_summary
settings_from_summary = run_folder.settings_from_summary

TrainSettings = settings_lib.TrainSettings
UsageError = settings_lib.UsageError
field_names = settings_lib.field_names


def make_tuner(settings, output_dir=None, checkpoint=None,
               summary_writer=None, resolved=None):
  """Builds the RLTuner a run's settings describe (networks loaded).

  Args:
    settings: TrainSettings; checked by the tuner (settings.resolve).
    output_dir: where the tuner writes (default settings.output_dir).
    checkpoint: Note RNN to load instead of the settings' one.
    summary_writer: TensorBoard writer, or None.
    resolved: settings.resolve(settings), if already done.
  """
  # TensorFlow: imported here to keep the tools' --help fast.
  from rl_tuner import \
      rl_tuner as rl_tuner_lib  # pylint: disable=g-import-not-at-top
  if checkpoint:
    settings = settings.replace(note_rnn_checkpoint_file=checkpoint,
                                note_rnn_checkpoint_dir='')
    resolved = None
  try:
    return rl_tuner_lib.RLTuner(output_dir or settings.output_dir,
                                save_name=settings.algorithm + '.ckpt',
                                summary_writer=summary_writer,
                                settings=settings, resolved=resolved)
  except (FileNotFoundError, checkpoint_import.CheckpointError) as e:
    raise UsageError(str(e)) from e


def write_statistics(rlt, num_compositions, output_dir, name,
                     untuned_table=None):
  """Statistics of `num_compositions` melodies: text, Table-1 JSON and md.

  Args:
    untuned_table: Table-1 summary of the untuned Note RNN, shown in
      table1.md beside the run's column (None: not shown).

  Returns:
    (stat_dict, table1 summary dict).
  """
  stat_dict = rlt.evaluate_music_theory_metrics(
      num_compositions=num_compositions)
  report = statistics.get_stat_dict_string(stat_dict)
  outputs.write_file_atomically(
      os.path.join(output_dir, 'music_theory_stats.txt'), report.encode())
  table = table1_lib.table1_summary(stat_dict)
  outputs.write_file_atomically(
      os.path.join(output_dir, 'table1.json'),
      table1_lib.table1_to_json(table).encode())
  settings = rlt.settings
  legend = (f'Statistics of {num_compositions:,} melodies of this run '
            f'({name} learning, {settings.key} {settings.key_mode}, '
            f'{settings.labels} labels), in the paper\'s Table 1 rows. In '
            'brackets: the paper\'s value for the same algorithm (its Note '
            'RNN, C major, original labels).')
  if (settings.key, settings.key_mode) != ('C', 'major'):
    legend += (f' This run is in {settings.key} {settings.key_mode}, so the '
               'bracketed C-major numbers are only a loose comparison.')
  columns = {name: table}
  if untuned_table is not None:
    columns[UNTUNED_TITLE] = untuned_table
    legend += (f' {UNTUNED_TITLE}: the Note RNN this run started from, '
               'before tuning, on as many melodies.')
  outputs.write_file_atomically(
      os.path.join(output_dir, 'table1.md'),
      (legend + '\n\n' + table1_lib.table1_markdown(
          columns, paper_columns={UNTUNED_TITLE: 'note_rnn'})).encode())
  logging.info(
      'Statistics of %d melodies: %.1f%% of notes not in key, %.1f%% '
      'excessively repeated, %.1f%% of leaps resolved, %.0f%% of steps '
      'start a note (table1.md, music_theory_stats.txt)', num_compositions,
      100 * table['notes_not_in_key'],
      100 * table['notes_excessively_repeated'],
      100 * table['leaps_resolved'], 100 * table['note_onsets'])
  return stat_dict, table


def music_theory_change(rlt):
  """(per-note music-theory reward before tuning, after), or None.

  The first evaluation is the untuned model's (taken at step 0); the last
  is the newest. Each is the mean over the evaluation melodies of the
  reward without log p, reward_scaler applied.
  """
  history = rlt.eval_avg_music_theory_reward
  if len(history) < 2:
    return None
  return float(history[0]), float(history[-1])


def _warn_if_music_theory_worse(rlt):
  change = music_theory_change(rlt)
  if change is not None and change[1] < change[0]:
    logging.warning(
        'Tuning made the music-theory reward worse: %+.2f per note before, '
        '%+.2f after (EvaluationRewards-%s.png). The log p(a|s) term '
        'outweighed the rules: try a larger --reward_scaler, more '
        '--training_steps, or a better-trained Note RNN.', change[0],
        change[1], rlt.algorithm)


def _restore_newest_usable(rlt, output_dir, restore_replay=True):
  """Restores the newest checkpoint that reads; deletes damaged newer ones.

  With restore_replay False (a run whose replay was dropped) the replay is
  not restored and only the newest checkpoint is tried: an older one would
  need training, which needs the replay.

  A checkpoint trained with other settings (any that changes what the run
  computes; resume_settings) is refused before anything is restored or
  deleted.

  Returns:
    The training state of the checkpoint restored.

  Raises:
    UsageError: no checkpoint reads (the message names the newest), or the
      settings differ (the message lists every difference).
  """
  damaged = []
  current = rlt.run_identity()
  paths = checkpointer.list_checkpoints(
      checkpointer.checkpoint_root(output_dir))
  for path in reversed(paths if restore_replay else paths[-1:]):
    try:
      resume_settings.check(checkpointer.read_state(path), current, path)
      rlt.restore_from_directory(path, restore_replay=restore_replay)
    except (checkpointer.CheckpointError, replay_store.ReplayStoreError) as e:
      logging.warning('Checkpoint %s is damaged (%s); trying the one '
                      'before it.', path, e)
      damaged.append((path, e))
      continue
    for bad, _ in damaged:
      shutil.rmtree(bad, ignore_errors=True)
    if damaged:
      logging.warning('Resuming from %s; removed the damaged %s', path,
                      ', '.join(os.path.basename(b) for b, _ in damaged))
    return checkpointer.read_state(path)
  raise UsageError(f'cannot resume: {damaged[0][1]}' if damaged else
                   f'cannot resume: no checkpoint in {output_dir}')


# Environment steps after which a run at one melody a time gets a hint.
LONG_RUN_STEPS = 200000


def _log_plan(settings, rlt, remaining):
  """One line saying what the run will do; a hint for long serial runs."""
  logging.info(
      'Plan: %s learning for %s environment steps%s, %d melod%s side by '
      'side, a checkpoint every %s steps, into %s; progress and ETA follow '
      'every 10 s.', rlt.algorithm, f'{max(remaining, 0):,}',
      f' (resuming at step {rlt.env_steps:,})' if rlt.env_steps else '',
      settings.num_parallel_melodies,
      'y' if settings.num_parallel_melodies == 1 else 'ies',
      f'{settings.output_every_nth:,}', settings.output_dir)
  if remaining >= LONG_RUN_STEPS and settings.num_parallel_melodies == 1:
    logging.info(
        'This is a long run at one melody a time (the original schedule). '
        'To see what tuning does in a minute, use '
        '--flagfile=configs/quickstart.flags; --num_parallel_melodies=8 '
        'is several times faster.')


def _stop_at_checkpoint(rlt, tensorboard_dir):
  """Leaves a failed run as its newest checkpoint left it; says how to go on.

  The TensorBoard points logged after that checkpoint are dropped (a
  resumed run would drop them too); checkpoints are written atomically, so
  nothing else is half-written.

  Returns:
    What the user can do next, for the error message.
  """
  rlt.summary_writer.close()
  root = checkpointer.checkpoint_root(rlt.output_dir)
  newest = (checkpointer.list_checkpoints(root) or [None])[-1]
  state = {} if newest is None else checkpointer.read_state(newest)
  event_log.roll_back(tensorboard_dir, state.get('saved_wall_time', 0.0))
  if newest is None:
    return ('the run stopped before its first checkpoint: fix the reward '
            'and run again')
  return (f'the run stopped; fix the reward, then --resume continues from '
          f'its checkpoint at env step {state["counters"]["env_steps"]:,}')


def _check_replay_for(settings, root):
  """Refuses to train a finished run further once its replay is dropped.

  Its checkpoints hold the networks but not the replay memory, so training
  on would not continue the run: it would learn from an empty replay.
  Resuming it without more steps (to write its outputs again) is fine.
  """
  newest = checkpointer.list_checkpoints(root)[-1]
  done = int(os.path.basename(newest).rpartition('-')[2])
  if settings.training_steps > done:
    raise UsageError(
        f'cannot resume {settings.output_dir} for more steps '
        f'(--training_steps={settings.training_steps}, {done} done): it '
        'dropped its replay memory when it finished, so it cannot continue '
        'exactly; train it again from the start with --keep_replay to be '
        'able to extend it')


def _drop_replay(settings, root):
  """Drops a finished run's replay (unless --keep_replay); logs what it did,
  the run's last log line."""
  where = os.path.join(checkpointer.SUBDIR, replay_store.SUBDIR) + os.sep
  if settings.keep_replay:
    size = replay_store.folder_bytes(os.path.join(root, replay_store.SUBDIR))
    if size:
      logging.info('Kept the replay memory, %s (%.1f MB, --keep_replay): '
                   '--resume with more --training_steps can extend this run.',
                   where, size / 1e6)
    return
  dropped = replay_store.drop(root)
  if dropped:
    logging.info('Dropped the replay memory, %s (%.1f MB, %s transitions): '
                 'a finished run needs it only to be trained further; '
                 '--keep_replay keeps it.', where, dropped[1] / 1e6,
                 f'{dropped[0]:,}')


def _check_output_dir(output_dir):
  try:
    outputs.check_output_dir(output_dir, '--output_dir')
  except outputs.OutputError as e:
    raise UsageError(str(e)) from e


def run(settings):
  """Trains (or resumes), then writes every output. Returns the summary.

  Settings, rewards, the output location and the Note RNN are checked
  before anything is written: a run refused for its inputs leaves no files.
  A resumed run (settings.resume) continues exactly from the newest
  checkpoint that reads (older ones are tried if it is damaged), with
  TensorBoard rolled back to it and stale temporaries removed. A finished
  run drops its replay memory unless settings.keep_replay, its last log
  line saying so; a run without its replay may be resumed to write its
  outputs again, but not to train further (refused: UsageError).
  """
  resolved = settings_lib.resolve(settings)
  output_dir = settings.output_dir
  _check_output_dir(output_dir)
  root = checkpointer.checkpoint_root(output_dir)
  has_checkpoint = bool(checkpointer.list_checkpoints(root))
  if has_checkpoint and not settings.resume:
    raise UsageError(f'{output_dir} already holds a run; pass --resume to '
                     'continue it or choose another --output_dir')
  replay_dropped = has_checkpoint and replay_store.dropped(root) is not None
  if replay_dropped:
    _check_replay_for(settings, root)
  start = time.time()
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rlt = make_tuner(settings, resolved=resolved)
  tensorboard_dir = os.path.join(output_dir, 'tensorboard')
  if has_checkpoint:
    state = _restore_newest_usable(rlt, output_dir,
                                   restore_replay=not replay_dropped)
    event_log.roll_back(tensorboard_dir, state.get('saved_wall_time'))
  else:  # Points of a run killed before its first checkpoint.
    if settings.resume:
      logging.info('No checkpoint in %s yet: the run starts from the '
                   'beginning.', output_dir)
    event_log.roll_back(tensorboard_dir, 0.0)
  for directory in (output_dir, root, os.path.join(root, 'replay'),
                    tensorboard_dir):
    outputs.remove_stale_temporaries(
        directory, (outputs.TMP_PREFIX, f'.{TUNED_NOTE_RNN}.tmp-'))
  rlt.summary_writer = tf.summary.create_file_writer(tensorboard_dir)
  remaining = settings.training_steps - rlt.env_steps
  _log_plan(settings, rlt, remaining)
  train_start = time.time()
  if remaining > 0:
    try:
      rlt.train(num_steps=remaining,
                exploration_period=settings.exploration_steps)
    except reward_api.RewardCallError as e:
      raise reward_api.RewardError(
          f'{e}; {_stop_at_checkpoint(rlt, tensorboard_dir)}') from e
  train_seconds = time.time() - train_start
  _warn_if_music_theory_worse(rlt)

  name = rlt.algorithm
  # Without its replay (dropped) the run trained no further: the checkpoint
  # restored stands; saved again, it would record an empty replay.
  rlt.save_model_and_figs(name, save_checkpoint=not replay_dropped)
  rlt.q_network.save(os.path.join(output_dir, TUNED_NOTE_RNN), metadata={
      'tuned_by': 'rl_tuner', 'algorithm': rlt.algorithm,
      'env_steps': rlt.env_steps})
  notes, midi_path = rlt.generate_music_sequence(
      title=name, visualize_probs=True, prob_image_name=name + '.png',
      overwrite=True)
  audio_options = settings_lib.audio_options(settings)
  if settings.qpm != encoding.DEFAULT_QPM:  # At the run's tempo.
    audio.classes_to_midi_file(notes, midi_path, qpm=settings.qpm)
  if settings.audio:
    audio.write_melody_wav(notes, audio.wav_path_for(midi_path),
                           settings.qpm, settings.audio_program,
                           audio_options.get_renderer())
  # The Note RNN the run started from, untuned: Table 1's other column and
  # the samples to compare with.
  # It acts on the Note RNN's own logits: as q (g would add the Reward
  # RNN's logits to the Q-network's, the same network, sharpening them).
  untuned = make_tuner(settings.replace(algorithm='q',
                                        reward_rnn_trainable=False),
                       resolved=resolved)
  untuned_table = table = None
  if settings.num_stat_compositions > 0:
    untuned_table = table1_lib.table1_summary(
        untuned.evaluate_music_theory_metrics(
            num_compositions=settings.num_stat_compositions))
    _, table = write_statistics(rlt, settings.num_stat_compositions,
                                output_dir, name, untuned_table)
  samples = {UNTUNED_MODEL: untuned, name: rlt}
  samples = {model: [[int(c) for c in row] for row in
                     tuner.generate_compositions(NUM_SAMPLE_MELODIES)]
             for model, tuner in samples.items()}
  audio_record = sample_media.write(
      output_dir, samples, {UNTUNED_MODEL: UNTUNED_TITLE,
                            name: f'{name} (tuned)'}, audio_options)
  summary = {
      'settings': settings.to_dict(),
      'dqn_hparams': resolved.dqn_hparams.to_dict(),
      'reward_mode': rlt.reward_mode,
      'reward_terms': [{'name': name, 'weight': weight}
                       for name, weight, _ in rlt.reward_set.terms],
      'note_rnn_checkpoint': resolved.checkpoint or 'embedded default',
      'note_rnn_layer_sizes': list(rlt.q_network.layer_sizes),
      'env_steps': rlt.env_steps,
      'gradient_steps': rlt.iteration,
      'train_seconds_this_run': train_seconds,
      'wall_seconds_this_run': time.time() - start,
      'final_eval': {
          'note_rnn_log_p_per_note': rlt.eval_avg_note_rnn_reward[-1],
          'music_theory_per_note': rlt.eval_avg_music_theory_reward[-1],
          'music_theory_per_note_before_tuning':
              rlt.eval_avg_music_theory_reward[0],
          'terms_per_note': {name: values[-1] for name, values in
                             rlt.eval_avg_term_rewards.items() if values},
      },
      'train_reward_terms': {name: sum(values) for name, values in
                             rlt.term_rewards_batched.items()},
      'sample_melody': {'classes': notes, 'midi': os.path.basename(midi_path)},
      'table1': table,
      'table1_untuned_note_rnn': untuned_table,
      'samples': samples,
      'audio': audio_record,
  }
  outputs.write_file_atomically(
      os.path.join(output_dir, SUMMARY_NAME),
      json.dumps(summary, indent=2, default=str).encode())
  logging.info('Results page: %s (open it in a browser)',
               report_page.write_report(output_dir))
  _drop_replay(settings, root)
  return summary


def load_tuner(run_dir, output_dir=None, checkpoint_name=None):
  """Rebuilds a finished run's RLTuner and restores its networks.

  The tuned Q-network the run saved fixes the network shapes (the restored
  checkpoint then overwrites all three networks); the MIDI priming modes
  prime with the Note RNN the run started from when that file still exists,
  as training did.

  Returns:
    (RLTuner, summary dict, path of the checkpoint restored).
  """
  summary = load_summary(run_dir)
  settings = settings_from_summary(summary)
  tuned = os.path.join(run_dir, TUNED_NOTE_RNN)
  if not os.path.isdir(tuned):
    raise UsageError(f'{run_dir} has no {TUNED_NOTE_RNN}/ (the run did not '
                     'finish)')
  checkpoint = tuned
  original = summary.get('note_rnn_checkpoint')
  if settings.priming_mode != 'random_note':
    if original and os.path.exists(original):
      checkpoint = original
    else:
      logging.warning('The Note RNN the run started from (%s) is gone; '
                      'priming with the tuned network instead.', original)
  settings = settings.replace(note_rnn_checkpoint_file=checkpoint,
                              note_rnn_checkpoint_dir='', resume=False,
                              note_rnn_hparams='')
  try:
    rlt = make_tuner(settings, output_dir=output_dir or run_dir)
    path = rlt.restore_from_directory(run_dir,
                                      checkpoint_name=checkpoint_name or None,
                                      restore_replay=False)
  except (FileNotFoundError, ValueError) as e:
    raise UsageError(str(e)) from e
  return rlt, summary, path
