"""Composition root of 民情地图: page set-up and navigation."""

import streamlit as st

from pages.components import store

st.set_page_config(page_title="民情地图", page_icon="🗺️", layout="wide")
store()  # create the engine and bring the schema up to date once, before any page runs

navigation = st.navigation(
    {
        "": [
            st.Page("pages/map_page.py", title="民情地图", url_path="map", default=True),
            st.Page("pages/queue_page.py", title="案件队列", url_path="queue"),
            st.Page("pages/compliance_page.py", title="巡查考核", url_path="compliance"),
        ],
        "管理": [st.Page("pages/import_page.py", title="数据导入", url_path="import")],
    }
)
navigation.run()
