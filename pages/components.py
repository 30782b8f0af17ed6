"""Shared pieces of every page: the store (created once per process) and the current user's scope."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import streamlit as st

from geo.assets import install_assets
from services.bootstrap import Store, county_is_empty, open_store
from services.scope import Scope
from services.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource
def _open_store(current: Settings) -> Store:
    install_assets(STATIC_DIR)
    return open_store(current)


def store() -> Store:
    """The process-wide store of the current settings (one engine per database URL)."""
    return _open_store(settings())


def current_scope() -> Scope:
    """The caller's scope; the whole county until sign-in arrives (issue 8)."""
    return Scope.whole_county(settings().county_code)


def require_data() -> None:
    if county_is_empty(store(), settings().county_code):
        st.warning("数据库中还没有本县数据。请运行 `make run`（会自动生成演示县），或 `python -m services.cli demo`。")
        st.stop()


@contextlib.contextmanager
def uploaded_file(upload) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """An uploaded file on disk under its own name (the readers go by the file's suffix)."""
    with tempfile.TemporaryDirectory(prefix="minqing-upload-") as folder:
        path = Path(folder) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        yield path


SYNTHETIC_NOTE = "演示数据：平乡县县界与乡镇代码为真实数据，乡镇以下区域、住户、人员、事件与轨迹均为合成。"
