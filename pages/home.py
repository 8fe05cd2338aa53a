"""Home: the ILSVRC-era timeline, 2012 → 2021, of the architectures the course follows.

Each entry gives the year, the idea it introduced (with the paper section it comes from), its
published ImageNet top-1 (cited, from assets/published.csv) and its parameter count (computed by
zoo on the meta device). Clicking a point on the chart, or an entry's link, opens the explorer on
that model. The entries themselves are data: assets/timeline.csv.
"""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from zoo import fmt
from ui import page
from ui import explore as ux
from ui import state

EXPLORER = "pages/explorer.py"


def explorer_link(row: dict) -> dict:
    return {"model": row["model"]}


def open_link(container, row: dict) -> None:
    """A link to the explorer on ``row``'s model; a plain URL when the page runs outside the router."""
    try:
        container.page_link(EXPLORER, label="Open in explorer", icon=":material/account_tree:", query_params=explorer_link(row))
    except StreamlitAPIException:  # AppTest of this file alone: no st.navigation, no registered pages
        q = "&".join(f"{k}={v}" for k, v in explorer_link(row).items())
        container.markdown(f"[Open in explorer](/explorer?{q})")


def timeline_figure():
    return ux.timeline_figure(state.timeline())


def picked_model(event) -> str | None:
    """The model a click on the timeline picked: Streamlit reports the point selection
    ``ux.PICK`` as a list of the selected points' fields (``[{"model": "resnet50"}]``)."""
    picked = ((event or {}).get("selection") or {}).get(ux.PICK) or []
    first = picked[0] if isinstance(picked, list) and picked else None
    return first.get("model") if isinstance(first, dict) else None


def chart(rows: list[dict]) -> None:
    event = page.shared_chart(timeline_figure, key="timeline", on_select="rerun", selection_mode=ux.PICK)
    model = picked_model(event)
    if model:
        row = next((r for r in rows if r["model"] == model), None)
        if row:
            try:
                st.switch_page(EXPLORER, query_params=explorer_link(row))
            except StreamlitAPIException:
                st.info(f"Open {row['label']} in the explorer with the link in its entry below.")
    page.cite("Top-1 as published: the paper's figure where it gives one, otherwise the torchvision or timm "
              "weights' (each entry below cites it). Protocols differ (ResNet: 10-crop; EfficientNet: single "
              "crop). Parameters: counted by CNN Atlas on the meta device.")
    page.note("Click a point to open that model in the explorer.")


def entries(rows: list[dict]) -> None:
    for r in sorted(rows, key=lambda r: (r["year"], r["dx"])):
        with st.container(border=True):
            top1 = f"{r['top1']:.1f} % top-1" if r["top1"] is not None else "top-1 not published"
            st.markdown(f"**{r['year']} · {r['label']}** — {r['idea']}  \n"
                        f"{top1} · {fmt.fmt_params(r['params'])} parameters · {r['event']}")
            with page.row(vertical_alignment="center"):
                open_link(st, r)
                page.cite(f"Top-1: {r['top1_source']} · Idea: {r['idea_source']} · Event: {r['event_source']}")


def main() -> None:
    st.title("CNN Atlas: the ImageNet story, 2012 → 2021")
    st.markdown("From AlexNet's ILSVRC-2012 win to EfficientNet and ResNet-RS: what each architecture "
                "added, what it cost and what it bought. Every count on these pages is computed by CNN Atlas's "
                "own PyTorch models; every accuracy is a published figure with its source.")
    rows = state.timeline()
    if not rows:
        st.warning("No timeline model is registered in zoo yet.")
        return
    chart(rows)
    st.subheader("Entries")
    entries(rows)


state.ensure_router()
main()
