"""How a Trace shows itself: text for terminals, HTML for notebooks and files."""
