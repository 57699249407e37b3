"""Role switching: which roles a person may use, their sessions and exports.

- ``settings`` reads the ``[switch]`` config section.
- ``roles`` finds accounts and roles and applies the production safety rule.
- ``session`` assumes a role and builds environments and export lines.
- ``federation`` builds console sign-in URLs.
- ``mfa_cache`` keeps the MFA session in the OS keyring between runs.
- ``profiles`` writes the managed block of ``~/.aws/config``.

Nothing here imports the TUI, so the command line and the TUI share it all.
"""
