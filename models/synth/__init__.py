"""Synthetic training data (SeqHAND §3.2): pose banks, pose-flows, RGB and depth sequence rendering, shards.

Entry points: `sequence.SequenceGenerator(options, seed=..., bank=...).sequence(i)` (one sequence in memory,
also for the engine's demo source), `dataset.SynthDataset` / `dataset.ShardDataset` (training),
`generate.generate_dataset` (`handstream gen-data`), `pose_bank` + `ik` (`handstream pose-bank`), `speed`
(`handstream bench gen`), `sample_strips` (docs/synth). Format and commands: docs/synth/README.md.
Numpy only, except `ik` and `dataset` (torch).
"""
