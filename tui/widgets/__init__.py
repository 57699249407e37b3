"""Widgets shared by the screens: header, prompt bar and keyed table."""
