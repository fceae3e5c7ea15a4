"""scikit-learn's own callback API (``sklearn.callback``, scikit-learn ≥ 1.9) on deltaprop's epochs.

``est.set_callbacks(cb)`` with a scikit-learn ``FitCallback`` works as on
scikit-learn's estimators that support it: the fit is the root task and each
epoch (L-BFGS: each iteration) a subtask, begun before it and ended after it;
an ``on_fit_task_end`` that returns True stops the fit after that epoch, as a
``fit(callbacks=...)`` function does. ``fitted_estimator`` is a copy of the
estimator holding a copy of the network at that point. With an older
scikit-learn, which has no such API, the estimators simply lack ``set_callbacks``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..history import EpochEnd

try:
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # pragma: no cover - scikit-learn < 1.9
    CallbackSupportMixin = None
    callback_management_context = None

MIXINS: tuple[type, ...] = () if CallbackSupportMixin is None else (CallbackSupportMixin,)
"""The estimators' extra base class: scikit-learn's CallbackSupportMixin where it exists."""


def has_sklearn_callbacks(est: Any) -> bool:
    """Whether callbacks were set on ``est`` through scikit-learn's ``set_callbacks``."""
    return callback_management_context is not None and bool(getattr(est, "_skl_callbacks", ()))


class EpochTasks:
    """The fit as scikit-learn's root task, each epoch a subtask; a deltaprop callback.

    Args:
      est: the estimator being fitted (its callback context is set up here).
      X, y, metadata: what the hooks are given (metadata: the sample weights).
      snapshot: () ↦ the attributes that make a copy of ``est`` a fitted estimator
        as it stands (called only for hooks that ask for ``fitted_estimator``).
    """

    def __init__(
        self, est: Any, X: Any, y: Any, metadata: Any, snapshot: Callable[[], dict[str, Any]]
    ) -> None:
        self.est, self.X, self.y, self.metadata, self.snapshot = est, X, y, metadata, snapshot
        self.root = est._init_callback_context(max_subtasks=None)
        self.root.call_on_fit_task_begin(estimator=est, X=X, y=y, metadata=metadata)
        self.task = self._begin()

    def _data(self) -> dict[str, Any]:
        return {"estimator": self.est, "X": self.X, "y": self.y, "metadata": self.metadata}

    def _begin(self) -> Any:
        task = self.root.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(**self._data(), reconstruction_attributes=self.snapshot)
        return task

    def __call__(self, info: EpochEnd) -> bool:
        """End the epoch's task (True: a hook asks to stop), begin the next one."""
        stop = self.task.call_on_fit_task_end(
            **self._data(), reconstruction_attributes=self.snapshot
        )
        self.task = self._begin()
        return bool(stop)

    def finish(self) -> None:
        """End the task begun for an epoch that did not run, then the fit's own task."""
        self.task.call_on_fit_task_end(estimator=self.est)
        self.root.call_on_fit_task_end(**self._data(), reconstruction_attributes=self.snapshot)
