"""``committed_copy``: an executed notebook made ready to commit as the reference copy in
``notebooks/``: what the run injected is taken out, and so is the saved widget state.

Without its kernel a widget restored from saved state looks live but its controls do nothing,
and a static page (nbconvert, a notebook viewer) draws the widget only when it can fetch the
widget manager from the web. Without the state every such page falls back to the picture the
explorers put beside their widget (``Explorer._repr_mimebundle_``); a running kernel draws the
widgets afresh anyway.

Run as ``python -m vreid_lite.runs.committed EXECUTED [TARGET]`` (TARGET defaults to
EXECUTED, rewritten in place).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

INJECTED_TAG = "injected-parameters"


def committed_copy(executed: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
    """Write ``executed`` to ``target`` (default: over itself) without the ``injected-parameters``
    cell, with ``metadata.papermill.parameters`` emptied and without ``metadata.widgets``;
    everything else, the kernelspec included, stays. Returns ``target``."""
    source = Path(executed)
    try:
        nb = json.loads(source.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{source}: expected a notebook (JSON with a 'cells' list): {exc}") \
            from exc
    nb["cells"] = [c for c in cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    metadata = nb.setdefault("metadata", {})
    metadata.pop("widgets", None)
    if "papermill" in metadata:
        metadata["papermill"]["parameters"] = {}
    out = Path(target) if target is not None else source
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m vreid_lite.runs.committed EXECUTED [TARGET]")
    print(committed_copy(*sys.argv[1:]))
