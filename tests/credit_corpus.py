"""Credit tables nobody on the team prepared, generated with fixed seeds: the shapes real data comes in.

Each entry: (file name, label column, positive class, what it exercises, builder). Between them they
cover numeric and text labels, ids and dates among the columns, boolean columns, names with spaces,
slashes and accents, missing values in numeric and categorical columns, a rare positive class (5 %),
300 to 50,000 rows, and a table on which the second candidate (boosting) wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _gaps(rng, values, share):
    values = pd.Series(values).astype(object)
    values[rng.random(len(values)) < share] = np.nan
    return values


def gaps_and_text_labels(rng) -> pd.DataFrame:
    """Gaps in numeric and text columns (undeclared income, unknown job), labels 'yes'/'no'."""
    n = 2000
    income = rng.normal(50, 15, n)
    age = rng.integers(19, 75, n)
    job = rng.choice(["skilled", "unskilled", "management", "self-employed"], n)
    home = rng.choice(["RENT", "OWN", "MORTGAGE"], n)
    risk = (
        -0.05 * income
        - 0.02 * age
        + (home == "RENT") * 0.7
        + (job == "unskilled") * 0.5
        + rng.normal(0, 1, n)
    )
    return pd.DataFrame({
        "monthly income": _gaps(rng, income.round(1), 0.15), "age": _gaps(rng, age, 0.05),
        "months employed": rng.integers(0, 240, n), "job": _gaps(rng, job, 0.10),
        "home ownership": _gaps(rng, home, 0.08), "Default": np.where(risk > np.quantile(risk, 0.8), "yes", "no"),
    })  # fmt: skip


def rare_numeric_labels(rng) -> pd.DataFrame:
    """5 % positives as 0/1, an id column, a date column, a boolean column with gaps."""
    n = 3000
    amount = rng.gamma(2, 5000, n)
    rate = rng.uniform(2, 20, n)
    guarantor = rng.random(n) < 0.3
    risk = 0.00005 * amount + 0.15 * rate - guarantor * 1.0 + rng.normal(0, 1, n)
    return pd.DataFrame({
        "loan_id": [f"L{i:06d}" for i in range(n)],
        "application_date": (pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")).strftime("%Y-%m-%d"),
        "amount": amount.round(2), "interest_rate": _gaps(rng, rate.round(2), 0.03),
        "has_guarantor": _gaps(rng, guarantor, 0.05), "term_months": rng.choice([12, 24, 36, 60], n),
        "default_flag": (risk > np.quantile(risk, 0.95)).astype(int),
    })  # fmt: skip


def odd_names_small(rng) -> pd.DataFrame:
    """300 rows; column names with accents, slashes, spaces, symbols and a leading digit."""
    n = 300
    duration = rng.integers(6, 72, n)
    ratio = rng.uniform(0, 0.8, n)
    age = rng.integers(20, 70, n)
    risk = 0.03 * duration + 3 * ratio - 0.03 * age + rng.normal(0, 0.8, n)
    return pd.DataFrame({
        "durée (mois)": duration, "taux/endettement": _gaps(rng, ratio.round(3), 0.05), "Âge": age,
        "Revenu mensuel €": rng.normal(2500, 700, n).round(0), "1er crédit": rng.choice(["oui", "non"], n),
        "Statut": np.where(risk > np.quantile(risk, 0.7), "mauvais", "bon"),
    })  # fmt: skip


def boosting_wins(rng) -> pd.DataFrame:
    """The label depends on an interaction no linear model can draw: the second candidate wins."""
    n = 4000
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    noise = rng.normal(0, 1, (n, 3))
    bad = (a * b > 0.05) ^ (rng.random(n) < 0.05)
    return pd.DataFrame({
        "utilisation": a.round(4), "payment_delay": _gaps(rng, b.round(4), 0.02), "x1": noise[:, 0].round(3),
        "x2": noise[:, 1].round(3), "region": rng.choice(["north", "south", "east"], n), "bad": np.where(bad, "B", "G"),
    })  # fmt: skip


def large(rng) -> pd.DataFrame:
    """50,000 rows, a few columns, gaps in a numeric one."""
    n = 50_000
    score = rng.normal(600, 80, n)
    debt = rng.uniform(0, 1, n)
    risk = -0.01 * score + 2 * debt + rng.normal(0, 1, n)
    return pd.DataFrame({
        "credit_score": _gaps(rng, score.round(0), 0.04), "debt_ratio": debt.round(3),
        "open_accounts": rng.poisson(4, n), "target": (risk > np.quantile(risk, 0.85)).astype(int),
    })  # fmt: skip


CORPUS = [
    ("gaps_text_labels.csv", "Default", "yes", "gaps in numbers and text, text labels", gaps_and_text_labels),
    ("rare_numeric_labels.csv", "default_flag", "1", "5 % positives, 0/1 labels, id, date, boolean", rare_numeric_labels),
    ("odd_names_small.csv", "Statut", "mauvais", "300 rows, accents/slashes/spaces in names", odd_names_small),
    ("boosting_wins.csv", "bad", "B", "an interaction: boosting wins", boosting_wins),
    ("large.csv", "target", "1", "50,000 rows", large),
]  # fmt: skip


def write(folder, name: str):
    """Write the named table (same seed every time) and return its path."""
    for seed, (file, _, _, _, build) in enumerate(CORPUS):
        if file == name:
            path = folder / file
            build(np.random.default_rng(100 + seed)).to_csv(path, index=False)
            return path
    raise KeyError(name)
