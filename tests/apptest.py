"""The app, or one page, under Streamlit's AppTest on a given database, with someone signed in."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from pages.components import ACTOR_KEY, SIGNED_IN_KEY
from services.access.sign_in import SignedIn, load_actor
from services.cli.bootstrap import open_store
from services.settings import Settings
from tests.paths import ROOT


def open_app(monkeypatch, url: str, script: str = "app.py", *, user: str | None = "operator", **query: str) -> AppTest:
    """The app (or the page `script`, a path from the project root) on the database `url`, with a
    URL query string, not yet run, and `user` of the demo county signed in (None: nobody)."""
    monkeypatch.setenv("DATABASE_URL", url)
    app = AppTest.from_file(str(ROOT / script), default_timeout=60)
    for name, value in query.items():
        app.query_params[name] = value
    if user is not None:
        now = dt.datetime.now(dt.UTC)
        app.session_state[SIGNED_IN_KEY] = SignedIn("130532", user, now, now)
        store = open_store(Settings.from_env({"DATABASE_URL": url}))
        with store.session_factory() as session:
            app.session_state[ACTOR_KEY] = load_actor(session, "130532", user)  # for a page run on its own
        store.engine.dispose()
    return app
