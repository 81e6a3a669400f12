"""Survival: the DeepSurv recipe, Cox / RSF baselines on the same folds, metrics, predictions.

The deep model is an ensemble of small MLPs trained on the Cox partial likelihood
(Katzman et al. 2018, "DeepSurv"), each on a bootstrap resample so that the members'
spread gives an uncertainty band; each member keeps its Breslow baseline hazard, so
``S(t|x) = exp(-H0(t) exp(r(x)))``. Metrics come from scikit-survival: Harrell's and
Uno's concordance and the integrated Brier score.
"""

from __future__ import annotations

import time as _time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from core.errors import InputError
from core.prognosis.datasets import DAYS_PER_YEAR, SurvivalData
from core.prognosis.tabular import Encoder, Schema
from core.trainloop import training_device

SURVIVAL_YEARS = (1, 3, 5)


@dataclass(frozen=True)
class DeepSurvRecipe:
    """Hyper-parameters of the deep survival model (kept in the card, replayed per fold)."""

    hidden: tuple[int, ...] = (32,)
    dropout: float = 0.1
    members: int = 10
    epochs: int = 100
    lr: float = 5e-3
    weight_decay: float = 1e-2
    bootstrap: bool = True
    n_times: int = 100

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DeepSurvRecipe":
        data = dict(data)
        data["hidden"] = tuple(data.get("hidden", (32,)))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def cox_loss(log_risk: torch.Tensor, time: torch.Tensor, event: torch.Tensor) -> torch.Tensor:
    """Negative Cox partial log-likelihood (Breslow ties), mean over events."""
    order = torch.argsort(time, descending=True)
    r, t, e = log_risk[order], time[order], event[order]
    log_cum = torch.logcumsumexp(r, dim=0)
    # tied times share one risk set: use the cumulative sum at the last member of each tie
    last = torch.searchsorted(-t, -t, right=True) - 1
    log_risk_set = log_cum[last]
    n_events = e.sum().clamp(min=1)
    return -((r - log_risk_set) * e).sum() / n_events


def breslow(log_risk: np.ndarray, time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breslow cumulative baseline hazard at the distinct event times: ``(times, H0)``."""
    event_times = np.unique(time[event])
    risk = np.exp(log_risk)
    order = np.argsort(time)
    t_sorted, r_sorted = time[order], risk[order]
    at_risk = np.cumsum(r_sorted[::-1])[::-1]  # sum of risk over T_i >= t_sorted[k]
    first = np.searchsorted(t_sorted, event_times, side="left")
    deaths = np.array([np.sum((time == t) & event) for t in event_times], float)
    return event_times, np.cumsum(deaths / at_risk[first])


def cumhaz_at(times: np.ndarray, event_times: np.ndarray, cumhaz: np.ndarray) -> np.ndarray:
    """Right-continuous step function H0 evaluated at ``times``."""
    idx = np.searchsorted(event_times, times, side="right") - 1
    return np.where(idx >= 0, cumhaz[np.clip(idx, 0, None)], 0.0)


def fit_deepsurv(x: np.ndarray, time: np.ndarray, event: np.ndarray, recipe: DeepSurvRecipe,
                 seed: int = 0) -> torch.nn.Module:
    """Train the ensemble on encoded features on ``training_device()`` (``MEDLENS_DEVICE``);
    returns an eval-mode ``DeepSurvEnsemble`` on the CPU."""
    from models.prognosis_nets import DeepSurvEnsemble

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = training_device()
    model = DeepSurvEnsemble(x.shape[1], recipe.hidden, recipe.dropout, recipe.members, recipe.n_times)
    grid = np.linspace(0.0, float(time.max()), recipe.n_times)
    xt = torch.from_numpy(x.astype(np.float32)).to(device)
    for m, net in enumerate(model.nets):
        idx = rng.integers(0, len(x), len(x)) if recipe.bootstrap else np.arange(len(x))
        xb = xt[torch.from_numpy(idx).to(device)]
        tb, eb = (torch.from_numpy(v[idx]).float().to(device) for v in (time, event))
        net.to(device)
        optimiser = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        net.train()
        for _ in range(recipe.epochs):
            loss = cox_loss(net(xb).squeeze(-1), tb, eb)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            r = net(xt).squeeze(-1).cpu().numpy().astype(float)
        net.cpu()  # the ensemble is assembled and saved on the CPU
        offset = float(r.mean())
        model.risk_offset[m] = offset
        event_times, h0 = breslow(r - offset, time, event)
        model.base_cumhaz[m] = torch.from_numpy(cumhaz_at(grid, event_times, h0)).float()
        model._breslow = getattr(model, "_breslow", []) + [(event_times, h0)]  # exact steps for metrics
    model.times.copy_(torch.from_numpy(grid).float())
    return model.eval()


def ensemble_log_risk(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Mean log-risk over members, ``(N,)``."""
    with torch.no_grad():
        return model(torch.from_numpy(x.astype(np.float32))).mean(dim=1).numpy().astype(float)


def deepsurv_survival_at(model: torch.nn.Module, x: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Ensemble-mean ``S(t|x)`` at arbitrary ``times`` (exact Breslow steps), ``(N, len(times))``."""
    with torch.no_grad():
        risk = model(torch.from_numpy(x.astype(np.float32))).exp().numpy()  # (N, M)
    curves = [np.exp(-cumhaz_at(times, et, h0)[None, :] * risk[:, m:m + 1])
              for m, (et, h0) in enumerate(model._breslow)]
    return np.mean(curves, axis=0)


# ---------------------------------------------------------------- metrics and cross-validation

def _structured(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    from sksurv.util import Surv

    return Surv.from_arrays(event=event.astype(bool), time=time.astype(float))


def score_fold(y_train: np.ndarray, y_test: np.ndarray, risk: np.ndarray,
               surv_fn: Any, x_test: np.ndarray) -> dict[str, float]:
    """Harrell's C, Uno's C (tau = 80th percentile of training times) and IBS on one fold.

    The IBS grid runs over 20 times from the 10th to the 80th percentile of the test times
    (capped at tau); test patients followed past the training fold's last time are left
    out of the IBS only (rare; the censoring weights are undefined there).
    """
    from sksurv.metrics import concordance_index_censored, concordance_index_ipcw, integrated_brier_score

    event, time = y_test[y_test.dtype.names[0]], y_test[y_test.dtype.names[1]]
    harrell = concordance_index_censored(event, time, risk)[0]
    tau = float(np.percentile(y_train[y_train.dtype.names[1]], 80))
    uno = concordance_index_ipcw(y_train, y_test, risk, tau=tau)[0]
    lo, hi = np.percentile(time, [10, 80])
    times = np.linspace(min(lo, tau), min(hi, tau), 20)
    # the censoring KM is fitted on the training fold: test times past its last time cannot be weighted
    inside = time < y_train[y_train.dtype.names[1]].max()
    ibs = integrated_brier_score(y_train, y_test[inside], surv_fn(x_test[inside], times), times)
    return {"harrell": float(harrell), "uno": float(uno), "ibs": float(ibs)}


def _step_fns_at(fns: Any, times: np.ndarray) -> np.ndarray:
    return np.asarray([fn(times) for fn in fns])


def cross_validate(data: SurvivalData, recipe: DeepSurvRecipe, k: int = 5, seeds: tuple[int, ...] = (0,),
                   models: tuple[str, ...] = ("deepsurv", "cox")) -> dict[str, Any]:
    """K-fold CV (stratified on the event), repeated per seed; every model on the same folds.

    The encoder is fitted on each training fold. Returns per-model means/SDs over all
    folds and per-seed means of Harrell's C, Uno's C and the IBS.
    """
    from sklearn.model_selection import StratifiedKFold
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    if k < 2 or k > len(data) // 10:
        raise InputError(f"--cv must be between 2 and {len(data) // 10} for {data.name} (got {k})")
    unknown = set(models) - {"deepsurv", "cox", "rsf"}
    if unknown:
        raise InputError(f"unknown survival model(s): {', '.join(sorted(unknown))}")
    clean = data.schema.validate(data.frame, data.name)
    y = _structured(data.time, data.event)
    folds: dict[str, list[dict[str, float]]] = {m: [] for m in models}
    per_seed: dict[str, list[float]] = {m: [] for m in models}
    started = _time.perf_counter()
    for seed in seeds:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        seed_scores: dict[str, list[float]] = {m: [] for m in models}
        for fold, (tr, te) in enumerate(splitter.split(clean, data.event)):
            enc = Encoder(data.schema).fit(clean.iloc[tr])
            x_tr, x_te = enc.transform(clean.iloc[tr]), enc.transform(clean.iloc[te])
            for name in models:
                if name == "deepsurv":
                    model = fit_deepsurv(x_tr, data.time[tr], data.event[tr], recipe, seed=seed * 100 + fold)
                    risk = ensemble_log_risk(model, x_te)
                    surv_fn = lambda x, t, m=model: deepsurv_survival_at(m, x, t)  # noqa: E731
                elif name == "cox":
                    model = CoxPHSurvivalAnalysis(alpha=1e-4, ties="breslow").fit(x_tr, y[tr])
                    risk = model.predict(x_te)
                    surv_fn = lambda x, t, m=model: _step_fns_at(m.predict_survival_function(x), t)  # noqa: E731
                else:
                    model = RandomSurvivalForest(n_estimators=200, min_samples_split=10, min_samples_leaf=15,
                                                 n_jobs=1, random_state=seed).fit(x_tr, y[tr])
                    risk = model.predict(x_te)
                    surv_fn = lambda x, t, m=model: _step_fns_at(m.predict_survival_function(x), t)  # noqa: E731
                scores = score_fold(y[tr], y[te], risk, surv_fn, x_te)
                folds[name].append(scores)
                seed_scores[name].append(scores["harrell"])
        for name in models:
            per_seed[name].append(float(np.mean(seed_scores[name])))
    summary: dict[str, Any] = {"dataset": data.name, "n": len(data), "events": int(data.event.sum()),
                               "cv": k, "seeds": list(seeds), "seconds": round(_time.perf_counter() - started, 1)}
    for name in models:
        table = pd.DataFrame(folds[name])
        summary[name] = {
            "harrell_c": round(float(table.harrell.mean()), 4), "harrell_c_sd": round(float(table.harrell.std()), 4),
            "uno_c": round(float(table.uno.mean()), 4), "uno_c_sd": round(float(table.uno.std()), 4),
            "ibs": round(float(table.ibs.mean()), 4), "ibs_sd": round(float(table.ibs.std()), 4),
            "harrell_c_per_seed": [round(v, 4) for v in per_seed[name]],
        }
    return summary


# ---------------------------------------------------------------- prediction for the page and CLI

@dataclass
class SurvivalPrediction:
    """One patient's predicted curve with its band, headline numbers and attributions."""

    times_days: np.ndarray
    survival: np.ndarray  # ensemble mean S(t)
    lower: np.ndarray
    upper: np.ndarray
    log_risk: float
    median_days: float | None
    at_years: dict[int, tuple[float, float, float]]  # year -> (mean, lower, upper)
    attributions: dict[str, float] = field(default_factory=dict)


def encoder_of(spec: Any) -> Encoder:
    return Encoder.from_json(spec.preprocessing.encoder)


def predict_table(model: torch.nn.Module, encoder: Encoder, clean: pd.DataFrame,
                  band: tuple[float, float] = (10, 90)) -> dict[str, np.ndarray]:
    """Curves for validated rows: ``survival/lower/upper`` ``(N, T)``, ``log_risk`` ``(N,)``."""
    x = torch.from_numpy(encoder.transform(clean))
    with torch.no_grad():
        curves = model.survival(x).numpy()  # (N, M, T)
        log_risk = model(x).mean(dim=1).numpy()
    return {
        "times": model.times.numpy().astype(float),
        "survival": curves.mean(axis=1),
        "lower": np.percentile(curves, band[0], axis=1),
        "upper": np.percentile(curves, band[1], axis=1),
        "log_risk": log_risk.astype(float),
    }


def _at(times: np.ndarray, curve: np.ndarray, t: float) -> float:
    idx = np.searchsorted(times, t, side="right") - 1
    return float(curve[max(idx, 0)])


def median_time(times: np.ndarray, curve: np.ndarray) -> float | None:
    """First grid time where S(t) <= 0.5; None when the curve stays above (not reached)."""
    below = np.flatnonzero(curve <= 0.5)
    return float(times[below[0]]) if below.size else None


def predict_patient(model: torch.nn.Module, encoder: Encoder, clean_row: pd.DataFrame,
                    reference: pd.DataFrame) -> SurvivalPrediction:
    """The page's prediction for one validated row, with per-field attributions.

    Attribution of a field = the change in ensemble log-risk (log hazard ratio) when that
    field alone is set to the cohort reference (median / most common level): how much this
    patient's value moves the risk away from a typical patient's.
    """
    out = predict_table(model, encoder, clean_row)
    times = out["times"]
    surv, lo, hi = out["survival"][0], out["lower"][0], out["upper"][0]
    at_years = {}
    for year in SURVIVAL_YEARS:
        t = year * DAYS_PER_YEAR
        if t <= times[-1]:
            at_years[year] = (_at(times, surv, t), _at(times, lo, t), _at(times, hi, t))
    base = float(out["log_risk"][0])
    attributions = {}
    for f in encoder.schema.fields:
        variant = clean_row.copy()
        variant[f.name] = reference[f.name].iloc[0]
        attributions[f.name] = base - float(predict_table(model, encoder, variant)["log_risk"][0])
    return SurvivalPrediction(times, surv, lo, hi, base, median_time(times, surv), at_years, attributions)


def cohort_reference(clean: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """A typical patient: numeric medians and most common levels of the cohort."""
    row = {}
    for f in schema.fields:
        column = clean[f.name]
        row[f.name] = float(column.median()) if f.kind == "numeric" else column.mode().iloc[0]
    return pd.DataFrame([row])


def risk_groups(log_risk: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """0 = low, 1 = intermediate, 2 = high, from the cohort's risk tertile cut points."""
    return np.searchsorted(cuts, log_risk, side="right")


def kaplan_meier_by_group(time: np.ndarray, event: np.ndarray, groups: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    from sksurv.nonparametric import kaplan_meier_estimator

    curves = {}
    for g in np.unique(groups):
        t, s = kaplan_meier_estimator(event[groups == g].astype(bool), time[groups == g])
        curves[int(g)] = (np.concatenate([[0.0], t]), np.concatenate([[1.0], s]))
    return curves
