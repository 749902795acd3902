"""Every YAML load in Workbench goes through here (briefs, template and prompt front matter).

Two things on top of PyYAML's safe loader:

- Line numbers: the composed node tree keeps every key's and item's mark, so an error can name
  the line of a YAML key (`load_located`).
- Bounded work: anchors and aliases make a graph, not a tree, and every consumer (line map,
  schema validation, job expansion) walks it as a tree. A 1 KB "billion laughs" document of
  9 levels of 9 aliases expands to 9^9 nodes, so the size a consumer will see (every alias
  counted as a copy of its anchor) is computed while composing and refused past
  `MAX_YAML_NODES`; so are recursive aliases and texts longer than `MAX_YAML_CHARS`.
  A few anchors (`<<: *defaults`) cost a few nodes and keep working.
"""

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


MAX_YAML_CHARS = 1_000_000  # a brief or a front matter is a few KB
MAX_YAML_NODES = 100_000  # expanded (aliases counted as copies); a brief has ~100
MAX_INT_DIGITS = 100  # Python cannot even print an integer over 4,300 digits


class YamlSyntaxError(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


class YamlTooLarge(YamlSyntaxError):
    """Not a syntax mistake: the document is too big once aliases are expanded (or recursive).
    `problem` is a whole sentence that says what to do."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that keeps, for each composed node, the size it has as a tree and refuses a
    document whose tree outgrows `MAX_YAML_NODES`. Sizes are memoised per node, so the cost is
    one pass over the text whatever the aliases multiply to."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._sizes: dict[int, int] = {}
        self._keep: list[yaml.Node] = []  # ids in _sizes stay valid while the nodes live
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        alias_mark = self.peek_event().start_mark if self.check_event(yaml.AliasEvent) else None
        node = super().compose_node(parent, index)
        size = self._sizes.get(id(node))
        if alias_mark is not None:
            if size is None:  # the anchor's node is still being composed: `&a [*a]`
                raise YamlTooLarge(alias_mark.line, "YAML 别名引用了包含它自己的锚点（无限展开）；"
                                                    "请删掉这个循环引用")
            self._aliases += 1
            return node
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > MAX_YAML_NODES and self._aliases:
            raise YamlTooLarge(node.start_mark.line,
                               f"YAML 别名展开过多：展开后超过 {MAX_YAML_NODES:,} 个节点"
                               "（锚点 & 和别名 * 层层引用）；请直接写出要用的值")
        if size > MAX_YAML_NODES:
            raise YamlTooLarge(node.start_mark.line,
                               f"YAML 内容太多：超过 {MAX_YAML_NODES:,} 个键和值；"
                               "简报和 front matter 只写参数")
        self._sizes[id(node)] = size
        self._keep.append(node)
        return node


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """YAML's int, refused (with its line, without echoing it) when absurdly long."""
    if sum(c.isalnum() for c in node.value) > MAX_INT_DIGITS:  # 0x… and 1:30:… too
        raise YamlTooLarge(node.start_mark.line, f"数字太长（超过 {MAX_INT_DIGITS} 位）；"
                                                 "请写一个正常大小的数")
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _compose(text: str, first_line: int) -> tuple[yaml.Node | None, Any]:
    """(node tree, data) of one YAML document with safe types, bounded as described above.
    Raises YamlSyntaxError (or YamlTooLarge) with the file line of the problem."""
    if len(text) > MAX_YAML_CHARS:
        raise YamlTooLarge(first_line, f"YAML 内容太长（{len(text):,} 个字符，上限 "
                                       f"{MAX_YAML_CHARS:,}）；简报和 front matter 只写参数")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except YamlTooLarge as exc:
        raise YamlTooLarge(exc.line + first_line, exc.problem) from None
    except RecursionError:  # deep nesting ([[[[...), not aliases: PyYAML composes recursively
        raise YamlTooLarge(first_line, "YAML 嵌套层数过多；请减少缩进层级") from None
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
    return node, data


def load_data(text: str, first_line: int = 1) -> Any:
    """One YAML document's data (safe types only, bounded); `first_line` is the file line of
    the text's first line. Raises YamlSyntaxError with the file line of the problem."""
    return _compose(text, first_line)[1]


def load_located(text: str, first_line: int = 1) -> LocatedYaml:
    """Like `load_data`, plus the file line of every key and item."""
    node, data = _compose(text, first_line)
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
