"""The app, or one page, under Streamlit's AppTest on a given database, with someone signed in."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from pages.components import ACTOR_KEY, SIGNED_IN_KEY
from services.access.sign_in import SessionPolicy, SignedIn, load_actor, start_session
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
        store = open_store(Settings.from_env({"DATABASE_URL": url}))
        with store.session_factory() as session:
            actor = load_actor(session, "130532", user)
        app.session_state[ACTOR_KEY] = actor  # for a page run on its own
        app.session_state[SIGNED_IN_KEY] = (
            start_session(store.session_factory, county_code="130532", username=user, now=now, policy=SessionPolicy())
            if actor is not None
            else SignedIn("130532", user, now, now)  # nobody to sign in (an empty database): a tab-only session
        )
        store.engine.dispose()
    return app
