"""YAML tether reads (session contexts, skill results, roles, hand-edited front matter): plain data only.

What PyYAML accepts but tether cannot keep (binary, dates, sets and pairs, alias loops and
"billion laughs", values nested deeper than codec.MAX_DEPTH, integers longer than Python
converts, text with a lone surrogate) is refused here with where it is, before any caller
sees it. PyYAML is imported only on these paths.
"""

from __future__ import annotations

from .codec import MAX_DEPTH, MAX_DIGITS, Unusable, too_deep

class YamlError(Exception):
    """Text that is not YAML: the reason, and its 1-based line when the parser knows it."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


_LOADER = None


def yaml_loader():
    """CSafeLoader (SafeLoader without libyaml) that keeps timestamps as the strings they were written as."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            def construct_mapping(self, node, deep=False):
                # PyYAML keeps the last of two equal keys; a hand edit or a merge that wrote a key
                # twice is refused with both lines instead (merge keys, `<<`, may repeat).
                seen: dict = {}
                for key_node, _ in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                        line = key_node.start_mark.line + 1
                        if key_node.value in seen:
                            raise yaml.constructor.ConstructorError(
                                None, None, f"the key {key_node.value!r} appears twice (lines {seen[key_node.value]}"
                                            f" and {line}); keep the one that holds", key_node.start_mark)
                        seen[key_node.value] = line
                return super().construct_mapping(node, deep=deep)

        Loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        _LOADER = Loader
    return _LOADER


def yaml_value(text: str, loader=None):
    """YAML text to plain data: mappings, lists, text, numbers, booleans and null.

    Raises YamlError for text that is not YAML, and Unusable (with ``.path``, the data path to
    the value, and ``.offset``) for YAML tether cannot keep: see :func:`plain_problem`.
    """
    import yaml  # lazy: only contexts, skill results and hand-edited front matter need it

    try:
        value = yaml.load(text, Loader=loader or yaml_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(reason, mark.line + 1 if mark is not None else None) from None
    except RecursionError:  # the pure-Python loader, on deep nesting
        raise Unusable(f"nested deeper than {MAX_DEPTH} levels", too_deep(text)) from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        # A scalar its tag cannot make: an integer too long to convert, `!!int xyz`, `!!bool maybe`.
        raise _constructor_error(text) from None
    found = plain_problem(value)
    if found is not None:
        exc = Unusable(found[1])
        exc.path = found[0]
        raise exc
    return value


class _Located(Exception):
    def __init__(self, node, error: Exception) -> None:
        super().__init__(str(error))
        self.node, self.error = node, error


def _constructor_error(text: str) -> YamlError:
    """Load again, keeping which node the constructor failed on (only now: it costs a call per node)."""
    import yaml

    class Locating(yaml_loader()):  # type: ignore[misc, valid-type]
        def construct_object(self, node, deep=False):
            try:
                return super().construct_object(node, deep)
            except _Located:
                raise
            except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as exc:
                raise _Located(node, exc) from None

    try:
        yaml.load(text, Loader=Locating)
    except _Located as exc:
        tag = exc.node.tag.replace("tag:yaml.org,2002:", "!!")
        if tag == "!!int" and "digits" in str(exc.error):
            reason = f"a number of more than {MAX_DIGITS} digits"
        else:
            reason = f"a {tag} value it cannot make ({' '.join(str(exc.error).split())[:120]})"
        return YamlError(reason, exc.node.start_mark.line + 1)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is reported, with no line
        return YamlError(" ".join(str(exc).split())[:120] or type(exc).__name__, None)
    return YamlError("a value it cannot make", None)


_TAGS = {bytes: "a !!binary value", set: "a !!set", tuple: "an !!omap or !!pairs entry"}
_PLAIN = (str, int, float, bool, type(None))


def plain_problem(value, limit: int = 1_000_000) -> tuple[list, str] | None:
    """The first thing in ``value`` that is not plain data, as (path to it, why); None when all is.

    Plain data is what JSON can hold: YAML's binary, dates, sets and pairs are not, nor a value
    that contains itself (an alias loop), one nested deeper than MAX_DEPTH, text with a lone
    surrogate, or more than ``limit`` values once aliases are expanded (a "billion laughs").
    """
    budget = [limit]
    inside: set[int] = set()

    def walk(node, path: list, depth: int):
        budget[0] -= 1
        if budget[0] < 0:
            return path, f"more than {limit} values once its aliases are expanded"
        kind = type(node)
        if kind is str:
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError as exc:
                    return path, (f"a lone surrogate (\\u{ord(node[exc.start]):04x}): not a character,"
                                  " cannot be written as UTF-8")
            return None
        if kind in _PLAIN:
            return None
        if kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                return path, f"nested deeper than {MAX_DEPTH} levels"
            if id(node) in inside:
                return path, "a value that refers to itself (a YAML alias loop)"
            inside.add(id(node))
            items = node.items() if kind is dict else enumerate(node)
            for key, child in items:
                if kind is dict and type(key) not in _PLAIN:
                    return path, f"a key that is {_TAGS.get(type(key)) or 'not text or a number'}"
                found = walk(key, path, depth + 1) if kind is dict and type(key) is str else None
                found = found or walk(child, path + [key], depth + 1)
                if found:
                    return found
            inside.discard(id(node))
            return None
        name = _TAGS.get(kind)
        if name is None:
            import datetime

            name = "a !!timestamp (date or time) value" if isinstance(node, (datetime.date, datetime.time)) \
                else f"a {kind.__name__} value"
        return path, f"{name}; tether keeps plain data: text, numbers, true/false, null, lists and mappings"

    return walk(value, [], 0)
