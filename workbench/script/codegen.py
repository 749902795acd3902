"""Jinja's code generator with two more hooks for `limits.py`: each `{% for %}` iteration and
each `a ~ b` go through the environment (`guard_loop`, `guard_concat`), so loops over loops and
repeated concatenation are counted like any other step."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

from workbench.script.limits import current_budget


def guard_loop(iterable: Iterable[Any], body_chars: int) -> Iterator[Any]:
    """Each iteration of a `{% for %}` is a step, and writes at least its body's literal text."""
    budget = current_budget()
    for item in iterable:
        budget.tick()
        if body_chars:
            budget.charge(body_chars)
        yield item


def guard_concat(parts: tuple[Any, ...]) -> str:
    """`a ~ b ~ …`, refused before joining when the result would be too long."""
    texts = [str(part) for part in parts]
    budget = current_budget()
    budget.tick()
    budget.charge(sum(map(len, texts)), "用 ~ 拼接的文字")
    return "".join(texts)


class GuardedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with loops and `~` going through `guard_loop`/`guard_concat`
    (both reached as attributes of the environment)."""

    _guarded_iter: nodes.Node | None = None
    _body_chars = 0

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        outer = (self._guarded_iter, self._body_chars)
        self._guarded_iter = node.iter
        self._body_chars = sum(len(data.data) for body in node.body
                               for data in body.find_all(nodes.TemplateData))
        try:
            super().visit_For(node, frame)
        finally:
            self._guarded_iter, self._body_chars = outer

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if node is not self._guarded_iter:
            return super().visit(node, *args, **kwargs)
        self._guarded_iter = None
        self.write("environment.guard_loop(")
        result = super().visit(node, *args, **kwargs)
        self.write(f", {self._body_chars})")
        return result

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile or frame.eval_ctx.autoescape:
            super().visit_Concat(node, frame)
            return
        self.write("environment.guard_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")
