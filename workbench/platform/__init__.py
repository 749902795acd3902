"""The promotion loop around a video: tasks, publishing accounts, keywords (口令), the
submission lifecycle, tracking imports (回传 from exports) and settlement.

Every change of status is written to the append-only `history` table (history.py) with its
time, actor and reason. Money is `Decimal` (money.py), stored as text. Raw tracking counts are
corrected only by a re-import, which keeps the old values in history; what is owed is derived
by `settlement.py`, never stored.
"""
