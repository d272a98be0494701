"""The results pages in a real browser: headless Chromium through Selenium.

Opens the page of a small real training run (bin/rl_tuner_train's code
path, a tiny Note RNN, 64 steps) and the two committed pages of
docs/results/, and checks what a person would see and hear: no console
error, every image loaded, every audio player's metadata with the duration
of its melody and playing when play() is called, Table 1's eleven rows. A
screenshot of each page is saved (into the test's temporary folder).

Needs Debian's `chromium` and `chromium-driver` (apt-get install chromium
chromium-driver) and selenium (the `test` extra); without them the tests
are skipped, saying so.
"""

import os
import pathlib
import shutil
import time

import numpy as np
import pytest

from note_rnn import audio
from note_rnn.model import hparams as note_rnn_hparams_lib
from rl_tuner.run import settings as settings_lib

REPO = pathlib.Path(__file__).resolve().parent.parent
RESULTS = REPO / 'docs' / 'results'
INSTALL = ('apt-get install chromium chromium-driver (Debian) and pip '
           "install -e '.[test]' (selenium)")
# Seconds to wait for the players' metadata.
METADATA_TIMEOUT_S = 20
# Every sample melody: 32 sixteenth-note steps at 80 qpm.
MELODY_SECONDS = audio.melody_seconds(32, 80)


def _executable(name):
  return shutil.which(name) or next(
      (p for p in (f'/usr/bin/{name}', f'/usr/lib/chromium/{name}')
       if os.path.isfile(p)), None)


@pytest.fixture(scope='module')
def browser():
  # pylint: disable=g-import-not-at-top
  try:
    from selenium import webdriver
    from selenium.webdriver.chrome import service
  except ImportError:
    pytest.skip(f'selenium is not installed: {INSTALL}')
  # pylint: enable=g-import-not-at-top
  chromium = _executable('chromium')
  driver_path = _executable('chromedriver')
  if not chromium or not driver_path:
    missing = 'chromium' if not chromium else 'chromedriver'
    pytest.skip(f'headless Chromium not found ({missing} missing): '
                f'{INSTALL}')
  options = webdriver.ChromeOptions()
  options.binary_location = chromium
  for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                   '--disable-dev-shm-usage', '--mute-audio',
                   '--autoplay-policy=no-user-gesture-required',
                   '--window-size=1300,900'):
    options.add_argument(argument)
  options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
  driver = webdriver.Chrome(service=service.Service(driver_path),
                            options=options)
  driver.set_script_timeout(30)
  yield driver
  driver.quit()


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
  """A finished small training run (train_run.run, as the CLI calls it)."""
  # pylint: disable=g-import-not-at-top
  from note_rnn.model import note_rnn_model
  from rl_tuner.experiments import train_run

  # pylint: enable=g-import-not-at-top
  work = tmp_path_factory.mktemp('browser_run')
  checkpoint = str(work / 'tiny_note_rnn')
  note_rnn_model.NoteRNN(
      note_rnn_hparams_lib.NoteRNNHParams(rnn_layer_sizes=(8,)),
      seed=1).save(checkpoint)
  settings = settings_lib.TrainSettings(
      output_dir=str(work / 'run'), note_rnn_checkpoint_file=checkpoint,
      training_steps=64, exploration_steps=32, exploration_mode='egreedy',
      output_every_nth=32, num_eval_compositions=4, num_stat_compositions=20,
      minibatch_size=8, max_experience=200, seed=0)
  train_run.run(settings)
  return work / 'run'


def _open(driver, path):
  driver.get_log('browser')  # Nothing from an earlier page counts.
  driver.get(pathlib.Path(path).resolve().as_uri())
  deadline = time.time() + 20
  while driver.execute_script('return document.readyState') != 'complete':
    assert time.time() < deadline, 'the page did not finish loading'
    time.sleep(0.1)


def _console_errors(driver):
  return [entry for entry in driver.get_log('browser')
          if entry['level'] == 'SEVERE']


def _images(driver):
  return driver.execute_script(
      'return [...document.images].map(i => [i.getAttribute("src"), '
      'i.complete, i.naturalWidth]);')


def _players(driver):
  """[src, readyState, duration, data-seconds] of every audio element,
  once all have metadata (or the timeout passed)."""
  deadline = time.time() + METADATA_TIMEOUT_S
  while True:
    players = driver.execute_script(
        'return [...document.querySelectorAll("audio")].map(a => '
        '[a.getAttribute("src"), a.readyState, a.duration, '
        'parseFloat(a.dataset.seconds)]);')
    if all(p[1] >= 1 for p in players) or time.time() > deadline:
      return players
    time.sleep(0.2)


_PLAY = """
const [index, done] = arguments;
const player = document.querySelectorAll('audio')[index];
// Waits (up to 5 s: a loaded machine starts audio late) for time to move.
const started = Date.now();
const check = () => {
  if (player.currentTime > 0 || Date.now() - started > 5000) {
    const state = [player.paused, player.currentTime, player.error];
    player.pause();
    done(state);
  } else {
    setTimeout(check, 50);
  }
};
player.play().then(check).catch(e => done(['rejected: ' + e]));
"""


def _screenshot(driver, path):
  """A full-page screenshot; returns it as an array [H, W, channels]."""
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  height = driver.execute_script(
      'return document.documentElement.scrollHeight;')
  driver.set_window_size(1300, min(int(height) + 100, 12000))
  assert driver.save_screenshot(str(path))
  driver.set_window_size(1300, 900)
  return matplotlib.image.imread(str(path))


def _check_page(driver, page, screenshot, num_images, num_players):
  """Everything the issue lists, on one page."""
  _open(driver, page)
  images = _images(driver)
  assert len(images) == num_images, images
  broken = [src for src, complete, width in images
            if not complete or width <= 0]
  assert not broken, broken

  players = _players(driver)
  assert len(players) == num_players
  for src, ready, duration, seconds in players:
    assert ready >= 1, f'{src}: no metadata'
    assert seconds == pytest.approx(MELODY_SECONDS)
    assert duration == pytest.approx(seconds, abs=0.01), src
  for index, (src, *_) in enumerate(players):
    state = driver.execute_async_script(_PLAY, index)
    assert state[0] is False, (src, state)  # Playing, not paused.
    assert state[1] > 0, (src, state)  # And time moves on.

  rows = driver.execute_script(
      'return document.querySelectorAll("#table1 tbody tr").length;')
  assert rows == 11
  assert not _console_errors(driver)

  shot = _screenshot(driver, screenshot)
  assert shot.shape[0] > 1500 and shot.shape[1] >= 1000
  # Not a blank page: text, figures and players make the pixels vary.
  assert float(np.std(shot[..., :3])) > 0.05
  assert not _console_errors(driver)


def test_a_broken_page_is_caught(browser, tmp_path):
  # The checks below can fail: a missing image is seen, and logged.
  (tmp_path / 'broken.html').write_text(
      '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head>'
      '<body><img src="missing.png"></body></html>')
  _open(browser, tmp_path / 'broken.html')
  time.sleep(0.3)
  assert _images(browser) == [['missing.png', True, 0]]
  errors = _console_errors(browser)
  assert errors and 'missing.png' in errors[0]['message']


@pytest.mark.slow
def test_the_run_page_in_chromium(browser, run_dir, tmp_path):
  # 6 sample piano rolls, 4 curves, the note-probability heatmap; a player
  # per sample melody and one for the heatmap's melody (q.wav).
  _check_page(browser, run_dir / 'report.html', tmp_path / 'run.png',
              num_images=11, num_players=7)
  text = browser.find_element('tag name', 'body').text
  assert 'Note RNN (untuned)' in text and 'Q (tuned)' in text
  assert 'Audio: ' in text


@pytest.mark.parametrize('name', ['paper_checkpoint', 'embedded_model'])
def test_the_committed_results_pages_in_chromium(browser, name, tmp_path):
  # Figure 2's two panels and 15 sample piano rolls; 15 players.
  _check_page(browser, RESULTS / name / 'report.html',
              tmp_path / f'{name}.png', num_images=17, num_players=15)
