"""The synthetic-pretrained ``quick_net`` weights the kit ships in ``results/pretrained/``, and
their manifest's checksum check (``vreid_lite.pretraining`` makes them)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from vreid_lite.paths import REPO_ROOT

WEIGHTS_DIR = REPO_ROOT / "results" / "pretrained"
WEIGHTS_NAME = "quick_net_synth"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".json")


def shipped_weights(weights: Path | None = None) -> Path | None:
    """The shipped pretrained ``quick_net`` weights after checking them against their manifest;
    ``None`` when none are shipped. A file whose checksum differs raises ``ValueError``."""
    weights = Path(weights) if weights is not None else WEIGHTS_DIR / f"{WEIGHTS_NAME}.pt"
    if not weights.is_file():
        return None
    try:
        manifest: dict[str, Any] = json.loads(manifest_path(weights).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{manifest_path(weights)}: cannot read the manifest of {weights} "
                         f"({exc})") from None
    found = sha256(weights)
    if manifest.get("sha256") != found:
        raise ValueError(f"{weights}: SHA-256 {found[:12]}… does not match its manifest "
                         f"({str(manifest.get('sha256'))[:12]}…); the file is damaged or was "
                         f"replaced. Re-create it with `vreid pretrain`.")
    return weights
