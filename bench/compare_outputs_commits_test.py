"""compare_outputs_commits: what an older commit writes differently on
purpose (the replay a finished run drops, a setting added since) is no
difference; anything else still is."""

import json

import compare_outputs_commits as compare
import numpy as np

ROW = '\n    <tr><td><code>--{}</code></td><td>{}</td></tr>'


def _run_folder(path, settings, replay):
  """A run folder with a summary, a page listing the settings, and either
  the replay (an older commit) or the record of its drop."""
  (path / 'checkpoints' / 'q-64').mkdir(parents=True)
  (path / 'checkpoints' / 'q-64' / 'training_state.json').write_text('{}')
  if replay:
    (path / 'checkpoints' / 'replay').mkdir()
    np.savez(path / 'checkpoints' / 'replay' / 'replay-0-64.npz',
             action=np.arange(64))
  else:
    (path / 'checkpoints' / 'replay_dropped.json').write_text('{}')
  (path / 'summary.json').write_text(json.dumps({'settings': settings}))
  (path / 'report.html').write_text(
      '<tbody>' + ''.join(ROW.format(k, v) for k, v in settings.items()) +
      '\n  </tbody>')
  return path


def test_a_dropped_replay_and_an_added_setting_are_not_differences(
    tmp_path, capsys):
  base = _run_folder(tmp_path / 'base', {'seed': 0}, replay=True)
  current = _run_folder(tmp_path / 'current',
                        {'seed': 0, 'keep_replay': False}, replay=False)
  assert compare._compare_run('q', base, current) == (3, 0, 2)
  lines = capsys.readouterr().out.splitlines()
  reason = 'skipped (replay dropped at the end of a run unless --keep_replay)'
  assert f'q/checkpoints/replay/replay-0-64.npz: {reason}' in lines
  assert f'q/checkpoints/replay_dropped.json: {reason}' in lines
  assert 'q/summary.json: same' in lines and 'q/report.html: same' in lines


def test_an_added_setting_away_from_its_added_value_is_a_difference(
    tmp_path, capsys):
  base = _run_folder(tmp_path / 'base', {'seed': 0}, replay=True)
  current = _run_folder(tmp_path / 'current',
                        {'seed': 0, 'keep_replay': True}, replay=True)
  assert compare._compare_run('q', base, current) == (4, 2, 0)
  out = capsys.readouterr().out
  assert 'q/summary.json: DIFFERENT: key settings.keep_replay only in ' \
      'current' in out
  assert 'q/report.html: DIFFERENT' in out
