"""Use cases of 民情地图. Never imports streamlit: pages call these functions and show the result."""
