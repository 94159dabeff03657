"""SeqHAND-Net (Yang et al., ECCV 2020): ResNet encoder + ConvLSTM + 26-value MANO head, trained on
synthetic pose-flow sequences and finetuned on real static images with the ConvLSTM frozen."""
