"""mbox and Maildir files (mail/archive.py): what is written reads back with the same bytes,
flags and date; the format is detected; bad paths are clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agenticmail.errors import InvalidRequest
from agenticmail.mail import archive

RAW = (b"From: a@example.org\nTo: b@example.org\nSubject: hi\nMessage-ID: <1@example.org>\n"
       b"Date: Mon, 02 Mar 2026 09:00:00 +0000\n\nline one\nline two\n")
WHEN = datetime(2026, 3, 2, 9, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize("fmt", archive.FORMATS)
def test_round_trip_keeps_bytes_flags_and_date(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"box.{fmt}"
    items = [archive.Archived(RAW, ("\\Seen", "\\Flagged"), WHEN),
             archive.Archived(RAW.replace(b"<1@", b"<2@"), (), WHEN),
             archive.Archived(RAW.replace(b"<1@", b"<3@").replace(b"\n", b"\r\n"),
                              ("\\Answered",), WHEN)]
    with archive.writer(path, fmt) as out:
        for item in items:
            out.add(item)
    assert (path.stat().st_mode & 0o777) == (0o700 if fmt == "maildir" else 0o600)
    found, count, messages = archive.read(path)
    assert (found, count) == (fmt, 3)
    got = sorted(messages, key=lambda m: m.raw)
    want = sorted(items, key=lambda m: m.raw)
    for g, w in zip(got, want, strict=True):
        assert g.raw == w.raw.replace(b"\r\n", b"\n")
        assert set(g.flags) == set(w.flags)
        assert g.date == WHEN


def test_detection_and_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "dir").mkdir()
    for path, code in ((tmp_path / "notes.txt", "unknown_archive"),
                       (tmp_path / "dir", "unknown_archive"),
                       (tmp_path / "missing", "not_found")):
        with pytest.raises(InvalidRequest) as caught:
            archive.read(path)
        assert caught.value.code == code
    with pytest.raises(InvalidRequest) as caught, archive.writer(tmp_path / "notes.txt", "mbox"):
        pass
    assert caught.value.code == "archive_exists"
    with pytest.raises(InvalidRequest) as caught, archive.writer(tmp_path / "x", "zip"):
        pass
    assert caught.value.code == "unknown_archive"
