"""Composition root of 民情地图: page set-up, the sign-in gate and the pages of the user's role."""

import streamlit as st

from pages.components import require_data, store
from pages.sign_in import require_signed_in, show_account

st.set_page_config(page_title="民情地图", page_icon="🗺️", layout="wide")
store()  # create the engine and bring the schema up to date once, before any page runs
require_data()  # an empty database has nobody to sign in: say how to create the demo
actor = require_signed_in()
show_account(actor)

# The wall screen opens http://host:8501/?view=screen: as the default page it needs no deep link
# (a deep link to another page shows a spurious "Page not found" in headless mode, streamlit#8860).
wall = st.query_params.get("view") == "screen"
pages = {
    "": [
        st.Page("pages/map_page.py", title="民情地图", url_path="map", default=not wall),
        st.Page("pages/queue_page.py", title="案件队列", url_path="queue"),
        st.Page("pages/compliance_page.py", title="巡查考核", url_path="compliance"),
        st.Page("pages/screen_page.py", title="指挥大屏", url_path="screen", default=wall),
    ],
    "管理": [
        page
        for page, permission in (
            (st.Page("pages/import_page.py", title="数据导入", url_path="import"), "import_data"),
            (st.Page("pages/users_page.py", title="用户管理", url_path="users"), "manage_users"),
            (st.Page("pages/audit_page.py", title="审计日志", url_path="audit"), "read_audit"),
        )
        if actor.may(permission)
    ],
}
st.navigation({section: listed for section, listed in pages.items() if listed}).run()
