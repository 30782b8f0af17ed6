"""What `make run` starts (`streamlit run serve.py`): the dashboard of app.py, served by
Streamlit's own ASGI app with the security headers of web/headers.py on every response, and the
routes of the intake API, the session cookie, the map's area outlines and the health check; as it
starts it builds the county's map outlines and counts in the background (web/warm_up.py).  `streamlit run app.py`
still starts, without those: its maps say that their outlines could not be loaded."""

import contextlib
from collections.abc import AsyncIterator

import streamlit as st
from starlette.middleware import Middleware

from pages.components import STATIC_DIR
from render.assets import install_assets
from services.basemaps import tile_origins
from services.operations.logs import configure_logging
from services.settings import Settings
from web.headers import SecurityHeaders, content_security_policies, streamlit_index_hashes
from web.health import health_routes
from web.map_shapes import map_shape_routes
from web.open311 import open311_routes
from web.sessions import session_routes
from web.shared import default_store
from web.warm_up import start_warm_up

configure_logging()  # one line per event on stderr, for journald or a collector
# Before Streamlit looks for static/ at start-up (a fresh clone has none yet).
install_assets(STATIC_DIR)

page_policy, component_policy = content_security_policies(
    tile_origins=[origin for basemap in Settings.from_env().basemaps for origin in tile_origins(basemap)],
    page_script_hashes=streamlit_index_hashes(),
)


@contextlib.asynccontextmanager
async def warm_up_at_start(_app: st.App) -> AsyncIterator[None]:
    start_warm_up(default_store, Settings.from_env)
    yield None


base_path = "/".join(part for part in st.get_option("server.baseUrlPath").split("/") if part)
app = st.App(
    "app.py",
    lifespan=warm_up_at_start,
    routes=[
        *open311_routes(base_path),
        *session_routes(base_path),
        *map_shape_routes(base_path),
        *health_routes(base_path),
    ],
    middleware=[
        Middleware(
            SecurityHeaders,
            page_policy=page_policy,
            component_policy=component_policy,
            component_prefix=f"/{base_path}/component/" if base_path else "/component/",
        )
    ],
)
