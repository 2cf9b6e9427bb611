"""Fuzzing (issue 7): a seeded mutation engine (engine.py), a seed corpus written with the codec
(corpus.py) and the targets (targets.py). `python -m tools.fuzz --n N --target T` / `make fuzz`.
Importing this package puts firmware/ on sys.path (the targets are the firmware modules)."""
import os
import sys

_FW = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "firmware")
if os.path.isdir(_FW) and _FW not in sys.path:
    sys.path.insert(0, _FW)
