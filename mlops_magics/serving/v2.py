"""The Open Inference (V2) protocol's JSON, for DataFrames: one input per column, missing values as
JSON ``null`` (never ``NaN``, which is not JSON, nor the text ``"nan"``).

MLServer's own codecs (``mlserver.codecs.PandasCodec``) cannot be imported here: MLServer cannot be
installed beside current Feast (see serving/env.py). This is the small subset a DataFrame needs.
"""

from __future__ import annotations


def datatype(series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "BOOL"
    if pd.api.types.is_integer_dtype(series):
        return (
            "INT64" if not series.isna().any() else "FP64"
        )  # a nullable integer with gaps travels as double
    if pd.api.types.is_float_dtype(series):
        return "FP64"
    return "BYTES"


def _json_values(series, dtype: str) -> list:
    # one isna pass and one tolist, then plain Python: per-column pandas calls cost more than the data
    # for the 1-row requests a notebook sends
    missing = series.isna().tolist()
    values = series.tolist()
    if dtype == "INT64":
        return [int(v) for v in values]
    kind = {"BYTES": str, "FP64": float}.get(dtype, bool)
    return [None if gap else kind(v) for v, gap in zip(values, missing)]


def encode(df) -> dict:
    """A V2 inference request for a DataFrame (``content_type: pd``, as MLServer's PandasCodec reads)."""
    inputs = []
    for col in df.columns:
        s = df[col]
        dtype = datatype(s)
        inputs.append(
            {"name": str(col), "shape": [len(s)], "datatype": dtype, "data": _json_values(s, dtype)}
        )
    return {"inputs": inputs, "parameters": {"content_type": "pd"}}


def decode(response: dict):
    """The outputs of a V2 response as a DataFrame: one column per output (``prediction``,
    ``proba_<class>``), flattened per row; ``null`` stays missing."""
    import pandas as pd

    columns = {}
    for out in response.get("outputs", []):
        data, shape = out["data"], out.get("shape") or [len(out["data"])]
        rows = shape[0] if shape else len(data)
        width = len(data) // rows if rows else 1
        if width <= 1:
            columns[out["name"]] = data
        else:
            for j in range(width):
                columns[f"{out['name']}_{j}"] = data[j::width]
    return pd.DataFrame(columns)
