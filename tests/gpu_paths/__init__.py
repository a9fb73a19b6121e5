"""The code a GPU run takes (DDP, torch.compile, bf16 autocast, channels_last), run on a CPU."""
