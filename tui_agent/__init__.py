"""tui_agent: a terminal console for repurchase follow-ups."""

__version__ = "0.1.0"
