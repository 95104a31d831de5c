"""Test helpers for simsync.stk: makes the shared hypothesis strategies and the vector table
importable as ``stk_strategies`` (the module name is unique to this directory)."""

import sys
from pathlib import Path

_here = str(Path(__file__).parent)
if _here not in sys.path:
    sys.path.insert(0, _here)
