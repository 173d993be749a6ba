"""The Open Inference (V2) protocol's JSON, for DataFrames: one input per column.

MLServer's own codecs (``mlserver.codecs.PandasCodec``) cannot be imported here: MLServer cannot be
installed beside current Feast (see serving/env.py). This is the small subset a DataFrame needs.
"""

from __future__ import annotations


def _datatype(series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "BOOL"
    if pd.api.types.is_integer_dtype(series):
        return "INT64"
    if pd.api.types.is_float_dtype(series):
        return "FP64"
    return "BYTES"


def encode(df) -> dict:
    """A V2 inference request for a DataFrame (``content_type: pd``, as MLServer's PandasCodec reads)."""
    inputs = []
    for col in df.columns:
        s = df[col]
        dtype = _datatype(s)
        data = s.astype(str).tolist() if dtype == "BYTES" else s.tolist()
        inputs.append({"name": str(col), "shape": [len(s)], "datatype": dtype, "data": data})
    return {"inputs": inputs, "parameters": {"content_type": "pd"}}


def decode(response: dict):
    """The outputs of a V2 response as a DataFrame (one column per output, flattened per row)."""
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
