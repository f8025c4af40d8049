"""Edits of a BeautifulSoup tree that stay linear in its size.

BeautifulSoup finds a node's place among its siblings by a linear search (``index``), so
removing or replacing many siblings one by one is quadratic in their number; a student's
markdown cell can hold tens of thousands of them. These helpers know the index.

    walk(root, visit)                 every node under root; those visit() says so removed
    replace_child(parent, index, nodes)  parent.contents[index] replaced by nodes
"""
from bs4.element import NavigableString, Tag

__all__ = ["walk", "replace_child"]


def walk(root: Tag, visit) -> None:
    """Calls visit(node, depth) on every node under root (depth 1 for root's children),
    parents before their children; a node for which it returns True is removed with its
    subtree (and not descended into). Siblings are visited from the last to the first, so
    that each removal knows its index."""
    stack = [(root, 0)]
    while stack:
        tag, depth = stack.pop()
        for index in range(len(tag.contents) - 1, -1, -1):
            child = tag.contents[index]
            if visit(child, depth + 1):
                child.extract(_self_index=index)
            elif isinstance(child, Tag):
                stack.append((child, depth + 1))


def replace_child(parent: Tag, index: int, nodes: list) -> None:
    """parent.contents[index] replaced by nodes (strings become NavigableStrings)."""
    parent.contents[index].extract(_self_index=index)
    for offset, node in enumerate(nodes):
        parent.insert(index + offset, node if not isinstance(node, str) or isinstance(node, NavigableString)
                      else NavigableString(node))
