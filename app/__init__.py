"""handstream's user-facing side: the command line and the Qt desktop app."""
