"""Note RNN: the LSTM melody model that the RL Tuner tunes."""
