"""One browser tab's run, and the bounded store of them.

A :class:`Run` holds what a tab trains: the data (generated from the settings or
uploaded), the network, its objective and a ``loop.Trainer`` (``deltaprop.trainer``),
which Play and Step advance with ``step_once()``. Every number it reports comes from
the library: J by ``Network.cost_terms`` (and the L1 objective's penalty), the
surfaces by ``Network.forward``, the step-through by ``deltaprop.explain``.

:class:`Sessions` keeps at most ``limit`` runs and drops those idle for longer than
``ttl`` seconds, so a page left open, or many tabs, cannot hold memory for ever.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..data.tables import Table
from ..history import TrainingDiverged
from ..loop import Trainer
from ..network import Network
from ..training import trainer as make_trainer
from . import datasets
from .config import N_POINTS, Config
from .objectives import WithL1
from .steps import finite, walk

GRID = 32
"""The output's decision surface is drawn from its values at GRID × GRID points of the square."""
UNIT_GRID = 16
"""Each unit's small surface (the diagram's thumbnails) from UNIT_GRID × UNIT_GRID points."""
MAX_CURVE = 400
"""Points kept on each loss curve; beyond it every other point is dropped."""


def hidden_activation(config: Config) -> Any:
    """What ``Network(activation=…)`` is given: one name, or one per hidden layer for a mix."""
    acts = config.activation
    return acts if len(set(acts)) > 1 else acts[0] if acts else "tanh"


class Upload:
    """A learner's own data: points (m, 2) and targets (m,), with the column names."""

    def __init__(self, points: np.ndarray, target: np.ndarray, names: tuple[str, str, str]):
        self.points, self.target, self.names = points, target, names


class Run:
    """The state of one tab: settings, data, network, trainer, loss curves.

    Args:
      config: the settings.
      upload: the data set when ``config.dataset`` is "csv".
    """

    def __init__(
        self,
        config: Config,
        upload: Upload | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.upload = upload
        self.playing = False
        self.streams = 0  # pages reading this run's frames; Play stops when the last one goes
        self.version = 0
        self._trainer: Trainer | None = None
        self._offset = 0
        self.table: Table | None = None  # an uploaded CSV, before its columns are chosen
        self.configure(config)

    # --- building -------------------------------------------------------------------------

    def configure(self, config: Config) -> None:
        """Build data, network and trainer from ``config``: a fresh start (Reset)."""
        if config.dataset == "csv":
            if self.upload is None:
                raise ValueError("dataset: 'csv' needs an uploaded CSV file first")
            points, target = self.upload.points, self.upload.target
        else:
            points, target = datasets.generate(config.dataset, N_POINTS, config.noise, config.seed)
        self.config = config
        self.points, self.target = points, target
        X = datasets.features(points, config.features)
        Y = target[:, None].astype(np.float64)
        tr, te = datasets.split(len(Y), config.train, config.seed)
        self.train_idx, self.test_idx = tr, te
        self.X, self.Y, self.X_test, self.Y_test = X[tr], Y[tr], X[te], Y[te]
        sizes = [len(config.features), *config.hidden, 1]
        self.net = Network(
            sizes,
            activation=hidden_activation(config),
            output_activation=config.output_activation,
            cost=config.network_cost,
            weight_decay=config.l2,
            seed=config.seed,
        )
        self.grid_points = datasets.grid(GRID)
        self.grid_X = datasets.features(self.grid_points, config.features)
        self.unit_X = datasets.features(datasets.grid(UNIT_GRID), config.features)
        self.curve: dict[str, list[float]] = {"step": [], "train": [], "test": []}
        self.diverged: str | None = None
        self.playing = False
        self.close()
        self._offset = 0
        self._new_trainer()
        self._record()
        self.touch()

    def _new_trainer(self) -> None:
        """A trainer from the network's current θ (after a build or an edited weight)."""
        if self._trainer is not None:
            self._trainer.close()
        c = self.config
        objective = WithL1(self.net, c.l1) if c.l1 > 0 else self.net
        full = c.optimizer in ("gd", "lbfgs")
        self._trainer = make_trainer(
            objective,
            self.X,
            self.Y,
            optimizer=c.optimizer,
            learning_rate=c.lr,
            batch_size=None if full else min(c.batch, len(self.Y)),
            epochs=10**7,
            seed=c.seed,
        )

    @property
    def steps(self) -> int:
        """Updates made since the last Reset (edits keep counting)."""
        t = self._trainer
        return self._offset + (0 if t is None else t.step)

    def close(self) -> None:
        """Stop the trainer (L-BFGS runs in a thread of its own)."""
        if self._trainer is not None:
            self._trainer.close()
            self._trainer = None

    # --- numbers --------------------------------------------------------------------------

    def terms(self, X: np.ndarray, Y: np.ndarray) -> dict[str, float]:
        """J's parts on (X, Y): the data term, (λ/2) Σ W², λ₁ Σ|W|, and J."""
        data, decay = self.net.cost_terms(X, Y)
        l1 = WithL1(self.net, self.config.l1).penalty(self.net.params) if self.config.l1 else 0.0
        return {"data": data, "decay": decay, "l1": l1, "J": data + decay + l1}

    def _record(self) -> None:
        c = self.curve
        c["step"].append(self.steps)
        c["train"].append(self.net.cost_terms(self.X, self.Y)[0])
        c["test"].append(self.net.cost_terms(self.X_test, self.Y_test)[0])
        if len(c["step"]) > MAX_CURVE:
            for k in c:
                c[k] = c[k][::2]

    def step(self, n: int = 1, *, epochs: bool = False) -> None:
        """``n`` updates by the trainer, or ``n`` epochs (for L-BFGS, n iterations either way)."""
        with self.lock:
            t = self._trainer
            if t is None or self.diverged:
                return
            for _ in range(n):
                try:
                    more = t.run_epoch() if epochs else t.step_once()
                    if not more and t.finished:
                        self.playing = False
                        break
                except TrainingDiverged as exc:
                    self.diverged = str(exc)
                    self.playing = False
                    self._offset = self.steps
                    self._trainer = None
                    break
            self._record()
            self.bump()

    def edit(self, kind: str, layer: int, unit: int, source: int | None, value: float) -> None:
        """Set W_ij⁽ˡ⁾ (kind "W", i = unit, j = source) or b_i⁽ˡ⁾ (kind "b"); 1-based indices."""
        with self.lock:
            L = len(self.net.W)
            if not 1 <= layer <= L:
                raise ValueError(f"layer must be between 1 and {L}, got {layer}")
            rows = self.net.W[layer - 1].shape[0]
            if not 1 <= unit <= rows:
                raise ValueError(f"unit must be between 1 and {rows} in layer {layer}, got {unit}")
            if kind == "W":
                cols = self.net.W[layer - 1].shape[1]
                if source is None or not 1 <= source <= cols:
                    raise ValueError(f"from must be between 1 and {cols}, got {source}")
                self.net.W[layer - 1][unit - 1, source - 1] = value
            else:
                self.net.b[layer - 1][unit - 1] = value
            self._offset = self.steps
            self.diverged = None
            self._new_trainer()
            self._record()
            self.bump()

    def bump(self) -> None:
        """Mark a change, waking the streams that send frames (a change is not a use)."""
        with self.lock:
            self.version += 1
            self.changed.notify_all()

    def touch(self) -> None:
        """Mark the run as in use now."""
        self.last_used = self.clock()

    def frame(self) -> dict[str, Any]:
        """What the page draws after a change: J, the curves, θ and every unit's surface."""
        with self.lock:
            net = self.net
            output = net.predict(self.grid_X)[:, 0]
            trace = net.forward(self.unit_X)
            hidden = [_rounded(trace.a[k].T) for k in range(1, len(trace.a) - 1)]
            train, test = self.terms(self.X, self.Y), self.terms(self.X_test, self.Y_test)
            return {
                "version": self.version,
                "step": self.steps,
                "epoch": 0 if self._trainer is None else self._trainer.epoch,
                "playing": self.playing,
                "diverged": self.diverged,
                "J": {k: finite(v) for k, v in train.items()},
                "test": {k: finite(v) for k, v in test.items()},
                "curve": {k: [finite(v) for v in vs] for k, vs in self.curve.items()},
                "W": [[[finite(v) for v in row] for row in w] for w in net.W],
                "b": [[finite(v) for v in b] for b in net.b],
                "surface": {
                    "grid": GRID,
                    "output": _rounded(output),
                    "unit_grid": UNIT_GRID,
                    "hidden": hidden,
                    "unit_output": _rounded(trace.a[-1][:, 0]),
                },
            }

    def data(self) -> dict[str, Any]:
        """The points, their targets and which are for training (drawn on the surface)."""
        train = np.zeros(len(self.target), dtype=bool)
        train[self.train_idx] = True
        return {
            "points": np.round(self.points, 4).tolist(),
            "target": np.round(self.target, 4).tolist(),
            "train": train.tolist(),
            "features": _rounded(self.unit_X.T),
            "radius": datasets.RADIUS,
        }

    def walk(self, example: int) -> dict[str, Any]:
        """The step-through of training example ``example`` (1-based)."""
        with self.lock:
            m = len(self.Y)
            if not 1 <= example <= m:
                raise ValueError(f"example must be between 1 and {m}, got {example}")
            out = walk(
                self.net,
                self.X[example - 1],
                self.Y[example - 1],
                example=example,
                learning_rate=self.config.lr,
            )
            out["point"] = [float(v) for v in self.points[self.train_idx[example - 1]]]
            return out


def _rounded(values: np.ndarray) -> Any:
    """Surface values to 3 decimals (they only colour pixels) as lists; non-finite as None."""
    values = np.round(np.asarray(values, dtype=np.float64), 3)
    if np.isfinite(values).all():
        return values.tolist()
    shown = values.astype(object)
    shown[~np.isfinite(values)] = None
    return shown.tolist()


class Sessions:
    """At most ``limit`` runs, each dropped after ``ttl`` seconds without a request.

    Args:
      limit: the most runs held at once; a new one beyond it replaces the one idle longest.
      ttl: seconds a run may stay idle.
      clock: the time in seconds (``time.monotonic``; a test passes its own).
    """

    def __init__(
        self, limit: int = 16, ttl: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.ttl, self.clock = limit, ttl, clock
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._runs)

    def create(self, config: Config) -> tuple[str, Run]:
        """A new run with a fresh unguessable id."""
        run = Run(config, clock=self.clock)
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            while len(self._runs) >= self.limit:
                oldest = min(self._runs, key=lambda k: self._runs[k].last_used)
                _retire(self._runs.pop(oldest))
            self._runs[key] = run
        return key, run

    def get(self, key: str) -> Run | None:
        """The run with this id, marked as used; None if there is none (or it expired)."""
        with self._lock:
            self._expire()
            run = self._runs.get(key)
        if run is not None:
            run.touch()
        return run

    def runs(self) -> list[Run]:
        """Every run held now."""
        with self._lock:
            return list(self._runs.values())

    def get_quiet(self, run: Run) -> Run | None:
        """``run`` if it is still held (without marking it used), else None."""
        with self._lock:
            self._expire()
            return run if any(r is run for r in self._runs.values()) else None

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, r in self._runs.items() if now - r.last_used > self.ttl]:
            _retire(self._runs.pop(key))

    def close(self) -> None:
        """Drop every run."""
        with self._lock:
            for run in self._runs.values():
                _retire(run)
            self._runs.clear()


def _retire(run: Run) -> None:
    """Stop a dropped run: its play loop (woken, so it sees it) and then its trainer.

    Under the run's lock, so it never closes a trainer a play thread is stepping.
    """
    with run.changed:
        run.playing = False
        run.changed.notify_all()
        run.close()
