"""Everything that defines and produces the learned models: hand model, networks, losses, data, training, export,
metrics."""
