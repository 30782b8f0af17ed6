"""Shared pieces of every page: the store (created once per process) and the signed-in user."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.uploaded_file_manager import UploadedFile

from render.assets import install_assets, install_tiles
from services.access.actor import Actor
from services.access.sign_in import SessionPolicy
from services.cli.bootstrap import Store, county_is_empty
from services.domain import LOCAL_TZ
from services.errors import StoreError, StoreUnavailableError
from services.mapping.areas import county_is_synthetic
from services.settings import Settings
from web.shared import store_for

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STORE_RETRY_S = 10  # while the database cannot be reached, the notice tries again this often
RETRY_ARMED_KEY = "store.retry_armed"
CALLBACK_ERROR_KEY = "store.callback_error"  # a widget callback's database error, for the next run
SIGNED_IN_KEY = "auth.signed_in"  # the SignedIn of this browser session (server-side session state)
ACTOR_KEY = "auth.actor"  # the Actor resumed from it for the current run


def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource
def _open_store(current: Settings) -> Store:
    install_assets(STATIC_DIR)
    if current.local_tiles_dir is not None:
        install_tiles(STATIC_DIR, current.local_tiles_dir)
    return store_for(current)


def store() -> Store:
    """The process-wide store of the current settings (one engine per database URL)."""
    return _open_store(settings())


def session_policy() -> SessionPolicy:
    config = settings()
    return SessionPolicy(
        idle=dt.timedelta(minutes=config.session_idle_min), lifetime=dt.timedelta(hours=config.session_hours)
    )


def current_actor() -> Actor:
    """The signed-in user, as app.py resumed their session for this run (app.py shows the
    sign-in form and stops before any page runs without one)."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        st.stop()
    return actor


def photo_dir() -> Path:
    return settings().photo_dir


def current_minute() -> dt.datetime:
    """Now, to the minute: figures move by the minute, and reruns within it share cached reads."""
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def require_data() -> None:
    if county_is_empty(store(), settings().county_code):
        st.warning("数据库中还没有本县数据。请运行 `make run`（会自动生成演示县），或 `python -m services.cli demo`。")
        st.stop()


def show_store_error(error: StoreError) -> None:
    """The store's Chinese message in place of what failed (the server log has the details).
    While the database cannot be reached, the whole app runs again every STORE_RETRY_S seconds,
    so an unattended page (the wall screen) comes back by itself."""
    if not isinstance(error, StoreUnavailableError):
        st.error(str(error))
        return
    st.warning(f"{error}。页面将每 {STORE_RETRY_S} 秒自动重试，恢复后自动显示。", icon="⚠️")
    _retry_later()


@st.fragment(run_every=STORE_RETRY_S)
def _retry_later() -> None:
    if st.session_state.pop(RETRY_ARMED_KEY, False):  # a timed run, not the first one
        st.rerun(scope="app")
    st.session_state[RETRY_ARMED_KEY] = True


def guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """A widget callback whose database error the next run shows (callbacks run before app.py's
    guard: an error raised there would end the run with Streamlit's own error box)."""

    @functools.wraps(callback)
    def run(*args: object, **kwargs: object) -> None:
        try:
            callback(*args, **kwargs)
        except StoreError as error:
            st.session_state[CALLBACK_ERROR_KEY] = str(error)

    return run


def show_callback_error() -> None:
    message = st.session_state.pop(CALLBACK_ERROR_KEY, None)
    if message:
        st.error(message)


@dataclasses.dataclass(frozen=True)
class AppPage:
    """One entry of the app's navigation (app.py); `permission`: what a role needs to be offered it."""

    section: str
    script: str
    title: str
    url_path: str
    permission: str | None = None


def store_error_navigation(error: StoreError, pages: Sequence[AppPage], default: str) -> StreamlitPage:
    """While the database failed before a page could be chosen: the notice under every page's
    address, so that the page asked for comes back by itself (and with a navigation of its own:
    without one, Streamlit would list every file in pages/)."""

    def notice() -> None:
        st.title("民情地图")
        show_store_error(error)

    return st.navigation(
        [st.Page(notice, title=p.title, url_path=p.url_path, default=p.url_path == default) for p in pages],
        position="hidden",
    )


@contextlib.contextmanager
def uploaded_file(upload: UploadedFile) -> Iterator[Path]:
    """An uploaded file on disk under its own name (the readers go by the file's suffix)."""
    with tempfile.TemporaryDirectory(prefix="minqing-upload-") as folder:
        path = Path(folder) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        yield path


SYNTHETIC_NOTE = "演示数据：平乡县县界与乡镇代码为真实数据，乡镇以下区域、住户、人员、事件与轨迹均为合成。"


def synthetic_note() -> str:
    """SYNTHETIC_NOTE while the county shown is the synthetic demo; '' on a county's own data."""
    return SYNTHETIC_NOTE if county_is_synthetic(store().session_factory, settings().county_code) else ""


def compact_metrics() -> None:
    """Smaller metric numbers, so that a side panel fits three figures in a row."""
    st.html("<style>[data-testid='stMetricValue'] { font-size: 1.55rem; }</style>")


def local_times(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: every instant as Beijing time text (stored instants are UTC)."""
    instants = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    return frame.assign(**{c: frame[c].dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d %H:%M:%S") for c in instants})


def blank_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: a missing value (a worker outside 十佳 has no place) as an empty cell,
    not Streamlit's "None"."""
    missing = frame.isna()
    columns = [column for column in frame.columns if missing[column].any()]
    return frame.astype({column: object for column in columns}).mask(missing, "") if columns else frame
