"""Training of InCTRL's heads (adapter ψ, image head η, φ holistic head) over a frozen backbone."""
import sys as _sys
from pathlib import Path as _Path

__version__ = "0.1.0"

# The exporter (backbones, heads, bundle writer) lives beside this package; no install step needed.
_EXPORT = _Path(__file__).resolve().parents[2] / "export"
if str(_EXPORT) not in _sys.path:
    _sys.path.insert(0, str(_EXPORT))
