"""Tooling run from a checkout's root as modules (``python -m scripts.bench.latency``):
``bench`` (benchmarks) and ``build`` (the builders of generated files the package ships) are
product tooling; ``eval`` is research and evaluation (corpora, held-out sets, experiments).
The builders read their training splits through ``eval``'s corpus loaders; nothing in
``eval`` is shipped or imported by the package."""
