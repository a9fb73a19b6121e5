"""Features of a few well-separated identities, for the projection and embedding tests."""
import torch


def clustered(n_ids=6, per_id=10, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = 4 * torch.randn(n_ids, dim, generator=g)
    labels = torch.arange(n_ids).repeat_interleave(per_id)
    return centres[labels] + torch.randn(len(labels), dim, generator=g), labels
