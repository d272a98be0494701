"""Installs the RL Tuner port: packages `note_rnn` and `rl_tuner`."""

import setuptools

setuptools.setup(
    name='rl-tuner-tf2',
    version='0.1.0',
    description=('TensorFlow 2 / Keras 3 port of Magenta\'s RL Tuner: tuning a '
                 'melody Note RNN with Q, Psi or G learning and music-theory '
                 'rewards (Jaques et al., 2017).'),
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=setuptools.find_packages(
        include=['note_rnn', 'note_rnn.*', 'rl_tuner', 'rl_tuner.*']),
    package_data={'note_rnn.model': ['default_model/*'],
                  'rl_tuner.reports': ['templates/*']},
    include_package_data=True,
    install_requires=[
        'tensorflow>=2.21,<2.22',
        'note-seq>=0.0.5',
        'numpy>=1.26',
        'absl-py>=2.0',
        'scipy>=1.11',
        'matplotlib>=3.8',
        'tensorboard>=2.20',
        # BLAS on one thread around the numpy acting path (note_rnn.lstm_cell).
        'threadpoolctl>=3.1',
        # The results pages (rl_tuner/report_page.py, templates/).
        'jinja2>=3.1',
    ],
    extras_require={
        # pytest-xdist: the suite runs on every core (pytest.ini).
        # selenium drives Debian's headless Chromium in the browser test.
        'test': ['pytest>=8', 'pytest-xdist>=3.5', 'selenium>=4.10'],
        # General MIDI audio through FluidSynth (also needs the system's
        # libfluidsynth, Debian's libfluidsynth3); without it the built-in
        # renderer is used.
        'audio': ['pyfluidsynth>=1.3'],
        # music21: the corpus of the embedded default model
        # (bin/note_rnn_build_corpus.py), and the ABC parser of
        # bin/note_rnn_create_dataset.py (rests, ties, tuplets; without it,
        # note_seq's parser, which rejects tunes with rests).
        'corpus': ['music21>=9'],
        # Sweeps (bin/rl_tuner_sweep.py) and note_rnn_create_dataset
        # --runner=ray.
        'sweep': ['ray[tune]>=2.9,<3'],
    },
)
