"""RL Tuner: tuning a Note RNN with reinforcement learning (Q, Psi, G)."""
