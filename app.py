"""Composition root of 民情地图: page set-up and navigation."""

import streamlit as st

from pages.components import store

st.set_page_config(page_title="民情地图", page_icon="🗺️", layout="wide")
store()  # create the engine and bring the schema up to date once, before any page runs

# The wall screen opens http://host:8501/?view=screen: as the default page it needs no deep link
# (a deep link to another page shows a spurious "Page not found" in headless mode, streamlit#8860).
wall = st.query_params.get("view") == "screen"
navigation = st.navigation(
    {
        "": [
            st.Page("pages/map_page.py", title="民情地图", url_path="map", default=not wall),
            st.Page("pages/queue_page.py", title="案件队列", url_path="queue"),
            st.Page("pages/compliance_page.py", title="巡查考核", url_path="compliance"),
            st.Page("pages/screen_page.py", title="指挥大屏", url_path="screen", default=wall),
        ],
        "管理": [st.Page("pages/import_page.py", title="数据导入", url_path="import")],
    }
)
navigation.run()
