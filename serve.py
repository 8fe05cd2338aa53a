"""CNN Atlas's server: the dashboard (app.py) with Streamlit's front end served from memory.

    streamlit run serve.py

``streamlit run`` finds the ASGI app below (``st.App``, Streamlit's public server API) and serves
app.py exactly as ``streamlit run app.py`` would, with its config (.streamlit/config.toml) and
flags, plus one middleware, ``ui.static_assets.StaticAssets``: the 100–145 files of Streamlit's own
JavaScript, CSS and fonts that every new browser fetches are answered from memory, gzipped, instead
of from disk through Streamlit's static route. Measured with benchmarks/bench_hall.py, that is most
of a new session's server CPU. ``streamlit run app.py`` still works, at that cost.
"""
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config, file_util

from ui.static_assets import StaticAssets

_base = config.get_option("server.baseUrlPath").strip("/")
app = st.App("app.py", middleware=[
    Middleware(StaticAssets, directory=Path(file_util.get_static_dir()) / "static",
               prefix=f"/{_base}/static/" if _base else "/static/"),
])
