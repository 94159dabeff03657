"""CADSTN (Wu et al.): depth-based hand pose with spatial, temporal (LSTM) and fusion networks."""
