"""Research and evaluation: corpora loaders, held-out sets, the filter and DLP evaluations,
experiments. Needs ``pip install -e '.[eval]'``; corpora are cached in
``~/.cache/agenticmail-eval``."""
