"""YAML with line numbers: PyYAML's composed node tree keeps every key's and item's mark.
Used wherever an error has to name the line of a YAML key (batch briefs, template front matter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[Any, ...]  # ("matrix", "voices", 1)


@dataclass
class LocatedYaml:
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)  # 1-based file line of each path
    duplicates: list[tuple[str, int]] = field(default_factory=list)  # repeated keys, line

    def line(self, path: Path_, default: int = 1) -> int:
        """Line of `path`, else of its nearest parent that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), default)


class YamlSyntaxError(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


def load_located(text: str, first_line: int = 1) -> LocatedYaml:
    """Parse one YAML document (safe types only); `first_line` is the file line of the text's
    first line. Raises YamlSyntaxError with the file line of the problem."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = (mark.line if mark is not None else 0) + first_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None and start.line + first_line != line:
            problem += f"（{context}，从第 {start.line + first_line} 行开始）"
        raise YamlSyntaxError(line, problem) from None
    finally:
        loader.dispose()
    located = LocatedYaml(data)
    if node is not None:
        located.lines[()] = node.start_mark.line + first_line
        _walk(node, (), first_line, located)
    return located


def _walk(node: yaml.Node, path: Path_, first_line: int, out: LocatedYaml) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            line = key.start_mark.line + first_line
            if name in seen:
                out.duplicates.append((".".join(map(str, (*path, name))), line))
            seen.add(name)
            out.lines[(*path, name)] = line
            _walk(value, (*path, name), first_line, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out.lines[(*path, i)] = item.start_mark.line + first_line
            _walk(item, (*path, i), first_line, out)
