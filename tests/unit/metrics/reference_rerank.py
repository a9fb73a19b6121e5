"""A plain numpy k-reciprocal re-ranking (Zhong et al., CVPR 2017), written step by step from
the paper and the structure of the widely used ``re_ranking(q_g, q_q, g_g)`` code: dense
``(q+g)²`` matrices, a full sort of every row, loops over items. It is the yardstick the torch
version in ``vreid_lite.metrics.rerank`` is tested and benchmarked against; it shares no code
with it. Sorting is stable (ties go to the lower index) so that both are deterministic.
"""
import numpy as np


def reciprocal_neighbours(ranking: np.ndarray, i: int, k: int) -> np.ndarray:
    """R(i, k): those of i's k+1 nearest that have i among their own k+1 nearest."""
    forward = ranking[i, :k + 1]
    backward = ranking[forward, :k + 1]
    return forward[np.any(backward == i, axis=1)]


def expanded_neighbours(ranking: np.ndarray, i: int, k1: int) -> np.ndarray:
    """R*(i, k1): R(i, k1) joined with each member's R(c, k1/2) that shares more than
    two thirds of its items with R(i, k1)."""
    core = reciprocal_neighbours(ranking, i, k1)
    members = list(core)
    for c in core:
        half = reciprocal_neighbours(ranking, c, int(np.around(k1 / 2)))
        if len(np.intersect1d(half, core)) > 2.0 / 3.0 * len(half):
            members.extend(half)
    return np.unique(members)


def reference_re_ranking(q_g, q_q, g_g, k1=20, k2=6, lambda_value=0.3, sort_kind="stable"):
    """Re-ranked (q, g) distances, float32."""
    q_g, q_q, g_g = (np.asarray(m) for m in (q_g, q_q, g_g))
    num_query = q_g.shape[0]
    everything = np.vstack([np.hstack([q_q, q_g]), np.hstack([q_g.T, g_g])])
    squared = np.square(everything).astype(np.float32)
    del everything
    # each column over its maximum, then transposed: row i = distances to item i
    dist = (squared / squared.max(axis=0)).T.copy()
    del squared
    ranking = np.argsort(dist, axis=1, kind=sort_kind)
    n = dist.shape[0]

    encoding = np.zeros((n, n), dtype=np.float32)
    for i in range(n):
        members = expanded_neighbours(ranking, i, k1)
        weights = np.exp(-dist[i, members])
        encoding[i, members] = weights / weights.sum()

    if k2 != 1:  # local query expansion: mean encoding of the k2 nearest
        expanded = np.zeros_like(encoding)
        for i in range(n):
            expanded[i] = encoding[ranking[i, :k2]].mean(axis=0)
        encoding = expanded
    del ranking

    # inverted index: for every column, the items whose encoding is non-zero there
    rows, cols = np.nonzero(encoding)
    order = np.argsort(cols, kind="stable")
    rows, cols = rows[order], cols[order]
    bounds = np.searchsorted(cols, np.arange(n + 1))
    holders = [rows[bounds[c]:bounds[c + 1]] for c in range(n)]

    jaccard = np.zeros((num_query, n), dtype=np.float32)
    for i in range(num_query):
        overlap = np.zeros(n, dtype=np.float32)
        for c in np.flatnonzero(encoding[i]):
            who = holders[c]
            overlap[who] += np.minimum(encoding[i, c], encoding[who, c])
        jaccard[i] = 1.0 - overlap / (2.0 - overlap)

    final = jaccard * (1 - lambda_value) + dist[:num_query] * lambda_value
    return final[:, num_query:]
