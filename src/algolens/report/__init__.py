"""Self-contained HTML reports (plots embedded, no network needed) shared by every study."""

from .html import Report, format_value, render_markdown

__all__ = ["Report", "format_value", "render_markdown"]
