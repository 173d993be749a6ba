"""``predict``: a DataFrame through a local deployment, checked against the model's signature first.

One pooled HTTP client per endpoint (no TLS set-up, no readiness round trip per call: a refused
connection is when the deployment's status is looked up). A request the server refuses is one line
saying why; a server fault keeps its log tail.
"""

from __future__ import annotations

from pathlib import Path

from .. import servers
from ..errors import ServerError, UserInputError
from . import v2
from .deployments import get, record

_clients: dict[str, object] = {}
INTEGER, NUMBER, TEXT, BOOLEAN = ("long", "integer"), ("double", "float"), ("string",), ("boolean",)


def _client(url: str):
    import httpx

    if url not in _clients:
        _clients[url] = httpx.Client(base_url=url, timeout=60, trust_env=False)
    return _clients[url]


def check_frame(df, inputs: list[dict]):
    """The frame as the signature wants it (columns in order, whole floats as integers), or one line
    naming the columns that are missing, extra or of the wrong type."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame) or df.empty:
        raise UserInputError("%deploy predict needs a non-empty DataFrame of the model's input columns")
    if not inputs:
        return df
    names = [c["name"] for c in inputs]
    missing = [n for n in names if n not in df.columns]  # "optional" in a signature means nullable values
    extra = [str(c) for c in df.columns if c not in names]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(map(repr, missing))}")
    if extra:
        problems.append(f"extra {', '.join(map(repr, extra))} (drop them)")
    kept = [n for n in names if n in df.columns]
    out = df if list(df.columns) == kept else df[kept]
    changed: dict = {}  # converted columns, set on a copy at the end (a frame that fits is sent as is)
    wrong = []
    for c in inputs:
        if c["name"] not in out.columns:
            continue
        s, kind = out[c["name"]], c["type"]
        if kind in INTEGER:
            whole = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.notna().all() \
                and (s == s.round()).all()  # fmt: skip
            if not whole:
                wrong.append(f"{c['name']!r} must be whole numbers with no gaps (the model's {kind} column)")
            else:
                changed[c["name"]] = s.astype("int64")
        elif kind in NUMBER:
            if pd.api.types.is_bool_dtype(s) or (
                s.dtype == object and s.dropna().map(lambda v: isinstance(v, bool)).all()
            ):
                changed[c["name"]] = s.astype("boolean").to_numpy(
                    dtype="float64", na_value=float("nan")
                )  # as trained
            elif not pd.api.types.is_numeric_dtype(s):
                if s.notna().any():
                    wrong.append(f"{c['name']!r} must be numbers ({kind}), got {s.dtype}")
                else:  # no value at all: a column of gaps
                    changed[c["name"]] = s.astype("float64")
        elif kind in TEXT:
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and s.notna().any():
                wrong.append(f"{c['name']!r} must be text (string), got {s.dtype}")
            else:
                changed[c["name"]] = s.astype(object).where(s.notna(), None)
    if wrong:
        problems.append("wrong type: " + "; ".join(wrong))
    if problems:
        raise UserInputError("the frame does not fit the model's signature: " + "; ".join(problems))
    if changed:
        out = out.copy()
        for name, values in changed.items():
            out[name] = values
    return out


def predict(name: str, df, timeout: float = 60, config=None):
    """Send a DataFrame through the deployment's V2 endpoint; the outputs (``prediction``,
    ``proba_<class>``) as a DataFrame, one row per input row."""
    import httpx

    dep = record(name, config)
    body = v2.encode(check_frame(df, dep.inputs))
    path = f"/v2/models/{dep.name}/infer"
    try:
        r = _client(dep.url).post(path, json=body, timeout=timeout)
    except httpx.TransportError as exc:
        status = get(name, config)
        if status.status != "READY":
            raise UserInputError(f"deployment {name!r} is {status.status}"
                                 f"{f' ({status.reason})' if status.reason else ''}; start it again with "
                                 f"%deploy {dep.model_uri} --name {name}") from None  # fmt: skip
        raise ServerError(f"POST {dep.infer_url}", exc, servers.log_tail(Path(dep.log))) from exc
    if 400 <= r.status_code < 500:
        try:
            reason = r.json().get("error") or r.json().get("detail")
        except ValueError:
            reason = r.text[:300]
        raise UserInputError(f"deployment {name!r} refused the request (HTTP {r.status_code}): {reason}")
    if r.status_code != 200:
        raise ServerError(
            f"POST {dep.infer_url}", f"HTTP {r.status_code}: {r.text[:500]}", servers.log_tail(Path(dep.log))
        )
    return v2.decode(r.json())
