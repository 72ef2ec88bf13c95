"""Interpretability passes (sklearn-style estimators). ``analysis.rnn``: RNN -> program passes."""
