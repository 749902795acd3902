"""A/B templates in a brief: `templates: {suspense: 2, emotional: 1}` shares the brief's
variants among the templates by weight.

How many each gets is the largest-remainder (Hamilton) apportionment: every template gets the
whole part of variants × weight / total weight, and the variants left over go to the largest
remainders (ties: the larger weight, then the template listed first). So 3 variants at 2:1 give
exactly 2 + 1, and 10 at 1:1:1 give 4 + 3 + 3. The order interleaves them (each next variant
goes to the template furthest behind its share: A B A, not A A B), so the other axes that
rotate with the variant (voices, hooks, backgrounds) spread over every template. Integer
arithmetic only: the same brief always gives the same assignment.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_WEIGHT = 1000


def apportion(weights: Sequence[int], total: int) -> list[int]:
    """How many of `total` variants each weight gets (largest remainder)."""
    whole = sum(weights)
    if total < 0 or whole <= 0 or any(w < 0 for w in weights):
        raise ValueError(f"cannot apportion {total} among weights {list(weights)}")
    counts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], i))
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


def weighted_order(items: Sequence[str], weights: Sequence[int], total: int) -> list[str]:
    """`total` picks from `items`, apportioned by `weights` and interleaved: at each step the
    item furthest behind its share so far (count × step / total − given) comes next."""
    counts = apportion(weights, total)
    given = [0] * len(items)
    picked = []
    for step in range(1, total + 1):
        # compare count_i × step − total × given_i: the deficit scaled by `total`, exact
        best = max((i for i in range(len(items)) if given[i] < counts[i]),
                   key=lambda i: (counts[i] * step - total * given[i], -i))
        given[best] += 1
        picked.append(items[best])
    return picked


def unused_templates(weights: dict[str, int], variants: int) -> list[tuple[str, str]]:
    """(template, problem) for each weighted template that would get none of the variants:
    the comparison the brief asks for could not happen. Nothing for invalid weights (the
    brief's schema reports those)."""
    if not all(isinstance(w, int) and not isinstance(w, bool) and w > 0
               for w in weights.values()) or not isinstance(variants, int) or variants < 1:
        return []
    counts = apportion(list(weights.values()), variants)
    shares = "、".join(f"{ref} {count}" for ref, count in zip(weights, counts, strict=True))
    head = f"按权重把 {variants} 个变体分给 {len(weights)} 个模板（{shares}）"
    advice = "一个也分不到：加大 variants（或 matrix 的选项），或调整权重"
    return [(ref, f"{head}，模板 {ref} {advice}")
            for ref, count in zip(weights, counts, strict=True) if count == 0]
