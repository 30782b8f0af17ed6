"""Shared pieces of every page: the store (created once per process) and the current user's scope."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import streamlit as st

from geo.assets import install_assets, install_tiles
from services.bootstrap import Store, county_is_empty, open_store
from services.privacy import Clearance
from services.scope import Scope
from services.settings import Settings
from services.users import list_actors
from services.workflow import Actor

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource
def _open_store(current: Settings) -> Store:
    install_assets(STATIC_DIR)
    if current.local_tiles_dir is not None:
        install_tiles(STATIC_DIR, current.local_tiles_dir)
    return open_store(current)


def store() -> Store:
    """The process-wide store of the current settings (one engine per database URL)."""
    return _open_store(settings())


def current_scope() -> Scope:
    """The caller's scope; the whole county until sign-in arrives (issue 8)."""
    return Scope.whole_county(settings().county_code)


def current_clearance() -> Clearance:
    """What the caller may see of personal data.  Until sign-in (issue 8) the dashboard acts as
    the county command centre: cleared for key-person tags, not for residents' names and phones."""
    return Clearance(personal_data=False, key_persons=True)


def photo_dir() -> Path:
    return settings().data_dir / "photos"


def current_actor() -> Actor:
    """Who acts: picked in the sidebar until sign-in arrives (issue 8)."""
    actors = _actors(settings().database_url, settings().county_code)
    if not actors:
        return Actor("desk", "值班员")
    by_name = {a.username: a for a in actors}
    default = "supervisor" if "supervisor" in by_name else actors[0].username
    chosen = st.sidebar.selectbox(
        "当前操作人（登录功能上线前）",
        list(by_name),
        index=list(by_name).index(default),
        format_func=lambda u: by_name[u].label,
        key="actor",
    )
    return by_name[chosen]


@st.cache_data(ttl=300, show_spinner=False)
def _actors(url: str, county_code: str) -> list[Actor]:
    return list_actors(store().session_factory, county_code=county_code)


def current_minute() -> dt.datetime:
    """Now, to the minute: figures move by the minute, and reruns within it share cached reads."""
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


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


def compact_metrics() -> None:
    """Smaller metric numbers, so that a side panel fits three figures in a row."""
    st.html("<style>[data-testid='stMetricValue'] { font-size: 1.55rem; }</style>")
