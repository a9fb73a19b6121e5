"""The pooled distance matrix of k-reciprocal re-ranking, read row by row without building it.

The widely used ``re_ranking(q_g, q_q, g_g)`` code joins the three matrices into one
``(q+g) × (q+g)`` matrix ``D = [[q_q, q_g], [q_gᵀ, g_g]]``, squares it, divides each column by
its largest value and transposes. Row ``i`` of the result is therefore column ``i`` of ``D``,
squared and divided by its maximum: ``O[i, j] = D[j, i]² / max_k D[k, i]²``. For symmetric
``q_q`` and ``g_g`` that is row ``i`` of ``D``; for asymmetric ones (a learned distance,
rounding) reading the column keeps the result equal to that code's.
Squares are taken in the inputs' precision (at least float32), then held in float32. An item
whose distances are all zero keeps them at zero (that code would divide 0 by 0).
"""
from __future__ import annotations

import torch


class PooledDistances:
    """``O`` (above) over the inputs ``q_g`` (q×g), ``q_q`` (q×q), ``g_g`` (g×g), which stay
    where they are; rows and single entries are computed on ``device`` when asked for."""

    def __init__(self, q_g: torch.Tensor, q_q: torch.Tensor, g_g: torch.Tensor,
                 device: torch.device):
        self.q_g, self.q_q, self.g_g = q_g, q_q, g_g
        self.q, self.g = q_g.shape
        self.n = self.q + self.g
        self.device = device
        self.dtype = torch.promote_types(torch.promote_types(q_g.dtype, q_q.dtype),
                                         torch.promote_types(g_g.dtype, torch.float32))
        self.row_max = torch.empty(self.n, dtype=torch.float32, device=device)
        self._buffer: torch.Tensor | None = None

    def release(self) -> None:
        """Drop the row buffer once all rows have been read."""
        self._buffer = None

    def _columns_of_d(self, start: int, stop: int) -> torch.Tensor:
        """``D[:, start:stop]ᵀ`` in a buffer that the next call reuses (fresh pages cost as much
        as filling them); the range lies within the query or within the gallery."""
        q = self.q
        if self._buffer is None or self._buffer.shape[0] < stop - start:
            self._buffer = None
            self._buffer = torch.empty((stop - start, self.n), dtype=self.dtype,
                                       device=self.device)
        out = self._buffer[:stop - start]
        if stop <= q:
            _copy_transposed(out[:, :q], self.q_q[:, start:stop])
            out[:, q:].copy_(self.q_g[start:stop])
        else:
            _copy_transposed(out[:, :q], self.q_g[:, start - q:stop - q])
            _copy_transposed(out[:, q:], self.g_g[:, start - q:stop - q])
        return out

    def _where(self, row: int, col: int) -> str:
        """The input entry behind ``D[col, row]``, for error messages."""
        q = self.q
        if row < q:
            return f"q_q[{col}, {row}]" if col < q else f"q_g[{row}, {col - q}]"
        return f"q_g[{col}, {row - q}]" if col < q else f"g_g[{col - q}, {row - q}]"

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """``O[start:stop]`` as float32; records each row's maximum in ``row_max``."""
        raw = self._columns_of_d(start, stop)
        sq = _squared(raw, fresh=True)
        top = sq.amax(dim=1)  # NaN and inf reach the maximum
        bad = ~torch.isfinite(top)
        if bool(bad.any()):
            self._explain(start, int(bad.nonzero()[0]))
        top.masked_fill_(top == 0, 1.0)  # all distances zero: they stay zero
        self.row_max[start:stop] = top
        return sq.div_(top[:, None])

    def _explain(self, start: int, r: int) -> None:
        raw = self._columns_of_d(start + r, start + r + 1)[0]
        bad = ~torch.isfinite(raw)
        if bool(bad.any()):
            c = int(bad.nonzero()[0])
            raise ValueError(f"{self._where(start + r, c)} = {raw[c].item()}; expected finite "
                             "distances")
        i = start + r
        which = f"query {i}" if i < self.q else f"gallery item {i - self.q}"
        raise ValueError(f"the distances to {which} overflow float32 when squared; expected "
                         "distances below 1.8e19")

    def entries(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """``O[rows, cols]`` (float32, on ``device``), once ``rows`` has filled ``row_max``."""
        q = self.q
        out = torch.empty(rows.shape, dtype=torch.float32, device=self.device)
        row_q, col_q = rows < q, cols < q
        for mask, matrix, r, c in (
                (row_q & col_q, self.q_q, cols, rows),
                (row_q & ~col_q, self.q_g, rows, cols - q),
                (~row_q & col_q, self.q_g, cols, rows - q),
                (~row_q & ~col_q, self.g_g, cols - q, rows - q)):
            where = mask.to(matrix.device)
            out[mask] = _squared(matrix[r.to(matrix.device)[where],
                                        c.to(matrix.device)[where]].to(self.device))
        return out.div_(self.row_max[rows])

    def query_gallery(self, start: int, stop: int) -> torch.Tensor:
        """``O[start:stop, q:]`` for query rows ``start:stop``."""
        sq = _squared(self.q_g[start:stop].to(self.device))
        return sq.div_(self.row_max[start:stop, None])


def _copy_transposed(dst: torch.Tensor, src: torch.Tensor, tile: int = 256) -> None:
    """``dst.copy_(src.T)`` a band of ``src``'s rows at a time, which keeps the reads of a
    column block of a large row-major matrix in cache (several times faster on CPU)."""
    for i in range(0, src.shape[0], tile):
        dst[:, i:i + tile].copy_(src[i:i + tile].T)


def _squared(x: torch.Tensor, fresh: bool = False) -> torch.Tensor:
    """``x²`` in float32; ``fresh=True`` lets a float32 ``x`` be squared in place."""
    if fresh and x.dtype == torch.float32:
        return x.mul_(x)
    x = x.to(torch.promote_types(x.dtype, torch.float32))
    return (x * x).to(torch.float32)
