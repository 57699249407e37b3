"""IAM access: who can assume which role in which account, and on what conditions.

The IAM collector (``collectors/sources/iam.py``) reads users, groups and
roles. This package evaluates ``sts:AssumeRole`` locally
(:mod:`~collectors.access.evaluator`) and rates each role
(:mod:`~collectors.access.levels`). It builds the grants, trust summaries
and findings of the snapshot's ``iam`` section
(:mod:`~collectors.access.section`), and reads them back for screens and
the role switch (:mod:`~collectors.access.queries`).
"""

from collectors.access.queries import grants_for, grants_into, matrix

__all__ = ["grants_for", "grants_into", "matrix"]
