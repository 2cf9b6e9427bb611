"""Fuzzing (issue 7): a seeded mutation engine (engine.py), a seed corpus written with the codec
(corpus.py) and the targets (targets.py). `python -m tools.fuzz --n N --target T` / `make fuzz`.
engine and corpus also import under the MicroPython unix port (host_tests/fw/test_fuzz_replay.py)."""
