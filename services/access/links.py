"""Signed links: an address the app hands one signed-in user — the map's area outlines
(web/map_shapes.py) — that names that user and that content, and that nobody can make for another
user, another basemap or other content without the server's key.

The key is the LINK_KEY setting; without one, a random key kept in `DATA_DIR/link.key` (made on
first use, readable by the app's user only).  Several servers behind one address need the same
key, so set LINK_KEY there.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from pathlib import Path

from services.settings import Settings

KEY_FILE = "link.key"
SIGNATURE_HEX = 32  # 128 bits of HMAC-SHA256: far beyond guessing, short in a URL
SIGNATURE = re.compile(f"[0-9a-f]{{{SIGNATURE_HEX}}}")
MIN_KEY_BYTES = 32
_keys: dict[Path, bytes] = {}


def link_key(settings: Settings) -> bytes:
    """The key links are signed with; a key too short to be secret is refused."""
    if settings.link_key:
        key = settings.link_key.encode()
        where = "LINK_KEY"
    else:
        path = settings.data_dir / KEY_FILE
        if path not in _keys:
            _keys[path] = _kept_key(path)
        key, where = _keys[path], str(path)
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"{where} 太短：链接签名密钥至少 {MIN_KEY_BYTES} 个字符")
    return key


def _kept_key(path: Path) -> bytes:
    """The key in `path`, made first if there is none.  Written whole under a temporary name and
    linked into place, so a second process starting at the same moment reads the winner's key,
    never a half-written one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".link-", delete=False) as draft:
            draft.write(secrets.token_hex(32).encode())
        try:
            os.chmod(draft.name, 0o600)
            _link_or_create(Path(draft.name), path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft.name)
    return path.read_bytes().strip()


def _link_or_create(draft: Path, path: Path) -> None:
    """`path` becomes `draft`'s content, only if it does not exist (FileExistsError otherwise)."""
    try:
        os.link(draft, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: create it exclusively (a reader may wait)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as kept:
            kept.write(draft.read_bytes())


def sign_link(key: bytes, *parts: str) -> str:
    """The signature of a link naming `parts` (in order)."""
    message = "\x1f".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def link_is_signed(key: bytes, signature: str, *parts: str) -> bool:
    if not SIGNATURE.fullmatch(signature):  # compare_digest refuses text that is not ASCII
        return False
    return hmac.compare_digest(sign_link(key, *parts), signature)
