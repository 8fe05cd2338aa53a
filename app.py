"""CNN Atlas: the dashboard's entry point (home page for now)."""
import streamlit as st

import zoo

st.set_page_config(page_title="CNN Atlas", layout="wide")
st.title("CNN Atlas")
st.write("The ImageNet story of convolutional networks, from AlexNet to EfficientNet.")
rows = []
for name in zoo.list_models():
    mi = zoo.info(name)
    figs = mi.figures
    rows.append({
        "model": name, "family": mi.family, "year": mi.year,
        "parameters": int(figs["params"].value) if "params" in figs else None,
        "top-1 (%)": figs["top1"].value if "top1" in figs else None,
        "top-1 source": figs["top1"].source if "top1" in figs else "",
    })
st.dataframe(rows, hide_index=True)
