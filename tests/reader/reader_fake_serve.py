"""``simsync card serve`` with the reader tests' FakeCard instead of SimCard (for runs without it).

usage: python reader_fake_serve.py CARDFILE [HOST:PORT] [MAX_SECONDS]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reader_fakecard import FakeCard

from simsync.card.vpcd import run_serve

if __name__ == "__main__":
    args = sys.argv[1:]
    max_s = float(args[2]) if len(args) > 2 else None
    sys.exit(run_serve(args[0], args[1] if len(args) > 1 else "127.0.0.1:35963",
                       max_seconds=max_s, card_loader=FakeCard.load))
