"""Fixtures of the reader tests (the session-wide pcscd fixture lives in tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: make the helper modules importable
    sys.path.insert(0, str(HERE))
