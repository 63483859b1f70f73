"""A directory tree to choose report files, folders and a manifest: Space marks, ✓ shows it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DirectoryTree
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode

SHOWN_SUFFIXES = frozenset({".xml", ".csv", ".json"})


class ReportPicker(DirectoryTree):
    KEYS_TITLE: ClassVar[str] = "In the file tree"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark/unmark"),
        Binding("backspace", "parent", "Parent folder", show=False),
    ]

    class MarksChanged(Message):
        def __init__(self, marked: list[Path]) -> None:
            super().__init__()
            self.marked = marked

    def __init__(self, path: str | Path, *, id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.marked: list[Path] = []

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Folders and what can be filed (XML reports, CSV/JSON manifests); no hidden files."""
        for path in paths:
            if path.name.startswith("."):
                continue
            try:
                if path.is_dir() or path.suffix.lower() in SHOWN_SUFFIXES:
                    yield path
            except OSError:
                continue

    def render_label(self, node: TreeNode[DirEntry], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is not None and node.data.path in self.marked:
            return Text("✓ ", style="bold green") + label
        return label

    def action_mark(self) -> None:
        node = self.cursor_node
        if node is None or node.data is None:
            return
        path = node.data.path
        if path in self.marked:
            self.marked.remove(path)
        else:
            self.marked.append(path)
        node.refresh()
        self.post_message(self.MarksChanged(list(self.marked)))

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()
        self.post_message(self.MarksChanged([]))

    def action_parent(self) -> None:
        parent = Path(self.path).resolve().parent
        self.path = parent


__all__ = ["ReportPicker"]
