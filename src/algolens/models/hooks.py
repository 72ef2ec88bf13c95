"""Named activation hooks in the TransformerLens style.

Every interpretable activation passes through a ``HookPoint`` (an identity module). Analysis code
reads activations through ``run_with_cache`` or the scoped ``hooks(...)`` context, which always
removes what it added, even when the forward pass raises.
"""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Callable, Iterator

import torch
from torch import nn

HookFn = Callable[[torch.Tensor, "HookPoint"], "torch.Tensor | None"]


class HookPoint(nn.Module):
    """Identity on the forward pass; a place to read or edit an activation by name."""

    def __init__(self) -> None:
        super().__init__()
        self.name: str = ""

    def add_hook(self, fn: HookFn) -> torch.utils.hooks.RemovableHandle:
        """Register ``fn(activation, hook) -> new activation or None``."""
        return self.register_forward_hook(lambda _m, _inp, out: fn(out, self))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class HookedModule(nn.Module):
    """Base class: call ``setup_hooks()`` at the end of ``__init__`` to name every HookPoint."""

    def setup_hooks(self) -> None:
        self.hook_dict: dict[str, HookPoint] = {}
        for name, mod in self.named_modules():
            if isinstance(mod, HookPoint):
                mod.name = name
                self.hook_dict[name] = mod

    def _resolve(self, names: "str | list[str] | Callable[[str], bool] | None") -> list[str]:
        if names is None:
            return list(self.hook_dict)
        if callable(names):
            return [n for n in self.hook_dict if names(n)]
        wanted = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in wanted if n not in self.hook_dict]
        if unknown:
            raise ValueError(f"unknown hook name(s) {unknown}; this model has {list(self.hook_dict)}")
        return wanted

    @contextmanager
    def hooks(self, fwd_hooks: list[tuple[str, HookFn]]) -> Iterator["HookedModule"]:
        """Temporarily attach ``(name, fn)`` hooks; they are removed on exit."""
        handles = []
        try:
            for name, fn in fwd_hooks:
                for n in self._resolve(name):
                    handles.append(self.hook_dict[n].add_hook(fn))
            yield self
        finally:
            for h in handles:
                h.remove()

    def run_with_hooks(self, *args, fwd_hooks: list[tuple[str, HookFn]] = (), **kwargs):
        with self.hooks(list(fwd_hooks)):
            return self(*args, **kwargs)

    def run_with_cache(self, *args, names_filter=None, detach: bool = True, **kwargs):
        """Run the model and return ``(output, cache)`` with cache[name] = activation."""
        cache: dict[str, torch.Tensor] = {}

        def save(act: torch.Tensor, hook: HookPoint) -> None:
            cache[hook.name] = act.detach() if detach else act

        with self.hooks([(n, save) for n in self._resolve(names_filter)]):
            out = self(*args, **kwargs)
        return out, cache
